"""The participants' scheme experience: the feedback surveys' figures, for report readers.

Ids and figures only: no comments and no names. Mentors and mentees answer their surveys
on their own pages (/me/surveys), not through the API.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from service import experience
from service.api.deps import DB, ReportReaders
from service.api.reports import YEARS
from service.api.schemas import SIGNED_IN, Day
from service.errors import Invalid

router = APIRouter(tags=["reports"], responses=SIGNED_IN)
By = Literal["round", "cohort", "group"]
Rating = Literal["overall", "fit", "usefulness"]


class RatingPublic(BaseModel):
    rating: Rating
    mean: float = Field(description="To 2 decimals")
    counts: list[int] = Field(
        min_length=5, max_length=5, description="How many answered 1, 2, 3, 4 and 5"
    )


class ExperienceRowPublic(BaseModel):
    """One group's surveys of one stage and side. Fewer than ``min_answers`` answers:
    ``suppressed``, with no ratings (so no one's answers can be read). A mentee group
    (``by=group``) of fewer than 5 surveyed mentees is left out, as in the equity measures."""

    attribute: Literal["round", "cohort", "gender", "ethnicity", "img"]
    group: str = Field(description="A round's id (``none``: no round), a cohort or a value")
    stage: Literal["first_meeting", "end"]
    side: Literal["mentor", "mentee"]
    sent: int
    answered: int
    response_rate: float = Field(description="answered / sent, to 4 decimals")
    suppressed: bool
    ratings: list[RatingPublic]


class ExperienceReport(BaseModel):
    by: By
    as_of: date | None
    min_answers: int
    rows: list[ExperienceRowPublic]


@router.get("/api/reports/experience")
def experience_report(
    db: DB,
    _user: ReportReaders,
    by: Annotated[By, Query(description="Group by round, mentee cohort or mentee group")],
    as_of: Annotated[Day | None, Query(description="YYYY-MM-DD; default: as things stand")] = None,
) -> ExperienceReport:
    """The participants' scheme experience: per group, stage and side, surveys sent and
    answered, the response rate, and each rating's mean and counts of 1 to 5 (left out for
    fewer than 5 answers). Never a comment or a name.

    422 for a date outside the years 2000 to 2100."""
    if as_of is not None and not YEARS[0] <= as_of.year <= YEARS[1]:
        raise Invalid(f"as_of must be a date in the years {YEARS[0]} to {YEARS[1]}")
    rows = experience.experience(db, by, as_of)
    return ExperienceReport(
        by=by,
        as_of=as_of,
        min_answers=experience.MIN_ANSWERS,
        rows=[ExperienceRowPublic.model_validate(row, from_attributes=True) for row in rows],
    )
