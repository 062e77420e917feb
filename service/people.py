"""Mentors and mentees: imported from spreadsheets all or nothing, kept with their history.

Each person is stored as the spreadsheet row they came from, so a round reads them back
through ``matcher.readers`` with that round's settings, exactly as ``matcher match`` would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matcher.data import Mentee as MenteeRecord
from matcher.data import Mentor as MentorRecord
from matcher.readers import parse_mentees, parse_mentors
from matcher.settings import Settings
from matcher.spreadsheet import Table, parse_table
from service import audit
from service.db import utcnow
from service.models import (
    Import,
    Match,
    Mentee,
    MenteeVersion,
    Mentor,
    MentorVersion,
    PersonRow,
    PersonVersionRow,
    User,
)

KINDS = ("mentors", "mentees")
ACTIVE_MATCH = ("confirmed", "registered")


@dataclass(frozen=True)
class _Kind:
    model: type[PersonRow]
    version_model: type[PersonVersionRow]
    id_column: str


_KINDS = {
    "mentors": _Kind(Mentor, MentorVersion, "mentor_id"),
    "mentees": _Kind(Mentee, MenteeVersion, "mentee_id"),
}


def import_people(
    session: Session, user: User, kind: str, filename: str, data: bytes
) -> dict[str, int]:
    """Validate a whole file, then add new people and new versions of changed ones.

    Raises ``InputError`` (nothing stored) if any row is wrong. People not in the file are
    left as they are: a file may hold only the newcomers.
    """
    table = parse_table(filename, data)
    if kind == "mentors":
        parse_mentors(table, Settings())
    else:
        parse_mentees(table, Settings())
    spec = _KINDS[kind]
    rows = [values for _number, values in table.rows]
    ids = [values[spec.id_column] for values in rows]
    existing = {
        getattr(person, spec.id_column): person
        for person in session.scalars(
            select(spec.model).where(getattr(spec.model, spec.id_column).in_(ids))
        )
    }
    batch = Import(
        kind=kind, filename=filename[:255], rows=len(rows), added=0, updated=0, unchanged=0
    )
    batch.user_id = user.id
    session.add(batch)
    session.flush()
    now = utcnow()
    for values in rows:
        person_id = values[spec.id_column]
        person = existing.get(person_id)
        if person is None:
            person = spec.model(**{spec.id_column: person_id}, name=values["name"], record=values)  # type: ignore[call-arg]
            person.version = 1
            session.add(person)
            session.flush()
            _keep_version(session, spec, person, batch.id)
            batch.added += 1
        elif person.record == values:
            batch.unchanged += 1
        else:
            person.name = values["name"]
            _new_version(session, spec, person, values, now, batch.id)
            batch.updated += 1
    counts = {
        "rows": batch.rows,
        "added": batch.added,
        "updated": batch.updated,
        "unchanged": batch.unchanged,
    }
    audit.record(session, user, f"{kind}.import", "import", batch.id, **counts)
    return counts


def stored_table(kind: str, people: Sequence[PersonRow]) -> Table:
    """The stored rows as a spreadsheet table, for the readers."""
    header: dict[str, None] = {}
    for person in people:
        header.update(dict.fromkeys(person.record))
    rows = tuple((number, dict(p.record)) for number, p in enumerate(people, start=2))
    return Table(f"{kind} (stored records)", tuple(header), rows)


def active_match_counts(session: Session) -> dict[str, int]:
    """Mentor id -> matches this service holds that are confirmed or registered."""
    query = (
        select(Match.mentor_id, func.count())
        .where(Match.status.in_(ACTIVE_MATCH))
        .group_by(Match.mentor_id)
    )
    return {mentor_id: count for mentor_id, count in session.execute(query).all()}


def actively_matched_mentees(session: Session) -> set[str]:
    query = select(Match.mentee_id).where(Match.status.in_(ACTIVE_MATCH))
    return set(session.scalars(query))


def mentor_summaries(session: Session) -> list[dict[str, Any]]:
    """The register: focus areas, capacity and what is left of it (no diversity data)."""
    people = list(session.scalars(select(Mentor).order_by(Mentor.mentor_id)))
    records = parse_mentors(stored_table("mentors", people), Settings()) if people else ()
    active = active_match_counts(session)
    return [_mentor_summary(m, active.get(m.mentor_id, 0)) for m in records]


def _mentor_summary(m: MentorRecord, matched_here: int) -> dict[str, Any]:
    capacity = m.capacity_max if m.capacity_max is not None else Settings().capacity.max
    load = m.current_mentees + matched_here
    return {
        "mentor_id": m.mentor_id,
        "name": m.name,
        "email": m.email,
        "practice_code": m.practice_code,
        "pcn": m.pcn,
        "status": m.status,
        "focus_areas": list(m.focus_areas),
        "capacity_max": capacity,
        "current_mentees": load,
        "remaining_capacity": max(0, capacity - load) if m.status == "active" else 0,
    }


def mentee_summaries(session: Session) -> list[dict[str, Any]]:
    people = list(session.scalars(select(Mentee).order_by(Mentee.mentee_id)))
    records = parse_mentees(stored_table("mentees", people), Settings()) if people else ()
    matched = actively_matched_mentees(session)
    return [_mentee_summary(m, m.mentee_id in matched) for m in records]


def _mentee_summary(m: MenteeRecord, matched: bool) -> dict[str, Any]:
    return {
        "mentee_id": m.mentee_id,
        "name": m.name,
        "cohort": m.cohort,
        "practice_code": m.practice_code,
        "pcn": m.pcn,
        "needs": list(m.needs),
        "waiting_since": m.waiting_since.isoformat() if m.waiting_since else None,
        "matched": matched,
    }


def history(session: Session, kind: str, person_id: str) -> list[dict[str, Any]]:
    """Every stored version of one person, oldest first (empty if unknown)."""
    spec = _KINDS[kind]
    model = spec.version_model
    query = select(model).where(getattr(model, spec.id_column) == person_id).order_by(model.version)
    return [
        {"version": v.version, "at": v.at.isoformat(), "import_id": v.import_id, "record": v.record}
        for v in session.scalars(query)
    ]


def set_cells(
    session: Session, kind: str, changes: dict[str, dict[str, str]], import_id: int | None = None
) -> int:
    """Change cells of stored people (a new version each); returns how many changed."""
    spec = _KINDS[kind]
    column = getattr(spec.model, spec.id_column)
    changed = 0
    now = utcnow()
    for person in session.scalars(select(spec.model).where(column.in_(list(changes)))):
        person_id = getattr(person, spec.id_column)
        record = {**person.record, **changes[person_id]}
        if record == person.record:
            continue
        _new_version(session, spec, person, record, now, import_id)
        changed += 1
    return changed


def _new_version(
    session: Session,
    spec: _Kind,
    person: PersonRow,
    record: dict[str, Any],
    now: datetime,
    import_id: int | None,
) -> None:
    """Make ``record`` the person's current row, keeping it as their next version."""
    person.record = record
    person.version += 1
    person.updated_at = now
    _keep_version(session, spec, person, import_id)


def _keep_version(session: Session, spec: _Kind, person: PersonRow, import_id: int | None) -> None:
    session.add(
        spec.version_model(  # type: ignore[call-arg]
            **{spec.id_column: getattr(person, spec.id_column)},
            version=person.version,
            record=person.record,
            import_id=import_id,
        )
    )
