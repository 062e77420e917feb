"""A real `matcher serve` process driven over HTTP: users from the command line, a whole round,
a restart that keeps the approved matches."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from datasets.generator import sample_dir

MATCHER = [sys.executable, "-m", "matcher.cli"]
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def add_user(env: dict[str, str], name: str, role: str) -> str:
    done = subprocess.run(
        [*MATCHER, "users", "add", name, "--role", role, "--password-stdin"],
        input="a long enough password\n",
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip().splitlines()[-1]


@contextmanager
def server(env: dict[str, str], log: Path) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*MATCHER, "serve", "--port", str(port)], env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def test_a_round_end_to_end_on_a_real_server(database_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": database_url}
    token = add_user(env, "officer", "matcher")
    analyst = {"Authorization": f"Bearer {add_user(env, 'analyst', 'analyst')}"}
    auth = {"Authorization": f"Bearer {token}"}
    log = tmp_path / "server.log"
    with server(env, log) as url, httpx.Client(base_url=url, headers=auth, timeout=30) as http:
        assert "/api/rounds/{round_id}/run" in http.get("/openapi.json").json()["paths"]
        for kind in ("mentors", "mentees"):
            path = sample_dir("lmc") / f"{kind}.csv"
            files = {"file": (path.name, path.read_bytes(), "text/csv")}
            assert http.post(f"/api/{kind}/import", files=files).json()["added"] > 0
        round_id = http.post("/api/rounds", json={"name": "Smoke", "time_limit": 20}).json()["id"]
        job_id = http.post(f"/api/rounds/{round_id}/run").json()["job_id"]
        seen = set()
        while (job := http.get(f"/api/jobs/{job_id}").json())["status"] not in ("done", "failed"):
            seen.add(job["status"])
            # The service keeps answering while the round solves.
            assert httpx.get(f"{url}/health", timeout=5).status_code == 200
            time.sleep(0.05)
        assert job["status"] == "done", job
        assert seen <= {"queued", "running"}
        proposals = http.get(f"/api/rounds/{round_id}/proposals").json()
        assert len(proposals) > 100
        hidden = httpx.get(f"{url}/api/rounds/{round_id}/proposals", headers=analyst).json()
        assert [set(p) for p in hidden[:1]] == [
            {"mentor_id", "mentee_id", "cohort", "score", "score_parts"}
        ]
        assert http.post(f"/api/rounds/{round_id}/approve").json()["matches"] == len(proposals)
        assert http.post(f"/api/rounds/{round_id}/approve").status_code == 409
        first = http.get("/api/matches").json()[0]["id"]
        assert http.patch(f"/api/matches/{first}", json={"status": "registered"}).status_code == 200
        assert httpx.get(f"{url}/api/rounds").status_code == 401
        figures = httpx.get(f"{url}/api/reports/monitoring", headers=analyst).json()
        assert figures["registered_matches"] == 1

    with server(env, log) as url, httpx.Client(base_url=url, headers=auth, timeout=30) as http:
        matches = http.get("/api/matches").json()
        assert len(matches) == len(proposals)
        assert [m["status"] for m in matches if m["id"] == first] == ["registered"]
