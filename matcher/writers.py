"""Write mentors, mentees and pairs in the input format of SPEC section 3.

Reading a written file back with ``matcher.readers`` gives equal records: lists are joined
with ``;``, booleans are yes/no, dates ISO, None is an empty cell. The format follows the
file's extension: ``.xlsx`` writes a workbook, anything else a CSV.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path

from matcher.columns import MENTEE_COLUMNS, MENTOR_COLUMNS, SCHEMAS
from matcher.data import Mentee, Mentor, PairRef
from matcher.safe_write import Row, write_csv, write_xlsx
from matcher.vocab import MODES, SLOTS


def write_mentors(path: str | Path, mentors: Iterable[Mentor]) -> None:
    _write(path, MENTOR_COLUMNS, (_record_row(m, MENTOR_COLUMNS) for m in mentors))


def write_mentees(path: str | Path, mentees: Iterable[Mentee]) -> None:
    _write(path, MENTEE_COLUMNS, (_record_row(m, MENTEE_COLUMNS) for m in mentees))


def write_pairs(path: str | Path, pairs: Iterable[PairRef], kind: str) -> None:
    """Write an exclusions, locks or previous-pairs file (``kind``)."""
    columns = SCHEMAS[kind].columns
    _write(path, columns, (_record_row(p, columns) for p in pairs))


def _write(path: str | Path, header: tuple[str, ...], rows: Iterable[Row]) -> None:
    if Path(path).suffix.lower() == ".xlsx":
        write_xlsx(path, header, rows)
    else:
        write_csv(path, header, rows)


def _record_row(record: Mentor | Mentee | PairRef, columns: tuple[str, ...]) -> dict[str, object]:
    return {column: cell_value(column, getattr(record, column)) for column in columns}


def cell_text(column: str, value: object) -> str:
    """The one text a value is stored and compared as: "6" for 6.0, "yes", ISO dates."""
    written = cell_value(column, value)
    if written is None:
        return ""
    if isinstance(written, float):
        return str(int(written)) if written.is_integer() else repr(written)
    return str(written)


def cell_value(column: str, value: object) -> object:
    """A record's value as a spreadsheet cell: lists joined with ';', booleans yes/no."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or isinstance(value, int | float | str):
        return value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, frozenset):
        # Sets are written in vocabulary order so the files are stable from run to run.
        order = {"availability": SLOTS, "modes": MODES}[column]
        return ";".join(item for item in order if item in value)
    if isinstance(value, tuple):
        return ";".join(value)
    raise TypeError(f"cannot write {column} = {value!r}")
