"""Rounds per minute with 1, 2 and 4 `matcher worker` processes on the regional sample.

One `matcher serve --no-worker` (``MATCHER_JOB_WORKERS=0``) over a fresh database takes the
requests; ``--rounds`` rounds of the regional sample (150 mentors, 1,000 mentees) are queued at
once through the API, then K worker processes (``--concurrency 1`` each) are started
together, and the clock runs from their start to the last job's end (``finished_at`` in the
jobs table, so polling adds nothing). Each configuration runs on a fresh database, on
PostgreSQL (the queue's tables in the scheme's database) and, with ``--sqlite``, on SQLite
(the queue in a file beside it, shared by the processes of one machine). Ratios are against
one worker in the same run. Every job must end ``done``.

Run: ``python -m benchmarks.job_throughput [--rounds 8] [--workers 1,2,4] [--time-limit 30]
[--sqlite]``; writes ``benchmarks/results/job_throughput.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, select

from benchmarks.concurrency import POSTGRES_URL, import_sample
from benchmarks.serving import fresh_database, serve
from service.db import utcnow
from service.models import Job

RESULTS = Path(__file__).parent / "results" / "job_throughput.md"
MATCHER = [sys.executable, "-m", "matcher.cli"]


def _workers(env: dict[str, str], count: int, folder: Path) -> list[subprocess.Popen[bytes]]:
    with (folder / "workers.log").open("ab") as out:
        return [
            subprocess.Popen(
                [*MATCHER, "worker", "--concurrency", "1"], env=env, stdout=out, stderr=out
            )
            for _ in range(count)
        ]


def _finished(database_url: str, job_ids: list[str]) -> tuple[dict[str, int], datetime | None]:
    """Jobs by status, and the last end among them."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(Job.id, Job.status, Job.finished_at)).all()
    finally:
        engine.dispose()
    ours = [row for row in rows if row.id in set(job_ids)]
    counts: dict[str, int] = {}
    for row in ours:
        counts[row.status] = counts.get(row.status, 0) + 1
    ends = [row.finished_at for row in ours if row.finished_at is not None]
    return counts, max(ends) if ends else None


def measure(kind: str, workers: int, rounds: int, time_limit: float, folder: Path) -> Any:
    """One configuration on a fresh database: rounds per minute and what ended how."""
    with (
        fresh_database(kind, folder, POSTGRES_URL) as url,
        serve(url, folder / f"serve-{kind}-{workers}.log", {"MATCHER_JOB_WORKERS": "0"}) as web,
        httpx.Client(base_url=web.url, headers=web.headers, timeout=60) as http,
    ):
        import_sample(http, "regional")
        job_ids = []
        for n in range(rounds):
            body = {"name": f"round {n + 1}", "time_limit": time_limit}
            round_id = http.post("/api/rounds", json=body).json()["id"]
            job_ids.append(http.post(f"/api/rounds/{round_id}/run").json()["job_id"])
        env = {k: v for k, v in os.environ.items() if not k.startswith("MATCHER_")}
        env["DATABASE_URL"] = url
        started_at = utcnow()  # as the workers stamp finished_at: naive UTC, this machine's clock
        started = time.monotonic()
        processes = _workers(env, workers, folder)
        try:
            while True:
                counts, last = _finished(url, job_ids)
                if sum(counts.get(s, 0) for s in ("done", "failed", "cancelled")) == rounds:
                    break
                if time.monotonic() - started > rounds * (time_limit + 120):
                    raise RuntimeError(f"jobs did not end: {counts}")
                time.sleep(0.5)
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(timeout=60)
        assert last is not None
        seconds = (last - started_at).total_seconds()
        return {
            "kind": kind,
            "workers": workers,
            "rounds": rounds,
            "seconds": seconds,
            "per_minute": rounds / seconds * 60,
            "counts": counts,
        }


def write(results: list[dict[str, Any]], rounds: int, time_limit: float) -> str:
    lines = [
        "# Rounds per minute by number of workers",
        "",
        f"Regional sample (150 mentors, 1,000 mentees), {rounds} rounds queued at once, time "
        f"limit {time_limit:g} s each; one `matcher serve --no-worker` and K `matcher worker "
        "--concurrency 1`; clock from the workers' start to the last job's end. "
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}.",
        "",
        "| database | workers | seconds | rounds per minute | against 1 worker | jobs |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in results:
        base = next(
            r for r in results if r["kind"] == row["kind"] and r["workers"] == results[0]["workers"]
        )
        ratio = row["per_minute"] / base["per_minute"]
        jobs = ", ".join(f"{n} {status}" for status, n in sorted(row["counts"].items()))
        lines.append(
            f"| {row['kind']} | {row['workers']} | {row['seconds']:.1f} | "
            f"{row['per_minute']:.1f} | {ratio:.2f}× | {jobs} |"
        )
    lines += [
        "",
        "Each solve runs in a child process of its worker. Its CP-SAT search uses every "
        "core (up to 8), but much of a run is single-threaded (reading the records, the flow "
        "bound and the MIP, storing the answer): two workers on two cores overlap one job's "
        "single-threaded parts with another's search, and beyond the machine's cores more "
        "workers only share them.",
        "",
        "Command: `python -m benchmarks.job_throughput"
        f" --rounds {rounds} --time-limit {time_limit:g} --sqlite`.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--workers", default="1,2,4", help="comma-separated counts")
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--sqlite", action="store_true", help="also on SQLite")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for kind in ["postgresql", *(["sqlite"] if args.sqlite else [])]:
            for workers in counts:
                row = measure(kind, workers, args.rounds, args.time_limit, Path(folder))
                print(
                    f"{kind}: {workers} worker(s): {row['per_minute']:.1f} rounds/min "
                    f"({row['seconds']:.1f} s) {row['counts']}",
                    flush=True,
                )
                results.append(row)
    RESULTS.write_text(write(results, args.rounds, args.time_limit), encoding="utf-8")
    print(f"written: {RESULTS}")


if __name__ == "__main__":
    main()
