"""The files the import benchmark posts: mentee registers of any size, as CSV and as XLSX.

Built from the shipped national sample: its rows repeated with new ids (``ME000001``...),
``preferred_mentors`` blank (the mentors are not imported); XLSX through openpyxl's
write-only workbook, numbers as numbers.
"""

from __future__ import annotations

import csv
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook

from benchmarks.serving import MB
from datasets.generator import sample_dir

FORMATS = ("csv", "xlsx")
# The largest file, also posted against the default upload limit.
REFUSED_ROWS = 200_000


@dataclass(frozen=True)
class Inputs:
    """The built files: rows -> format -> path."""

    files: dict[int, dict[str, Path]]
    seconds: dict[Path, float]  # how long each file took to write

    def path(self, rows: int, fmt: str) -> Path:
        return self.files[rows][fmt]


def _sample() -> tuple[list[str], list[list[str]]]:
    with (sample_dir("national") / "mentees.csv").open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, list(reader)


def _rows(header: list[str], sample: list[list[str]], n: int) -> Iterator[list[str]]:
    """The sample's rows repeated to ``n``, with new ids and no preferred mentors."""
    at_id, at_preferred = header.index("mentee_id"), header.index("preferred_mentors")
    for i in range(n):
        row = list(sample[i % len(sample)])
        row[at_id] = f"ME{i + 1:06d}"
        row[at_preferred] = ""
        yield row


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _numeric_columns(header: list[str], sample: list[list[str]]) -> set[int]:
    """Columns whose every filled cell in the sample is a number (latitude, longitude...)."""
    return {
        k
        for k in range(len(header))
        if any(row[k] for row in sample)
        and all(_number(row[k]) is not None for row in sample if row[k])
    }


def _cell(value: str, numeric: bool) -> str | int | float | None:
    if value == "":
        return None
    if not numeric:
        return value
    number = float(value)
    return int(number) if number.is_integer() and "." not in value else number


def build_inputs(folder: Path, sizes: Sequence[int]) -> Inputs:
    """CSV and XLSX for every size, and a CSV of ``REFUSED_ROWS`` for the 413."""
    header, sample = _sample()
    numeric = _numeric_columns(header, sample)
    files: dict[int, dict[str, Path]] = {}
    seconds: dict[Path, float] = {}
    for n in sorted({*sizes, REFUSED_ROWS}):
        formats = FORMATS if n in sizes else ("csv",)
        files[n] = {}
        for fmt in formats:
            path = folder / f"mentees-{n}.{fmt}"
            started = time.perf_counter()
            if fmt == "csv":
                with path.open("w", encoding="utf-8", newline="") as f:
                    writer = csv.writer(f)
                    writer.writerow(header)
                    writer.writerows(_rows(header, sample, n))
            else:
                book = Workbook(write_only=True)
                sheet = book.create_sheet("mentees")
                sheet.append(header)
                for row in _rows(header, sample, n):
                    sheet.append([_cell(v, k in numeric) for k, v in enumerate(row)])
                book.save(path)
            seconds[path] = time.perf_counter() - started
            files[n][fmt] = path
            print(
                f"built {path.name}: {path.stat().st_size / MB:.1f} MB in {seconds[path]:.1f} s",
                file=sys.stderr,
            )
    return Inputs(files, seconds)
