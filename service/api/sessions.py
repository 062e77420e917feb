"""Mentoring session logs: staff log the sessions a match has held; readers list them (ids only)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from service import return_reminders, session_logs
from service.api.deps import DB, ReportReaders, Staff
from service.api.schemas import SIGNED_IN, Body, Day, PathId, Pattern, PersonIdQuery, errors
from service.models import MentoringSession
from service.outbox import MailSetup

router = APIRouter(tags=["sessions"], responses=SIGNED_IN)
# A year and month, e.g. 2026-04 (years 1900 to 2999).
MONTH = Pattern(
    r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])$",
    "month must be a year and month as YYYY-MM, e.g. 2026-04",
)


class SessionCreate(Body):
    model_config = ConfigDict(extra="forbid", strict=True)

    held_on: Day = Field(description="The day the session was held: not in the future")
    minutes: int = Field(ge=1, le=600, description="Length of the session")


class SessionPublic(BaseModel):
    """A logged session: ids and figures, no names."""

    id: int
    match_id: int
    mentor_id: str
    mentee_id: str
    held_on: date
    minutes: int

    @classmethod
    def of(cls, row: MentoringSession) -> SessionPublic:
        return cls(
            id=row.id,
            match_id=row.match_id,
            mentor_id=row.mentor_id,
            mentee_id=row.mentee_id,
            held_on=row.held_on,
            minutes=row.minutes,
        )


@router.post("/api/matches/{match_id}/sessions", status_code=201, responses=errors(400, 404, 409))
def log_session(match_id: PathId, body: SessionCreate, db: DB, user: Staff) -> SessionPublic:
    """Log a session of a confirmed or registered match (409 otherwise; 404 if unknown).

    422 if ``held_on`` is in the future or before the match was confirmed.
    """
    row = session_logs.log_session(
        db, user, match_id, body.held_on, body.minutes, today=date.today()
    )
    db.commit()
    return SessionPublic.of(row)


@router.get("/api/sessions")
def list_sessions(
    db: DB,
    _user: ReportReaders,
    mentor_id: PersonIdQuery = None,
    month: Annotated[
        Annotated[str, MONTH] | None, Query(description="YYYY-MM, e.g. 2026-04")
    ] = None,
) -> list[SessionPublic]:
    """Logged sessions, oldest first; optionally one mentor's, optionally one month's."""
    return [SessionPublic.of(row) for row in session_logs.list_sessions(db, mentor_id, month)]


class OwedReturn(BaseModel):
    """A mentor who owes a month's return: ids and figures."""

    mentor_id: str
    matches: int = Field(description="Their matches that could take sessions that month")
    has_email: bool
    reminded_at: datetime | None = Field(description="When the month's reminder was queued")


class ReminderRequest(Body):
    model_config = ConfigDict(extra="forbid", strict=True)

    month: Annotated[str, MONTH] = Field(description="YYYY-MM, e.g. 2026-04")


class RemindersQueued(BaseModel):
    month: str
    queued: int = Field(description="Reminders queued now (none twice to a mentor for a month)")


@router.get("/api/returns/outstanding")
def returns_outstanding(
    db: DB,
    _user: Staff,
    month: Annotated[Annotated[str, MONTH], Query(description="YYYY-MM, e.g. 2026-04")],
) -> list[OwedReturn]:
    """Mentors with a match that could take sessions in ``month`` and no return for it."""
    return [
        OwedReturn(
            mentor_id=o.mentor_id,
            matches=o.matches,
            has_email=bool(o.email),
            reminded_at=o.reminded_at,
        )
        for o in return_reminders.owed(db, month)
    ]


@router.post("/api/returns/reminders")
def send_return_reminders(
    request: Request, body: ReminderRequest, db: DB, user: Staff
) -> RemindersQueued:
    """Queue the month's reminders now (they also go by themselves at month end)."""
    setup = MailSetup.from_settings(request.app.state.settings)
    queued = return_reminders.remind(db, user, body.month, setup)
    db.commit()
    return RemindersQueued(month=body.month, queued=queued)
