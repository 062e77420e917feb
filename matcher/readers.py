"""Turn mentors, mentees and pair spreadsheets (SPEC section 3) into validated records.

A file is rejected whole: every problem in it (missing columns, bad cells, repeated ids) is
collected and raised together as one ``InputError``. ``load_problem`` does the same across
all the files of a round, so a person sees everything wrong at once. What is accepted is
accepted as the person meant it, and said so in ``notes``: headings read under their
contract name, values written in the scheme's own words, personal values read at the
scheme's limits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from functools import partial
from pathlib import Path
from typing import Generic, TypeVar

from matcher import cells
from matcher.columns import EXCLUSIONS, LOCKS, MENTEES, MENTORS, PREVIOUS, Schema
from matcher.data import Mentee, Mentor, PairRef, ProblemData
from matcher.errors import InputError, Problem
from matcher.notes import Note, merge_notes
from matcher.postcodes import PostcodeLookup, load_lookup, normalise_postcode
from matcher.preview import FileRead
from matcher.rows import FileReading, RowReader
from matcher.settings import Settings
from matcher.spreadsheet import Table, read_table

T = TypeVar("T")
R = TypeVar("R", Mentor, Mentee)

PAIR_SCHEMAS: dict[str, Schema] = {"exclusions": EXCLUSIONS, "locks": LOCKS, "previous": PREVIOUS}


@dataclass(frozen=True)
class PeopleFile(Generic[R]):
    """A people file read: its records, each person's stored form, and what to tell a person.

    ``stored[i]`` holds the normalised text of every column of the file (in ``table.header``
    order, "" where the cell is empty) for the i-th person: what the service stores, so that
    the same values written another way (Yes / yes, 03/11/2025 / 2025-11-03) compare equal.
    ``records`` is empty when the reader was asked not to keep them (a large import).
    """

    records: tuple[R, ...]
    stored: tuple[tuple[str, ...], ...]
    notes: tuple[Note, ...]
    table: Table


def read_mentors(path: str | Path, settings: Settings | None = None) -> tuple[Mentor, ...]:
    """Read a mentors file; raise InputError listing every problem in it."""
    return mentors_file(read_table(path, MENTORS), settings).records


def parse_mentors(table: Table, settings: Settings | None = None) -> tuple[Mentor, ...]:
    """Validate a mentors table (from a file, an upload or stored rows)."""
    return mentors_file(table, settings).records


def mentors_file(
    table: Table, settings: Settings | None = None, *, keep_records: bool = True
) -> PeopleFile[Mentor]:
    """Validate a mentors table, keeping what the reading should tell a person."""
    settings = settings or Settings()
    return _people(table, MENTORS, lambda row: _mentor(row, settings), settings, keep_records)


def read_mentees(path: str | Path, settings: Settings | None = None) -> tuple[Mentee, ...]:
    """Read a mentees file; raise InputError listing every problem in it.

    ``waiting_since`` may be ISO (2024-03-05) or as UK offices type it (05/03/2024, day
    first); it must not be after today.
    """
    return mentees_file(read_table(path, MENTEES), settings).records


def parse_mentees(table: Table, settings: Settings | None = None) -> tuple[Mentee, ...]:
    """Validate a mentees table (from a file, an upload or stored rows)."""
    return mentees_file(table, settings).records


def mentees_file(
    table: Table, settings: Settings | None = None, *, keep_records: bool = True
) -> PeopleFile[Mentee]:
    settings = settings or Settings()
    today = date.today()
    build = partial(_mentee, settings=settings, today=today)
    return _people(table, MENTEES, build, settings, keep_records)


def _people(
    table: Table,
    schema: Schema,
    build: Callable[[RowReader], R],
    settings: Settings,
    keep_records: bool,
) -> PeopleFile[R]:
    reading = FileReading(table.file)
    reading.problems += _missing_columns(table, schema.required)
    lookup = _lookup(settings, table, reading)
    id_column = schema.required[0]
    records: list[R] = []
    stored: list[tuple[str, ...]] = []
    first_row: dict[str, int] = {}
    for number, values in table.rows:
        row = RowReader(reading, number, values)
        record = build(row)
        _locate(row, lookup)
        person = values.get(id_column, "")
        if person in first_row:
            row.problem(
                id_column, f"duplicate {id_column}: the same id is in row {first_row[person]}"
            )
        elif person:
            first_row[person] = number
        if row.ok:
            if keep_records:
                records.append(_located(record, row))
            stored.append(tuple(row.stored.values()))
    if reading.problems:
        raise InputError(_in_order(table, reading.problems))
    notes = [*(table.reading.notes(table.file, schema.kind) if table.reading else [])]
    if table.reading and not len(table):
        header_row = table.reading.header_row
        notes.append(
            Note(table.file, (), None, f"no rows below the header (row {header_row})", True)
        )
    notes += reading.value_notes() + reading.notes
    return PeopleFile(tuple(records), tuple(stored), merge_notes(notes), table)


def read_pairs(path: str | Path, kind: str) -> tuple[PairRef, ...]:
    """Read an exclusions, locks or previous-pairs file (``kind``); reason only for exclusions."""
    return parse_pairs(read_table(path, pair_schema(kind)), kind)


def pair_schema(kind: str) -> Schema:
    if kind not in PAIR_SCHEMAS:
        raise ValueError(
            f"unknown kind of pairs file {kind!r} (expected one of {list(PAIR_SCHEMAS)})"
        )
    return PAIR_SCHEMAS[kind]


def parse_pairs(table: Table, kind: str) -> tuple[PairRef, ...]:
    """Validate a pairs table (``kind`` as for ``read_pairs``)."""
    columns = pair_schema(kind).columns
    reading = FileReading(table.file)
    reading.problems += _missing_columns(table, ("mentor_id", "mentee_id"))
    pairs = []
    first_row: dict[tuple[str, str], int] = {}
    for number, values in table.rows:
        row = RowReader(reading, number, values)
        mentor_id = row.required("mentor_id", cells.identifier)
        mentee_id = row.required("mentee_id", cells.identifier)
        reason = (row.text("reason") or "") if "reason" in columns else ""
        if not row.ok:
            continue
        pair = (mentor_id, mentee_id)
        if pair in first_row:
            row.problem("mentee_id", f"the same pair is already in row {first_row[pair]}")
            continue
        first_row[pair] = number
        pairs.append(PairRef(mentor_id, mentee_id, reason, source=row.source()))
    if reading.problems:
        raise InputError(_in_order(table, reading.problems))
    return tuple(pairs)


def pairs_notes(table: Table, kind: str) -> list[Note]:
    return table.reading.notes(table.file, pair_schema(kind).kind) if table.reading else []


def load_problem(
    mentors: str | Path,
    mentees: str | Path,
    exclusions: str | Path | None = None,
    locks: str | Path | None = None,
    previous: str | Path | None = None,
    settings: Settings | None = None,
) -> ProblemData:
    """Read every file of a round and build the problem data, with the notes of reading them.

    Problems from all files are raised together in one InputError; the cross-file checks of
    ``ProblemData`` (unknown ids, ...) run only once every file reads cleanly.
    """
    settings = settings or Settings()
    problems: list[Problem] = []

    def attempt(read: Callable[[], T]) -> T | None:
        try:
            return read()
        except InputError as exc:
            problems.extend(exc.problems)
            return None

    mentor_file = attempt(lambda: mentors_file(read_table(mentors, MENTORS), settings))
    mentee_file = attempt(lambda: mentees_file(read_table(mentees, MENTEES), settings))
    pairs: dict[str, tuple[PairRef, ...]] = {}
    files = []
    for kind, file in (("exclusions", exclusions), ("locks", locks), ("previous", previous)):
        pairs[kind] = ()
        if file is None:
            continue
        table = attempt(partial(read_table, file, pair_schema(kind)))
        if table is not None:
            pairs[kind] = attempt(partial(parse_pairs, table, kind)) or ()
            notes = tuple(pairs_notes(table, kind))
            files.append(FileRead(table.file, kind, len(table), table.reading, notes))
    if problems or mentor_file is None or mentee_file is None:
        raise InputError(problems)
    files[:0] = [_file_read(mentor_file, "mentors"), _file_read(mentee_file, "mentees")]
    return ProblemData(
        mentors=mentor_file.records,
        mentees=mentee_file.records,
        exclusions=pairs["exclusions"],
        locks=pairs["locks"],
        previous=pairs["previous"],
        settings=settings,
        files=tuple(files),
    )


def _file_read(read: PeopleFile[Mentor] | PeopleFile[Mentee], kind: str) -> FileRead:
    return FileRead(read.table.file, kind, len(read.table), read.table.reading, read.notes)


def _mentor(row: RowReader, settings: Settings) -> Mentor:
    capacity_max = row.optional("capacity_max", cells.whole_number(1))
    capacity_min = row.optional("capacity_min", cells.whole_number(0))
    if capacity_min is not None and capacity_max is not None and capacity_min > capacity_max:
        row.problem("capacity_min", f"above capacity_max ({capacity_max}) in the same row")
    latitude, longitude = _coordinates(row)
    return Mentor(
        mentor_id=row.required("mentor_id", cells.identifier),
        name=row.required("name", cells.display_name),
        email=row.optional("email", cells.email),
        gmc_number=row.optional("gmc_number", cells.gmc_number),
        practice_code=row.text("practice_code"),
        pcn=row.text("pcn"),
        capacity_max=_in_band(row, "capacity_max", capacity_max, settings),
        capacity_min=_in_band(row, "capacity_min", capacity_min, settings),
        current_mentees=row.get("current_mentees", cells.whole_number(0), 0),
        focus_areas=row.get("focus_areas", cells.focus_list(settings.focus_areas), ()),
        availability=row.get("availability", cells.slots, frozenset()),
        modes=row.get("modes", cells.modes, frozenset({"virtual"})),
        latitude=latitude,
        longitude=longitude,
        postcode=row.optional("postcode", normalise_postcode),
        gender=row.text("gender"),
        ethnicity=row.text("ethnicity"),
        img=row.optional("img", cells.yes_no),
        years_post_cct=row.optional("years_post_cct", cells.number()),
        clinical_sessions_per_week=row.optional("clinical_sessions_per_week", cells.number()),
        status=row.get("status", cells.status, "active"),
        preferred_mentees=row.get("preferred_mentees", cells.id_list, ()),
        source=row.source(),
    )


def _in_band(row: RowReader, column: str, value: int | None, settings: Settings) -> int | None:
    """A personal capacity outside the scheme's band is read at the band's edge, with a warning."""
    if value is None:
        return None
    low, high = settings.capacity.min, settings.capacity.max
    edge = min(max(value, low), high)
    if edge != value:
        side = "above the scheme's maximum" if value > high else "below the scheme's minimum"
        row.note(
            column,
            f"{column} {value} is {side} ({edge}): read as {edge} for "
            f"{row.values.get('mentor_id', '')}",
        )
    return edge


def _mentee(row: RowReader, settings: Settings, today: date) -> Mentee:
    latitude, longitude = _coordinates(row)
    return Mentee(
        mentee_id=row.required("mentee_id", cells.identifier),
        name=row.required("name", cells.display_name),
        cohort=row.required("cohort", cells.cohort),
        email=row.optional("email", cells.email),
        practice_code=row.text("practice_code"),
        pcn=row.text("pcn"),
        needs=row.get("needs", cells.focus_list(settings.focus_areas), ()),
        availability=row.get("availability", cells.slots, frozenset()),
        modes=row.get("modes", cells.modes, frozenset({"virtual"})),
        latitude=latitude,
        longitude=longitude,
        postcode=row.optional("postcode", normalise_postcode),
        max_distance_km=row.optional("max_distance_km", cells.distance_km),
        mentor_gender=row.text("mentor_gender"),
        mentor_gender_strict=row.get("mentor_gender_strict", cells.yes_no, False),
        same_ethnicity=row.get("same_ethnicity", cells.yes_no, False),
        same_img=row.get("same_img", cells.yes_no, False),
        preferred_mentors=row.get("preferred_mentors", cells.id_list, ()),
        waiting_since=row.optional("waiting_since", cells.past_date(today)),
        gender=row.text("gender"),
        ethnicity=row.text("ethnicity"),
        img=row.optional("img", cells.yes_no),
        source=row.source(),
    )


def _coordinates(row: RowReader) -> tuple[float | None, float | None]:
    latitude = row.optional("latitude", cells.latitude)
    longitude = row.optional("longitude", cells.longitude)
    for column, other in (("latitude", "longitude"), ("longitude", "latitude")):
        if row.values.get(other) and not row.values.get(column):
            row.problem(column, f"empty, but {other} is given (give both or neither)")
    return latitude, longitude


def _lookup(settings: Settings, table: Table, reading: FileReading) -> PostcodeLookup | None:
    path = settings.locations.postcode_lookup
    if not path or "postcode" not in table.header:
        return None
    try:
        return load_lookup(path)
    except InputError as exc:
        reading.problems.extend(exc.problems)
        return None


def _locate(row: RowReader, lookup: PostcodeLookup | None) -> None:
    """Coordinates from the scheme's postcode lookup, where the row gives a postcode only."""
    postcode = row.stored.get("postcode")
    if lookup is None or not postcode or row.values.get("latitude") or not row.ok:
        return
    found = lookup.locate(postcode)
    if found is None:
        row.problem(
            "postcode",
            f"not in the postcode lookup {lookup.file} (nor its district): add it to the "
            "lookup, or give latitude and longitude",
        )
        return
    how = "its district's centre" if found.by == "district" else "the postcode"
    row.note("postcode", f"placed at {how} by the postcode lookup {lookup.file}", warning=False)
    row.located = (found.latitude, found.longitude)


def _located(record: R, row: RowReader) -> R:
    if row.located is None:
        return record
    return replace(record, latitude=row.located[0], longitude=row.located[1])


def _missing_columns(table: Table, required: tuple[str, ...]) -> list[Problem]:
    """Tables made in code (stored rows) can lack a column; files are checked on reading."""
    found = ", ".join(table.header) or "none"
    return [
        Problem(table.file, None, column, None, f"required column is missing (found: {found})")
        for column in required
        if column not in table.header
    ]


def _in_order(table: Table, problems: list[Problem]) -> list[Problem]:
    """Whole-file problems first, then by row and by column as they stand in the file."""
    position = {column: i for i, column in enumerate(table.header)}
    return sorted(problems, key=lambda p: (p.row or 0, position.get(p.column or "", len(position))))
