"""Write mentors, mentees and pairs in the input format of SPEC section 3.

Reading a written file back with ``matcher.readers`` gives equal records: lists are joined
with ``;``, booleans are yes/no, dates ISO, None is an empty cell. The format follows the
file's extension: ``.xlsx`` writes a workbook, anything else a CSV.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path

from matcher.data import Mentee, Mentor, PairRef
from matcher.readers import MENTEE_COLUMNS, MENTOR_COLUMNS, pair_columns
from matcher.spreadsheet import Row, write_csv, write_xlsx
from matcher.vocab import MODES, SLOTS


def write_mentors(path: str | Path, mentors: Iterable[Mentor]) -> None:
    _write(path, MENTOR_COLUMNS, (_record_row(m, MENTOR_COLUMNS) for m in mentors))


def write_mentees(path: str | Path, mentees: Iterable[Mentee]) -> None:
    _write(path, MENTEE_COLUMNS, (_record_row(m, MENTEE_COLUMNS) for m in mentees))


def write_pairs(path: str | Path, pairs: Iterable[PairRef], kind: str) -> None:
    """Write an exclusions, locks or previous-pairs file (``kind``)."""
    columns = pair_columns(kind)
    _write(path, columns, (_record_row(p, columns) for p in pairs))


def _write(path: str | Path, header: tuple[str, ...], rows: Iterable[Row]) -> None:
    if Path(path).suffix.lower() == ".xlsx":
        write_xlsx(path, header, rows)
    else:
        write_csv(path, header, rows)


def _record_row(record: Mentor | Mentee | PairRef, columns: tuple[str, ...]) -> dict[str, object]:
    return {column: _cell(column, getattr(record, column)) for column in columns}


def _cell(column: str, value: object) -> object:
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
