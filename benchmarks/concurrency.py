"""Do the records stay right, and reads stay quick, when requests come at the same moment?

Two measures, each on SQLite and on PostgreSQL, against real `matcher serve` processes:

- **approvals**: rounds built over shared people (three rounds over the same mentees two by
  two, three that each pin one more mentee on a mentor with one place left), approved from
  threads at the same moment, on one server and on two sharing the database, many times.
  Counted in SQL after each try: mentees with two active matches, the mentor's load above
  its maximum, and tries where more than one of a set of overlapping approvals succeeded.
- **reads**: the national sample (600 mentors, 4,000 mentees); 8 clients read
  `GET /api/mentors` at once, first alone, then while another client imports the mentees
  file again (a long write). Latency quantiles, and every answer's status.

Run: `python -m benchmarks.concurrency [--tries 25] [--reads 10]`; writes
`benchmarks/results/concurrency.md`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, text

from benchmarks.serving import Server, fresh_database, serve
from datasets.generator import sample_dir
from matcher.readers import load_problem
from matcher.rules import allowed_pairs
from service.db import make_engine

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
RESULTS = Path(__file__).parent / "results" / "concurrency.md"
MENTOR = "MR0001"
BAND = {"capacity": {"min": 1, "max": 4}}
BIG_UPLOADS = {"MATCHER_MAX_UPLOAD_BYTES": "20000000"}


def import_sample(http: httpx.Client, sample: str) -> None:
    """The shipped sample's mentors and mentees, imported over HTTP."""
    for kind in ("mentors", "mentees"):
        path = sample_dir(sample) / f"{kind}.csv"
        answer = http.post(
            f"/api/{kind}/import", files={"file": (path.name, path.read_bytes(), "text/csv")}
        )
        answer.raise_for_status()


def race_round(http: httpx.Client, mentee_ids: list[str], kind: str | None) -> int:
    """A round of these mentees run to its proposals, every one of them pinned on (or
    forbidden from) the race's mentor when ``kind`` says so; its id."""
    body = {"name": "race", "settings": BAND, "time_limit": 20, "mentee_ids": mentee_ids}
    round_id = int(http.post("/api/rounds", json=body).json()["id"])
    for mentee_id in mentee_ids if kind else ():
        pair = {"kind": kind, "mentor_id": MENTOR, "mentee_id": mentee_id}
        http.post(f"/api/rounds/{round_id}/pairs", json=pair).raise_for_status()
    job_id = http.post(f"/api/rounds/{round_id}/run").json()["job_id"]
    while (job := http.get(f"/api/jobs/{job_id}").json())["status"] not in ("done", "failed"):
        time.sleep(0.05)
    proposed = len(http.get(f"/api/rounds/{round_id}/proposals").json())
    if job["status"] != "done" or proposed != len(mentee_ids):
        raise RuntimeError(f"round {round_id}: {job}, {proposed} proposals")
    return round_id


def race_people() -> tuple[list[list[str]], list[str], list[list[str]]]:
    """From the LMC sample: three rounds over the same mentees two by two (a cycle); three
    mentees approved first on the mentor, leaving one place of four; three rounds that each
    pin one more mentee on that mentor. The pinned pairs pass every hard rule."""
    folder = sample_dir("lmc")
    problem = load_problem(folder / "mentors.csv", folder / "mentees.csv")
    allowed = allowed_pairs(problem)
    column = [m.mentor_id for m in problem.mentors].index(MENTOR)
    fits = [problem.mentees[j].mentee_id for j in allowed.mentee[allowed.mentor == column]]
    a, b, c, d, e, f = [m.mentee_id for m in problem.mentees if m.mentee_id not in fits][:6]
    return [[a, b, c], [c, d, e], [e, f, a]], fits[:3], [[m] for m in fits[3:6]]


def at_once(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Each call from a thread of its own, all released at the same moment; their answers."""
    answers: list[Any] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def call(index: int) -> None:
        start.wait()
        answers[index] = calls[index]()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def mentees_matched_twice(engine: Engine) -> int:
    """Mentees with more than one active match (the database's index should allow none)."""
    return _scalar(
        engine,
        "SELECT count(*) FROM (SELECT mentee_id FROM matches WHERE status IN "
        "('confirmed', 'registered') GROUP BY mentee_id HAVING count(*) > 1) AS d",
    )


def active_load(engine: Engine, mentor_id: str) -> int:
    with engine.connect() as db:
        return int(
            db.execute(
                text(
                    "SELECT count(*) FROM matches WHERE mentor_id = :m "
                    "AND status IN ('confirmed', 'registered')"
                ),
                {"m": mentor_id},
            ).scalar_one()
        )


def reset_approvals(engine: Engine, round_ids: list[int]) -> None:
    """Back to the moment before the approvals: the same proposals, nobody matched by them."""
    with engine.begin() as db:
        for round_id in round_ids:
            db.execute(text("DELETE FROM matches WHERE round_id = :r"), {"r": round_id})
            db.execute(
                text(
                    "UPDATE rounds SET status = 'proposed', approved_at = NULL, "
                    "approved_by = NULL WHERE id = :r"
                ),
                {"r": round_id},
            )


def _scalar(engine: Engine, sql: str) -> int:
    with engine.connect() as db:
        return int(db.execute(text(sql)).scalar_one())


def approvals(kind: str, servers: int, tries: int, folder: Path) -> dict[str, Any]:
    """Race six approvals ``tries`` times; count what SQL finds wrong after each."""
    shared, base_ids, alone = race_people()
    with fresh_database(kind, folder, POSTGRES_URL) as url, ExitStack() as stack:
        running: list[Server] = [
            stack.enter_context(serve(url, folder / f"approve{i}.log", new_user=i == 0))
            for i in range(servers)
        ]
        clients = [
            stack.enter_context(httpx.Client(base_url=s.url, headers=s.headers, timeout=60))
            for s in running
        ]
        http = clients[0]
        import_sample(http, "lmc")
        base = race_round(http, base_ids, "pin")
        http.post(f"/api/rounds/{base}/approve").raise_for_status()
        overlapping = [race_round(http, ids, "forbid") for ids in shared]
        one_place = [race_round(http, ids, "pin") for ids in alone]
        rounds = overlapping + one_place
        engine = make_engine(url)
        found: Counter[str] = Counter()
        for _try in range(tries):
            answers = at_once(
                [
                    partial(clients[i % servers].post, f"/api/rounds/{r}/approve")
                    for i, r in enumerate(rounds)
                ]
            )
            codes = dict(zip(rounds, (a.status_code for a in answers), strict=True))
            found["approvals"] += len(rounds)
            found["200"] += sum(code == 200 for code in codes.values())
            found["409"] += sum(code == 409 for code in codes.values())
            found["5xx"] += sum(code >= 500 for code in codes.values())
            found["double wins"] += sum(codes[r] == 200 for r in overlapping) > 1
            found["double wins"] += sum(codes[r] == 200 for r in one_place) > 1
            found["mentees matched twice"] += mentees_matched_twice(engine)
            found["mentor above maximum"] += active_load(engine, MENTOR) > 4
            reset_approvals(engine, rounds)
        engine.dispose()
    return {"database": kind, "servers": servers, "tries": tries, **found}


def _timed_reads(server: Server, clients: int, each: int) -> tuple[list[float], Counter[int]]:
    seconds: list[float] = []
    codes: Counter[int] = Counter()
    lock = threading.Lock()

    def reader() -> None:
        with httpx.Client(base_url=server.url, headers=server.headers, timeout=120) as http:
            for _ in range(each):
                started = time.perf_counter()
                status = http.get("/api/mentors").status_code
                with lock:
                    seconds.append(time.perf_counter() - started)
                    codes[status] += 1

    threads = [threading.Thread(target=reader) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return seconds, codes


def reads(kind: str, each: int, folder: Path) -> list[dict[str, Any]]:
    rows = []
    with (
        fresh_database(kind, folder, POSTGRES_URL) as url,
        serve(url, folder / "reads.log", BIG_UPLOADS) as server,
        httpx.Client(base_url=server.url, headers=server.headers, timeout=300) as http,
    ):
        import_sample(http, "national")
        for label in ("alone", "during an import"):
            writer_codes: list[int] = []
            writer = None
            if label != "alone":
                path = sample_dir("national") / "mentees.csv"
                files = {"file": (path.name, path.read_bytes(), "text/csv")}

                def write(files: dict[str, Any] = files, codes: list[int] = writer_codes) -> None:
                    while len(codes) < 3:
                        codes.append(http.post("/api/mentees/import", files=files).status_code)

                writer = threading.Thread(target=write)
                writer.start()
                time.sleep(0.5)
            seconds, codes = _timed_reads(server, 8, each)
            if writer is not None:
                writer.join()
            ordered = sorted(seconds)
            rows.append(
                {
                    "database": kind,
                    "reads": label,
                    "n": len(seconds),
                    "median": statistics.median(ordered),
                    "p95": ordered[round(0.95 * (len(ordered) - 1))],
                    "p99": ordered[round(0.99 * (len(ordered) - 1))],
                    "statuses": dict(codes),
                    "writes": dict(Counter(writer_codes)),
                }
            )
    return rows


def report(race: list[dict[str, Any]], read_rows: list[dict[str, Any]]) -> str:
    lines = [
        "# Concurrency benchmark",
        "",
        "`python -m benchmarks.concurrency`, one run on the 2-core development machine, "
        f"{time.strftime('%Y-%m-%d')}.",
        "",
        "## Approvals at the same moment (6 per try: 3 over shared mentees, 3 on one place)",
        "",
        "| database | servers | tries | approvals | 200 | 409 | 5xx | double wins "
        "| mentees matched twice | mentor above maximum |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in race:
        lines.append(
            f"| {r['database']} | {r['servers']} | {r['tries']} | {r['approvals']} | {r['200']} "
            f"| {r['409']} | {r['5xx']} | {r['double wins']} | {r['mentees matched twice']} "
            f"| {r['mentor above maximum']} |"
        )
    lines += [
        "",
        "## 8 clients reading `GET /api/mentors` at once (national sample: 600 mentors)",
        "",
        "| database | reads | n | median s | p95 s | p99 s | statuses | import answers |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in read_rows:
        lines.append(
            f"| {r['database']} | {r['reads']} | {r['n']} | {r['median']:.2f} | {r['p95']:.2f} "
            f"| {r['p99']:.2f} | {r['statuses']} | {r['writes'] or '-'} |"
        )
    by = {(r["database"], r["reads"]): r for r in read_rows}
    for label in ("alone", "during an import"):
        if ("sqlite", label) in by and ("postgresql", label) in by:
            ratio = by["sqlite", label]["p99"] / by["postgresql", label]["p99"]
            lines.append(f"\np99 SQLite / PostgreSQL, {label}: {ratio:.2f}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=25, help="approval races per setting")
    parser.add_argument("--reads", type=int, default=10, help="reads per client")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="concurrency-bench-"))
    race = [
        approvals(kind, servers, args.tries, folder)
        for kind in ("sqlite", "postgresql")
        for servers in (1, 2)
    ]
    read_rows = [
        row for kind in ("sqlite", "postgresql") for row in reads(kind, args.reads, folder)
    ]
    text_ = report(race, read_rows)
    RESULTS.write_text(text_, encoding="utf-8")
    print(text_)


if __name__ == "__main__":
    main()
