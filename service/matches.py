"""Matches and their lifecycle: confirmed -> registered (first meeting held) -> ended.

A round's approval creates confirmed matches (proposals are the "proposed" stage). A match
may end from either later stage, always with a reason.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import Session

from service import audit, surveys
from service.db import utcnow
from service.errors import Conflict, Invalid, NotFound
from service.models import Match, Mentee, Mentor, User
from service.outbox import MailSetup
from service.search import contains

STATUSES = ("confirmed", "registered", "ended")
NEXT = {"confirmed": ("registered", "ended"), "registered": ("ended",), "ended": ()}


def list_matches(
    session: Session,
    *,
    status: str | None = None,
    mentor_id: str | None = None,
    round_id: int | None = None,
) -> list[Match]:
    query = select(Match).order_by(Match.id)
    if status is not None:
        query = query.where(Match.status == status)
    if mentor_id is not None:
        query = query.where(Match.mentor_id == mentor_id)
    if round_id is not None:
        query = query.where(Match.round_id == round_id)
    return list(session.scalars(query))


def find_matches(session: Session, status: str | None, search: str, *, names: bool) -> Select[Any]:
    """The matches of one status (or all) holding ``search`` (case-insensitive): a match
    id, or part of a mentor's or mentee's id or, with ``names``, of their name (analysts
    never search by name, as they never see one). Unordered: see ``count`` and ``page``."""
    query = select(Match)
    if status is not None:
        query = query.where(Match.status == status)
    text = search.strip().lower()
    if not text:
        return query
    columns = [Match.mentor_id, Match.mentee_id]
    if names:
        query = query.join(Mentor, Mentor.mentor_id == Match.mentor_id).join(
            Mentee, Mentee.mentee_id == Match.mentee_id
        )
        columns += [Mentor.name, Mentee.name]
    wanted: list[ColumnElement[bool]] = [contains(text, *columns)]
    if text.isdigit() and len(text) < 10:
        wanted.append(Match.id == int(text))
    return query.where(or_(*wanted))


def page(session: Session, query: Select[Any], offset: int, limit: int) -> list[Match]:
    """``limit`` matches from ``offset``, in id order (as the API lists them)."""
    return list(session.scalars(query.order_by(Match.id).offset(offset).limit(limit)))


def get_match(session: Session, match_id: int) -> Match:
    match = session.get(Match, match_id)
    if match is None:
        raise NotFound(f"no match with id {match_id}")
    return match


def change_status(
    session: Session,
    user: User,
    match_id: int,
    status: str,
    reason: str | None,
    registered_on: date | None = None,
    today: date | None = None,
    *,
    setup: MailSetup,
) -> Match:
    """Move a match one step on; ``reason`` is required to end it. ``registered_on`` is the
    day of the first meeting (default ``today``): not in the future, not before the match
    was confirmed. Either step sends both people that stage's feedback survey (mails from
    ``setup``), whoever takes it: staff, the API or one of the pair."""
    # The row stays locked until commit (PostgreSQL; SQLite's writer holds the database), so
    # two changes at once cannot both start from the same status.
    match = session.get(Match, match_id, with_for_update=True)
    if match is None:
        raise NotFound(f"no match with id {match_id}")
    if status not in NEXT[match.status]:
        allowed = ", ".join(NEXT[match.status]) or "nothing (it has ended)"
        raise Conflict(f"match {match_id} is {match.status}: it can become {allowed}")
    now = utcnow()
    if registered_on is not None and status != "registered":
        raise Invalid("'registered_on' goes with status 'registered' only")
    if status == "registered":
        match.registered_at = _registered_at(match, now, registered_on, today or now.date())
    else:
        if not reason or not reason.strip():
            raise Invalid("say why the match ended: 'reason' is required")
        match.ended_at = now
        match.end_reason = reason.strip()
    before, match.status = match.status, status
    audit.record(session, user, f"matches.{status}", "match", match_id, before=before)
    surveys.open_for_status(session, match, setup)
    return match


def _registered_at(match: Match, now: datetime, day: date | None, today: date) -> datetime:
    """When the first meeting was held: ``now`` for today, else the start of that day."""
    if day is None or day == today:
        return now
    if day > today:
        raise Invalid(f"registered_on {day.isoformat()} is in the future (today is {today})")
    confirmed = (match.confirmed_at or match.created_at).date()
    if day < confirmed:
        raise Invalid(
            f"registered_on {day.isoformat()} is before match {match.id} was confirmed "
            f"on {confirmed.isoformat()}"
        )
    return datetime.combine(day, time())


def match_views(session: Session, matches: list[Match], *, named: bool) -> list[dict[str, Any]]:
    """The matches; ``named=False`` (analysts): ids, no names and no end reason (staff type
    it, and it often names a person)."""
    names: dict[str, str] = {}
    if named and matches:
        for person_id, name in session.execute(
            select(Mentor.mentor_id, Mentor.name).where(
                Mentor.mentor_id.in_({m.mentor_id for m in matches})
            )
        ):
            names[person_id] = name
        for person_id, name in session.execute(
            select(Mentee.mentee_id, Mentee.name).where(
                Mentee.mentee_id.in_({m.mentee_id for m in matches})
            )
        ):
            names[person_id] = name
    return [_view(m, names if named else None) for m in matches]


def _view(match: Match, names: dict[str, str] | None) -> dict[str, Any]:
    def stamp(value: Any) -> str | None:
        return value.isoformat() if value else None

    view: dict[str, Any] = {
        "id": match.id,
        "round_id": match.round_id,
        "mentor_id": match.mentor_id,
        "mentee_id": match.mentee_id,
        "status": match.status,
        "score": match.score,
        "confirmed_at": stamp(match.confirmed_at),
        "registered_at": stamp(match.registered_at),
        "ended_at": stamp(match.ended_at),
    }
    if names is not None:
        view["end_reason"] = match.end_reason
        view["mentor_name"] = names.get(match.mentor_id, "")
        view["mentee_name"] = names.get(match.mentee_id, "")
    return view
