"""A round's proposals as a spreadsheet (CSV or XLSX), the same columns as `matcher match`."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from matcher.export import PAIR_COLUMNS
from matcher.safe_write import write_csv, write_xlsx

ID_COLUMNS = tuple(c for c in PAIR_COLUMNS if not c.endswith("_name"))
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def pairs_file(rows: list[dict[str, Any]], kind: str, *, named: bool) -> bytes:
    """The bytes of a pairs spreadsheet; without names when ``named`` is false."""
    columns = PAIR_COLUMNS if named else ID_COLUMNS
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, f"pairs.{kind}")
        if kind == "csv":
            write_csv(path, columns, rows)
        elif kind == "xlsx":
            write_xlsx(path, columns, rows)
        else:
            raise ValueError(f"unknown spreadsheet kind {kind!r}")
        return path.read_bytes()
