"""Which column of a spreadsheet is which: the contract's columns per kind of file, and how
the headings people actually write are read.

Every heading is accounted for. It is either a contract column (written as the contract
writes it, up to case and surrounding spaces), a close spelling read as that column with a
note ("Focus areas" as focus_areas, "waitingsince" as waiting_since, "E-mail" as email), a
probable typo that is refused naming the column it probably meant, or a column the contract
does not know, which is ignored, with a warning, and never stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from matcher.errors import Problem
from matcher.words import snake, stem, typo_of

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
    "postcode",
    "gender",
    "ethnicity",
    "img",
    "years_post_cct",
    "clinical_sessions_per_week",
    "status",
    # Not in the SPEC table: the mentees a mentor chose at a speed-meeting.
    "preferred_mentees",
)
MENTEE_COLUMNS: tuple[str, ...] = (
    "mentee_id",
    "name",
    "email",
    "cohort",
    "practice_code",
    "pcn",
    "needs",
    "availability",
    "modes",
    "latitude",
    "longitude",
    "postcode",
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

# Other spellings staff use for a column, read with a note. Compared by ``words.stem``.
_COMMON_ALIASES: dict[str, str] = {
    "e-mail address": "email",
    "email address": "email",
    "GMC": "gmc_number",
    "GMC no": "gmc_number",
    "GMC reference number": "gmc_number",
    "practice": "practice_code",
    "ODS code": "practice_code",
    "practice ODS code": "practice_code",
    "primary care network": "pcn",
    "lat": "latitude",
    "long": "longitude",
    "lon": "longitude",
    "lng": "longitude",
    "post code": "postcode",
    "postal code": "postcode",
    "weekly slots": "availability",
    "slots": "availability",
    "meeting modes": "modes",
    "ethnic group": "ethnicity",
    "international medical graduate": "img",
}
_MENTOR_ALIASES: dict[str, str] = {
    "id": "mentor_id",
    "focus": "focus_areas",
    "specialist areas": "focus_areas",
    "areas of interest": "focus_areas",
    "maximum mentees": "capacity_max",
    "max mentees": "capacity_max",
    "minimum mentees": "capacity_min",
    "min mentees": "capacity_min",
    "existing mentees": "current_mentees",
    "years since CCT": "years_post_cct",
    "clinical sessions": "clinical_sessions_per_week",
    "sessions per week": "clinical_sessions_per_week",
}
_MENTEE_ALIASES: dict[str, str] = {
    "id": "mentee_id",
    "mentee type": "cohort",
    "mentoring needs": "needs",
    "areas of need": "needs",
    "max distance": "max_distance_km",
    "maximum distance": "max_distance_km",
    "maximum distance km": "max_distance_km",
    "travel distance": "max_distance_km",
    "date joined": "waiting_since",
    "joined waiting list": "waiting_since",
    "date added": "waiting_since",
    "preferred mentor": "preferred_mentors",
    "mentor gender wanted": "mentor_gender",
    "preferred mentor gender": "mentor_gender",
}
_PAIR_ALIASES: dict[str, str] = {"mentor": "mentor_id", "mentee": "mentee_id"}


@dataclass(frozen=True)
class Schema:
    """The columns of one kind of file."""

    kind: str  # "mentors", "mentees", "exclusions", ...
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)
    # Columns numbered without end, such as choice_1, choice_2, ... of a choices file.
    numbered: re.Pattern[str] | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional

    @property
    def singular(self) -> str:
        return self.kind[:-1] if self.kind.endswith("s") else self.kind


def _schema(kind: str, columns: tuple[str, ...], required: int, aliases: dict[str, str]) -> Schema:
    return Schema(kind, columns[:required], columns[required:], {**_COMMON_ALIASES, **aliases})


MENTORS = _schema("mentors", MENTOR_COLUMNS, 2, _MENTOR_ALIASES)
MENTEES = Schema(
    "mentees",
    ("mentee_id", "name", "cohort"),
    tuple(c for c in MENTEE_COLUMNS if c not in ("mentee_id", "name", "cohort")),
    {**_COMMON_ALIASES, **_MENTEE_ALIASES},
)
EXCLUSIONS = Schema("exclusions", ("mentor_id", "mentee_id"), ("reason",), _PAIR_ALIASES)
LOCKS = Schema("locks", ("mentor_id", "mentee_id"), (), _PAIR_ALIASES)
PREVIOUS = Schema("previous pairs", ("mentor_id", "mentee_id"), (), _PAIR_ALIASES)
CHOICES = Schema(
    "choices", ("person_id",), (), {"id": "person_id"}, numbered=re.compile(r"choice_[1-9]\d*")
)
_OTHER_KINDS_COLUMNS = frozenset((*MENTOR_COLUMNS, *MENTEE_COLUMNS, "reason", "person_id"))
SCHEMAS: dict[str, Schema] = {
    "mentors": MENTORS,
    "mentees": MENTEES,
    "exclusions": EXCLUSIONS,
    "locks": LOCKS,
    "previous": PREVIOUS,
}


@dataclass(frozen=True)
class ColumnReading:
    """How one heading of the file was read."""

    position: int  # 1-based
    heading: str  # as written, stripped
    column: str | None  # the contract column it is read as; None when not read
    how: str  # "exact", "renamed", "unknown" or "typo"
    meant: tuple[str, ...] = ()  # for a typo: the columns it probably is

    @property
    def letter(self) -> str:
        return column_letter(self.position)

    def describe(self, kind: str) -> str:
        """One line for a preview: how this column was read."""
        if self.how == "exact":
            return f"{self.column}"
        if self.how == "renamed":
            return f"{self.column} (renamed)"
        if self.how == "typo":
            return f"refused: did you mean {_either(self.meant)}?"
        return f"ignored: not a column of a {kind} file; not stored"


def column_letter(position: int) -> str:
    letters = ""
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def read_heading(schema: Schema, heading: str, position: int) -> ColumnReading:
    """How ``heading`` (at 1-based ``position``) is read in a file of ``schema``'s kind."""
    written = heading.strip()
    exact = written.lower()
    if exact in schema.columns or (schema.numbered and schema.numbered.fullmatch(exact)):
        return ColumnReading(position, written, exact, "exact")
    key = snake(written)
    if schema.numbered and schema.numbered.fullmatch(key):
        return ColumnReading(position, written, key, "renamed")
    target = _by_stem(schema).get(stem(written))
    if target:
        return ColumnReading(position, written, target, "renamed")
    if key in _OTHER_KINDS_COLUMNS:
        # Another kind's column (mentee_id in a mentors file) is not a typo of this kind's.
        return ColumnReading(position, written, None, "unknown")
    meant = {schema.aliases.get(m, m): None for m in typo_of(written, schema.columns)}
    meant.update({schema.aliases[m]: None for m in typo_of(written, schema.aliases)})
    if meant:
        return ColumnReading(position, written, None, "typo", meant=tuple(meant))
    return ColumnReading(position, written, None, "unknown")


def _either(columns: Sequence[str]) -> str:
    return columns[0] if len(columns) == 1 else f"{', '.join(columns[:-1])} or {columns[-1]}"


def _by_stem(schema: Schema) -> dict[str, str]:
    found = {stem(alias): column for alias, column in schema.aliases.items()}
    found.update({stem(column): column for column in schema.columns})
    return found


def read_header(schema: Schema, headings: Sequence[str]) -> tuple[ColumnReading, ...]:
    """How every named heading of a header row is read (unnamed cells are left out)."""
    return tuple(
        read_heading(schema, heading, position)
        for position, heading in enumerate(headings, start=1)
        if heading.strip()
    )


def has_required(schema: Schema, readings: Sequence[ColumnReading]) -> bool:
    found = {r.column for r in readings}
    return all(column in found for column in schema.required)


def header_problems(
    file: str, header_row: int, schema: Schema, readings: Sequence[ColumnReading]
) -> list[Problem]:
    """Typos, and two headings read as the same column: the file is refused for these."""
    problems = []
    for r in readings:
        if r.how == "typo":
            problems.append(
                Problem(
                    file,
                    header_row,
                    None,
                    r.heading,
                    f"column {r.letter} is not a column of a {schema.singular} file: did you "
                    f"mean {_either(r.meant)}? Rename the heading (or delete the column)",
                )
            )
    return problems + repeated_columns(file, header_row, readings)


def repeated_columns(
    file: str, header_row: int, readings: Sequence[ColumnReading]
) -> list[Problem]:
    """Two headings read as one column: which to keep is the person's choice, not ours."""
    problems = []
    first: dict[str, ColumnReading] = {}
    for r in readings:
        if r.column is None:
            continue
        if r.column in first:
            other = first[r.column]
            problems.append(
                Problem(
                    file,
                    header_row,
                    None,
                    r.heading,
                    f"columns {other.letter} ('{other.heading}') and {r.letter} ('{r.heading}') "
                    f"are both {r.column}: keep one of them",
                )
            )
        else:
            first[r.column] = r
    return problems
