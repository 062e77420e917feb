"""The raw grid of a .csv file or of each sheet of an .xlsx workbook, within the read limits.

Rows come out one at a time, as lists of cell texts, numbered as a spreadsheet program shows
them, so that a large file is never held twice. Anything that makes a file unreadable as a
spreadsheet is an ``InputError`` naming the file and what to do.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import NoReturn

from matcher.errors import InputError, Problem
from matcher.limits import ReadLimits

# Characters that make Excel (or LibreOffice) read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# File signatures of things people save with a .csv name by mistake.
_BINARY_KINDS = (
    (b"%PDF", "a PDF"),
    (b"PK\x03\x04", "an .xlsx workbook or another zip file"),
    (b"\xd0\xcf\x11\xe0", "an old Excel (.xls) or Word file"),
)


@dataclass(frozen=True)
class Sheet:
    """One grid: a workbook's sheet (``name``) or a CSV file (``name`` None).

    ``rows()`` reads it from the top, each time it is called: (row number, cleaned cells),
    empty rows included.
    """

    name: str | None
    rows: Callable[[], Iterator[tuple[int, list[str]]]]


def fail(file: str, message: str) -> NoReturn:
    raise InputError([Problem(file, None, None, None, message)])


def csv_sheet(name: str, data: bytes) -> Sheet:
    for magic, kind in _BINARY_KINDS:
        if data.startswith(magic):
            fail(name, f"not a CSV file: it looks like {kind}; save it as CSV UTF-8 or .xlsx")
    text = _decode(name, data)
    # NUL, or many control characters other than tab and line breaks, mean binary data; a
    # stray one (a DOS end-of-file mark, say) is tolerated.
    sample = text[:65536]
    controls = sum(1 for c in sample if ord(c) < 32 and c not in "\t\r\n")
    if "\x00" in text or controls * 100 > len(sample):
        fail(name, "not a CSV file: it contains binary data; save it as CSV UTF-8 or .xlsx")
    delimiter = _delimiter(text)

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            reader = csv.reader(_lines(text), delimiter=delimiter)
            for number, cells in enumerate(reader, start=1):
                yield number, [clean(c) for c in cells]
        except csv.Error as exc:
            fail(name, f"not a readable CSV file ({exc})")

    return Sheet(None, rows)


def _lines(text: str) -> Iterator[str]:
    """Lines with their endings, as the csv module wants them, without copying the text."""
    if "\n" not in text:
        text = text.replace("\r", "\n")  # old Mac line endings
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


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
    fail(name, "not a text file in a known encoding: save it as CSV UTF-8 or .xlsx")


def _delimiter(text: str) -> str:
    """The delimiter the header line uses: comma unless it has none and ';' or tab instead.

    Column names never contain a delimiter, so the header is a reliable witness; the sniffer
    only breaks the tie when the header holds both ';' and tab. A title line above the header
    that holds no delimiter at all is passed over.
    """
    first = next((line for line in _head_lines(text) if any(d in line for d in ",;\t")), "")
    candidates = "".join(d for d in ";\t" if d in first)
    if "," in first or not candidates:
        return ","
    if len(candidates) == 1:
        return candidates
    try:
        return csv.Sniffer().sniff(text[:65536], delimiters=candidates).delimiter
    except csv.Error:
        return ","


def _head_lines(text: str, count: int = 30) -> list[str]:
    lines = []
    for line in _lines(text[:65536]):
        if line.strip():
            lines.append(line)
        if len(lines) == count:
            break
    return lines


@contextmanager
def xlsx_sheets(name: str, data: bytes, limits: ReadLimits) -> Iterator[list[Sheet]]:
    """The workbook's sheets (not chart sheets), each read only when asked.

    The archive is checked first (``xlsx_guard``): nothing is unpacked past the limits.
    Reading uses calamine, twenty times faster than a pure-Python reader on large sheets.
    """
    from python_calamine import CalamineWorkbook, SheetTypeEnum

    from matcher.xlsx_guard import check_workbook

    if data.startswith(b"\xd0\xcf\x11\xe0"):
        fail(
            name,
            "not an .xlsx workbook: it looks like an old Excel (.xls) file or a "
            "password-protected workbook; save it as .xlsx without a password, or CSV UTF-8",
        )
    if not data.startswith(b"PK\x03\x04"):
        fail(name, "not an .xlsx workbook: save it as .xlsx or CSV UTF-8")
    check_workbook(name, data, limits)
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = [m.name for m in book.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
    # The reader raises several exception types for damaged workbooks (zip, XML, password);
    # any of them means the same thing to the person holding the file.
    except Exception as exc:
        fail(name, f"not a readable .xlsx workbook ({type(exc).__name__})")
    try:
        yield [Sheet(sheet, _xlsx_rows(name, book, sheet)) for sheet in names]
    finally:
        book.close()


def _xlsx_rows(
    name: str, book: object, sheet: str
) -> Callable[[], Iterator[tuple[int, list[str]]]]:
    return lambda: _xlsx_grid(name, book, sheet)


def _xlsx_grid(name: str, book: object, sheet_name: str) -> Iterator[tuple[int, list[str]]]:
    try:
        sheet = book.get_sheet_by_name(sheet_name)  # type: ignore[attr-defined]
        # Rows come numbered from the top; columns from the first one used, so pad them.
        pad = [""] * (sheet.start[1] if sheet.start else 0)
        for number, values in enumerate(sheet.iter_rows(), start=1):
            yield number, pad + [clean(text(v)) for v in values]
    except InputError:
        raise
    except Exception as exc:
        fail(name, f"not a readable .xlsx workbook ({type(exc).__name__})")


def clean(cell: str) -> str:
    """Strip a cell and undo our own formula neutralising, so exports read back unchanged."""
    cell = cell.strip()
    if cell.startswith("'") and cell[1:2] in FORMULA_STARTS:
        cell = cell[1:].strip()
    return cell


def text(value: object) -> str:
    """A cell's value as text: whole numbers without '.0', dates in ISO form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        written = repr(value)
        return written[:-2] if written.endswith(".0") else written
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)
