"""Mentors' training: courses, qualifications, dates and reimbursed training sessions.

The guidance reimburses up to four sessions (£1,156 at £289) for attending mentorship
training; ``training_sessions_max`` sets the cap, which holds per mentor across all records.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from service import audit
from service.errors import Invalid, NotFound
from service.models import Mentor, TrainingRecord, User

UPDATABLE = ("completed_on", "qualification")
# A record is in progress until it has a completion date.
STATES = ("in_progress", "completed")
MENTOR_CHOICES = 20  # mentors a search shows at most


class FieldInvalid(Invalid):
    """A refusal about one field of the request, which a form shows next to that field.

    ``field`` is not part of the answer's JSON: the API answers exactly as an ``Invalid``."""

    def __init__(self, field: str, message: str, **extra: Any):
        super().__init__(message, **extra)
        self.field = field


class UnknownMentor(NotFound):
    """No mentor with the id given (404 over the API; the mentor field's problem on a form)."""

    field = "mentor_id"


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
        raise FieldInvalid(
            "reimbursed_sessions", f"reimbursed_sessions must be between 0 and {sessions_max}"
        )
    _lock_mentor(session, mentor_id)
    used = reimbursed_total(session, mentor_id)
    if used + reimbursed_sessions > sessions_max:
        left = max(0, sessions_max - used)
        raise FieldInvalid(
            "reimbursed_sessions",
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


def find(mentor_id: str | None = None, state: str | None = None) -> Select[Any]:
    """Records of one mentor (an unknown id finds none) and/or in one state of ``STATES``;
    unordered: see ``count`` and ``page``."""
    if state is not None and state not in STATES:
        raise ValueError(f"unknown state {state!r}")  # the page's parameter prevents this
    query = select(TrainingRecord)
    if mentor_id:
        query = query.where(TrainingRecord.mentor_id == mentor_id)
    if state == "completed":
        query = query.where(TrainingRecord.completed_on.is_not(None))
    elif state == "in_progress":
        query = query.where(TrainingRecord.completed_on.is_(None))
    return query


def page(session: Session, query: Select[Any], offset: int, limit: int) -> list[TrainingRecord]:
    """``limit`` records from ``offset``, newest first (the page shows the latest on top)."""
    ordered = query.order_by(TrainingRecord.id.desc()).offset(offset).limit(limit)
    return list(session.scalars(ordered))


def mentor_names(session: Session, mentor_ids: list[str]) -> dict[str, str]:
    """Mentor id -> name, of the mentors among ``mentor_ids``."""
    if not mentor_ids:
        return {}
    query = select(Mentor.mentor_id, Mentor.name).where(Mentor.mentor_id.in_(mentor_ids))
    return {mentor_id: name for mentor_id, name in session.execute(query)}


def search_mentors(session: Session, text: str, limit: int = MENTOR_CHOICES) -> list[Mentor]:
    """Mentors whose id or name holds ``text`` (any case), by id; at most ``limit``."""
    needle = text.strip().lower()
    if not needle:
        return []
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    wanted: list[ColumnElement[bool]] = [
        func.lower(Mentor.mentor_id).like(pattern, escape="\\"),
        func.lower(Mentor.name).like(pattern, escape="\\"),
    ]
    query = select(Mentor).where(or_(*wanted)).order_by(Mentor.mentor_id).limit(limit)
    return list(session.scalars(query))


# "Dr Ann Lee (MR0001)", as a search offers a mentor; or an id or a name, typed.
_NAMED_ID = re.compile(r"\(([^()]+)\)\s*$")


def mentor_as_typed(session: Session, typed: str) -> str:
    """The id of the one mentor ``typed`` names: "Name (ID)", an id (any case) or a name
    or part of one that only one mentor's name or id holds. Else a ``FieldInvalid`` that
    says how many match."""
    text = typed.strip()
    named = _NAMED_ID.search(text)
    if named:
        text = named.group(1).strip()
    if not text:
        raise FieldInvalid("mentor_id", "required: type a mentor's id or name")
    if session.get(Mentor, text) is not None:
        return text
    found = search_mentors(session, text, limit=MENTOR_CHOICES + 1)
    exact = [m for m in found if text.lower() in (m.mentor_id.lower(), m.name.lower())]
    if len(exact) == 1:
        return exact[0].mentor_id
    if len(found) == 1:
        return found[0].mentor_id
    if not found:
        raise FieldInvalid("mentor_id", "no mentor has this id, nor a name holding it")
    many = f"{MENTOR_CHOICES} or more" if len(found) > MENTOR_CHOICES else str(len(found))
    raise FieldInvalid("mentor_id", f"{many} mentors match: find the mentor and choose one")


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
        raise UnknownMentor(f"no mentor with id {mentor_id!r}: import mentors first")


def _check_dates(started_on: date, completed_on: date | None) -> None:
    if completed_on is not None and completed_on < started_on:
        raise FieldInvalid(
            "completed_on",
            f"completed_on ({completed_on.isoformat()}) is before started_on "
            f"({started_on.isoformat()})",
        )
