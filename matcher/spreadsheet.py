"""Generic spreadsheet tables: read CSV or XLSX into a ``Table``; write CSV or XLSX safely.

Reading never shows a stack trace for a bad file: every whole-file problem (missing, empty,
not a spreadsheet, duplicate column names, ...) becomes an ``InputError``. Writing is atomic
(a temporary file in the same folder, then ``os.replace``) and neutralises cells that Excel
would run as formulas.
"""

from __future__ import annotations

import csv
import io
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import NoReturn

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter

from matcher.errors import InputError, Problem

# Characters that make Excel (or LibreOffice) read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_SUFFIXES = frozenset({".csv"})
XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})
# File signatures of things people save with a .csv name by mistake.
_BINARY_KINDS = (
    (b"%PDF", "a PDF"),
    (b"PK\x03\x04", "an .xlsx workbook or another zip file"),
    (b"\xd0\xcf\x11\xe0", "an old Excel (.xls) or Word file"),
)

Row = Sequence[object] | Mapping[str, object]


@dataclass(frozen=True)
class Table:
    """A spreadsheet read into memory.

    ``header`` holds the normalised (stripped, lower-case) names of the named columns in file
    order; columns without a name are ignored. ``rows`` pairs each non-empty row's number as
    Excel shows it (the header is row 1) with its cells by column name, stripped, "" if empty.
    """

    file: str
    header: tuple[str, ...]
    rows: tuple[tuple[int, dict[str, str]], ...]


def read_table(path: str | Path) -> Table:
    """Read the first sheet of a .csv or .xlsx file; raise InputError for a bad file."""
    path = Path(path)
    name = path.name
    _check_suffix(name)  # before reading: a wrong kind of file is named as such, found or not
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        _fail(name, "file not found")
    except IsADirectoryError:
        _fail(name, "is a folder, not a file")
    except OSError as exc:
        _fail(name, f"cannot be read ({exc.strerror or exc})")
    return parse_table(name, data)


def parse_table(name: str, data: bytes) -> Table:
    """Read the bytes of a .csv or .xlsx file named ``name`` (an upload, say)."""
    suffix = _check_suffix(name)
    if not data.strip():
        _fail(name, "the file is empty")
    if suffix in XLSX_SUFFIXES:
        return _table(name, _xlsx_records(name, data), csv_file=False)
    return _table(name, _csv_records(name, data), csv_file=True)


def _check_suffix(name: str) -> str:
    """The file's lower-case suffix; InputError unless it is a CSV or XLSX name."""
    suffix = Path(name).suffix.lower()
    if suffix == ".xls":
        _fail(name, "old Excel format (.xls) is not supported: save it as .xlsx or CSV UTF-8")
    if suffix not in CSV_SUFFIXES | XLSX_SUFFIXES:
        _fail(name, f"unknown file type {suffix or '(none)'!r}: expected .csv or .xlsx")
    return suffix


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

    _atomic(Path(path), write)


def write_xlsx(path: str | Path, header: Sequence[str], rows: Iterable[Row]) -> None:
    """Write a one-sheet XLSX atomically; numbers stay numbers, text is neutralised."""

    def write(tmp: str) -> None:
        # Collect the rows first: a write-only workbook abandoned half-way cannot be closed.
        values = [[_xlsx_value(c) for c in cells] for cells in _cells(header, rows)]
        book = Workbook(write_only=True)
        sheet = book.create_sheet()
        sheet.append([_xlsx_value(h) for h in header])
        for row in values:
            sheet.append(row)
        book.save(tmp)

    _atomic(Path(path), write)


def _fail(file: str, message: str) -> NoReturn:
    raise InputError([Problem(file, None, None, None, message)])


# --- reading -----------------------------------------------------------------------------


def _csv_records(name: str, data: bytes) -> list[list[str]]:
    for magic, kind in _BINARY_KINDS:
        if data.startswith(magic):
            _fail(name, f"not a CSV file: it looks like {kind}; save it as CSV UTF-8 or .xlsx")
    text = _decode(name, data)
    # NUL, or many control characters other than tab and line breaks, mean binary data; a
    # stray one (a DOS end-of-file mark, say) is tolerated.
    sample = text[:65536]
    controls = sum(1 for c in sample if ord(c) < 32 and c not in "\t\r\n")
    if "\x00" in sample or controls * 100 > len(sample):
        _fail(name, "not a CSV file: it contains binary data; save it as CSV UTF-8 or .xlsx")
    try:
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text)))
    except csv.Error as exc:
        _fail(name, f"not a readable CSV file ({exc})")


def _decode(name: str, data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Excel's "Unicode Text" export is UTF-16 with a byte-order mark.
        encodings: tuple[str, ...] = ("utf-16",)
    else:
        encodings = ("utf-8-sig", "cp1252")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    _fail(name, "not a text file in a known encoding: save it as CSV UTF-8 or .xlsx")


def _delimiter(text: str) -> str:
    """The delimiter the header line uses: comma unless it has none and ';' or tab instead.

    Column names never contain a delimiter, so the header is a reliable witness; the sniffer
    only breaks the tie when the header holds both ';' and tab.
    """
    first = next((line for line in text.splitlines() if line.strip()), "")
    candidates = "".join(d for d in ";\t" if d in first)
    if "," in first or not candidates:
        return ","
    if len(candidates) == 1:
        return candidates
    try:
        return csv.Sniffer().sniff(text[:65536], delimiters=candidates).delimiter
    except csv.Error:
        return ","


def _xlsx_records(name: str, data: bytes) -> list[list[str]]:
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        _fail(
            name,
            "not an .xlsx workbook: it looks like an old Excel (.xls) file or a "
            "password-protected workbook; save it as .xlsx without a password, or CSV UTF-8",
        )
    if not data.startswith(b"PK\x03\x04"):
        _fail(name, "not an .xlsx workbook: save it as .xlsx or CSV UTF-8")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = book.worksheets[0]
            return [[_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        finally:
            book.close()
    # openpyxl raises many exception types for damaged workbooks (zip, XML, key, value
    # errors); any of them means the same thing to the person holding the file.
    except Exception as exc:
        _fail(name, f"not a readable .xlsx workbook ({type(exc).__name__})")


def _table(name: str, records: list[list[str]], *, csv_file: bool) -> Table:
    """Build the table; in a CSV, cells beyond the header mean a row slipped sideways."""
    numbered = [
        (number, [_clean(c) for c in cells]) for number, cells in enumerate(records, start=1)
    ]
    numbered = [(n, cells) for n, cells in numbered if any(cells)]
    if not numbered:
        _fail(name, "the file is empty")
    # The header is the first non-empty row, wherever it is.
    (_, raw_header), body = numbered[0], numbered[1:]
    header = [h.lower() for h in raw_header]
    first_at: dict[str, int] = {}
    problems = []
    for position, column in enumerate(header, start=1):
        if not column:
            continue
        if column in first_at:
            letters = f"{get_column_letter(first_at[column])} and {get_column_letter(position)}"
            problems.append(
                Problem(name, None, None, column, f"column name appears twice (columns {letters})")
            )
        else:
            first_at[column] = position
    rows = []
    for number, cells in body:
        used = max(i for i, cell in enumerate(cells, start=1) if cell)
        # In a workbook, notes to the right of the table are just unnamed columns.
        if csv_file and used > len(header):
            problems.append(
                Problem(
                    name,
                    number,
                    None,
                    None,
                    f"{used} cells but only {len(header)} columns in the header "
                    "(a comma inside a cell that is not in quotes?)",
                )
            )
        padded = cells + [""] * (len(header) - len(cells))
        rows.append((number, {h: padded[i - 1] for h, i in first_at.items()}))
    if problems:
        raise InputError(problems)
    return Table(name, tuple(first_at), tuple(rows))


def _clean(cell: str) -> str:
    """Strip a cell and undo our own formula neutralising, so exports read back unchanged."""
    cell = cell.strip()
    if cell.startswith("'") and cell[1:2] in FORMULA_STARTS:
        cell = cell[1:].strip()
    return cell


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


# --- writing -----------------------------------------------------------------------------


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
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return value
    return ILLEGAL_CHARACTERS_RE.sub("", safe_cell(value))


def _atomic(path: Path, write: Callable[[str], None]) -> None:
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
