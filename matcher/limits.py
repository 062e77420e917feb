"""How large a spreadsheet may be: rows, columns, cells and, for a workbook, its unpacked size.

The limits keep one hostile or mistaken file (a zip bomb, a sheet that claims a million
columns) from using the memory and time every other user of the service needs. They are far
above any real scheme: England has about 37,000 GPs, and a national round has 4,600 people.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReadLimits:
    max_rows: int = 250_000
    max_columns: int = 200
    # A reader holds every cell of a sheet at once: 6 million is 250,000 rows of 24 columns.
    max_cells: int = 6_000_000
    # Sum of the unpacked sizes of every part of an .xlsx (declared, and as actually unpacked).
    max_unpacked_bytes: int = 400_000_000
    max_parts: int = 1_000


DEFAULT_LIMITS = ReadLimits()
