"""Jobs under leases: a cancelled run leaves its round as before it; a lapsed lease fails its
job and frees its round, whichever process notices; a live one is never touched; and a run
whose round was freed stores nothing. On SQLite and PostgreSQL (the ``database_url``
fixture)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from scheme import import_scheme, run_round, sign_in, write_scheme

from service.app import create_app
from service.config import ServiceSettings
from service.db import transaction, utcnow
from service.jobs import LOST, reap_expired
from service.models import Job, Round

Headers = Callable[[str], dict[str, str]]
# An equity limit this tight keeps the solver searching until its time limit.
SLOW = {"rules": {"equity_max_gap": 0.005}}


@pytest.fixture
def slow_scheme(client: TestClient, as_role: Headers, tmp_path: Path) -> dict[str, str]:
    """A scheme of 60 mentors and 300 mentees, imported; the matcher's headers."""
    staff = as_role("matcher")
    write_scheme(tmp_path, 60, 300, seed=3)
    import_scheme(client, tmp_path, staff)
    return staff


def _round(client: TestClient, staff: dict[str, str], name: str, **body: Any) -> int:
    answer = client.post("/api/rounds", json={"name": name, **body}, headers=staff)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def _wait(client: TestClient, job_id: str, staff: dict[str, str], status: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < 60:
        if client.get(f"/api/jobs/{job_id}", headers=staff).json()["status"] == status:
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never became {status}")


def _proposals(client: TestClient, round_id: int, staff: dict[str, str]) -> Any:
    return client.get(f"/api/rounds/{round_id}/proposals", headers=staff).json()


def test_cancel_stops_a_running_and_a_queued_run_and_keeps_their_rounds(
    client: TestClient, as_role: Headers, slow_scheme: dict[str, str]
) -> None:
    staff = slow_scheme
    quick = _round(client, staff, "quick", time_limit=20)
    assert run_round(client, quick, staff)["status"] == "done"
    before = _proposals(client, quick, staff)
    assert before
    slow = _round(client, staff, "slow", time_limit=300, settings=SLOW)

    running = client.post(f"/api/rounds/{slow}/run", headers=staff).json()["job_id"]
    _wait(client, running, staff, "running")
    # One worker: the next runs wait behind the first, in order.
    queued = client.post(f"/api/rounds/{quick}/run", headers=staff).json()["job_id"]
    later_round = _round(client, staff, "later", time_limit=20)
    later = client.post(f"/api/rounds/{later_round}/run", headers=staff).json()["job_id"]
    first_view = client.get(f"/api/jobs/{queued}", headers=staff).json()
    assert (first_view["status"], first_view["queue_position"]) == ("queued", 1)
    assert client.get(f"/api/jobs/{later}", headers=staff).json()["queue_position"] == 2
    assert client.get(f"/api/jobs/{running}", headers=staff).json()["queue_position"] is None
    sign_in(client, "matcher", "secret-matcher")
    assert "Waiting to start: number 2 in the queue." in client.get(f"/rounds/{later_round}").text

    answer = client.post(f"/api/jobs/{queued}/cancel", headers=staff)
    assert answer.status_code == 200 and answer.json()["status"] == "cancelled"
    assert client.get(f"/api/jobs/{later}", headers=staff).json()["queue_position"] == 1
    assert client.post(f"/api/jobs/{later}/cancel", headers=staff).status_code == 200
    assert client.get(f"/api/rounds/{quick}", headers=staff).json()["active_job"] is None
    assert _proposals(client, quick, staff) == before

    answer = client.post(f"/api/jobs/{running}/cancel", headers=staff)
    assert answer.status_code == 200 and answer.json()["status"] == "running"
    assert _wait(client, running, staff, "cancelled") < 5.0
    job = client.get(f"/api/jobs/{running}", headers=staff).json()
    assert job["message"] == "cancelled on request" and job["error"] is None
    state = client.get(f"/api/rounds/{slow}", headers=staff).json()
    assert state["active_job"] is None and state["status"] == "draft" and state["runs"] == 0
    assert _proposals(client, slow, staff) == []

    again = client.post(f"/api/jobs/{running}/cancel", headers=staff)
    assert again.status_code == 409 and "already ended (cancelled)" in again.json()["detail"]
    assert client.post("/api/jobs/no-such-job/cancel", headers=staff).status_code == 404
    # The round runs again once freed.
    assert run_round(client, quick, staff)["status"] == "done"
    logged = client.get("/api/audit?action=jobs.cancel", headers=as_role("admin")).json()
    assert {entry["entity_id"] for entry in logged} == {queued, later, running}


def test_only_lapsed_leases_are_failed_and_their_rounds_freed(
    app: FastAPI, client: TestClient, as_role: Headers, problem: object
) -> None:
    staff = as_role("matcher")
    lapsed, live = _round(client, staff, "lapsed"), _round(client, staff, "live")
    sessions = app.state.sessions
    with transaction(sessions) as session:
        for job_id, round_id, lease in (
            ("job-lapsed", lapsed, timedelta(seconds=-1)),
            ("job-live", live, timedelta(minutes=5)),
        ):
            session.add(
                Job(
                    id=job_id,
                    kind="round",
                    round_id=round_id,
                    status="running",
                    worker="elsewhere:1:x",
                    lease_until=utcnow() + lease,
                )
            )
            session.flush()
            session.get_one(Round, round_id).active_job = job_id
    assert reap_expired(sessions) == ["job-lapsed"]
    assert reap_expired(sessions) == []
    lost = client.get("/api/jobs/job-lapsed", headers=staff).json()
    assert lost["status"] == "failed" and lost["error"] == LOST
    assert client.get(f"/api/rounds/{lapsed}", headers=staff).json()["active_job"] is None
    assert client.get("/api/jobs/job-live", headers=staff).json()["status"] == "running"
    assert client.get(f"/api/rounds/{live}", headers=staff).json()["active_job"] == "job-live"


def test_a_run_whose_round_was_freed_stores_nothing(
    app: FastAPI, client: TestClient, slow_scheme: dict[str, str]
) -> None:
    # The run's lease lapses while it works (a paused machine): another process fails it and
    # frees the round, which is run again; the first run's answer must not land.
    staff = slow_scheme
    slow = _round(client, staff, "slow", time_limit=4, settings=SLOW)
    job_id = client.post(f"/api/rounds/{slow}/run", headers=staff).json()["job_id"]
    _wait(client, job_id, staff, "running")
    with transaction(app.state.sessions) as session:
        session.get_one(Job, job_id).lease_until = utcnow() - timedelta(seconds=1)
    assert reap_expired(app.state.sessions) == [job_id]
    time.sleep(5)  # the solve ends at its time limit and tries to store
    job = client.get(f"/api/jobs/{job_id}", headers=staff).json()
    assert job["status"] == "failed" and job["error"] == LOST
    state = client.get(f"/api/rounds/{slow}", headers=staff).json()
    assert state["runs"] == 0 and state["status"] == "draft" and state["active_job"] is None
    assert _proposals(client, slow, staff) == []


def test_the_round_page_cancels_its_run(client: TestClient, slow_scheme: dict[str, str]) -> None:
    staff = slow_scheme
    slow = _round(client, staff, "slow", time_limit=300, settings=SLOW)
    csrf = sign_in(client, "matcher", "secret-matcher")
    started = client.post(f"/rounds/{slow}/run", data={"csrf_token": csrf}, follow_redirects=False)
    assert started.status_code == 303
    job_id = client.get(f"/api/rounds/{slow}", headers=staff).json()["active_job"]
    _wait(client, job_id, staff, "running")
    page = client.get(f"/rounds/{slow}").text
    assert f'action="/rounds/{slow}/cancel"' in page and "Cancel this run" in page
    stop = client.post(f"/rounds/{slow}/cancel", data={"csrf_token": csrf}, follow_redirects=False)
    assert stop.status_code == 303 and stop.headers["location"].endswith("notice=cancelling")
    _wait(client, job_id, staff, "cancelled")
    page = client.get(f"/rounds/{slow}").text
    assert "The last run was cancelled: the round is as it was before it." in page
    assert "Cancel this run" not in page
    # Nothing left to stop: the same form only shows the page again.
    assert client.post(f"/rounds/{slow}/cancel", data={"csrf_token": csrf}).status_code == 200
    # Without the form's token nothing happens.
    refused = client.post(f"/rounds/{slow}/cancel", data={}, follow_redirects=False)
    assert refused.status_code == 403 and "this form has expired" in refused.text


def test_the_scheme_caps_the_time_limit_a_round_may_ask_for(
    settings: ServiceSettings, client: TestClient, slow_scheme: dict[str, str]
) -> None:
    staff = slow_scheme
    long_run = _round(client, staff, "long", time_limit=300, settings=SLOW)
    capped = create_app(settings.model_copy(update={"max_time_limit": 3.0}))
    with TestClient(capped) as fresh:
        refused = fresh.post("/api/rounds", json={"name": "x", "time_limit": 3.5}, headers=staff)
        assert refused.status_code == 422
        assert refused.json()["detail"] == (
            "time_limit 3.5 s is above this scheme's most, 3 s (MATCHER_MAX_TIME_LIMIT): ask for less"
        )
        # Unasked, a round gets the default, cut to the most.
        made = fresh.post("/api/rounds", json={"name": "y"}, headers=staff).json()
        assert made["time_limit"] == 3.0
        # A round stored with more runs with the most.
        started = time.monotonic()
        assert run_round(fresh, long_run, staff)["status"] == "done"
        assert time.monotonic() - started < 15
