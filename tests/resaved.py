"""The shipped LMC sample re-saved the way LMC staff keep it: a test helper, not shipped data.

``Sheet.of(kind)`` reads a clean sample file; its methods return changed copies (headings
renamed, cells rewritten in the scheme's own words, columns swapped or added) and ``save``
writes it as CSV or as a workbook, with title rows above the header and other sheets before
it where asked. Each quirk can then be checked against the clean file's reading.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from openpyxl import Workbook

from datasets.generator import sample_dir

LMC = sample_dir("lmc")
NUMBER_COLUMNS = frozenset(
    {"latitude", "longitude", "capacity_max", "capacity_min", "current_mentees", "max_distance_km"}
)


@dataclass(frozen=True)
class Sheet:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    @classmethod
    def of(cls, kind: str) -> Sheet:
        with (LMC / f"{kind}.csv").open(encoding="utf-8-sig", newline="") as handle:
            header, *rows = list(csv.reader(handle))
        return cls(tuple(header), tuple(tuple(r) for r in rows))

    def column(self, name: str) -> list[str]:
        at = self.header.index(name)
        return [row[at] for row in self.rows]

    def renamed(self, **headings: str) -> Sheet:
        """Headings written another way: ``renamed(focus_areas="Focus areas")``."""
        return replace(self, header=tuple(headings.get(h, h) for h in self.header))

    def rewritten(self, column: str, write: Callable[[str], str]) -> Sheet:
        """Every non-empty cell of ``column`` written another way."""
        at = self.header.index(column)
        rows = tuple(
            tuple(write(c) if i == at and c else c for i, c in enumerate(row)) for row in self.rows
        )
        return replace(self, rows=rows)

    def with_column(self, heading: str, cells: Callable[[int], str]) -> Sheet:
        rows = tuple((*row, cells(i)) for i, row in enumerate(self.rows))
        return replace(self, header=(*self.header, heading), rows=rows)

    def without(self, *columns: str) -> Sheet:
        keep = [i for i, h in enumerate(self.header) if h not in columns]
        return Sheet(
            tuple(self.header[i] for i in keep),
            tuple(tuple(row[i] for i in keep) for row in self.rows),
        )

    def save(
        self,
        path: Path,
        *,
        title: tuple[str, ...] = (),
        sheet: str = "",
        before: tuple[str, ...] = (),
        dates: tuple[str, ...] = (),
    ) -> Path:
        """Write as .csv or .xlsx: ``title`` rows (then a blank row) above the header; in a
        workbook, sheets named ``before`` first, numbers as numbers, ``dates`` as date cells."""
        grid: list[list[object]] = [[t] for t in title] + ([[]] if title else [])
        grid.append(list(self.header))
        for row in self.rows:
            grid.append([self._typed(h, c, dates) for h, c in zip(self.header, row, strict=True)])
        if path.suffix == ".csv":
            with path.open("w", encoding="utf-8-sig", newline="") as handle:
                csv.writer(handle).writerows([[str(c) for c in r] for r in grid])
            return path
        book = Workbook()
        first = book.active
        assert first is not None
        for index, name in enumerate(before):
            cover = first if index == 0 else book.create_sheet()
            cover.title = name
            cover.append(["Supporting Mentors Scheme", "see the next sheet"])
        table = book.create_sheet() if before else first
        table.title = sheet or "Sheet1"
        for row in grid:
            table.append(row)
        book.save(path)
        return path

    @staticmethod
    def _typed(column: str, cell: str, dates: tuple[str, ...]) -> object:
        if cell and column in dates:
            return date.fromisoformat(cell)
        if cell and column in NUMBER_COLUMNS:
            try:
                return float(cell) if "." in cell else int(cell)
            except ValueError:
                return cell  # "16 km": text, as typed
        return cell
