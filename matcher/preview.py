"""How a file was read, for a person to check before anything is matched or stored.

One ``FileRead`` per file: where the table was found, what each heading was read as, how
many rows, and the notes of reading it. ``lines`` writes it for a terminal; the service
shows the same facts on its Import page and in its import answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from matcher.columns import SCHEMAS
from matcher.notes import Note
from matcher.spreadsheet import TableReading


@dataclass(frozen=True)
class FileRead:
    file: str
    kind: str  # "mentors", "mentees", "exclusions", ...
    rows: int
    reading: TableReading | None
    notes: tuple[Note, ...] = ()

    def where(self) -> str:
        """Where the table is: "sheet 'Register', header on row 3"."""
        if self.reading is None:
            return ""
        sheet = f"sheet '{self.reading.sheet}', " if self.reading.sheet else ""
        return f"{sheet}header on row {self.reading.header_row}"

    @property
    def absent(self) -> tuple[str, ...]:
        """The kind's optional columns the file does not have."""
        schema = SCHEMAS.get(self.kind)
        if schema is None or self.reading is None:
            return ()
        found = {r.column for r in self.reading.columns}
        return tuple(c for c in schema.optional if c not in found)

    def columns(self) -> list[dict[str, str]]:
        """Each heading: its letter, as written, and what it was read as."""
        if self.reading is None:
            return []
        return [
            {
                "letter": r.letter,
                "heading": r.heading,
                "read_as": r.column or "",
                "how": r.how,
                "meaning": r.describe(self.kind),
            }
            for r in self.reading.columns
        ]

    def lines(self, *, columns: bool = True) -> list[str]:
        """The reading for a terminal: a summary line, the columns, then the notes."""
        lines = [f"{self.file}: {self.kind}, {self.rows} rows ({self.where()})"]
        if columns:
            shown = self.columns()
            width = max((len(c["heading"]) for c in shown), default=0)
            lines += [f"  {c['letter']:>3}  {c['heading']:<{width}}  {c['meaning']}" for c in shown]
            if self.absent:
                lines.append(f"  not in the file (defaults apply): {', '.join(self.absent)}")
        lines += [f"  {note}" for note in self.notes]
        return lines
