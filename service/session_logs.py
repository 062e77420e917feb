"""Mentoring session logs: one row per session held, the records the ledger pays from.

A session may be logged only for a match that is confirmed or registered, on a day that is
neither in the future nor before the match was confirmed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service import audit
from service.errors import Conflict, Invalid, NotFound
from service.models import Match, Mentee, Mentor, MentoringSession, SessionReturn, User
from service.people import ACTIVE_MATCH
from service.search import contains

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


# --- the Sessions page: a filtered list, paged in SQL ------------------------------------


def find_sessions(month: str | None, search: str, *, names: bool) -> Select[Any]:
    """Sessions of ``month`` (``YYYY-MM``; 422 if it is not one) holding ``search``
    (case-insensitive) in the mentor's or mentee's id, the match id, or with ``names`` their
    names (analysts never search by name, as they never see one). Unordered: see
    ``session_totals`` and ``session_page``."""
    query = select(MentoringSession)
    if month:
        start, end = month_bounds(month)
        query = query.where(MentoringSession.held_on >= start, MentoringSession.held_on < end)
    text = search.strip().lower()
    if not text:
        return query
    # People first (thousands of rows), then their sessions through indexed ids.
    mentors = select(Mentor.mentor_id).where(
        contains(text, Mentor.mentor_id, *([Mentor.name] if names else []))
    )
    mentees = select(Mentee.mentee_id).where(
        contains(text, Mentee.mentee_id, *([Mentee.name] if names else []))
    )
    wanted: list[ColumnElement[bool]] = [
        MentoringSession.mentor_id.in_(mentors),
        MentoringSession.match_id.in_(select(Match.id).where(Match.mentee_id.in_(mentees))),
    ]
    if text.isdigit() and len(text) < 10:
        wanted.append(MentoringSession.match_id == int(text))
    return query.where(or_(*wanted))


@dataclass(frozen=True)
class Totals:
    sessions: int
    minutes: int

    @property
    def hours(self) -> str:
        """``12.5``: the minutes as hours, to a tenth."""
        return f"{self.minutes / 60:,.1f}"


def session_totals(db: Session, query: Select[Any]) -> Totals:
    """How many sessions ``query`` finds, and their minutes, counted by the database."""
    found = query.subquery()
    count, minutes = db.execute(
        select(func.count(), func.coalesce(func.sum(found.c.minutes), 0)).select_from(found)
    ).one()
    return Totals(int(count), int(minutes))


def session_page(
    db: Session, query: Select[Any], offset: int, limit: int
) -> list[MentoringSession]:
    """``limit`` sessions from ``offset``, newest first."""
    ordered = query.order_by(MentoringSession.held_on.desc(), MentoringSession.id.desc())
    return list(db.scalars(ordered.offset(offset).limit(limit)))


def people_names(
    db: Session, mentor_ids: Iterable[str], mentee_ids: Iterable[str]
) -> dict[str, str]:
    """Person id -> name, for the few people on one page (mentor and mentee ids differ)."""
    names: dict[str, str] = {}
    wanted = set(mentor_ids)
    if wanted:
        for person_id, name in db.execute(
            select(Mentor.mentor_id, Mentor.name).where(Mentor.mentor_id.in_(wanted))
        ):
            names[person_id] = name
    wanted = set(mentee_ids)
    if wanted:
        for person_id, name in db.execute(
            select(Mentee.mentee_id, Mentee.name).where(Mentee.mentee_id.in_(wanted))
        ):
            names[person_id] = name
    return names


# --- a mentor's monthly return -------------------------------------------------------------

MENTORS_LISTED = 20
RETURN_ACTION = "sessions.return"
MINUTES = (1, 600)  # what the API accepts (service.api.sessions.SessionCreate)


def find_mentors(db: Session, search: str, limit: int = MENTORS_LISTED) -> tuple[list[Mentor], int]:
    """Up to ``limit`` mentors whose id or name holds ``search`` (exact ids first), and how
    many there are in all."""
    text = search.strip().lower()
    if not text:
        return [], 0
    where = contains(text, Mentor.mentor_id, Mentor.name)
    total = db.scalar(select(func.count()).select_from(Mentor).where(where)) or 0
    exact = case((func.lower(Mentor.mentor_id) == text, 0), else_=1)
    found = db.scalars(select(Mentor).where(where).order_by(exact, Mentor.mentor_id).limit(limit))
    return list(found), total


def confirmed_on(match: Match) -> date:
    """The day a match was confirmed; one without a confirmation time counts from when it
    was stored (as ``log_session`` counts it)."""
    return (match.confirmed_at or match.created_at).date()


def return_matches(db: Session, mentor_id: str, month: str) -> list[Match]:
    """The mentor's matches that can take sessions in ``month``: confirmed or registered
    now, and confirmed before the month ended; in id order."""
    _start, end = month_bounds(month)
    found = db.scalars(
        select(Match)
        .where(Match.mentor_id == mentor_id, Match.status.in_(ACTIVE_MATCH))
        .order_by(Match.id)
    )
    return [m for m in found if confirmed_on(m) < end]


def logged_in_month(
    db: Session, match_ids: Iterable[int], month: str
) -> dict[int, list[MentoringSession]]:
    """Match id -> the sessions already logged for it in ``month``, in date order."""
    start, end = month_bounds(month)
    out: dict[int, list[MentoringSession]] = {}
    for row in db.scalars(
        select(MentoringSession)
        .where(
            MentoringSession.match_id.in_(set(match_ids)),
            MentoringSession.held_on >= start,
            MentoringSession.held_on < end,
        )
        .order_by(MentoringSession.held_on, MentoringSession.id)
    ):
        out.setdefault(row.match_id, []).append(row)
    return out


@dataclass(frozen=True)
class TypedRow:
    """One row of a return as typed: the match it is for, a date and minutes (text)."""

    match_id: int
    held_on: str
    minutes: str

    @property
    def blank(self) -> bool:
        return not self.held_on.strip() and not self.minutes.strip()


@dataclass(frozen=True)
class Entry:
    """A row of a return that passed every check."""

    match_id: int
    held_on: date
    minutes: int


class ReturnInvalid(Invalid):
    """A return with bad rows: ``problems`` maps each bad row's place in the form (0-based)
    to what is wrong with it, in plain words; ``general`` is a problem of the whole form."""

    def __init__(self, problems: dict[int, str], general: str = ""):
        count = len(problems)
        super().__init__(
            general or f"{count} row{'s' if count != 1 else ''} of the return need correcting"
        )
        self.problems = problems
        self.general = general


def long_day(day: date) -> str:
    """``3 November 2026``."""
    return f"{day.day} {day:%B %Y}"


def check_return(
    rows: Sequence[TypedRow], matches: Sequence[Match], month: str, today: date
) -> list[Entry]:
    """The rows that were filled in, checked as ``log_session`` and the API check them and
    against the return's month; ``ReturnInvalid`` names every bad row. Blank rows are skipped."""
    start, end = month_bounds(month)
    month_name = f"{start:%B %Y}"
    by_id = {m.id: m for m in matches}
    entries: list[Entry] = []
    problems: dict[int, str] = {}
    for place, row in enumerate(rows):
        if row.blank:
            continue
        try:
            entries.append(_checked(row, by_id, start, end, month_name, today))
        except Invalid as exc:
            problems[place] = exc.message
    if problems:
        raise ReturnInvalid(problems)
    if not entries:
        raise ReturnInvalid(
            {}, "Nothing to log: enter the date and minutes of at least one session."
        )
    return entries


def _checked(
    row: TypedRow, matches: dict[int, Match], start: date, end: date, month_name: str, today: date
) -> Entry:
    match = matches.get(row.match_id)
    if match is None:
        raise Invalid(
            f"Match {row.match_id} is not one of this mentor's confirmed or registered "
            f"matches in {month_name}."
        )
    held_text, minutes_text = row.held_on.strip(), row.minutes.strip()
    if not held_text or not minutes_text:
        raise Invalid("Enter both the date and the minutes, or leave both empty.")
    try:
        held_on = date.fromisoformat(held_text)
    except ValueError:
        raise Invalid(
            f"“{held_text}” is not a date: enter one such as {start.isoformat()}."
        ) from None
    low, high = MINUTES
    if not minutes_text.isdigit() or not low <= int(minutes_text) <= high:
        raise Invalid(f"Minutes must be a whole number from {low} to {high}, not “{minutes_text}”.")
    if not start <= held_on < end:
        raise Invalid(f"{long_day(held_on)} is not in {month_name}, the month of this return.")
    if held_on > today:
        raise Invalid(f"{long_day(held_on)} is in the future: log a session once it is held.")
    confirmed = confirmed_on(match)
    if held_on < confirmed:
        raise Invalid(
            f"{long_day(held_on)} is before match {match.id} was confirmed, on {long_day(confirmed)}."
        )
    return Entry(match.id, held_on, int(minutes_text))


@dataclass(frozen=True)
class ReturnLogged:
    """What a return stored: sessions and mentees, or nothing (``repeated``) when the same
    form had already been logged."""

    sessions: int
    mentees: int
    repeated: bool = False


def log_return(
    db: Session,
    user: User,
    mentor_id: str,
    month: str,
    form_id: str,
    rows: Sequence[TypedRow],
    today: date,
    *,
    none_held: bool = False,
) -> ReturnLogged:
    """Log a mentor's monthly return in the caller's transaction (not committed): every row
    or none (``ReturnInvalid`` names the bad rows). Each session is audited as the API
    audits it, and the return once under its one-time ``form_id``. ``none_held``: the mentor
    says they held no session that month (a nil return, so no reminder is due), refused
    with rows filled in.

    The same form sent twice logs once: the return is stored first under ``form_id``, the
    primary key of ``session_returns``, so a second sending (waiting on the first's row on
    PostgreSQL, on the writer's lock on SQLite) is refused by the database and logs nothing."""
    mentor = db.get(Mentor, mentor_id)
    if mentor is None:
        raise NotFound(f"no mentor with id {mentor_id}")
    kept = SessionReturn(
        form_id=form_id, mentor_id=mentor_id, month=month, sessions=0, user_id=user.id
    )
    try:
        with db.begin_nested():
            db.add(kept)
    except IntegrityError:
        return ReturnLogged(0, 0, repeated=True)
    matches = return_matches(db, mentor_id, month)
    if none_held:
        if any(not row.blank for row in rows):
            raise ReturnInvalid(
                {}, "You said no sessions were held but entered some: clear one or the other."
            )
        start, _end = month_bounds(month)
        if start > today:
            raise ReturnInvalid({}, f"{start:%B %Y} has not started: send its return after it.")
        entries: list[Entry] = []
    else:
        entries = check_return(rows, matches, month, today)
    for entry in entries:
        log_session(db, user, entry.match_id, entry.held_on, entry.minutes, today)
    kept.sessions = len(entries)
    mentee_of = {m.id: m.mentee_id for m in matches}
    mentees = len({mentee_of[entry.match_id] for entry in entries})
    audit.record(
        db,
        user,
        RETURN_ACTION,
        "session_return",
        form_id,
        mentor_id=mentor_id,
        month=month,
        sessions=len(entries),
        mentees=mentees,
    )
    return ReturnLogged(len(entries), mentees)
