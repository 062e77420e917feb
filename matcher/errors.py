"""Structured input errors: every problem names its file, row, column, value and what is wrong."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Columns whose values are personal data: never echoed back in an error message.
SENSITIVE_COLUMNS = frozenset(
    {"name", "email", "gmc_number", "gender", "ethnicity", "img", "mentor_gender"}
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file.

    ``row`` is the spreadsheet row number as a person sees it (the header is row 1), or None
    when the problem concerns the whole file.
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    message: str

    @property
    def shown_value(self) -> str:
        """The value as it may be printed: personal data is masked."""
        if self.value is None:
            return ""
        if self.column in SENSITIVE_COLUMNS and self.value != "":
            return f"(hidden, {len(self.value)} characters)"
        return self.value

    def as_row(self) -> dict[str, str]:
        return {
            "file": self.file,
            "row": "" if self.row is None else str(self.row),
            "column": self.column or "",
            "value": self.shown_value,
            "problem": self.message,
        }

    def __str__(self) -> str:
        row = "-" if self.row is None else str(self.row)
        return f"{self.file}, row {row}, column {self.column or '-'}, value {self.shown_value!r}: {self.message}"


class InputError(Exception):
    """Bad input: the whole file (or set of files) is rejected with every problem listed."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = tuple(problems)
        super().__init__(f"{len(self.problems)} problem(s) in the input")

    def __str__(self) -> str:
        lines = [f"{len(self.problems)} problem(s) in the input:"]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)
