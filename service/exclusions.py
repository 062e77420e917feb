"""Standing conflicts of interest: pairs no round may ever make, imported from a file."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.columns import EXCLUSIONS
from matcher.data import PairRef
from matcher.errors import InputError, Problem
from matcher.limits import DEFAULT_LIMITS, ReadLimits
from matcher.preview import FileRead
from matcher.readers import pairs_notes, parse_pairs
from matcher.spreadsheet import parse_table
from service import audit
from service.errors import NotFound
from service.models import Exclusion, Mentee, Mentor, User


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
    mentors = set(session.scalars(select(Mentor.mentor_id)))
    mentees = set(session.scalars(select(Mentee.mentee_id)))
    problems = []
    for pair in pairs:
        row = pair.source.row if pair.source else None
        if pair.mentor_id not in mentors:
            problems.append(
                Problem(read.file, row, "mentor_id", pair.mentor_id, "no mentor has this id")
            )
        if pair.mentee_id not in mentees:
            problems.append(
                Problem(read.file, row, "mentee_id", pair.mentee_id, "no mentee has this id")
            )
    if problems:
        raise InputError(problems)
    known = {(e.mentor_id, e.mentee_id): e for e in session.scalars(select(Exclusion))}
    added = updated = 0
    for pair in pairs:
        existing = known.get((pair.mentor_id, pair.mentee_id))
        if existing is None:
            session.add(
                Exclusion(mentor_id=pair.mentor_id, mentee_id=pair.mentee_id, reason=pair.reason)
            )
            added += 1
        elif existing.reason != pair.reason:
            existing.reason = pair.reason
            updated += 1
    counts = {
        "rows": len(pairs),
        "added": added,
        "updated": updated,
        "unchanged": len(pairs) - added - updated,
    }
    audit.record(session, user, "exclusions.import", "exclusions", None, **counts)
    return counts


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
