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
import json
import select
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import httpx

from benchmarks.import_files import FORMATS, REFUSED_ROWS, build_inputs
from benchmarks.imports_report import (
    IDLE_PROBES,
    UPLOAD_LIMIT,
    Answer,
    Refusal,
    Run,
    import_row,
    refusal_row,
    report,
)
from benchmarks.run_matching import machine
from benchmarks.serving import MB, Server, fresh_database, serve

RESULTS = Path(__file__).resolve().parent / "results" / "imports.md"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DATABASES = ("sqlite", "postgresql")
ROWS = (4_600, 200_000)
QUICK_ROWS = (4_600, 20_000)
# The refusal of a body without a token.
NO_TOKEN_BYTES = 40_000_000
PROBE_EVERY = 0.1
IMPORT_TIMEOUT = 900.0
BOUNDARY = "bench-imports-boundary"


# --- measuring ------------------------------------------------------------------------------


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
                    print(import_row(run), file=sys.stderr)
            for expected, what, auth in (
                (413, f"csv of {REFUSED_ROWS:,} rows, default upload limit", True),
                (401, "no token", False),
            ):
                refusal = measure_refusal(
                    database, what, expected, bodies[expected], auth, folder, args.postgres_url
                )
                refusals.append(refusal)
                print(refusal_row(refusal), file=sys.stderr)
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
