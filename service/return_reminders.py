"""Monthly returns outstanding, and the month-end reminders to send them.

A mentor owes a month's return when they have a match that can take sessions in that month
(``session_logs.return_matches``: confirmed or registered, confirmed before the month ended)
and no return for it (``session_returns``: sessions, or a return of none). From the last day
of a month until the seventh of the next, the processes that send mail queue one reminder to
each mentor who owes that month's return; ``return_reminders``' key makes it once per mentor
and month, whichever process or staff member sends.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service import audit
from service.db import transaction
from service.mail_templates import compose
from service.models import Match, Mentor, ReturnReminder, SessionReturn, User
from service.outbox import MailSetup, queue_mail
from service.people import ACTIVE_MATCH
from service.session_logs import confirmed_on, month_bounds

log = logging.getLogger(__name__)
CATCH_UP_DAYS = 7  # a service down on the last day still reminds in the first week after


@dataclass(frozen=True)
class Owed:
    """A mentor who owes a month's return."""

    mentor_id: str
    name: str
    email: str
    matches: int
    reminded_at: datetime | None


def due_month(today: date) -> str | None:
    """The month whose reminders are due ``today``: its last day, or the catch-up days."""
    if (today + timedelta(days=1)).day == 1:
        return f"{today:%Y-%m}"
    if today.day <= CATCH_UP_DAYS:
        return f"{today.replace(day=1) - timedelta(days=1):%Y-%m}"
    return None


def owed(session: Session, month: str) -> list[Owed]:
    """Mentors who owe ``month``'s return, by id."""
    _start, end = month_bounds(month)
    matches = session.scalars(select(Match).where(Match.status.in_(ACTIVE_MATCH)))
    counts: dict[str, int] = {}
    for match in matches:
        if confirmed_on(match) < end:
            counts[match.mentor_id] = counts.get(match.mentor_id, 0) + 1
    returned = set(
        session.scalars(select(SessionReturn.mentor_id).where(SessionReturn.month == month))
    )
    reminded = dict(
        session.execute(
            select(ReturnReminder.mentor_id, ReturnReminder.queued_at).where(
                ReturnReminder.month == month
            )
        ).all()
    )
    ids = sorted(set(counts) - returned)
    mentors = {
        m.mentor_id: m for m in session.scalars(select(Mentor).where(Mentor.mentor_id.in_(ids)))
    }
    return [
        Owed(
            mentor_id,
            mentors[mentor_id].name if mentor_id in mentors else "",
            str(mentors[mentor_id].record.get("email") or "").strip()
            if mentor_id in mentors
            else "",
            counts[mentor_id],
            reminded.get(mentor_id),
        )
        for mentor_id in ids
    ]


def remind(session: Session, user: User | None, month: str, setup: MailSetup) -> int:
    """Queue a reminder to each mentor who owes ``month``'s return, has an address and has
    not been reminded for it (the caller commits); how many were queued."""
    start, _end = month_bounds(month)
    queued = 0
    for mentor in owed(session, month):
        if mentor.reminded_at is not None or not mentor.email:
            continue
        try:
            with session.begin_nested():
                session.add(ReturnReminder(mentor_id=mentor.mentor_id, month=month))
        except IntegrityError:
            continue  # another process reminded them a moment ago
        subject, body = compose(
            session,
            "return_reminder",
            {
                "name": mentor.name,
                "month": f"{start:%B %Y}",
                "return_url": setup.link(f"/me/return?month={month}"),
            },
        )
        queue_mail(
            session,
            kind="return_reminder",
            recipient=mentor.email,
            subject=subject,
            body=body,
            about=_about(mentor.mentor_id, month),
        )
        queued += 1
    if queued:
        audit.record(session, user, "returns.remind", "month", month, reminders=queued)
    return queued


def _about(mentor_id: str, month: str) -> str:
    about = f"return:{month}:{mentor_id}"
    return about if len(about) <= 64 else f"return:{month}"  # the column's 64 characters


def remind_if_due(sessions: sessionmaker[Session], setup: MailSetup, today: date) -> int:
    """The month-end reminders, when some are due ``today``; in a transaction of their own."""
    month = due_month(today)
    if month is None:
        return 0
    with transaction(sessions) as session:
        queued = remind(session, None, month, setup)
    if queued:
        log.info("queued %d return reminders for %s", queued, month)
    return queued
