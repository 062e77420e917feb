"""Mentoring session logs: one row per session held, the records the ledger pays from.

A session may be logged only for a match that is confirmed or registered, on a day that is
neither in the future nor before the match was confirmed.
"""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import audit
from service.errors import Conflict, Invalid, NotFound
from service.models import Match, MentoringSession, User
from service.people import ACTIVE_MATCH

_MONTH = re.compile(r"(\d{4})-(\d{2})")


def log_session(
    db: Session, user: User, match_id: int, held_on: date, minutes: int, today: date
) -> MentoringSession:
    """Add a session to ``match_id`` (not committed); 404, 409 or 422 leave nothing behind."""
    # Locked until commit: a match ended at the same moment cannot take a session.
    match = db.get(Match, match_id, with_for_update=True)
    if match is None:
        raise NotFound(f"no match with id {match_id}")
    if match.status not in ACTIVE_MATCH:
        raise Conflict(
            f"match {match_id} is {match.status}: sessions are logged only for "
            "confirmed or registered matches"
        )
    if held_on > today:
        raise Invalid(f"held_on {held_on.isoformat()} is in the future (today is {today})")
    # A match without a confirmation time counts from when it was stored.
    confirmed = (match.confirmed_at or match.created_at).date()
    if held_on < confirmed:
        raise Invalid(
            f"held_on {held_on.isoformat()} is before match {match_id} was confirmed "
            f"on {confirmed.isoformat()}"
        )
    row = MentoringSession(
        match_id=match.id,
        mentor_id=match.mentor_id,
        mentee_id=match.mentee_id,
        held_on=held_on,
        minutes=minutes,
    )
    db.add(row)
    db.flush()
    audit.record(db, user, "sessions.create", "mentoring_session", row.id, match_id=match.id)
    return row


def month_bounds(month: str) -> tuple[date, date]:
    """The first day of ``month`` (``YYYY-MM``) and of the month after it."""
    parts = _MONTH.fullmatch(month)
    year, number = (int(parts[1]), int(parts[2])) if parts else (0, 0)
    # 9999-12 has no month after it in Python's calendar.
    if not (year >= 1 and 1 <= number <= 12 and (year, number) < (9999, 12)):
        raise Invalid("month must be a year and month as YYYY-MM, e.g. 2026-04")
    start = date(year, number, 1)
    return start, date(year + number // 12, number % 12 + 1, 1)


def list_sessions(
    db: Session, mentor_id: str | None = None, month: str | None = None
) -> list[MentoringSession]:
    """Logged sessions, oldest first, optionally of one mentor and one month."""
    query = select(MentoringSession).order_by(MentoringSession.held_on, MentoringSession.id)
    if mentor_id is not None:
        query = query.where(MentoringSession.mentor_id == mentor_id)
    if month is not None:
        start, end = month_bounds(month)
        query = query.where(MentoringSession.held_on >= start, MentoringSession.held_on < end)
    return list(db.scalars(query))
