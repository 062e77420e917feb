"""A round's proposals as a spreadsheet (CSV or XLSX), the same columns as `matcher match`;
for analysts, ids and the score in parts instead of names and reasons."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from matcher.export import PAIR_COLUMNS
from matcher.safe_write import write_csv, write_xlsx
from matcher.scoring import NEUTRAL_PARTS

PART_COLUMNS = tuple(f"score_{part}" for part in NEUTRAL_PARTS)
# No reasons: they say which diversity wish a mentor meets (see ``rounds.proposals``).
ID_COLUMNS = (
    *(c for c in PAIR_COLUMNS if not c.endswith("_name") and c != "reasons"),
    *PART_COLUMNS,
)
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def pairs_file(rows: list[dict[str, Any]], kind: str, *, named: bool) -> bytes:
    """The bytes of a pairs spreadsheet; ids and score parts, no names or reasons, when
    ``named`` is false. ``rows``: ``rounds.proposals``."""
    columns = PAIR_COLUMNS if named else ID_COLUMNS
    rows = [
        {
            column: value
            for column, value in (
                *row.items(),
                *((f"score_{part}", n) for part, n in row.get("score_parts", {}).items()),
            )
            if column in columns
        }
        for row in rows
    ]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, f"pairs.{kind}")
        if kind == "csv":
            write_csv(path, columns, rows)
        elif kind == "xlsx":
            write_xlsx(path, columns, rows)
        else:
            raise ValueError(f"unknown spreadsheet kind {kind!r}")
        return path.read_bytes()
