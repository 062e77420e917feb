"""Jobs across real processes on one database: two `matcher serve --no-worker` and two (then
three) `matcher worker` share the job queue. Several rounds run at once; a web process is
restarted while jobs run; one run is cancelled; a worker is killed with SIGKILL mid-solve
(its job is queued again when its lease lapses, and another worker runs it); a worker
stopped with SIGTERM hands its job back. Throughout, no round has two running jobs; at the
end every job is done, failed with a reason, or cancelled, and the approved round is as it
was approved. And the one-command set-up: `matcher serve` with its in-process worker hands
its running job back on SIGTERM and runs it again when started again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from scheme import write_scheme
from sqlalchemy import Engine, create_engine, func, select
from test_server_smoke import MATCHER, START_TIMEOUT, add_user, free_port, server

from service.jobs import HANDED_BACK
from service.models import Job

LEASE_SECONDS = 3
SLOW = {"name": "slow", "time_limit": 300, "settings": {"rules": {"equity_max_gap": 0.005}}}
ENDED = {"done", "failed", "cancelled"}


class Cluster:
    """The processes of one test, and the database they share (read directly for checks)."""

    def __init__(self, env: dict[str, str], folder: Path, engine: Engine):
        self.env, self.folder, self.engine = env, folder, engine
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str, name: str) -> subprocess.Popen[bytes]:
        with (self.folder / f"{name}.log").open("ab") as out:
            process = subprocess.Popen([*MATCHER, *args], env=self.env, stdout=out, stderr=out)
        self.processes.append(process)
        return process

    def web(self, name: str) -> tuple[subprocess.Popen[bytes], str]:
        port = free_port()
        process = self.start("serve", "--no-worker", "--port", str(port), name=name)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    return process, url
            except httpx.TransportError:
                pass
            assert process.poll() is None, (self.folder / f"{name}.log").read_text()
            assert time.monotonic() < deadline, f"{name} did not start"
            time.sleep(0.2)

    def worker(self, name: str) -> subprocess.Popen[bytes]:
        return self.start("worker", "--concurrency", "1", name=name)

    def job(self, job_id: str) -> Job:
        with self.engine.connect() as connection:
            row = connection.execute(select(Job).where(Job.id == job_id)).one()
        return Job(**row._asdict())

    def holder(self, job_id: str) -> int:
        """The process id of the worker holding a running job."""
        worker = self.job(job_id).worker
        assert worker is not None
        return int(worker.split(":")[1])

    def one_run_per_round(self) -> None:
        with self.engine.connect() as connection:
            doubled = connection.execute(
                select(Job.round_id)
                .where(Job.status == "running")
                .group_by(Job.round_id)
                .having(func.count() > 1)
            ).all()
        assert doubled == [], "a round has two running jobs"

    def wait(
        self,
        http: httpx.Client,
        job_id: str,
        statuses: set[str],
        within: float,
        attempts: int | None = None,
    ) -> Any:
        """The job once its status is one of ``statuses`` (and its attempts, if given)."""
        deadline = time.monotonic() + within
        while True:
            self.one_run_per_round()
            job = http.get(f"/api/jobs/{job_id}").json()
            if job["status"] in statuses and attempts in (None, job["attempts"]):
                return job
            assert time.monotonic() < deadline, f"job {job_id} is {job} after {within} s"
            time.sleep(0.1)


@contextmanager
def cluster(
    database_url: str, tmp_path: Path, settings: dict[str, str] | None = None
) -> Iterator[Cluster]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MATCHER_JOB_LEASE_SECONDS": str(LEASE_SECONDS),
        "MATCHER_JOB_RETRIES": "1",
        **(settings or {}),
    }
    engine = create_engine(database_url)
    group = Cluster(env, tmp_path, engine)
    with ExitStack() as stack:
        stack.callback(engine.dispose)
        try:
            yield group
        finally:
            for process in group.processes:
                if process.poll() is None:
                    process.kill()
                    process.wait(timeout=10)


def _live_descendants(pid: int) -> set[int]:
    """The processes below ``pid`` (its fork server and solves), zombies left out."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def _gone(pids: set[int]) -> bool:
    def alive(pid: int) -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    return not any(alive(pid) for pid in pids)


def _import(http: httpx.Client, folder: Path) -> None:
    for kind in ("mentors", "mentees", "exclusions"):
        path = folder / f"{kind}.csv"
        files = {"file": (path.name, path.read_bytes(), "text/csv")}
        assert http.post(f"/api/{kind}/import", files=files).status_code == 200


def _round(http: httpx.Client, **body: Any) -> int:
    answer = http.post("/api/rounds", json=body)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def _run(http: httpx.Client, round_id: int) -> str:
    answer = http.post(f"/api/rounds/{round_id}/run")
    assert answer.status_code == 202, answer.text
    return str(answer.json()["job_id"])


def test_web_and_worker_processes_share_the_queue(database_url: str, tmp_path: Path) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several machines share a PostgreSQL database; SQLite is one machine's")
    scheme = write_scheme(tmp_path, 60, 300, seed=3)
    mentees = [m.mentee_id for m in scheme.mentees]
    with cluster(database_url, tmp_path, {"MATCHER_LOG_FORMAT": "json"}) as group:
        auth = {"Authorization": f"Bearer {add_user(group.env, 'officer', 'matcher')}"}
        web_a, url_a = group.web("web-a")
        _, url_b = group.web("web-b")
        workers = {p.pid: p for p in (group.worker("worker-1"), group.worker("worker-2"))}
        a = httpx.Client(base_url=url_a, headers=auth, timeout=30)
        b = httpx.Client(base_url=url_b, headers=auth, timeout=30)
        _import(a, tmp_path)

        slow_1, slow_2 = _round(a, **SLOW), _round(b, **SLOW)
        job_1, job_2 = _run(a, slow_1), _run(b, slow_2)
        group.wait(a, job_1, {"running"}, 60)
        group.wait(b, job_2, {"running"}, 60)
        assert {group.holder(job_1), group.holder(job_2)} == set(workers)  # one each
        # Quick rounds of 20 mentees each: approving one leaves the slow rounds slow.
        quick = [
            _round(a, name=f"quick {n}", time_limit=5, mentee_ids=mentees[20 * n : 20 * n + 20])
            for n in (0, 1)
        ]
        queued = [_run(a, quick[0]), _run(b, quick[1])]
        views = [b.get(f"/api/jobs/{j}").json() for j in queued]
        assert [v["queue_position"] for v in views] == [1, 2], views
        # One run per round, whichever process is asked; none once approved.
        assert b.post(f"/api/rounds/{slow_1}/run").status_code == 409

        # Restarting a web process touches no job.
        web_a.send_signal(signal.SIGTERM)
        # uvicorn stops gracefully, then ends itself with the signal it was sent.
        assert web_a.wait(timeout=30) in (0, -signal.SIGTERM)
        a.close()
        _, url_a = group.web("web-a-again")
        a = httpx.Client(base_url=url_a, headers=auth, timeout=30)
        time.sleep(LEASE_SECONDS)
        assert [a.get(f"/api/jobs/{j}").json()["status"] for j in (job_1, job_2)] == [
            "running",
            "running",
        ]

        # Cancelled: its worker takes the next job.
        holder_2 = group.holder(job_2)
        assert a.post(f"/api/jobs/{job_2}/cancel").status_code == 200
        assert group.wait(b, job_2, ENDED, 10)["status"] == "cancelled"
        assert group.wait(b, queued[0], ENDED, 60)["status"] == "done"
        # Approved while other runs of the same people go on: none of them may change it.
        approved = quick[0]
        matches = a.post(f"/api/rounds/{approved}/approve").json()["matches"]
        confirmed = sorted((m["mentor_id"], m["mentee_id"]) for m in a.get("/api/matches").json())
        assert len(confirmed) == matches > 0
        assert b.post(f"/api/rounds/{approved}/run").status_code == 409

        # SIGKILL mid-solve: the lease lapses, the job is queued again (one retry), and a
        # live worker runs it once it has done what was queued before.
        doomed = workers.pop(group.holder(job_1))
        family = _live_descendants(doomed.pid)
        assert family, "the solve runs in a child process"
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=10)
        deadline = time.monotonic() + 10
        while not _gone(family):  # its solve stops too, rather than search on unheard
            assert time.monotonic() < deadline, "the killed worker's solve runs on"
            time.sleep(0.1)
        group.wait(a, job_1, {"running"}, 60, attempts=2)
        assert group.holder(job_1) == holder_2
        assert b.get(f"/api/rounds/{slow_1}").json()["active_job"] == job_1
        assert b.get(f"/api/jobs/{queued[1]}").json()["status"] == "done"  # queued before

        # SIGTERM: the worker hands its job back, and the next worker takes it.
        workers[holder_2].send_signal(signal.SIGTERM)
        assert workers[holder_2].wait(timeout=30) == 0
        handed = group.job(job_1)  # no worker runs now
        assert (handed.status, handed.message, handed.attempts) == ("queued", HANDED_BACK, 1)
        third = group.worker("worker-3")
        group.wait(a, job_1, {"running"}, 60, attempts=2)
        assert group.holder(job_1) == third.pid
        assert a.post(f"/api/jobs/{job_1}/cancel").status_code == 200
        assert group.wait(b, job_1, ENDED, 10)["status"] == "cancelled"

        all_jobs = [*queued, job_1, job_2]
        assert {a.get(f"/api/jobs/{j}").json()["status"] for j in all_jobs} <= ENDED
        for round_id in (slow_1, slow_2):
            state = a.get(f"/api/rounds/{round_id}").json()
            assert (state["runs"], state["active_job"]) == (0, None)
        state = a.get(f"/api/rounds/{approved}").json()
        assert state["status"] == "approved" and state["runs"] == 1
        now = sorted((m["mentor_id"], m["mentee_id"]) for m in a.get("/api/matches").json())
        assert now == confirmed
        a.close()
        b.close()
    _logs_name_ids_only(tmp_path, job_1, [*scheme.mentors, *scheme.mentees])


def _logs_name_ids_only(folder: Path, job_id: str, people: list[Any]) -> None:
    """Every process logged JSON lines; the workers' name jobs by id; nobody's name, e-mail
    or GMC number is in any of them."""
    lines = [line for log in folder.glob("*.log") for line in log.read_text().splitlines() if line]
    records = [json.loads(line) for line in lines]  # each line one JSON object
    assert all({"timestamp", "level", "logger", "message"} <= set(r) for r in records)
    about = [r for r in records if r.get("job_id") == job_id]
    assert {r["message"] for r in about} >= {f"job {job_id} started", f"job {job_id} cancelled"}
    assert all(r["worker"].count(":") == 2 for r in about)
    text = "\n".join(lines)
    for person in people:
        for detail in (person.name, person.email, getattr(person, "gmc_number", None)):
            assert not detail or str(detail) not in text, "a person's details are in a log"


def test_serve_hands_its_job_back_on_sigterm_and_runs_it_when_started_again(
    database_url: str, tmp_path: Path
) -> None:
    # A long lease: were the job left to lapse, the test would see it still running.
    env = {**os.environ, "DATABASE_URL": database_url, "MATCHER_JOB_LEASE_SECONDS": "600"}
    auth = {"Authorization": f"Bearer {add_user(env, 'officer', 'matcher')}"}
    write_scheme(tmp_path, 60, 300, seed=3)
    engine = create_engine(database_url)
    group = Cluster(env, tmp_path, engine)
    try:
        port = free_port()
        stopping = group.start("serve", "--port", str(port), name="stopping")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=auth, timeout=30) as http:
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                try:
                    if http.get("/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    assert stopping.poll() is None and time.monotonic() < deadline
                    time.sleep(0.2)
            _import(http, tmp_path)
            round_id = _round(http, **SLOW)
            job_id = _run(http, round_id)
            group.wait(http, job_id, {"running"}, 60)
        stopping.send_signal(signal.SIGTERM)
        assert stopping.wait(timeout=30) is not None
        job = group.job(job_id)
        assert (job.status, job.message, job.attempts) == ("queued", HANDED_BACK, 0)
        with (
            server(env, tmp_path / "next.log") as url,
            httpx.Client(base_url=url, headers=auth, timeout=30) as http,
        ):
            assert http.get(f"/api/rounds/{round_id}").json()["active_job"] == job_id
            assert group.wait(http, job_id, {"running"}, 30)["attempts"] == 1
            assert http.post(f"/api/jobs/{job_id}/cancel").status_code == 200
            assert group.wait(http, job_id, ENDED, 10)["status"] == "cancelled"
            assert http.get(f"/api/rounds/{round_id}").json()["active_job"] is None
    finally:
        for process in group.processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        engine.dispose()
