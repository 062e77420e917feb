"""Structured input errors: every problem names its file, row, column, value and what is wrong."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from matcher.notes import rows_text

# Columns whose values are personal data: never echoed back in an error message.
SENSITIVE_COLUMNS = frozenset(
    {"name", "email", "gmc_number", "gender", "ethnicity", "img", "mentor_gender", "postcode"}
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file.

    ``row`` is the spreadsheet row number as a person sees it (the header is row 1), or None
    when the problem concerns the whole file. The same problem on several rows is one
    ``Problem`` whose ``rows`` lists them all (``row`` is the first).
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    message: str
    rows: tuple[int, ...] = field(default=(), compare=False)

    @property
    def all_rows(self) -> tuple[int, ...]:
        return self.rows or (() if self.row is None else (self.row,))

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
            "row": rows_text(self.all_rows, prefix=False),
            "column": self.column or "",
            "value": self.shown_value,
            "problem": self.message,
        }

    def __str__(self) -> str:
        where = rows_text(self.all_rows) or "row -"
        return f"{self.file}, {where}, column {self.column or '-'}, value {self.shown_value!r}: {self.message}"


def group_problems(problems: Iterable[Problem]) -> tuple[Problem, ...]:
    """The same problem (file, column, value, message) on many rows becomes one, in first-seen order."""
    rows: dict[tuple[str, str | None, str | None, str], list[int]] = {}
    first: dict[tuple[str, str | None, str | None, str], Problem] = {}
    for problem in problems:
        key = (problem.file, problem.column, problem.value, problem.message)
        first.setdefault(key, problem)
        rows.setdefault(key, []).extend(problem.all_rows)
    grouped = []
    for key, problem in first.items():
        numbers = tuple(sorted(set(rows[key])))
        if len(numbers) > 1:
            file, column, value, message = key
            problem = Problem(file, numbers[0], column, value, message, rows=numbers)
        grouped.append(problem)
    return tuple(grouped)


class InputError(Exception):
    """Bad input: the whole file (or set of files) is rejected with every problem listed."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = group_problems(problems)
        super().__init__(f"{len(self.problems)} problem(s) in the input")

    def __str__(self) -> str:
        return self.report()

    def report(self, most: int | None = None) -> str:
        """Every problem on a line of its own; with ``most``, the first ``most`` and a count."""
        shown = self.problems if most is None else self.problems[:most]
        lines = [f"{len(self.problems)} problem(s) in the input:"]
        lines += [f"  {p}" for p in shown]
        if len(shown) < len(self.problems):
            lines.append(f"  ... and {len(self.problems) - len(shown)} more not shown")
        return "\n".join(lines)
