"""Mentors and mentees: imported from spreadsheets all or nothing, kept with their history.

Each person is stored as the normalised cells of the row they came from (``record``: column
-> text, as ``matcher.readers`` reads it), so a round reads them back through the same
readers with that round's settings, exactly as ``matcher match`` would.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from matcher.columns import MENTEES, MENTORS, Schema
from matcher.data import Mentee as MenteeRecord
from matcher.data import Mentor as MentorRecord
from matcher.errors import InputError, Problem
from matcher.limits import DEFAULT_LIMITS, ReadLimits
from matcher.preview import FileRead
from matcher.readers import PeopleFile, mentees_file, mentors_file, parse_mentees, parse_mentors
from matcher.settings import Settings
from matcher.spreadsheet import Table, parse_table
from service import audit
from service.db import utcnow
from service.models import (
    ACTIVE_MATCH_STATUSES,
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
ACTIVE_MATCH = ACTIVE_MATCH_STATUSES
# Rows written per statement: well inside PostgreSQL's 65,535 parameters, and few round trips.
_BATCH = 1000


@dataclass(frozen=True)
class _Kind:
    model: type[PersonRow]
    version_model: type[PersonVersionRow]
    id_column: str
    schema: Schema
    read: Callable[..., PeopleFile[Any]]


_KINDS = {
    "mentors": _Kind(Mentor, MentorVersion, "mentor_id", MENTORS, mentors_file),
    "mentees": _Kind(Mentee, MenteeVersion, "mentee_id", MENTEES, mentees_file),
}


@dataclass(frozen=True)
class ImportOutcome:
    """What an import did (or, in a preview, would do), and how the file was read."""

    kind: str
    read: FileRead
    added: int
    updated: int
    unchanged: int

    @property
    def counts(self) -> dict[str, int]:
        return {
            "rows": self.read.rows,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }


def read_people_file(
    kind: str, filename: str, data: bytes, limits: ReadLimits = DEFAULT_LIMITS
) -> PeopleFile[Any]:
    """Read and validate an uploaded people file (no database): InputError if any row is wrong."""
    spec = _KINDS[kind]
    table = parse_table(filename, data, spec.schema, limits)
    return spec.read(table, Settings(), keep_records=False)


def import_people(
    session: Session,
    user: User,
    kind: str,
    people: PeopleFile[Any],
) -> ImportOutcome:
    """Add new people and new versions of changed ones, all or nothing.

    Stored records hold the normalised values, so a row written another way but meaning the
    same is unchanged. A column the file does not have keeps its stored values; an empty cell
    clears one. People not in the file are left as they are. A preview is an import whose
    transaction is rolled back. People are compared and written a batch at a time, so a large
    file never has every record in memory twice; a problem found in any batch undoes them all
    (the caller rolls the transaction back).
    """
    spec = _KINDS[kind]
    table = people.table
    header = table.header
    at = header.index(spec.id_column)
    batch = Import(
        kind=kind, filename=table.file[:255], rows=len(table), added=0, updated=0, unchanged=0
    )
    batch.user_id = user.id
    session.add(batch)
    session.flush()
    problems: list[Problem] = []
    for start in range(0, len(people.stored), _BATCH):
        rows = people.stored[start : start + _BATCH]
        numbers = [number for number, _cells in table.body[start : start + _BATCH]]
        stored = _stored_records(session, spec, [cells[at] for cells in rows])
        added: list[dict[str, str]] = []
        changed: list[tuple[int, dict[str, str], int]] = []
        for number, cells in zip(numbers, rows, strict=True):
            row = dict(zip(header, cells, strict=True))
            known = stored.get(row[spec.id_column])
            if known is None:
                added.append(_record({}, row))
                continue
            before, version = known
            after = _record(before, row)
            if after != before:
                changed.append((number, after, version))
        completed = [(n, r) for n, r, _v in changed if set(r) - set(header)]
        problems += _merged_problems(spec, table.file, completed)
        _write(session, spec, batch.id, added, [(r, v) for _n, r, v in changed])
        batch.added += len(added)
        batch.updated += len(changed)
    if problems:
        raise InputError(problems)
    batch.unchanged = batch.rows - batch.added - batch.updated
    read = FileRead(table.file, kind, len(table), table.reading, people.notes)
    outcome = ImportOutcome(kind, read, batch.added, batch.updated, batch.unchanged)
    audit.record(session, user, f"{kind}.import", "import", batch.id, **outcome.counts)
    return outcome


def _record(before: dict[str, Any], row: dict[str, str]) -> dict[str, str]:
    """The stored record after a row: its columns replace the stored ones; empty cells clear."""
    merged = {**before, **row}
    return {column: value for column, value in merged.items() if value != ""}


def _stored_records(
    session: Session, spec: _Kind, ids: list[str]
) -> dict[str, tuple[dict[str, Any], int]]:
    """Person id -> (record, version) of the stored people among ``ids``.

    An import locks the rows it may change (PostgreSQL): a second import of the same people
    waits for the first, then sees what it stored, instead of writing the same version twice.
    """
    column = getattr(spec.model, spec.id_column)
    found: dict[str, tuple[dict[str, Any], int]] = {}
    for start in range(0, len(ids), _BATCH):
        query = (
            select(column, spec.model.record, spec.model.version)
            .where(column.in_(ids[start : start + _BATCH]))
            .with_for_update()
        )
        for person_id, record, version in session.execute(query):
            found[person_id] = (record, version)
    return found


def _merged_problems(
    spec: _Kind, file: str, merged: list[tuple[int, dict[str, str]]]
) -> list[Problem]:
    """Rows completed by stored values (of columns the file lacks) must still be valid."""
    if not merged:
        return []
    header = tuple(dict.fromkeys(c for _n, record in merged for c in record))
    table = Table.from_rows(
        f"{file} (with stored values of columns not in the file)", header, merged
    )
    try:
        spec.read(table, Settings(), keep_records=False)
    except InputError as exc:
        return list(exc.problems)
    return []


def _write(
    session: Session,
    spec: _Kind,
    import_id: int,
    added: list[dict[str, str]],
    changed: list[tuple[dict[str, str], int]],
) -> None:
    """Insert and update in batches (one statement per batch, not one per person)."""
    now = utcnow()
    id_column = spec.id_column
    people = [
        {
            id_column: r[id_column],
            "name": r["name"],
            "record": r,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        for r in added
    ]
    updates = [
        {
            id_column: r[id_column],
            "name": r["name"],
            "record": r,
            "version": v + 1,
            "updated_at": now,
        }
        for r, v in changed
    ]
    versions = [
        {
            id_column: p[id_column],
            "version": p["version"],
            "record": p["record"],
            "import_id": import_id,
            "at": now,
        }
        for p in (*people, *updates)
    ]
    for start in range(0, max(len(people), len(updates), len(versions)), _BATCH):
        if people[start : start + _BATCH]:
            session.execute(insert(spec.model), people[start : start + _BATCH])
        if updates[start : start + _BATCH]:
            session.execute(update(spec.model), updates[start : start + _BATCH])
    for start in range(0, len(versions), _BATCH):
        session.execute(insert(spec.version_model), versions[start : start + _BATCH])


def stored_table(kind: str, people: Sequence[PersonRow]) -> Table:
    """The stored rows as a spreadsheet table, for the readers."""
    header: dict[str, None] = {}
    for person in people:
        header.update(dict.fromkeys(person.record))
    rows = ((number, p.record) for number, p in enumerate(people, start=2))
    return Table.from_rows(f"{kind} (stored records)", tuple(header), rows)


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
