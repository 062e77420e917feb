"""Choices made after a speed-meeting, fed back into the people files.

A choices file has ``person_id, choice_1, choice_2, ...`` (first choice first). Mentees'
choices become their ``preferred_mentors``; mentors' choices become their
``preferred_mentees``. A pair where both chose each other is mutual interest, which the
matching score rewards more (``weights.mutual``), and higher choices earn more
(``weights.preference``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from matcher.errors import InputError, Problem
from matcher.readers import parse_mentees, parse_mentors
from matcher.spreadsheet import Table, read_table, write_csv, write_xlsx

SIDES = ("mentee", "mentor")
_CHOICE = re.compile(r"^choice_(\d+)$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
# The people files' number columns (SPEC section 3): written back as numbers, not text.
NUMBER_COLUMNS = frozenset(
    {
        "capacity_max",
        "capacity_min",
        "current_mentees",
        "latitude",
        "longitude",
        "years_post_cct",
        "clinical_sessions_per_week",
        "max_distance_km",
    }
)


@dataclass(frozen=True)
class Side:
    """What a side's choices name, and where they are written."""

    id_column: str
    chooses: str  # the other side, as people
    column: str  # the people-file column the choices fill


SIDE = {
    "mentee": Side("mentee_id", "mentor", "preferred_mentors"),
    "mentor": Side("mentor_id", "mentee", "preferred_mentees"),
}


def read_choices(
    path: str | Path, own_ids: set[str], other_ids: set[str], side: str
) -> dict[str, tuple[str, ...]]:
    """Person id -> their choices in order; InputError lists every problem."""
    table = read_table(path)
    problems: list[Problem] = []
    if "person_id" not in table.header:
        problems.append(Problem(table.file, None, "person_id", None, "missing column"))
    columns = sorted(
        (c for c in table.header if _CHOICE.match(c)), key=lambda c: int(c.split("_")[1])
    )
    if not columns:
        problems.append(
            Problem(
                table.file, None, "choice_1", None, "missing column: no choice_1, choice_2, ..."
            )
        )
    if problems:
        raise InputError(problems)
    other = SIDE[side].chooses
    choices: dict[str, tuple[str, ...]] = {}
    first_row: dict[str, int] = {}
    for number, values in table.rows:
        person = values.get("person_id", "")
        if not person:
            problems.append(Problem(table.file, number, "person_id", "", "required"))
            continue
        if person not in own_ids:
            problems.append(
                Problem(table.file, number, "person_id", person, f"no {side} has this id")
            )
        if person in first_row:
            problems.append(
                Problem(
                    table.file, number, "person_id", person, f"already in row {first_row[person]}"
                )
            )
        first_row.setdefault(person, number)
        picked: list[str] = []
        for column in columns:
            choice = values.get(column, "")
            if not choice:
                continue
            if choice not in other_ids:
                problems.append(
                    Problem(table.file, number, column, choice, f"no {other} has this id")
                )
            elif choice in picked:
                problems.append(
                    Problem(table.file, number, column, choice, "chosen twice in this row")
                )
            else:
                picked.append(choice)
        choices[person] = tuple(picked)
    if problems:
        raise InputError(problems)
    return choices


def apply_choices(
    people_file: str | Path, side: str, choices: dict[str, tuple[str, ...]]
) -> tuple[Table, int]:
    """The people file's table with the choices written in; and how many rows changed."""
    table = read_table(people_file)
    spec = SIDE[side]
    header = table.header if spec.column in table.header else (*table.header, spec.column)
    changed = 0
    rows = []
    for number, values in table.rows:
        row = dict(values)
        person = row.get(spec.id_column, "")
        if person in choices:
            new = ";".join(choices[person])
            if row.get(spec.column, "") != new:
                changed += 1
            row[spec.column] = new
        rows.append((number, row))
    return Table(table.file, header, tuple(rows)), changed


def import_choices(
    choices_file: str | Path, side: str, mentors_file: str | Path, mentees_file: str | Path
) -> tuple[Path, int, int]:
    """Write ``side``'s choices into its people file, in place and all or nothing.

    Returns the file written, the number of people in the choices file and of rows changed.
    """
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}")
    mentors = {m.mentor_id for m in parse_mentors(read_table(mentors_file))}
    mentees = {m.mentee_id for m in parse_mentees(read_table(mentees_file))}
    own, other = (mentees, mentors) if side == "mentee" else (mentors, mentees)
    choices = read_choices(choices_file, own, other, side)
    target = Path(mentees_file if side == "mentee" else mentors_file)
    table, changed = apply_choices(target, side, choices)
    # The rewritten file must still read cleanly before it replaces the old one.
    (parse_mentees if side == "mentee" else parse_mentors)(table)
    rows = [{k: _typed(k, v) for k, v in values.items()} for _n, values in table.rows]
    if target.suffix.lower() == ".xlsx":
        write_xlsx(target, table.header, rows)
    else:
        write_csv(target, table.header, rows)
    return target, len(choices), changed


def _typed(column: str, cell: str) -> str | int | float:
    """Number columns go back as numbers: a spreadsheet sums and sorts them, and negative
    longitudes are not mistaken for formulas by the export guard."""
    if column in NUMBER_COLUMNS and _NUMBER.match(cell):
        return float(cell) if "." in cell else int(cell)
    return cell
