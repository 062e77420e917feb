"""Turn mentors, mentees and pair spreadsheets (SPEC section 3) into validated records.

A file is rejected whole: every problem in it (missing columns, bad cells, repeated ids) is
collected and raised together as one ``InputError``. ``load_problem`` does the same across
all the files of a round, so a person sees everything wrong at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path
from typing import TypeVar

from matcher import cells
from matcher.data import Mentee, Mentor, PairRef, ProblemData, Source
from matcher.errors import InputError, Problem
from matcher.settings import Settings
from matcher.spreadsheet import Table, read_table

T = TypeVar("T")

MENTOR_COLUMNS: tuple[str, ...] = (
    "mentor_id",
    "name",
    "email",
    "gmc_number",
    "practice_code",
    "pcn",
    "capacity_max",
    "capacity_min",
    "current_mentees",
    "focus_areas",
    "availability",
    "modes",
    "latitude",
    "longitude",
    "gender",
    "ethnicity",
    "img",
    "years_post_cct",
    "clinical_sessions_per_week",
    "status",
    # Not in the SPEC table: the mentees a mentor chose at a speed-meeting (Mentor field).
    "preferred_mentees",
)
MENTEE_COLUMNS: tuple[str, ...] = (
    "mentee_id",
    "name",
    "cohort",
    "practice_code",
    "pcn",
    "needs",
    "availability",
    "modes",
    "latitude",
    "longitude",
    "max_distance_km",
    "mentor_gender",
    "mentor_gender_strict",
    "same_ethnicity",
    "same_img",
    "preferred_mentors",
    "waiting_since",
    "gender",
    "ethnicity",
    "img",
)
PAIR_KINDS: tuple[str, ...] = ("exclusions", "locks", "previous")


def pair_columns(kind: str) -> tuple[str, ...]:
    """Columns of a pairs file: exclusions also carry a reason."""
    if kind not in PAIR_KINDS:
        raise ValueError(f"unknown kind of pairs file {kind!r} (expected one of {PAIR_KINDS})")
    return (
        ("mentor_id", "mentee_id", "reason") if kind == "exclusions" else ("mentor_id", "mentee_id")
    )


class _Row:
    """One row being read: parses its cells and records a Problem for each bad one."""

    def __init__(self, file: str, number: int, values: dict[str, str], problems: list[Problem]):
        self.file = file
        self.number = number
        self.values = values
        self.problems = problems
        self._start = len(problems)

    @property
    def ok(self) -> bool:
        return len(self.problems) == self._start

    def problem(self, column: str, message: str) -> None:
        value = self.values.get(column, "")
        self.problems.append(Problem(self.file, self.number, column, value, message))

    def required(self, column: str, parse: Callable[[str], str] = str) -> str:
        if column not in self.values:
            return ""  # a missing column is reported once, for the whole file
        if not self.values[column]:
            self.problem(column, "required, but empty")
            return ""
        return self.get(column, parse, "")

    def optional(self, column: str, parse: Callable[[str], T]) -> T | None:
        text = self.values.get(column, "")
        if not text:
            return None
        try:
            return parse(text)
        except cells.CellError as exc:
            self.problem(column, str(exc))
            return None

    def get(self, column: str, parse: Callable[[str], T], default: T) -> T:
        value = self.optional(column, parse)
        return default if value is None else value

    def text(self, column: str) -> str | None:
        return self.values.get(column) or None

    def source(self) -> Source:
        return Source(self.file, self.number)


def read_mentors(path: str | Path, settings: Settings | None = None) -> tuple[Mentor, ...]:
    """Read a mentors file; raise InputError listing every problem in it."""
    return parse_mentors(read_table(path), settings)


def parse_mentors(table: Table, settings: Settings | None = None) -> tuple[Mentor, ...]:
    """Validate a mentors table (from a file, an upload or stored rows)."""
    settings = settings or Settings()
    problems = _missing_columns(table, ("mentor_id", "name"))
    mentors = []
    for number, values in table.rows:
        row = _Row(table.file, number, values, problems)
        mentor = _mentor(row, settings)
        if row.ok:
            mentors.append(mentor)
    problems += _repeated(table, "mentor_id")
    if problems:
        raise InputError(_in_order(table, problems))
    return tuple(mentors)


def read_mentees(path: str | Path, settings: Settings | None = None) -> tuple[Mentee, ...]:
    """Read a mentees file; raise InputError listing every problem in it.

    ``waiting_since`` may be ISO (2024-03-05) or as UK offices type it (05/03/2024, day
    first); it must not be after today.
    """
    return parse_mentees(read_table(path), settings)


def parse_mentees(table: Table, settings: Settings | None = None) -> tuple[Mentee, ...]:
    """Validate a mentees table (from a file, an upload or stored rows)."""
    settings = settings or Settings()
    problems = _missing_columns(table, ("mentee_id", "name", "cohort"))
    mentees = []
    today = date.today()
    for number, values in table.rows:
        row = _Row(table.file, number, values, problems)
        mentee = _mentee(row, settings, today)
        if row.ok:
            mentees.append(mentee)
    problems += _repeated(table, "mentee_id")
    if problems:
        raise InputError(_in_order(table, problems))
    return tuple(mentees)


def read_pairs(path: str | Path, kind: str) -> tuple[PairRef, ...]:
    """Read an exclusions, locks or previous-pairs file (``kind``); reason only for exclusions."""
    return parse_pairs(read_table(path), kind)


def parse_pairs(table: Table, kind: str) -> tuple[PairRef, ...]:
    """Validate a pairs table (``kind`` as for ``read_pairs``)."""
    columns = pair_columns(kind)
    problems = _missing_columns(table, ("mentor_id", "mentee_id"))
    pairs = []
    first_row: dict[tuple[str, str], int] = {}
    for number, values in table.rows:
        row = _Row(table.file, number, values, problems)
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
    if problems:
        raise InputError(_in_order(table, problems))
    return tuple(pairs)


def load_problem(
    mentors: str | Path,
    mentees: str | Path,
    exclusions: str | Path | None = None,
    locks: str | Path | None = None,
    previous: str | Path | None = None,
    settings: Settings | None = None,
) -> ProblemData:
    """Read every file of a round and build the problem data.

    Problems from all files are raised together in one InputError; the cross-file checks of
    ``ProblemData`` (unknown ids, ...) run only once every file reads cleanly.
    """
    settings = settings or Settings()
    problems: list[Problem] = []

    def attempt(read: Callable[[], tuple[T, ...]]) -> tuple[T, ...]:
        try:
            return read()
        except InputError as exc:
            problems.extend(exc.problems)
            return ()

    mentor_records = attempt(partial(read_mentors, mentors, settings))
    mentee_records = attempt(partial(read_mentees, mentees, settings))
    pairs: dict[str, tuple[PairRef, ...]] = {}
    for kind, file in (("exclusions", exclusions), ("locks", locks), ("previous", previous)):
        pairs[kind] = () if file is None else attempt(partial(read_pairs, file, kind))
    if problems:
        raise InputError(problems)
    return ProblemData(
        mentors=mentor_records,
        mentees=mentee_records,
        exclusions=pairs["exclusions"],
        locks=pairs["locks"],
        previous=pairs["previous"],
        settings=settings,
    )


def _mentor(row: _Row, settings: Settings) -> Mentor:
    scheme_max = settings.capacity.max
    capacity_max = row.optional(
        "capacity_max", cells.whole_number(1, scheme_max, "the scheme's maximum")
    )
    capacity_min = row.optional(
        "capacity_min", cells.whole_number(0, scheme_max, "the scheme's maximum")
    )
    if capacity_min is not None and capacity_max is not None and capacity_min > capacity_max:
        row.problem("capacity_min", f"above capacity_max ({capacity_max}) in the same row")
    latitude, longitude = _coordinates(row)
    return Mentor(
        mentor_id=row.required("mentor_id", cells.identifier),
        name=row.required("name"),
        email=row.optional("email", cells.email),
        gmc_number=row.optional("gmc_number", cells.gmc_number),
        practice_code=row.text("practice_code"),
        pcn=row.text("pcn"),
        capacity_max=capacity_max,
        capacity_min=capacity_min,
        current_mentees=row.get("current_mentees", cells.whole_number(0), 0),
        focus_areas=row.get("focus_areas", cells.focus_list(settings.focus_areas), ()),
        availability=row.get("availability", cells.slots, frozenset()),
        modes=row.get("modes", cells.modes, frozenset({"virtual"})),
        latitude=latitude,
        longitude=longitude,
        gender=row.text("gender"),
        ethnicity=row.text("ethnicity"),
        img=row.optional("img", cells.yes_no),
        years_post_cct=row.optional("years_post_cct", cells.number()),
        clinical_sessions_per_week=row.optional("clinical_sessions_per_week", cells.number()),
        status=row.get("status", cells.status, "active"),
        preferred_mentees=row.get("preferred_mentees", cells.id_list, ()),
        source=row.source(),
    )


def _mentee(row: _Row, settings: Settings, today: date) -> Mentee:
    latitude, longitude = _coordinates(row)
    return Mentee(
        mentee_id=row.required("mentee_id", cells.identifier),
        name=row.required("name"),
        cohort=row.required("cohort", cells.cohort),
        practice_code=row.text("practice_code"),
        pcn=row.text("pcn"),
        needs=row.get("needs", cells.focus_list(settings.focus_areas), ()),
        availability=row.get("availability", cells.slots, frozenset()),
        modes=row.get("modes", cells.modes, frozenset({"virtual"})),
        latitude=latitude,
        longitude=longitude,
        max_distance_km=row.optional("max_distance_km", cells.number(strict=True)),
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


def _coordinates(row: _Row) -> tuple[float | None, float | None]:
    latitude = row.optional("latitude", cells.latitude)
    longitude = row.optional("longitude", cells.longitude)
    for column, other in (("latitude", "longitude"), ("longitude", "latitude")):
        if row.values.get(other) and not row.values.get(column):
            row.problem(column, f"empty, but {other} is given (give both or neither)")
    return latitude, longitude


def _missing_columns(table: Table, required: tuple[str, ...]) -> list[Problem]:
    found = ", ".join(table.header) or "none"
    return [
        Problem(table.file, None, column, None, f"required column is missing (found: {found})")
        for column in required
        if column not in table.header
    ]


def _repeated(table: Table, column: str) -> list[Problem]:
    """One problem per repeated id, at the later row, naming the first."""
    first_row: dict[str, int] = {}
    problems = []
    for number, values in table.rows:
        value = values.get(column, "")
        if not value:
            continue
        if value in first_row:
            message = f"duplicate {column}: the same id is in row {first_row[value]}"
            problems.append(Problem(table.file, number, column, value, message))
        else:
            first_row[value] = number
    return problems


def _in_order(table: Table, problems: list[Problem]) -> list[Problem]:
    """Whole-file problems first, then by row and by column as they stand in the file."""
    position = {column: i for i, column in enumerate(table.header)}
    return sorted(problems, key=lambda p: (p.row or 0, position.get(p.column or "", len(position))))
