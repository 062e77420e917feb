"""How long, how much memory and how much stalling does a large spreadsheet import cost?

Imports mentee files of 4,600 and 200,000 rows (``--quick``: 4,600 and 20,000), as CSV and
as XLSX, over HTTP into a real ``matcher serve`` on SQLite and on PostgreSQL, and measures in
the same run, each time on a fresh server and a fresh database:

- the ``POST /api/mentees/import`` wall time, its status and counts; then the same file
  again (every row should come back ``unchanged``);
- ``GET /health`` every 100 ms from a second thread while the first import runs (worst and
  median; the import must not stall the event loop), against the idle median;
- the server's peak memory (``VmHWM``: the server is fresh, so it is the import's peak)
  against its idle ``VmRSS`` before the upload;
- with the default limits, two refusals: the largest CSV over the default upload limit
  (413) and a 40 MB upload without a token (401). Both are sent over a raw socket, so the
  time to the answer and how much of the body had been sent by then are known.

The files are built into a temporary folder from the shipped national sample: its rows
repeated with new ids (``ME000001``...), ``preferred_mentors`` blank (the mentors are not
imported); XLSX through openpyxl's write-only workbook, numbers as numbers. The exit code is
0 when every import and refusal went as expected (counts included), 1 otherwise.

    python -m benchmarks.run_imports [--quick] [--databases sqlite postgresql]
        [--out benchmarks/results/imports.md]
"""

from __future__ import annotations

import argparse
import csv
import json
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
from openpyxl import Workbook

from benchmarks.run_matching import machine
from benchmarks.serving import MB, Server, fresh_database, serve
from datasets.generator import sample_dir

RESULTS = Path(__file__).resolve().parent / "results" / "imports.md"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DATABASES = ("sqlite", "postgresql")
ROWS = (4_600, 200_000)
QUICK_ROWS = (4_600, 20_000)
FORMATS = ("csv", "xlsx")
# The refusals: the largest file against the default upload limit, and a body without a token.
REFUSED_ROWS = 200_000
NO_TOKEN_BYTES = 40_000_000
UPLOAD_LIMIT = 200_000_000
PROBE_EVERY = 0.1
IDLE_PROBES = 20
IMPORT_TIMEOUT = 900.0
BOUNDARY = "bench-imports-boundary"


# --- inputs ---------------------------------------------------------------------------------


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


# --- measuring ------------------------------------------------------------------------------


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


class Prober:
    """``GET /health`` every ``PROBE_EVERY`` seconds from a second thread, latencies kept."""

    def __init__(self, url: str):
        self.url = url
        self.latencies: list[float] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=IMPORT_TIMEOUT) as http:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    http.get("/health").raise_for_status()
                    self.latencies.append(time.perf_counter() - started)
                except httpx.HTTPError:
                    self.failures += 1
                self._stop.wait(max(0.0, PROBE_EVERY - (time.perf_counter() - started)))

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _detail(body: object) -> str:
    if isinstance(body, dict) and "detail" in body:
        detail = body["detail"]
        return detail if isinstance(detail, str) else json.dumps(detail)[:300]
    return str(body)[:300]


def post_file(http: httpx.Client, server: Server, path: Path) -> Answer:
    cpu = server.cpu_seconds()
    started = time.perf_counter()
    response = http.post(
        "/api/mentees/import",
        files={"file": (path.name, path.read_bytes())},
        timeout=IMPORT_TIMEOUT,
    )
    seconds = time.perf_counter() - started
    cpu = server.cpu_seconds() - cpu
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if response.status_code != 200 or not isinstance(body, dict):
        return Answer(response.status_code, seconds, cpu, detail=_detail(body))
    return Answer(
        200,
        seconds,
        cpu,
        rows=body["rows"],
        added=body["added"],
        updated=body["updated"],
        unchanged=body["unchanged"],
    )


def _idle_health(url: str) -> float:
    with httpx.Client(base_url=url, timeout=10) as http:
        latencies = []
        for _ in range(IDLE_PROBES):
            started = time.perf_counter()
            http.get("/health")
            latencies.append(time.perf_counter() - started)
    return statistics.median(latencies)


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


def measure_import(database: str, path: Path, rows: int, folder: Path, postgres_url: str) -> Run:
    fmt = path.suffix.lstrip(".")
    base = Run(database, fmt, rows, path.stat().st_size / MB)
    log = folder / f"server-{database}-{rows}-{fmt}.log"
    try:
        with (
            fresh_database(database, folder, postgres_url) as url,
            serve(url, log, {"MATCHER_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT)}) as server,
        ):
            idle_health = _idle_health(server.url)
            idle_rss = server.memory_mb("VmRSS")
            start_peak = server.memory_mb("VmHWM")
            headers = {"Authorization": f"Bearer {server.token}"}
            with httpx.Client(base_url=server.url, headers=headers) as http:
                with Prober(server.url) as prober:
                    first = post_file(http, server, path)
                peak_rss = server.memory_mb("VmHWM")
                again = post_file(http, server, path)
    except Exception as exc:  # a benchmark reports what broke and goes on to the next file
        return replace(base, error=f"{type(exc).__name__}: {exc}")
    return Run(
        database,
        fmt,
        rows,
        base.megabytes,
        first=first,
        again=again,
        idle_rss=idle_rss,
        start_peak=start_peak,
        peak_rss=peak_rss,
        idle_health=idle_health,
        health=prober.latencies,
        health_failures=prober.failures,
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


def _multipart(filename: str, data: bytes) -> bytes:
    return (
        (
            f"--{BOUNDARY}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def _raw_post(port: int, token: str | None, body: bytes) -> tuple[int, float, int, str]:
    """POST ``body`` over a raw socket, sending only while the server has not answered.

    Returns the status, the seconds to the whole answer, the bytes of the body sent when the
    answer began (an answer before the end of the body means the server did not wait for
    it) and the answer's ``detail``.
    """
    head = (
        "POST /api/mentees/import HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(body)}\r\n"
        + (f"Authorization: Bearer {token}\r\n" if token else "")
        + "Connection: close\r\n\r\n"
    ).encode()
    view = memoryview(body)
    sent, answer, sent_at_answer = 0, b"", -1
    with socket.create_connection(("127.0.0.1", port)) as sock:
        started = time.perf_counter()
        sock.sendall(head)
        sock.setblocking(False)
        deadline = started + 120
        while time.perf_counter() < deadline:
            writing = [sock] if sent < len(body) and sent_at_answer < 0 else []
            readable, writable, _ = select.select([sock], writing, [], 1.0)
            if readable:
                try:
                    chunk = sock.recv(65536)
                except ConnectionResetError:
                    break
                if sent_at_answer < 0:
                    sent_at_answer = sent
                if not chunk or _complete(answer := answer + chunk):
                    break
            elif writable:
                try:
                    sent += sock.send(view[sent : sent + (1 << 20)])
                except BlockingIOError:
                    pass
                except (BrokenPipeError, ConnectionResetError):
                    sent_at_answer = sent  # the server closed the connection: read its answer
        seconds = time.perf_counter() - started
    head_bytes, _, payload = answer.partition(b"\r\n\r\n")
    if not head_bytes:
        raise RuntimeError(f"no answer after {seconds:.1f} s ({sent:,} bytes sent)")
    status = int(head_bytes.split(b" ", 2)[1])
    try:
        detail = _detail(json.loads(payload))
    except ValueError:
        detail = payload[:300].decode(errors="replace")
    return status, seconds, sent_at_answer, detail


def _complete(answer: bytes) -> bool:
    head, found, payload = answer.partition(b"\r\n\r\n")
    if not found:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(payload) >= int(value)
    return False


def measure_refusal(
    database: str, what: str, expected: int, body: bytes, auth: bool, folder: Path, pg: str
) -> Refusal:
    base = Refusal(database, what, expected, len(body) / MB)
    log = folder / f"server-{database}-refusal-{expected}.log"
    try:
        with fresh_database(database, folder, pg) as url, serve(url, log) as server:
            idle_rss = server.memory_mb("VmRSS")
            status, seconds, sent, detail = _raw_post(
                server.port, server.token if auth else None, body
            )
            peak_rss = server.memory_mb("VmHWM")
    except Exception as exc:  # reported in the table
        return replace(base, error=f"{type(exc).__name__}: {exc}")
    return Refusal(
        database, what, expected, base.megabytes, status, seconds, sent, detail, idle_rss, peak_rss
    )


# --- report ---------------------------------------------------------------------------------


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


def _import_row(r: Run) -> str:
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


def _refusal_row(r: Refusal) -> str:
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
        lines += [_import_row(r) for r in runs if r.database == database]
        lines += [_refusal_row(r) for r in refusals if r.database == database]
    lines += ["", *_ratios(runs), "", f"Inputs (built by the script, not timed above): {built}."]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4,600 and 20,000 rows")
    parser.add_argument("--databases", nargs="+", choices=DATABASES, default=list(DATABASES))
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    sizes = QUICK_ROWS if args.quick else ROWS
    info = machine()  # the date is the start's
    folder = Path(tempfile.mkdtemp(prefix="imports-bench-"))
    runs: list[Run] = []
    refusals: list[Refusal] = []
    finished = False
    try:
        inputs = build_inputs(folder, sizes)
        refused = inputs.path(REFUSED_ROWS, "csv")
        bodies = {
            413: _multipart(refused.name, refused.read_bytes()),
            401: _multipart("mentees.csv", refused.read_bytes()[:NO_TOKEN_BYTES]),
        }
        for database in args.databases:
            for n in sizes:
                for fmt in FORMATS:
                    run = measure_import(
                        database, inputs.path(n, fmt), n, folder, args.postgres_url
                    )
                    runs.append(run)
                    print(_import_row(run), file=sys.stderr)
            for expected, what, auth in (
                (413, f"csv of {REFUSED_ROWS:,} rows, default upload limit", True),
                (401, "no token", False),
            ):
                refusal = measure_refusal(
                    database, what, expected, bodies[expected], auth, folder, args.postgres_url
                )
                refusals.append(refusal)
                print(_refusal_row(refusal), file=sys.stderr)
        command = "python -m benchmarks.run_imports" + "".join(
            f" {a}" for a in (argv if argv is not None else sys.argv[1:])
        )
        text_out = report(runs, refusals, inputs, command, info)
        finished = True
    finally:
        # The inputs go; the servers' logs stay when something did not go as expected.
        failed = not finished or any(not r.ok for r in runs) or any(not r.ok for r in refusals)
        for path in folder.iterdir():
            if not (failed and path.name.startswith("server-")):
                path.unlink()
        if failed:
            print(f"server logs kept in {folder}", file=sys.stderr)
        else:
            folder.rmdir()
    print(text_out)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text_out, encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0 if all(r.ok for r in runs) and all(r.ok for r in refusals) else 1


if __name__ == "__main__":
    sys.exit(main())
