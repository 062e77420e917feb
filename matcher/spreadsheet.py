"""Spreadsheet tables: find the table in a CSV or XLSX file and read it.

Reading finds the table where people put it: the header need not be the first row (title
rows above it are skipped, and said so), and in a workbook the sheet named like the file's
kind, or the first whose header has the required columns, is read. Every heading is read
through ``matcher.columns``: a contract column, a close spelling read as one (with a note),
a typo (refused) or an unknown column (ignored, with a warning, never stored). Nothing about
a bad file is a stack trace: every problem is an ``InputError``.

Writing is in ``matcher.safe_write``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path

from matcher.columns import (
    SCHEMAS,
    ColumnReading,
    Schema,
    column_letter,
    has_required,
    header_problems,
    read_header,
    repeated_columns,
)
from matcher.errors import InputError, Problem
from matcher.limits import DEFAULT_LIMITS, ReadLimits
from matcher.notes import Note
from matcher.sheets import Sheet, csv_sheet, fail, xlsx_sheets
from matcher.words import stem

CSV_SUFFIXES = frozenset({".csv"})
XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})
# The header is looked for among the first rows of each sheet.
SCAN_ROWS = 30


@dataclass(frozen=True)
class TableReading:
    """Where the table was found in its file, and how each heading was read."""

    sheet: str | None  # the workbook sheet read; None for a CSV
    sheets: tuple[str, ...]  # every sheet of the workbook
    header_row: int
    columns: tuple[ColumnReading, ...]
    above: tuple[int, ...] = ()  # non-empty rows above the header, not read
    # Cells with a value under no heading (a workbook's notes beside the table), by letter.
    unnamed: tuple[tuple[str, tuple[int, ...]], ...] = ()
    also: tuple[str, ...] = ()  # other sheets with a header of the same kind, not read

    def notes(self, file: str, kind: str) -> list[Note]:
        """What a person should be told about how the file was read."""
        notes = []
        if len(self.sheets) > 1:
            others = ", ".join(f"'{s}'" for s in self.sheets if s != self.sheet)
            notes.append(Note(file, (), None, f"read sheet '{self.sheet}' (not read: {others})"))
        for sheet in self.also:
            notes.append(
                Note(
                    file,
                    (),
                    None,
                    f"sheet '{sheet}' also has the headings of a {kind} file and was not read: "
                    "if it holds people too, import it as a file of its own",
                    warning=True,
                )
            )
        if self.above:
            notes.append(
                Note(
                    file,
                    self.above,
                    None,
                    f"above the header (row {self.header_row}): not read, taken for a title",
                )
            )
        for r in self.columns:
            if r.how == "renamed":
                notes.append(
                    Note(
                        file, (), r.column, f"read '{r.heading}' (column {r.letter}) as {r.column}"
                    )
                )
            elif r.how == "unknown":
                notes.append(
                    Note(
                        file,
                        (),
                        None,
                        f"column {r.letter} '{r.heading}' is not a column of a {kind} file: "
                        "ignored, not stored",
                        warning=True,
                    )
                )
        for letter, rows in self.unnamed:
            notes.append(
                Note(
                    file,
                    rows,
                    None,
                    f"column {letter} has values but no heading: ignored, not stored",
                    warning=True,
                )
            )
        return notes


@dataclass(frozen=True)
class Table:
    """A spreadsheet's table read into memory.

    ``header`` holds the contract names of the columns read, in file order; ``body`` pairs
    each non-empty row's number as a spreadsheet shows it with its cells in header order
    (stripped, "" if empty). ``reading`` says how the file was read (None for tables made
    in code).
    """

    file: str
    header: tuple[str, ...]
    body: tuple[tuple[int, tuple[str, ...]], ...]
    reading: TableReading | None = field(default=None, compare=False)

    @property
    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """Each row as (number, cells by column name)."""
        for number, cells in self.body:
            yield number, dict(zip(self.header, cells, strict=True))

    def __len__(self) -> int:
        return len(self.body)

    @classmethod
    def from_rows(
        cls, file: str, header: Sequence[str], rows: Iterable[tuple[int, Mapping[str, str]]]
    ) -> Table:
        body = tuple((n, tuple(values.get(c, "") for c in header)) for n, values in rows)
        return cls(file, tuple(header), body)


def read_table(
    path: str | Path, schema: Schema | None = None, limits: ReadLimits = DEFAULT_LIMITS
) -> Table:
    """Read a .csv or .xlsx file; raise InputError for a bad file.

    With a ``schema``, the table is looked for as the module docstring says and its headings
    are read as that kind's columns; without one, the first non-empty row of the first
    sheet is the header and every named column is kept under its lower-case heading.
    """
    path = Path(path)
    name = path.name
    check_suffix(name)  # before reading: a wrong kind of file is named as such, found or not
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        fail(name, "file not found")
    except IsADirectoryError:
        fail(name, "is a folder, not a file")
    except OSError as exc:
        fail(name, f"cannot be read ({exc.strerror or exc})")
    return parse_table(name, data, schema, limits)


def parse_table(
    name: str, data: bytes, schema: Schema | None = None, limits: ReadLimits = DEFAULT_LIMITS
) -> Table:
    """Read the bytes of a .csv or .xlsx file named ``name`` (an upload, say)."""
    suffix = check_suffix(name)
    if not data or data.isspace():
        fail(name, "the file is empty")
    if suffix in XLSX_SUFFIXES:
        with xlsx_sheets(name, data, limits) as sheets:
            return _Locator(name, schema, limits, csv_file=False).read(sheets)
    return _Locator(name, schema, limits, csv_file=True).read([csv_sheet(name, data)])


def check_suffix(name: str) -> str:
    """The file's lower-case suffix; InputError unless it is a CSV or XLSX name."""
    suffix = Path(name).suffix.lower()
    if suffix == ".xls":
        fail(name, "old Excel format (.xls) is not supported: save it as .xlsx or CSV UTF-8")
    if suffix not in CSV_SUFFIXES | XLSX_SUFFIXES:
        fail(name, f"unknown file type {suffix or '(none)'!r}: expected .csv or .xlsx")
    return suffix


# --- finding the table -------------------------------------------------------------------


@dataclass
class _Candidate:
    sheet: Sheet
    rows: Iterator[tuple[int, list[str]]]  # the sheet's rows after ``head``
    head: list[tuple[int, list[str]]]  # the first rows, already read
    header_at: int | None  # index into head of the header row, if found
    readings: tuple[ColumnReading, ...] = ()


class _Locator:
    """Finds the table of one file and reads its body."""

    def __init__(self, file: str, schema: Schema | None, limits: ReadLimits, *, csv_file: bool):
        self.file = file
        self.schema = schema
        self.limits = limits
        self.csv_file = csv_file

    def read(self, sheets: list[Sheet]) -> Table:
        names = [s.name for s in sheets if s.name is not None]
        candidates = []
        ordered = self._in_preferred_order(sheets)
        for index, sheet in enumerate(ordered):
            candidate = self._scan(sheet)
            if candidate.header_at is not None:
                also = tuple(
                    s.name or ""
                    for s in ordered[index + 1 :]
                    if self._scan(s).header_at is not None
                )
                return self._body(candidate, tuple(names), also)
            candidates.append(candidate)
        raise InputError(self._not_found(candidates, names))

    def _in_preferred_order(self, sheets: list[Sheet]) -> list[Sheet]:
        """Sheets named like the file's kind ("Mentors", "Mentor register") first."""
        if self.schema is None:
            return sheets[:1]
        kind = {stem(self.schema.kind), stem(self.schema.singular)}

        def named_like(sheet: Sheet) -> bool:
            name = sheet.name or ""
            return stem(name) in kind or bool(kind & {stem(w) for w in name.split()})

        return sorted(sheets, key=lambda sheet: not named_like(sheet))

    def _scan(self, sheet: Sheet) -> _Candidate:
        rows = sheet.rows()
        head = list(islice(rows, SCAN_ROWS))
        if self.schema is None:
            at = next((i for i, (_n, cells) in enumerate(head) if any(cells)), None)
            return _Candidate(sheet, rows, head, at)
        for index, (_number, cells) in enumerate(head):
            if not any(cells):
                continue
            readings = read_header(self.schema, cells)
            if has_required(self.schema, readings):
                return _Candidate(sheet, rows, head, index, readings)
        return _Candidate(sheet, rows, head, None)

    def _body(self, found: _Candidate, sheets: tuple[str, ...], also: tuple[str, ...]) -> Table:
        assert found.header_at is not None
        header_row, cells = found.head[found.header_at]
        # Trailing empty cells (formatting to the sheet's edge) are not columns.
        cells = cells[: max((i for i, cell in enumerate(cells, start=1) if cell), default=0)]
        self._check_width(header_row, len(cells))
        if self.schema is None:
            readings = tuple(
                ColumnReading(p, h, h.lower(), "exact") for p, h in enumerate(cells, start=1) if h
            )
            problems = repeated_columns(self.file, header_row, readings)
        else:
            readings = found.readings
            problems = header_problems(self.file, header_row, self.schema, readings)
        above = tuple(n for n, c in found.head[: found.header_at] if any(c))
        read = [r for r in readings if r.column is not None]
        first_of: dict[str, int] = {}
        for r in read:
            if r.column is not None:
                first_of.setdefault(r.column, r.position - 1)
        positions = list(first_of.values())
        named = {r.position for r in readings}
        width = len(cells)
        body: list[tuple[int, tuple[str, ...]]] = []
        unnamed: dict[str, list[int]] = {}
        shared: dict[str, str] = {}
        rest = chain(found.head[found.header_at + 1 :], found.rows)
        cells_read = 0
        for number, row in rest:
            if not any(row):
                continue
            used = max(i for i, cell in enumerate(row, start=1) if cell)
            self._check_width(number, used)
            if self.csv_file and used > width:
                problems.append(
                    Problem(
                        self.file,
                        number,
                        None,
                        None,
                        f"{used} cells but only {width} columns in the header "
                        "(a comma inside a cell that is not in quotes?)",
                    )
                )
                continue
            for position, cell in enumerate(row, start=1):
                if cell and position not in named:
                    unnamed.setdefault(column_letter(position), []).append(number)
            values = tuple(_shared(shared, row[p]) if p < len(row) else "" for p in positions)
            body.append((number, values))
            cells_read += len(positions)
            if len(body) > self.limits.max_rows or cells_read > self.limits.max_cells:
                self._too_many(len(body), cells_read)
        if problems:
            raise InputError(problems)
        reading = TableReading(
            sheet=found.sheet.name,
            sheets=sheets,
            header_row=header_row,
            columns=readings,
            above=above,
            unnamed=tuple((letter, tuple(rows)) for letter, rows in unnamed.items()),
            also=also,
        )
        return Table(self.file, tuple(first_of), tuple(body), reading)

    def _check_width(self, row: int, width: int) -> None:
        if width > self.limits.max_columns:
            fail(
                self.file,
                f"row {row} has {width:,} columns, more than the limit of "
                f"{self.limits.max_columns:,}: is this the right file?",
            )

    def _too_many(self, rows: int, cells: int) -> None:
        limits = self.limits
        if rows > limits.max_rows:
            fail(
                self.file,
                f"more than {limits.max_rows:,} rows (the limit): split the file, or check "
                "that it is a mentors, mentees or pairs file",
            )
        fail(self.file, f"more than {limits.max_cells:,} cells (the limit): split the file")

    def _not_found(self, candidates: list[_Candidate], names: list[str]) -> list[Problem]:
        """Why no header was found, in words that say what to do."""
        schema = self.schema
        if schema is None or not candidates:
            return [Problem(self.file, None, None, None, "the file is empty")]
        if not any(any(c) for cand in candidates for _n, c in cand.head):
            return [Problem(self.file, None, None, None, "the file is empty")]
        best_score, best = -1, None
        for cand in candidates:
            for number, cells in cand.head:
                if not any(cells):
                    continue
                readings = read_header(schema, cells)
                score = sum(r.column is not None or r.how == "typo" for r in readings)
                if score > best_score:
                    best_score, best = score, (cand, number, readings)
        sheets = f" (sheets: {', '.join(repr(n) for n in names)})" if len(names) > 1 else ""
        wanted = ", ".join(schema.required)
        if best is None or best_score == 0:
            hint = _other_kind(schema, candidates)
            return [
                Problem(
                    self.file,
                    None,
                    None,
                    None,
                    f"no row among the first {SCAN_ROWS} has the headings of a "
                    f"{schema.singular} file ({wanted}){sheets}: put the column names in one "
                    f"row above the data{hint}",
                )
            ]
        cand, number, readings = best
        found = {r.column for r in readings}
        where = f"sheet '{cand.sheet.name}', " if cand.sheet.name and len(names) > 1 else ""
        headings = ", ".join(r.heading for r in readings)
        problems = header_problems(self.file, number, schema, readings)
        hint = _other_kind(schema, candidates)
        problems += [
            Problem(
                self.file,
                None,
                column,
                None,
                f"required column is missing (found in {where}row {number}: {headings}){sheets}"
                f": add a column headed {column}{hint}",
            )
            for column in schema.required
            if column not in found
        ]
        return problems


def _shared(cache: dict[str, str], cell: str) -> str:
    # Repeated short values (cohorts, modes, yes/no) are kept once: large files stay small.
    return cache.setdefault(cell, cell) if len(cell) <= 24 else cell


def _other_kind(schema: Schema, candidates: list[_Candidate]) -> str:
    """A hint when the file has the headings of another kind of file (the wrong file chosen)."""
    for other in SCHEMAS.values():
        if other.kind == schema.kind:
            continue
        for cand in candidates:
            for _number, cells in cand.head:
                if any(cells) and has_required(other, read_header(other, cells)):
                    return f" (this looks like a {other.singular} file: is it the right file?)"
    return ""
