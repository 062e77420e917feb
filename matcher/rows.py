"""One file's rows being read: each cell parsed once, its problem or its stored form kept,
and the values written otherwise than the contract writes them noted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from matcher import cells
from matcher.data import Source
from matcher.errors import SENSITIVE_COLUMNS, Problem
from matcher.notes import Note
from matcher.words import snake
from matcher.writers import cell_text

T = TypeVar("T")
# Examples of values read differently from how they are written, shown per column.
_EXAMPLES = 2
_MEMO_SIZE = 100_000
# Columns whose cells are mostly one of a kind: remembering them would only cost memory.
_UNIQUE = frozenset(
    {"mentor_id", "mentee_id", "name", "email", "gmc_number", "latitude", "longitude", "postcode"}
)


@dataclass
class FileReading:
    """What the rows of one file taught: problems, notes, values read another way."""

    file: str
    problems: list[Problem] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    changed: dict[str, list[int]] = field(default_factory=dict)  # column -> rows
    examples: dict[str, dict[str, str]] = field(default_factory=dict)  # column -> raw -> read
    # (column, cell) -> (value, stored text, error): a file repeats most of its cells, and a
    # column's parser depends on the cell alone.
    memo: dict[tuple[str, str], tuple[Any, str, str]] = field(default_factory=dict)

    def value_notes(self) -> list[Note]:
        notes = []
        for column, rows in self.changed.items():
            if column in SENSITIVE_COLUMNS:
                shown = "values hidden"
            else:
                pairs = list(self.examples[column].items())[:_EXAMPLES]
                shown = "e.g. " + ", ".join(f"'{raw}' as '{read}'" for raw, read in pairs)
            notes.append(
                Note(self.file, tuple(rows), column, f"read in the contract's words ({shown})")
            )
        return notes


class RowReader:
    """One row being read: parses its cells, records a Problem for each bad one and the
    normalised text of each good one."""

    def __init__(self, reading: FileReading, number: int, values: dict[str, str]):
        self.reading = reading
        self.file = reading.file
        self.number = number
        self.values = values
        self.stored: dict[str, str] = dict.fromkeys(values, "")
        self.located: tuple[float, float] | None = None  # from the postcode lookup
        self._start = len(reading.problems)

    @property
    def ok(self) -> bool:
        return len(self.reading.problems) == self._start

    def problem(self, column: str, message: str) -> None:
        value = self.values.get(column, "")
        self.reading.problems.append(Problem(self.file, self.number, column, value, message))

    def note(self, column: str, message: str, *, warning: bool = True) -> None:
        self.reading.notes.append(Note(self.file, (self.number,), column, message, warning))

    def required(self, column: str, parse: Callable[[str], str] = str) -> str:
        if column not in self.values:
            return ""  # a missing column is reported once, for the whole file
        if not self.values[column]:
            self.problem(column, "required, but empty")
            return ""
        return self.get(column, parse, "")

    def optional(self, column: str, parse: Callable[[str], T]) -> T | None:
        text = self.values.get(column, "")
        if not text:
            return None
        memo = self.reading.memo if column not in _UNIQUE else {}
        known: tuple[Any, str, str] | None = memo.get((column, text))
        if known is None:
            try:
                refused = cells.control_character(text)
                if refused:
                    raise cells.CellError(refused)
                parsed = parse(text)
                known = (parsed, cell_text(column, parsed), "")
            except cells.CellError as exc:
                known = (None, "", str(exc))
            if len(memo) < _MEMO_SIZE:
                memo[(column, text)] = known
        found, stored, error = known
        if error:
            self.problem(column, error)
            return None
        self._keep(column, text, stored)
        return cast(T, found)

    def get(self, column: str, parse: Callable[[str], T], default: T) -> T:
        value = self.optional(column, parse)
        return default if value is None else value

    def text(self, column: str) -> str | None:
        value = self.values.get(column) or None
        if value is not None:
            refused = cells.control_character(value)
            if refused:
                self.problem(column, refused)
                return None
            self.stored[column] = value
        return value

    def source(self) -> Source:
        return Source(self.file, self.number)

    def _keep(self, column: str, text: str, stored: str) -> None:
        if text == stored:
            self.stored[column] = text  # the cell's own string: one copy in memory, not two
            return
        self.stored[column] = stored
        if not _same(text, stored):
            self.reading.changed.setdefault(column, []).append(self.number)
            examples = self.reading.examples.setdefault(column, {})
            if len(examples) < _EXAMPLES:
                examples.setdefault(text, stored)


def _same(written: str, stored: str) -> bool:
    """Whether a person would call these the same value (case, spacing, 6 and 6.0)."""
    if snake(written) == snake(stored):
        return True
    try:
        return float(written) == float(stored)
    except ValueError:
        return False
