"""Jobs under leases: a cancelled run leaves its round as before it; a lapsed lease queues its
job again while it has tries left, then fails it and frees its round, whichever process
notices; a live one is never touched; a run that is no longer its worker's stores nothing;
a stopping runner hands its running job back. On SQLite and PostgreSQL (the
``database_url`` fixture)."""

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
from service.jobs import CANCELLED, HANDED_BACK, LOST, RETRYING, reap_expired
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


def _running_elsewhere(
    sessions: Any, job_id: str, round_id: int, lease: timedelta, **values: Any
) -> None:
    """A job another process holds, running its round, with its lease ending after ``lease``."""
    with transaction(sessions) as session:
        session.add(
            Job(
                id=job_id,
                kind="round",
                round_id=round_id,
                status="running",
                worker="elsewhere:1:x",
                lease_until=utcnow() + lease,
                **{"attempts": 1, **values},
            )
        )
        session.flush()
        session.get_one(Round, round_id).active_job = job_id


def test_lapsed_leases_are_tried_again_once_then_failed_and_live_ones_kept(
    app: FastAPI, client: TestClient, as_role: Headers, problem: object
) -> None:
    staff = as_role("matcher")
    rounds = {name: _round(client, staff, name) for name in ("retry", "spent", "asked", "live")}
    sessions = app.state.sessions
    lapsed = timedelta(seconds=-1)
    _running_elsewhere(sessions, "job-retry", rounds["retry"], lapsed)
    _running_elsewhere(sessions, "job-spent", rounds["spent"], lapsed, attempts=2)
    _running_elsewhere(sessions, "job-asked", rounds["asked"], lapsed, cancel_requested=True)
    _running_elsewhere(sessions, "job-live", rounds["live"], timedelta(minutes=5))
    # One retry: a job started once runs again, unless it has had its tries or was cancelled.
    assert [tuple(row) for row in reap_expired(sessions, retries=1)] == [
        ("job-retry", "round", rounds["retry"])
    ]
    assert reap_expired(sessions, retries=1) == []

    def job(job_id: str) -> Any:
        return client.get(f"/api/jobs/{job_id}", headers=staff).json()

    def holder(name: str) -> Any:
        return client.get(f"/api/rounds/{rounds[name]}", headers=staff).json()["active_job"]

    retried = job("job-retry")
    assert (retried["status"], retried["message"], retried["attempts"]) == ("queued", RETRYING, 1)
    assert holder("retry") == "job-retry"  # the round waits for its run's next try
    spent = job("job-spent")
    assert (spent["status"], spent["error"]) == ("failed", LOST) and holder("spent") is None
    asked = job("job-asked")
    assert (asked["status"], asked["message"]) == ("cancelled", CANCELLED)
    assert holder("asked") is None
    assert job("job-live")["status"] == "running" and holder("live") == "job-live"


def test_a_lost_workers_run_is_run_again_by_a_live_one(
    app: FastAPI, client: TestClient, as_role: Headers, problem: object
) -> None:
    staff = as_role("matcher")
    round_id = _round(client, staff, "orphan", time_limit=10)
    _running_elsewhere(app.state.sessions, "job-orphan", round_id, timedelta(seconds=-1))
    app.state.jobs.reap()  # as its lease keeper does every half lease
    _wait(client, "job-orphan", staff, "done")
    job = client.get("/api/jobs/job-orphan", headers=staff).json()
    assert job["attempts"] == 2 and job["progress"] == 1.0
    state = client.get(f"/api/rounds/{round_id}", headers=staff).json()
    assert (state["status"], state["runs"], state["active_job"]) == ("proposed", 1, None)
    assert _proposals(client, round_id, staff)


def test_a_stopping_worker_hands_its_running_job_back(
    settings: ServiceSettings, as_role: Headers, tmp_path: Path
) -> None:
    staff = as_role("matcher")
    web_only = create_app(settings.model_copy(update={"job_workers": 0}))
    with TestClient(web_only) as client:
        write_scheme(tmp_path, 60, 300, seed=3)
        import_scheme(client, tmp_path, staff)
        slow = _round(client, staff, "slow", time_limit=300, settings=SLOW)
        job_id = client.post(f"/api/rounds/{slow}/run", headers=staff).json()["job_id"]
        time.sleep(1.5)
        waiting = client.get(f"/api/jobs/{job_id}", headers=staff).json()
        assert (waiting["status"], waiting["queue_position"]) == ("queued", 1)  # no worker yet
        with TestClient(create_app(settings)):  # a process with one queue worker
            _wait(client, job_id, staff, "running")
            stopping = time.monotonic()
        assert time.monotonic() - stopping < 10  # it did not wait for the solve
        job = client.get(f"/api/jobs/{job_id}", headers=staff).json()
        assert (job["status"], job["message"], job["attempts"]) == ("queued", HANDED_BACK, 0)
        assert client.get(f"/api/rounds/{slow}", headers=staff).json()["active_job"] == job_id
        with TestClient(create_app(settings)):  # the next worker takes it up
            _wait(client, job_id, staff, "running")
            assert client.get(f"/api/jobs/{job_id}", headers=staff).json()["attempts"] == 1
            assert client.post(f"/api/jobs/{job_id}/cancel", headers=staff).status_code == 200
            _wait(client, job_id, staff, "cancelled")
        assert client.get(f"/api/rounds/{slow}", headers=staff).json()["active_job"] is None


def test_a_run_whose_round_was_freed_stores_nothing(
    app: FastAPI, client: TestClient, slow_scheme: dict[str, str]
) -> None:
    # The run's lease lapses while it works (a paused machine) after its last try: another
    # process fails it and frees the round; the first run's answer must not land.
    staff = slow_scheme
    slow = _round(client, staff, "slow", time_limit=4, settings=SLOW)
    job_id = client.post(f"/api/rounds/{slow}/run", headers=staff).json()["job_id"]
    _wait(client, job_id, staff, "running")
    with transaction(app.state.sessions) as session:
        session.get_one(Job, job_id).lease_until = utcnow() - timedelta(seconds=1)
    assert reap_expired(app.state.sessions, retries=0) == []
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
