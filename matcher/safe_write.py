"""Writing CSV and XLSX files safely: all or nothing, and nothing Excel would run.

Writing is atomic (a temporary file in the same folder, then ``os.replace``), and cells that
Excel would read as formulas are neutralised with a leading '. openpyxl is loaded only when a
workbook is written: `matcher match` writes CSV and starts faster without it.
"""

from __future__ import annotations

import csv
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from matcher.sheets import FORMULA_STARTS
from matcher.sheets import text as _text

if TYPE_CHECKING:
    from openpyxl import Workbook

Row = Sequence[object] | Mapping[str, object]


def safe_cell(value: object) -> str:
    """The text of a cell, with a leading ' if Excel would otherwise run it as a formula.

    A finite int or float is written as plain digits (-0.12 stays -0.12): a number cannot
    carry a formula, and coordinates west of Greenwich must stay numbers.
    """
    text = _text(value)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return text
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(
    path: str | Path, header: Sequence[str], rows: Iterable[Row], *, bom: bool = True
) -> None:
    """Write a CSV atomically; rows are sequences (in header order) or mappings by column.

    The byte-order mark (default on) makes Excel on Windows read the file as UTF-8 rather
    than Windows-1252, so names such as "Zoë" survive a double-click.
    """

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([safe_cell(h) for h in header])
            for cells in _cells(header, rows):
                writer.writerow([safe_cell(c) for c in cells])

    atomic_write(Path(path), write)


@dataclass(frozen=True)
class Sheet:
    """One sheet of a workbook: its tab's title, the header and the rows."""

    title: str
    header: Sequence[str]
    rows: Iterable[Row]


def write_xlsx(path: str | Path, header: Sequence[str], rows: Iterable[Row]) -> None:
    """Write a one-sheet XLSX atomically; numbers stay numbers, text is neutralised."""
    write_workbook(path, [Sheet("Sheet", header, rows)])


def write_workbook(path: str | Path, sheets: Sequence[Sheet]) -> None:
    """Write an XLSX of several sheets atomically, each ready to read as opened: a bold,
    shaded header row frozen above the rows, a filter on it, columns as wide as their
    contents (within limits)."""

    def write(tmp: str) -> None:
        from openpyxl import Workbook

        # Collect the rows first: a write-only workbook abandoned half-way cannot be closed.
        tables = [
            (sheet, [[_xlsx_value(c) for c in cells] for cells in _cells(sheet.header, sheet.rows)])
            for sheet in sheets
        ]
        book = Workbook(write_only=True)
        for sheet, values in tables:
            _styled_sheet(book, sheet, values)
        book.save(tmp)

    atomic_write(Path(path), write)


_HEADER_FILL_COLOUR = "DDE7F0"
_MIN_WIDTH, _MAX_WIDTH = 8, 60


def _styled_sheet(book: Workbook, sheet: Sheet, values: list[list[object]]) -> None:
    from openpyxl.cell.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    out = book.create_sheet(title=sheet.title[:31])
    for index, name in enumerate(sheet.header, start=1):
        longest = max([len(str(name)), *(len(str(row[index - 1] or "")) for row in values)])
        width = min(_MAX_WIDTH, max(_MIN_WIDTH, longest + 2))
        out.column_dimensions[get_column_letter(index)].width = width
    out.freeze_panes = "A2"
    if sheet.header:
        out.auto_filter.ref = f"A1:{get_column_letter(len(sheet.header))}{len(values) + 1}"
    heading = []
    for name in sheet.header:
        cell = WriteOnlyCell(out, value=_xlsx_value(name))
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor=_HEADER_FILL_COLOUR)
        heading.append(cell)
    out.append(heading)
    for row in values:
        out.append(row)


def _cells(header: Sequence[str], rows: Iterable[Row]) -> Iterator[Sequence[object]]:
    for index, row in enumerate(rows, start=1):
        if isinstance(row, Mapping):
            unknown = set(row) - set(header)
            if unknown:
                raise ValueError(f"row {index} has columns not in the header: {sorted(unknown)}")
            yield [row.get(h) for h in header]
        elif isinstance(row, str | bytes) or len(row) != len(header):
            raise ValueError(f"row {index} does not have {len(header)} cells")
        else:
            yield row


def _xlsx_value(value: object) -> object:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # loaded already by the workbook

    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return value
    return ILLEGAL_CHARACTERS_RE.sub("", safe_cell(value))


def atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Run ``write`` on a temporary file next to ``path``, then move it into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        # mkstemp makes the file private (0600); an export should be readable like any other.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
