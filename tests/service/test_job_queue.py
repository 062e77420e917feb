"""The job queue's set-up, and the jobs it could lose: where the queue lives for each
database, what `matcher worker` refuses, and a queued job whose queue entry went missing
(a worker killed between taking it and claiming the job) is put back and runs."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from huey import MemoryHuey, SqliteHuey
from scheme import wait_for_job
from test_server_smoke import MATCHER

from service.app import create_app
from service.config import ServiceSettings
from service.db import transaction, utcnow
from service.models import Job, Round
from service.queue import make_queue, queue_file

Headers = Callable[[str], dict[str, str]]


def test_the_queue_lives_beside_each_kind_of_database(tmp_path: Path) -> None:
    assert queue_file(str(tmp_path / "scheme.db")) == str(tmp_path / "scheme-queue.db")
    assert queue_file("records") == "records-queue.db"
    on_file = make_queue(f"sqlite:///{tmp_path / 'scheme.db'}")
    assert isinstance(on_file, SqliteHuey)
    assert on_file.storage.filename == str(tmp_path / "scheme-queue.db")
    assert isinstance(make_queue("sqlite://"), MemoryHuey)  # in memory: this process only
    with pytest.raises(ValueError, match="no job queue for a mysql database"):
        make_queue("mysql://root@127.0.0.1/test")


@pytest.mark.parametrize("given", ["0", "two"])
def test_worker_refuses_a_concurrency_below_one(given: str) -> None:
    done = subprocess.run(
        [*MATCHER, "worker", "--concurrency", given], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert f"argument --concurrency: {given} is not a whole number of 1 or more" in done.stderr


def test_a_queued_job_the_queue_lost_is_put_back_and_runs(
    settings: ServiceSettings, as_role: Headers, problem: object
) -> None:
    staff = as_role("matcher")
    app = create_app(settings.model_copy(update={"job_lease_seconds": 2.0}))
    with TestClient(app) as client:
        round_id = client.post(
            "/api/rounds", json={"name": "lost", "time_limit": 5}, headers=staff
        ).json()["id"]
        # Queued a minute ago, its queue entry gone: as if a worker took it and died at once.
        with transaction(app.state.sessions) as session:
            session.add(
                Job(
                    id="job-lost",
                    kind="round",
                    round_id=round_id,
                    status="queued",
                    created_at=utcnow() - timedelta(minutes=1),
                )
            )
            session.flush()
            session.get_one(Round, round_id).active_job = "job-lost"
        app.state.jobs.reap()  # as every process's lease keeper does each half lease
        job = wait_for_job(client, "job-lost", staff)
        assert (job["status"], job["attempts"]) == ("done", 1)
        state = client.get(f"/api/rounds/{round_id}", headers=staff).json()
        assert (state["status"], state["runs"], state["active_job"]) == ("proposed", 1, None)
        # Only once: on the queue now, it is not put back again.
        assert app.state.jobs.queue.pending_count() == 0
