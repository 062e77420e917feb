"""What the readers tell a person about how their files were read.

A ``Note`` is not a problem: the file is accepted, and the note says how (a column read
under its contract name, a title row skipped, a value read at the scheme's limit). Warnings
are notes a person should act on. The same note on many rows is kept once, with every row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Note:
    file: str
    rows: tuple[int, ...]
    column: str | None
    message: str
    warning: bool = False

    def __str__(self) -> str:
        where = ", ".join(
            part
            for part in (
                self.file,
                rows_text(self.rows),
                f"column {self.column}" if self.column else "",
            )
            if part
        )
        return f"{'warning' if self.warning else 'note'}: {where}: {self.message}"

    def as_row(self) -> dict[str, str]:
        return {
            "level": "warning" if self.warning else "note",
            "file": self.file,
            "rows": rows_text(self.rows, prefix=False),
            "column": self.column or "",
            "message": self.message,
        }


def rows_text(rows: Iterable[int], *, prefix: bool = True, most: int = 8) -> str:
    """Row numbers as a person reads them: "rows 3–82, 90" (runs joined, long lists cut)."""
    numbers = sorted(set(rows))
    if not numbers:
        return ""
    runs: list[tuple[int, int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    parts = [str(a) if a == b else f"{a}–{b}" for a, b in runs[:most]]
    if len(runs) > most:
        rest = sum(b - a + 1 for a, b in runs[most:])
        parts.append(f"and {rest} more")
    text = ", ".join(parts)
    if not prefix:
        return text
    return f"{'row' if len(numbers) == 1 else 'rows'} {text}"


def merge_notes(notes: Iterable[Note]) -> tuple[Note, ...]:
    """One note per (file, column, message, level), with the rows of all; first-seen order."""
    merged: dict[tuple[str, str | None, str, bool], list[int]] = {}
    for note in notes:
        merged.setdefault((note.file, note.column, note.message, note.warning), []).extend(
            note.rows
        )
    return tuple(
        Note(file, tuple(sorted(set(rows))), column, message, warning)
        for (file, column, message, warning), rows in merged.items()
    )
