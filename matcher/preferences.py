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

from openpyxl import load_workbook

from matcher.columns import CHOICES, MENTEES, MENTORS
from matcher.errors import InputError, Problem
from matcher.readers import read_mentees, read_mentors
from matcher.safe_write import atomic_write, write_csv
from matcher.sheets import csv_sheet
from matcher.spreadsheet import XLSX_SUFFIXES, TableReading, read_table

SIDES = ("mentee", "mentor")
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
    table = read_table(path, CHOICES)
    columns = sorted(
        (c for c in table.header if c.startswith("choice_")), key=lambda c: int(c.split("_")[1])
    )
    if not columns:
        raise InputError(
            [
                Problem(
                    table.file, None, "choice_1", None, "missing column: no choice_1, choice_2, ..."
                )
            ]
        )
    problems: list[Problem] = []
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


def import_choices(
    choices_file: str | Path, side: str, mentors_file: str | Path, mentees_file: str | Path
) -> tuple[Path, int, int]:
    """Write ``side``'s choices into its people file, in place and all or nothing.

    Everything else in the file stays as it was: title rows, other columns (known or not),
    and in a workbook its other sheets and formatting. Returns the file written, the number
    of people in the choices file and of rows changed.
    """
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}")
    mentors = {m.mentor_id for m in read_mentors(mentors_file)}
    mentees = {m.mentee_id for m in read_mentees(mentees_file)}
    own, other = (mentees, mentors) if side == "mentee" else (mentors, mentees)
    choices = read_choices(choices_file, own, other, side)
    target = Path(mentees_file if side == "mentee" else mentors_file)
    schema = MENTEES if side == "mentee" else MENTORS
    table = read_table(target, schema)
    assert table.reading is not None
    if target.suffix.lower() in XLSX_SUFFIXES:
        changed = _write_workbook(target, table.reading, SIDE[side], choices)
    else:
        changed = _write_csv(target, table.reading, SIDE[side], choices)
    return target, len(choices), changed


def _positions(reading: TableReading, spec: Side, width: int) -> tuple[int, int, bool]:
    """0-based positions of the id and choices columns; the latter added at the end if new."""
    by_column = {r.column: r.position - 1 for r in reading.columns if r.column}
    if spec.column in by_column:
        return by_column[spec.id_column], by_column[spec.column], False
    return by_column[spec.id_column], width, True


def _write_csv(
    target: Path, reading: TableReading, spec: Side, choices: dict[str, tuple[str, ...]]
) -> int:
    grid = [cells for _number, cells in csv_sheet(target.name, target.read_bytes()).rows()]
    header_at = reading.header_row - 1
    width = max(len(cells) for cells in grid)
    id_at, column_at, added = _positions(reading, spec, len(grid[header_at]))
    width = max(width, column_at + 1)
    grid = [cells + [""] * (width - len(cells)) for cells in grid]
    if added:
        grid[header_at][column_at] = spec.column
    changed = 0
    for cells in grid[header_at + 1 :]:
        person = cells[id_at]
        if person in choices:
            new = ";".join(choices[person])
            changed += cells[column_at] != new
            cells[column_at] = new
    named = {r.position - 1: r.column for r in reading.columns}
    rows = [
        [
            _typed(named.get(i) or "", cell) if n > header_at else cell
            for i, cell in enumerate(cells)
        ]
        for n, cells in enumerate(grid)
    ]
    write_csv(target, grid[0], rows[1:])
    return changed


def _write_workbook(
    target: Path, reading: TableReading, spec: Side, choices: dict[str, tuple[str, ...]]
) -> int:
    book = load_workbook(target)
    sheet = book[reading.sheet] if reading.sheet else book.worksheets[0]
    header = reading.header_row
    id_at, column_at, added = _positions(reading, spec, sheet.max_column)
    if added:
        sheet.cell(header, column_at + 1, spec.column)
    changed = 0
    for row in range(header + 1, sheet.max_row + 1):
        person = sheet.cell(row, id_at + 1).value
        if person is None or str(person).strip() not in choices:
            continue
        new = ";".join(choices[str(person).strip()])
        cell = sheet.cell(row, column_at + 1)
        changed += (cell.value or "") != new
        cell.value = new
    atomic_write(target, book.save)
    return changed


def _typed(column: str, cell: str) -> str | int | float:
    """Number columns go back as numbers: a spreadsheet sums and sorts them, and negative
    longitudes are not mistaken for formulas by the export guard."""
    if column in NUMBER_COLUMNS and _NUMBER.match(cell):
        return float(cell) if "." in cell else int(cell)
    return cell
