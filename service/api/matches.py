"""Matches: list them, and move them through their lifecycle."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from service import matches
from service.api.deps import DB, ReportReaders, Settings, Staff
from service.api.schemas import (
    LINES,
    SIGNED_IN,
    Body,
    Day,
    PathId,
    PersonIdQuery,
    QueryId,
    Timestamp,
    errors,
)
from service.outbox import MailSetup

router = APIRouter(tags=["matches"], responses=SIGNED_IN)
Status = Literal["confirmed", "registered", "ended"]


class StatusChange(Body):
    status: Literal["registered", "ended"]
    reason: Annotated[str, Field(max_length=500), LINES] | None = Field(
        default=None, description="Why the match ended: required with ``ended``"
    )
    registered_on: Day | None = Field(
        default=None,
        description="With ``registered``: the day of the first meeting (default today); "
        "not in the future, not before the match was confirmed",
    )


class MatchPublic(BaseModel):
    """A match. Analysts get ids: no names and no end reason (staff type it)."""

    id: int
    round_id: int | None
    mentor_id: str
    mentee_id: str
    status: Status
    score: int | None
    confirmed_at: Timestamp | None
    registered_at: Timestamp | None
    ended_at: Timestamp | None
    end_reason: str | None = None
    mentor_name: str | None = None
    mentee_name: str | None = None


@router.get("/api/matches", response_model_exclude_unset=True)
def list_matches(
    db: DB,
    user: ReportReaders,
    status: Annotated[Status | None, Query()] = None,
    mentor_id: PersonIdQuery = None,
    round_id: QueryId = None,
) -> list[MatchPublic]:
    """Matches, filtered by status, mentor or round; analysts see ids, never names."""
    found = matches.list_matches(db, status=status, mentor_id=mentor_id, round_id=round_id)
    views = matches.match_views(db, found, named=user.role != "analyst")
    return [MatchPublic.model_validate(v) for v in views]


@router.get("/api/matches/{match_id}", responses=errors(404), response_model_exclude_unset=True)
def get_match(match_id: PathId, db: DB, user: ReportReaders) -> MatchPublic:
    found = [matches.get_match(db, match_id)]
    return MatchPublic.model_validate(
        matches.match_views(db, found, named=user.role != "analyst")[0]
    )


@router.patch("/api/matches/{match_id}", responses=errors(400, 404, 409))
def change_status(
    match_id: PathId, body: StatusChange, db: DB, user: Staff, settings: Settings
) -> MatchPublic:
    """``registered`` once the first meeting is held; ``ended`` with a reason. Either sends
    both people that stage's feedback survey (``service.surveys``).

    409 if the match cannot take that step (e.g. it has ended); 422 for ``ended`` without a
    reason, or a ``registered_on`` in the future or before the match was confirmed."""
    match = matches.change_status(
        db,
        user,
        match_id,
        body.status,
        body.reason,
        body.registered_on,
        date.today(),
        setup=MailSetup.from_settings(settings),
    )
    db.commit()
    return MatchPublic.model_validate(matches.match_views(db, [match], named=True)[0])
