"""Applications to be a mentor: record one with its eligibility checks, list, decide."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator
from sqlalchemy.orm import Session

from matcher import cells
from matcher.eligibility import Answers
from service import applications
from service.api.deps import DB, Admin, Settings, Staff
from service.api.schemas import (
    BLANK_CLASS,
    SIGNED_IN,
    STRIPPED,
    STRIPPED_LINES,
    Body,
    PathId,
    Timestamp,
    TypedPersonId,
    control_refusal,
    errors,
)
from service.config import ServiceSettings
from service.errors import Invalid
from service.models import Application, User

router = APIRouter(tags=["applications"], responses=SIGNED_IN)

Text = Annotated[str, Field(min_length=1, max_length=255), STRIPPED]
# As ``cells.email`` reads one: no white space (``BLANK_CLASS``, which spells out what
# Python's and a client's ``\s`` both mean) and no control characters.
_NOT_IN_EMAIL = f"@{BLANK_CLASS}\\x7f-\\x9f"
# Empty means no address.
EMAIL_PATTERN = f"^([^{_NOT_IN_EMAIL}]+@[^{_NOT_IN_EMAIL}]+\\.[^{_NOT_IN_EMAIL}]+)?$"


class ApplicationCreate(Body):
    """An applicant's details and answers to the guidance's eligibility questions."""

    # Unknown fields are refused: a misspelt answer must not pass unnoticed.
    model_config = ConfigDict(extra="forbid", strict=True)

    applicant_name: Text
    # 254: the longest address mail can be sent to (RFC 5321), as the outbox keeps it.
    email: (
        Annotated[str, Field(max_length=254, json_schema_extra={"pattern": EMAIL_PATTERN})] | None
    ) = None
    # Any text is kept; the gmc_number check says whether it is 7 digits.
    gmc_number: Annotated[str, Field(min_length=1, max_length=16), STRIPPED]
    mentor_id: TypedPersonId | None = None
    has_full_registration: StrictBool
    has_licence: StrictBool
    on_performers_list: Annotated[
        StrictBool, Field(description="On the Performers List and meets its requirements")
    ]
    suspended: Annotated[
        StrictBool, Field(description="Subject to interim suspension or restrictions")
    ]
    clinical_sessions_per_week: Annotated[float, Field(ge=0, le=12, allow_inf_nan=False)]
    years_post_cct: Annotated[float, Field(ge=0, le=70, allow_inf_nan=False)]
    commits_12_months: StrictBool
    commits_training: StrictBool

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if not value:
            return None
        refusal = control_refusal(value)
        if refusal:
            raise ValueError(refusal)
        if not re.fullmatch(EMAIL_PATTERN, value):  # as the schema says, to the character
            raise ValueError("not an email address (expected name@example.org)")
        return cells.email(value)

    def answers(self) -> Answers:
        return Answers(
            has_full_registration=self.has_full_registration,
            has_licence=self.has_licence,
            on_performers_list=self.on_performers_list,
            suspended=self.suspended,
            clinical_sessions_per_week=self.clinical_sessions_per_week,
            years_post_cct=self.years_post_cct,
            commits_12_months=self.commits_12_months,
            commits_training=self.commits_training,
        )


class CheckPublic(BaseModel):
    name: str
    passed: bool
    detail: str


class ApplicationPublic(BaseModel):
    id: int
    applicant_name: str
    email: str | None
    gmc_number: str
    mentor_id: str | None
    answers: dict[str, Any]
    checks: list[CheckPublic]
    eligible: bool
    failed: list[str]
    decision: Literal["pending", "approved", "rejected"]
    decision_reason: str | None
    decided_at: Timestamp | None
    decided_by: int | None
    created_at: Timestamp
    source: Annotated[
        Literal["staff", "online"],
        Field(description="staff: recorded by staff; online: sent by the GP through /apply"),
    ]
    details: Annotated[
        dict[str, Any] | None,
        Field(
            description="online applications: telephone, practice_name, practice_code, "
            "qualifications, motivation and the proposed register_entry (focus_areas, "
            "availability, modes, capacity_max)"
        ),
    ]


Cells = Annotated[str, Field(max_length=1000), STRIPPED]


class RegisterEntry(Body):
    """The approved applicant's mentor row, beyond what the application holds: cells as a
    mentors file writes them (``;`` between the items of a list)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    mentor_id: TypedPersonId
    focus_areas: Cells = ""
    availability: Cells = ""
    modes: Cells = ""
    capacity_max: Cells = ""
    practice_code: Cells = ""


class Decision(Body):
    model_config = ConfigDict(extra="forbid", strict=True)

    decision: Literal["approved", "rejected"]
    reason: Annotated[str, Field(min_length=1, max_length=4000), STRIPPED_LINES]
    register_as: Annotated[
        RegisterEntry | None,
        Field(description="approvals only: add the applicant to the register as this mentor"),
    ] = None


def store(
    db: Session, user: User, body: ApplicationCreate, settings: ServiceSettings
) -> Application:
    """The application as sent (the API's body or the page's form), checked and stored."""
    return applications.create(
        db,
        user,
        applicant_name=body.applicant_name,
        email=body.email,
        gmc_number=body.gmc_number,
        mentor_id=body.mentor_id,
        answers=body.answers(),
        min_years_post_cct=settings.min_years_post_cct,
    )


@router.post("/api/applications", status_code=201, responses=errors(400))
def create_application(
    body: ApplicationCreate, db: DB, user: Staff, settings: Settings
) -> ApplicationPublic:
    """Record an application and check it against the guidance (stored even if ineligible)."""
    application = store(db, user, body, settings)
    db.commit()
    return ApplicationPublic.model_validate(applications.public(application))


@router.get("/api/applications")
def list_applications(
    db: DB,
    _user: Staff,
    decision: Annotated[Literal["pending", "approved", "rejected"] | None, Query()] = None,
) -> list[ApplicationPublic]:
    """Applications, oldest first, optionally only the pending, approved or rejected ones."""
    return [
        ApplicationPublic.model_validate(applications.public(a))
        for a in applications.listing(db, decision)
    ]


@router.get("/api/applications/{application_id}", responses=errors(404))
def get_application(application_id: PathId, db: DB, _user: Staff) -> ApplicationPublic:
    return ApplicationPublic.model_validate(
        applications.public(applications.get(db, application_id))
    )


@router.post("/api/applications/{application_id}/decision", responses=errors(400, 404, 409))
def decide_application(
    application_id: PathId, body: Decision, db: DB, user: Admin
) -> ApplicationPublic:
    """Approve or reject, once, with a reason. An ineligible application cannot be approved
    (409), nor one already decided. An approval with ``register_as`` adds the applicant to
    the register as that mentor in the same transaction (422 naming the cells if the row is
    not a valid mentor, or its id is taken; nothing is then written). An applicant with an
    e-mail address is sent the decision and the reason, queued with the decision."""
    entry = body.register_as
    if entry is not None and body.decision != "approved":
        raise Invalid("register_as goes with an approval only: a rejected applicant is no mentor")
    mentor = applications.MentorEntry(**entry.model_dump()) if entry is not None else None
    application = applications.decide(
        db, user, application_id, body.decision, body.reason, mentor=mentor
    )
    db.commit()
    return ApplicationPublic.model_validate(applications.public(application))
