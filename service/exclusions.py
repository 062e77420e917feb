"""Standing conflicts of interest: pairs no round may ever make, imported from a file or
added one at a time (the same checks either way), listed a page at a time, removed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from matcher.columns import EXCLUSIONS
from matcher.data import PairRef
from matcher.errors import InputError, Problem
from matcher.limits import DEFAULT_LIMITS, ReadLimits
from matcher.preview import FileRead
from matcher.readers import pairs_notes, parse_pairs
from matcher.spreadsheet import parse_table
from service import audit
from service.api.schemas import control_refusal
from service.errors import NotFound
from service.models import Exclusion, Mentee, Mentor, User
from service.person_edit import KINDS
from service.person_edit import find_people as people_holding
from service.search import contains, count

FOUND_AT_MOST = 10  # people a search for the form lists
MAX_REASON = 500
Outcome = Literal["added", "updated", "unchanged"]
Listed = Select[
    Exclusion, str | None, str | None
]  # a conflict with its mentor's and mentee's names


def read_exclusions_file(
    filename: str, data: bytes, limits: ReadLimits = DEFAULT_LIMITS
) -> tuple[FileRead, tuple[PairRef, ...]]:
    """Read and check an exclusions file (no database); InputError if any row is wrong."""
    table = parse_table(filename, data, EXCLUSIONS, limits)
    pairs = parse_pairs(table, "exclusions")
    notes = tuple(pairs_notes(table, "exclusions"))
    return FileRead(table.file, "exclusions", len(table), table.reading, notes), pairs


def import_exclusions(
    session: Session, user: User, read: FileRead, pairs: tuple[PairRef, ...]
) -> dict[str, int]:
    """Add the file's pairs (updating reasons of known ones); all or nothing."""
    problems = unknown_ids(session, read.file, pairs)
    if problems:
        raise InputError(problems)
    outcomes = [outcome for _exclusion, outcome in _store(session, pairs)]
    added, updated = outcomes.count("added"), outcomes.count("updated")
    counts = {
        "rows": len(pairs),
        "added": added,
        "updated": updated,
        "unchanged": len(pairs) - added - updated,
    }
    audit.record(session, user, "exclusions.import", "exclusions", None, **counts)
    return counts


def unknown_ids(session: Session, file: str, pairs: tuple[PairRef, ...]) -> list[Problem]:
    """A problem for every mentor id and mentee id of ``pairs`` that no one has."""
    if len(pairs) == 1:  # one pair typed into a form: no need to read every id
        (one,) = pairs
        mentors = set(
            session.scalars(select(Mentor.mentor_id).where(Mentor.mentor_id == one.mentor_id))
        )
        mentees = set(
            session.scalars(select(Mentee.mentee_id).where(Mentee.mentee_id == one.mentee_id))
        )
    else:
        mentors = set(session.scalars(select(Mentor.mentor_id)))
        mentees = set(session.scalars(select(Mentee.mentee_id)))
    problems = []
    for pair in pairs:
        row = pair.source.row if pair.source else None
        if pair.mentor_id not in mentors:
            problems.append(
                Problem(file, row, "mentor_id", pair.mentor_id, "no mentor has this id")
            )
        if pair.mentee_id not in mentees:
            problems.append(
                Problem(file, row, "mentee_id", pair.mentee_id, "no mentee has this id")
            )
    return problems


def _store(session: Session, pairs: tuple[PairRef, ...]) -> list[tuple[Exclusion, Outcome]]:
    """Each pair stored: a new exclusion, a known one with the pair's reason, or unchanged."""
    query = select(Exclusion)
    if len(pairs) == 1:
        query = query.where(
            Exclusion.mentor_id == pairs[0].mentor_id, Exclusion.mentee_id == pairs[0].mentee_id
        )
    known = {(e.mentor_id, e.mentee_id): e for e in session.scalars(query)}
    stored: list[tuple[Exclusion, Outcome]] = []
    for pair in pairs:
        existing = known.get((pair.mentor_id, pair.mentee_id))
        if existing is None:
            existing = Exclusion(
                mentor_id=pair.mentor_id, mentee_id=pair.mentee_id, reason=pair.reason
            )
            session.add(existing)
            stored.append((existing, "added"))
        elif existing.reason != pair.reason:
            existing.reason = pair.reason
            stored.append((existing, "updated"))
        else:
            stored.append((existing, "unchanged"))
    return stored


class FormProblems(Exception):
    """A conflict typed into a form that cannot be stored: field -> what is wrong."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


def add(
    session: Session, user: User, mentor_id: str, mentee_id: str, reason: str
) -> tuple[Exclusion, Outcome]:
    """Store one conflict through the checks of an import (both ids known; a pair already
    excluded takes the new reason); ``reason`` is required. Audited as ``exclusions.create``
    with the ids (not the reason) unless nothing changed. FormProblems names each field
    that is wrong, and nothing is stored."""
    mentor_id, mentee_id, reason = mentor_id.strip(), mentee_id.strip(), reason.strip()
    problems: dict[str, str] = {}
    if not mentor_id:
        problems["mentor_id"] = "required: find the mentor and choose one"
    if not mentee_id:
        problems["mentee_id"] = "required: find the mentee and choose one"
    if not reason:
        problems["reason"] = "required: say why they must never be paired"
    elif len(reason) > MAX_REASON:
        problems["reason"] = f"at most {MAX_REASON} characters"
    else:
        refusal = control_refusal(reason)
        if refusal:
            problems["reason"] = refusal
    if mentor_id and mentee_id:
        pair = PairRef(mentor_id, mentee_id, reason)
        for problem in unknown_ids(session, "form", (pair,)):
            problems[problem.column or ""] = f"{problem.message} ({problem.value})"
    if problems:
        raise FormProblems(problems)
    ((exclusion, outcome),) = _store(session, (PairRef(mentor_id, mentee_id, reason),))
    if outcome != "unchanged":
        session.flush()  # the new row's id (and a pair added meanwhile breaks its key here)
        audit.record(
            session,
            user,
            "exclusions.create",
            "exclusions",
            exclusion.id,
            mentor_id=mentor_id,
            mentee_id=mentee_id,
            outcome=outcome,
        )
    return exclusion, outcome


@dataclass(frozen=True)
class ExclusionRow:
    """A conflict as the staff's list shows it: both people by id and name, the reason."""

    id: int
    mentor_id: str
    mentor_name: str
    mentee_id: str
    mentee_name: str
    reason: str
    created_at: datetime


def find_exclusions(search: str) -> Listed:
    """The conflicts whose mentor or mentee holds ``search`` (any case) in their id or name,
    in SQL; unordered (see ``page``)."""
    query = (
        select(Exclusion, Mentor.name, Mentee.name)
        .outerjoin(Mentor, Mentor.mentor_id == Exclusion.mentor_id)
        .outerjoin(Mentee, Mentee.mentee_id == Exclusion.mentee_id)
    )
    text = search.strip()
    if text:
        query = query.where(
            contains(text, Exclusion.mentor_id, Mentor.name, Exclusion.mentee_id, Mentee.name)
        )
    return query


def page(session: Session, query: Listed, offset: int, limit: int) -> list[ExclusionRow]:
    """``limit`` conflicts from ``offset``, newest first."""
    rows = session.execute(query.order_by(Exclusion.id.desc()).offset(offset).limit(limit))
    return [
        ExclusionRow(
            e.id, e.mentor_id, mentor or "", e.mentee_id, mentee or "", e.reason or "", e.created_at
        )
        for e, mentor, mentee in rows
    ]


def row(session: Session, exclusion_id: int) -> ExclusionRow:
    query = find_exclusions("").where(Exclusion.id == exclusion_id)
    found = page(session, query, 0, 1)
    if not found:
        raise NotFound(f"no exclusion with id {exclusion_id}")
    return found[0]


def find_people(
    session: Session, kind: Literal["mentor", "mentee"], text: str, *, limit: int = FOUND_AT_MOST
) -> tuple[list[tuple[str, str]], int]:
    """Mentors or mentees (any status) whose id or name holds ``text``, for the form: the
    first ``limit`` as (id, name), an id typed whole first, then in id order; and how many
    there are."""
    wanted = text.strip().lower()
    if not wanted:
        return [], 0
    spec = KINDS[f"{kind}s"]
    query = people_holding(spec, wanted, "", "")
    column = spec.id_of(spec.model)
    exact = func.lower(column) == wanted
    people = session.scalars(query.order_by(exact.desc(), column).limit(limit))
    return [(getattr(p, spec.id_column), p.name) for p in people], count(session, query)


def standing(session: Session) -> list[PairRef]:
    return [
        PairRef(e.mentor_id, e.mentee_id, e.reason or "conflict of interest")
        for e in session.scalars(select(Exclusion).order_by(Exclusion.id))
    ]


def is_excluded(session: Session, mentor_id: str, mentee_id: str) -> bool:
    query = select(Exclusion.id).where(
        Exclusion.mentor_id == mentor_id, Exclusion.mentee_id == mentee_id
    )
    return session.scalar(query) is not None


def exclusion_views(session: Session) -> list[dict[str, Any]]:
    return [
        {"id": e.id, "mentor_id": e.mentor_id, "mentee_id": e.mentee_id, "reason": e.reason}
        for e in session.scalars(select(Exclusion).order_by(Exclusion.id))
    ]


def remove(session: Session, user: User, exclusion_id: int) -> None:
    exclusion = session.get(Exclusion, exclusion_id)
    if exclusion is None:
        raise NotFound(f"no exclusion with id {exclusion_id}")
    session.delete(exclusion)
    audit.record(
        session,
        user,
        "exclusions.delete",
        "exclusions",
        exclusion_id,
        mentor_id=exclusion.mentor_id,
        mentee_id=exclusion.mentee_id,
    )
