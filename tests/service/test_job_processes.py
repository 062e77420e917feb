"""Jobs across real `matcher serve` processes on one database: a process started while another
solves leaves that job alone; a process killed with SIGKILL mid-solve loses its job within
its lease, to whichever process notices, and the round runs again elsewhere."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
from scheme import write_scheme
from test_server_smoke import MATCHER, START_TIMEOUT, add_user, free_port, server

from service.jobs import LOST, STOPPED

LEASE_SECONDS = 3
SLOW = {"rules": {"equity_max_gap": 0.005}}


def _status(http: httpx.Client, job_id: str) -> dict[str, Any]:
    return dict(http.get(f"/api/jobs/{job_id}").json())


def _wait(http: httpx.Client, job_id: str, status: str, within: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within:
        if _status(http, job_id)["status"] == status:
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} is {_status(http, job_id)} after {within} s")


def _serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """A `matcher serve` whose process the test ends itself (the ``server`` helper stops its
    own with SIGINT)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [*MATCHER, "serve", "--port", str(port)], env=env, stdout=out, stderr=out
        )


def _until_up(http: httpx.Client, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            if http.get("/health").status_code == 200:
                return
        except httpx.TransportError:
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)


def _import(http: httpx.Client, folder: Path) -> None:
    for kind in ("mentors", "mentees", "exclusions"):
        path = folder / f"{kind}.csv"
        files = {"file": (path.name, path.read_bytes(), "text/csv")}
        assert http.post(f"/api/{kind}/import", files=files).status_code == 200


def test_a_killed_process_loses_its_job_within_its_lease(database_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MATCHER_JOB_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    auth = {"Authorization": f"Bearer {add_user(env, 'officer', 'matcher')}"}
    write_scheme(tmp_path, 60, 300, seed=3)
    port = free_port()
    doomed = _serve(env, port, tmp_path / "doomed.log")
    try:
        with (
            server(env, tmp_path / "survivor.log") as survivor_url,
            httpx.Client(base_url=survivor_url, headers=auth, timeout=30) as survivor,
            httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=auth, timeout=30) as first,
        ):
            _import(survivor, tmp_path)
            _until_up(first, doomed)
            body = {"name": "slow", "time_limit": 300, "settings": SLOW}
            round_id = first.post("/api/rounds", json=body).json()["id"]
            job_id = first.post(f"/api/rounds/{round_id}/run").json()["job_id"]
            _wait(survivor, job_id, "running", 30)

            # Starting (and stopping) a third process never touches a job a live one holds.
            with server(env, tmp_path / "third.log"):
                time.sleep(LEASE_SECONDS)
                assert _status(survivor, job_id)["status"] == "running"
            assert _status(survivor, job_id)["status"] == "running"
            assert survivor.post(f"/api/rounds/{round_id}/run").status_code == 409

            doomed.send_signal(signal.SIGKILL)
            doomed.wait(timeout=10)
            took = _wait(survivor, job_id, "failed", LEASE_SECONDS * 4)
            assert _status(survivor, job_id)["error"] == LOST
            assert survivor.get(f"/api/rounds/{round_id}").json()["active_job"] is None
            assert took < LEASE_SECONDS * 4

            # The round runs again in the survivor, and stops on request.
            again = survivor.post(f"/api/rounds/{round_id}/run").json()["job_id"]
            _wait(survivor, again, "running", 30)
            assert survivor.post(f"/api/jobs/{again}/cancel").status_code == 200
            _wait(survivor, again, "cancelled", 10)
            state = survivor.get(f"/api/rounds/{round_id}").json()
            assert state["runs"] == 0 and state["active_job"] is None
    finally:
        if doomed.poll() is None:
            doomed.kill()
            doomed.wait(timeout=10)


def test_sigterm_stops_the_running_job_and_frees_its_round_at_once(
    database_url: str, tmp_path: Path
) -> None:
    # A long lease: were the job left to lapse, the test would see it still running.
    env = {**os.environ, "DATABASE_URL": database_url, "MATCHER_JOB_LEASE_SECONDS": "600"}
    auth = {"Authorization": f"Bearer {add_user(env, 'officer', 'matcher')}"}
    write_scheme(tmp_path, 60, 300, seed=3)
    port = free_port()
    stopping = _serve(env, port, tmp_path / "stopping.log")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=auth, timeout=30) as http:
            _until_up(http, stopping)
            _import(http, tmp_path)
            body = {"name": "slow", "time_limit": 300, "settings": SLOW}
            round_id = http.post("/api/rounds", json=body).json()["id"]
            job_id = http.post(f"/api/rounds/{round_id}/run").json()["job_id"]
            _wait(http, job_id, "running", 30)
        stopping.send_signal(signal.SIGTERM)
        assert stopping.wait(timeout=30) is not None
    finally:
        if stopping.poll() is None:
            stopping.kill()
            stopping.wait(timeout=10)
    with (
        server(env, tmp_path / "next.log") as url,
        httpx.Client(base_url=url, headers=auth, timeout=30) as http,
    ):
        job = _status(http, job_id)
        assert job["status"] == "failed" and job["error"] == STOPPED
        assert http.get(f"/api/rounds/{round_id}").json()["active_job"] is None
