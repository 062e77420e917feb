"""What the import benchmark measured, and its report in markdown."""

from __future__ import annotations

import statistics
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field

from benchmarks.import_files import FORMATS, Inputs
from benchmarks.serving import MB

# The server's upload limit for the imports measured, and the idle /health probes taken.
UPLOAD_LIMIT = 200_000_000
IDLE_PROBES = 20


@dataclass(frozen=True)
class Answer:
    """One import request: status, wall time and what the service said."""

    status: int
    seconds: float
    cpu: float  # the server's CPU seconds meanwhile: far below ``seconds`` means it waited
    rows: int | None = None
    added: int | None = None
    updated: int | None = None
    unchanged: int | None = None
    detail: str = ""


@dataclass(frozen=True)
class Run:
    """One file imported into a fresh server and database, then imported again."""

    database: str
    fmt: str
    rows: int
    megabytes: float
    first: Answer | None = None
    again: Answer | None = None
    idle_rss: float | None = None
    start_peak: float | None = None  # VmHWM before the upload: start-up's peak
    peak_rss: float | None = None
    idle_health: float | None = None
    health: list[float] = field(default_factory=list)
    health_failures: int = 0
    error: str = ""

    @property
    def ok(self) -> bool:
        return (
            not self.error
            and self.first is not None
            and self.again is not None
            and self.first.status == 200
            and self.first.rows == self.first.added == self.rows
            and self.again.status == 200
            and self.again.rows == self.again.unchanged == self.rows
            and not self.health_failures
        )


@dataclass(frozen=True)
class Refusal:
    """An upload the service should refuse without reading it."""

    database: str
    what: str
    expected: int
    megabytes: float
    status: int | None = None
    seconds: float | None = None  # to the whole answer
    sent: int | None = None  # bytes of the body sent when the answer began
    detail: str = ""
    idle_rss: float | None = None
    peak_rss: float | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and self.status == self.expected


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}" if seconds >= 0.1 else f"{seconds * 1000:.1f}"


def _counts(a: Answer) -> str:
    if a.status != 200:
        return f"{a.status}: {a.detail}"
    return (
        f"{a.status}: rows {_count(a.rows)}, added {_count(a.added)}, "
        f"updated {_count(a.updated)}, unchanged {_count(a.unchanged)}"
    )


def _count(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def import_row(r: Run) -> str:
    cells = [r.database, f"{r.fmt} ({r.megabytes:.1f} MB)", f"{r.rows:,}"]
    if r.error or r.first is None or r.again is None:
        return "| " + " | ".join([*cells, "–", "–", "–", "–", f"**error**: {r.error}"]) + " |"
    per_k = 1000 / r.rows
    grew = (r.peak_rss or 0) - (r.idle_rss or 0)
    health = (
        f"{_ms(max(r.health))} / {_ms(statistics.median(r.health))} "
        f"(n={len(r.health)}; idle {_ms(r.idle_health or 0)})"
        if r.health
        else "– (no probe)"
    )
    if r.health_failures:
        health += f", {r.health_failures} failed"
    status = (
        "ok" if r.ok else "**unexpected**" + f": first {_counts(r.first)}; again {_counts(r.again)}"
    )
    return (
        "| "
        + " | ".join(
            [
                *cells,
                f"{r.first.seconds:,.2f} ({r.first.seconds * per_k:.3f} per 1k; "
                f"CPU {r.first.cpu:,.1f})",
                f"{r.again.seconds:,.2f} ({r.again.seconds * per_k:.3f} per 1k; "
                f"CPU {r.again.cpu:,.1f}; unchanged {_count(r.again.unchanged)})",
                f"{r.peak_rss:,.0f} (idle {r.idle_rss:,.0f}; +{grew:,.0f}; "
                f"start-up peak {r.start_peak:,.0f})",
                health,
                status,
            ]
        )
        + " |"
    )


def refusal_row(r: Refusal) -> str:
    cells = [r.database, f"{r.what} ({r.megabytes:.1f} MB)", "–"]
    if r.error or r.status is None or r.seconds is None or r.sent is None:
        return "| " + " | ".join([*cells, "–", "–", "–", "–", f"**error**: {r.error}"]) + " |"
    verdict = "ok" if r.ok else f"**unexpected** (expected {r.expected})"
    return (
        "| "
        + " | ".join(
            [
                *cells,
                f"{r.seconds:.3f} to the answer",
                "–",
                f"{r.peak_rss:,.0f} (idle {r.idle_rss:,.0f})",
                "–",
                f"{verdict}: {r.status} after {r.sent / MB:.1f} of {r.megabytes:.1f} MB sent; "
                f"“{r.detail}”",
            ]
        )
        + " |"
    )


def _ratios(runs: Sequence[Run]) -> list[str]:
    """XLSX against CSV, and the large file against the small, per 1,000 rows."""
    done = {(r.database, r.fmt, r.rows): r for r in runs if r.ok and r.first}
    lines = []
    sizes = sorted({r.rows for r in runs})
    for database in dict.fromkeys(r.database for r in runs):
        parts = []
        for n in sizes:
            c, x = done.get((database, "csv", n)), done.get((database, "xlsx", n))
            if c and x and c.first and x.first:
                parts.append(f"XLSX / CSV at {n:,} rows {x.first.seconds / c.first.seconds:.1f}x")
        if len(sizes) > 1:
            for fmt in FORMATS:
                small = done.get((database, fmt, sizes[0]))
                large = done.get((database, fmt, sizes[-1]))
                if small and large and small.first and large.first:
                    ratio = (large.first.seconds / large.rows) / (small.first.seconds / small.rows)
                    parts.append(
                        f"{fmt} time per row at {sizes[-1]:,} / at {sizes[0]:,} rows {ratio:.2f}"
                    )
        if parts:
            lines.append(f"- {database}: " + "; ".join(parts) + ".")
    return lines


def _revision() -> str:
    """The commit measured, and whether the working tree differed from it."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "outside a git checkout"
    return f"commit {commit}" + (f" with {len(changed)} changed files" if changed else "")


def report(
    runs: Sequence[Run],
    refusals: Sequence[Refusal],
    inputs: Inputs,
    command: str,
    info: dict[str, str],
) -> str:
    built = ", ".join(
        f"{p.name} {p.stat().st_size / MB:.1f} MB in {s:.1f} s" for p, s in inputs.seconds.items()
    )
    lines = [
        "# Spreadsheet imports through the service",
        "",
        f"`{command}` on {info['date']}: {info['cores']} cores ({info['cpu']}), Python "
        f"{info['python']}; {_revision()}.",
        "",
        "Each file is posted to `POST /api/mentees/import` of a fresh `matcher serve` over a "
        f"fresh database (SQLite file; PostgreSQL schema), with `MATCHER_MAX_UPLOAD_BYTES="
        f"{UPLOAD_LIMIT}` and otherwise the defaults, then posted again. Seconds are the "
        "request's wall time at the client, then per 1,000 rows and the server process's CPU "
        "seconds meanwhile (all threads; the database's own work is not in them). Peak RSS "
        "is the server's `VmHWM` right after the first import (the server is fresh, so it is "
        "that import's peak), idle its `VmRSS` "
        "before the upload; start-up peak is `VmHWM` before the upload, so a peak equal to it "
        "means the import stayed below what starting the server took. `/health` is probed "
        "every 100 ms from a second thread during the first import: worst / median ms (idle: "
        f"median of {IDLE_PROBES} probes before). The "
        "last two rows per database are refusals on a server with the default limits, sent "
        "over a raw socket that stops sending once the answer begins: the MB sent by then are "
        "what the kernel's socket buffers take without the server reading (about 3–4 MB on "
        "localhost), so an answer in milliseconds means the body was not read.",
        "",
        "| database | format | rows | first import s | re-import s (unchanged) | peak RSS MB "
        "(idle) | /health worst / median ms | status |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for database in dict.fromkeys([*(r.database for r in runs), *(r.database for r in refusals)]):
        lines += [import_row(r) for r in runs if r.database == database]
        lines += [refusal_row(r) for r in refusals if r.database == database]
    lines += ["", *_ratios(runs), "", f"Inputs (built by the script, not timed above): {built}."]
    return "\n".join(lines) + "\n"
