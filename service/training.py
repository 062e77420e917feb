"""Mentors' training: courses, qualifications, dates and reimbursed training sessions.

The guidance reimburses up to four sessions (£1,156 at £289) for attending mentorship
training; ``training_sessions_max`` sets the cap, which holds per mentor across all records.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service import audit
from service.errors import Invalid, NotFound
from service.models import Mentor, TrainingRecord, User

UPDATABLE = ("completed_on", "qualification")


def create(
    session: Session,
    user: User,
    *,
    mentor_id: str,
    course: str,
    qualification: str | None,
    started_on: date,
    completed_on: date | None,
    reimbursed_sessions: int,
    sessions_max: int,
) -> TrainingRecord:
    """Add a record; 404 for an unknown mentor, 422 past the cap or with dates out of order."""
    _check_dates(started_on, completed_on)
    if not 0 <= reimbursed_sessions <= sessions_max:
        raise Invalid(f"reimbursed_sessions must be between 0 and {sessions_max}")
    _lock_mentor(session, mentor_id)
    used = reimbursed_total(session, mentor_id)
    if used + reimbursed_sessions > sessions_max:
        left = max(0, sessions_max - used)
        raise Invalid(
            f"mentor {mentor_id} has {left} reimbursed training session(s) left of "
            f"{sessions_max}; this record asks for {reimbursed_sessions}",
            sessions_left=left,
        )
    record = TrainingRecord(
        mentor_id=mentor_id,
        course=course,
        qualification=qualification,
        started_on=started_on,
        completed_on=completed_on,
        reimbursed_sessions=reimbursed_sessions,
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        user,
        "training.create",
        "training",
        record.id,
        mentor_id=mentor_id,
        reimbursed_sessions=reimbursed_sessions,
    )
    return record


def update(session: Session, user: User, record_id: int, changes: dict[str, Any]) -> TrainingRecord:
    """Set the completion date and/or qualification (``None`` clears them)."""
    unknown = set(changes) - set(UPDATABLE)
    if unknown:  # the schema prevents this; a guard for other callers
        raise Invalid(
            f"only {', '.join(UPDATABLE)} can be changed, not {', '.join(sorted(unknown))}"
        )
    if not changes:
        raise Invalid(f"nothing to change: send {' and/or '.join(UPDATABLE)}")
    record = get(session, record_id)
    if "completed_on" in changes:
        _check_dates(record.started_on, changes["completed_on"])
    for field, value in changes.items():
        setattr(record, field, value)
    session.flush()
    audit.record(session, user, "training.update", "training", record.id, fields=sorted(changes))
    return record


def get(session: Session, record_id: int) -> TrainingRecord:
    record = session.get(TrainingRecord, record_id)
    if record is None:
        raise NotFound(f"no training record with id {record_id}")
    return record


def listing(session: Session, mentor_id: str | None = None) -> list[TrainingRecord]:
    """Records oldest first, of one mentor (404 if unknown) or of everyone."""
    query = select(TrainingRecord).order_by(TrainingRecord.id)
    if mentor_id is not None:
        if session.get(Mentor, mentor_id) is None:
            raise NotFound(f"no mentor with id {mentor_id!r}")
        query = query.where(TrainingRecord.mentor_id == mentor_id)
    return list(session.scalars(query))


def reimbursed_total(session: Session, mentor_id: str) -> int:
    query = select(func.coalesce(func.sum(TrainingRecord.reimbursed_sessions), 0)).where(
        TrainingRecord.mentor_id == mentor_id
    )
    return int(session.scalar(query) or 0)


def public(record: TrainingRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "mentor_id": record.mentor_id,
        "course": record.course,
        "qualification": record.qualification,
        "started_on": record.started_on,
        "completed_on": record.completed_on,
        "reimbursed_sessions": record.reimbursed_sessions,
        "created_at": record.created_at,
    }


def _lock_mentor(session: Session, mentor_id: str) -> None:
    """Check the mentor exists and hold its row, so two records cannot both take the last
    sessions (PostgreSQL row lock; SQLite already serialises writers with BEGIN IMMEDIATE)."""
    found = session.scalar(
        select(Mentor.mentor_id).where(Mentor.mentor_id == mentor_id).with_for_update()
    )
    if found is None:
        raise NotFound(f"no mentor with id {mentor_id!r}: import mentors first")


def _check_dates(started_on: date, completed_on: date | None) -> None:
    if completed_on is not None and completed_on < started_on:
        raise Invalid(
            f"completed_on ({completed_on.isoformat()}) is before started_on "
            f"({started_on.isoformat()})"
        )
