"""GET /metrics: the jobs as the database holds them, and request times by route template.

On SQLite and PostgreSQL (the ``database_url`` fixture): jobs stored in every state are
counted per state; the run seconds are the sum worked out here from the same rows; every
request made adds exactly one to its route template's count, and the words of a path or query
string never reach the scrape. A scrape whose database query fails still answers.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from service import metrics
from service.app import create_app
from service.config import ServiceSettings
from service.db import transaction, utcnow
from service.models import Job

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
LATENCY = "matcher_http_request_duration_seconds"


def with_metrics(app: FastAPI) -> FastAPI:
    """``app`` with its metrics: installed here unless ``create_app`` already has."""
    if not any(getattr(route, "path", None) == metrics.PATH for route in app.routes):
        metrics.install(app, app.state.read_sessions)
    return app


@pytest.fixture
def app(settings: ServiceSettings) -> FastAPI:
    return with_metrics(create_app(settings))


def scrape(client: TestClient) -> tuple[str, Samples]:
    answer = client.get(metrics.PATH)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }
    return answer.text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[name, frozenset(labels.items())]


def request_counts(samples: Samples) -> dict[tuple[str, str, str], float]:
    """(method, route, status) -> requests counted so far."""
    counts = {}
    for (name, labels), count in samples.items():
        if name == f"{LATENCY}_count":
            found = dict(labels)
            counts[found["method"], found["route"], found["status"]] = count
    return counts


def job(
    status: str, created: datetime, started: datetime | None = None, ran: float | None = None
) -> Job:
    finished = None
    if status in metrics.FINISHED:
        finished = (started or created) + timedelta(seconds=ran or 0.5)
    return Job(
        id=str(uuid.uuid4()),
        kind="round",
        status=status,
        created_at=created,
        started_at=started,
        finished_at=finished,
        worker=None if status == "queued" else "another-process",
        lease_until=created + timedelta(hours=1) if status == "running" else None,
    )


def runs_in(rows: list[Job], status: str) -> tuple[int, float]:
    """The jobs of ``rows`` that ended with ``status`` after starting, and their seconds."""
    seconds = [
        (row.finished_at - row.started_at).total_seconds()
        for row in rows
        if row.status == status and row.started_at is not None and row.finished_at is not None
    ]
    return len(seconds), sum(seconds)


def test_the_jobs_are_counted_as_the_database_holds_them(settings: ServiceSettings) -> None:
    # Two apps over one database, as two web processes: whichever wrote the jobs, both
    # report the same figures. Their clients never start the apps' lifespans, so no job
    # runner takes or fails the rows stored here.
    one, other = with_metrics(create_app(settings)), with_metrics(create_app(settings))
    now = utcnow().replace(microsecond=0)  # whole seconds: SQLite reads milliseconds

    def ago(seconds: float) -> datetime:
        return now - timedelta(seconds=seconds)

    rows = [
        job("queued", ago(90)),
        job("queued", ago(30)),
        job("running", ago(60), started=ago(50)),
        job("done", ago(600), started=ago(590), ran=2.5),
        job("done", ago(500), started=ago(490), ran=10),
        job("done", ago(400), started=ago(390), ran=0.125),
        job("failed", ago(300), started=ago(290), ran=7.25),
        job("failed", ago(200)),  # lost before it started: counted, but no run time
        job("cancelled", ago(150)),  # cancelled while queued: likewise
        job("cancelled", ago(120), started=ago(110), ran=4),
    ]
    with transaction(one.state.sessions) as session:
        session.add_all(rows)
    try:
        _, samples = scrape(TestClient(one))
        _, seen_elsewhere = scrape(TestClient(other))
    finally:
        for app in (one, other):
            app.state.engine.dispose()

    counts = {state: value(samples, "matcher_jobs", state=state) for state in metrics.JOB_STATES}
    assert counts == {"queued": 2, "running": 1, "done": 3, "failed": 2, "cancelled": 2}
    # By hand: done 2.5 + 10 + 0.125 = 12.625 s over 3 runs; failed 7.25 s over 1 (the other
    # never started); cancelled 4 s over 1.
    by_hand = {"done": (3, 12.625), "failed": (1, 7.25), "cancelled": (1, 4.0)}
    from_rows = {status: runs_in(rows, status) for status in metrics.FINISHED}
    assert from_rows == by_hand
    for status, (runs, seconds) in from_rows.items():
        assert value(samples, "matcher_job_run_seconds_count", status=status) == runs
        total = value(samples, "matcher_job_run_seconds_sum", status=status)
        assert total == pytest.approx(seconds, abs=1e-3)
    # The oldest queued job was stored 90 s before ``now``; the scrape came a moment later.
    assert 90 <= value(samples, "matcher_queue_oldest_seconds") < 90 + 30
    jobs = {key: figure for key, figure in samples.items() if key[0].startswith("matcher_j")}
    assert jobs == {key: figure for key, figure in seen_elsewhere.items() if key in jobs}


def test_no_jobs_are_zeros(client: TestClient) -> None:
    _, samples = scrape(client)
    assert {value(samples, "matcher_jobs", state=state) for state in metrics.JOB_STATES} == {0}
    for status in metrics.FINISHED:
        assert value(samples, "matcher_job_run_seconds_count", status=status) == 0
        assert value(samples, "matcher_job_run_seconds_sum", status=status) == 0
    assert value(samples, "matcher_queue_oldest_seconds") == 0


def test_each_request_is_counted_once_under_its_route_template(
    client: TestClient, as_role: Callable[[str], dict[str, str]]
) -> None:
    _, before = scrape(client)
    assert client.get("/health").status_code == 200
    assert client.get("/health").status_code == 200
    assert client.get("/api/rounds/12345").status_code == 401
    assert client.get("/api/rounds/12345", headers=as_role("matcher")).status_code == 404
    assert client.get("/rounds", params={"q": "Smith"}, follow_redirects=False).status_code == 303
    assert client.get("/no-such-page", params={"q": "Smith"}).status_code == 404
    assert client.post("/health").status_code == 405
    assert client.request("BREW", "/health").status_code == 405
    assert client.get("/static/style.css").status_code == 200
    scraped, after = scrape(client)

    old = request_counts(before)
    grown = {
        labels: count - old.get(labels, 0)
        for labels, count in request_counts(after).items()
        if count != old.get(labels, 0)
    }
    assert grown == {
        ("GET", "/health", "2xx"): 2,
        ("GET", "/api/rounds/{round_id}", "4xx"): 2,
        ("GET", "/rounds", "3xx"): 1,
        ("GET", "other", "4xx"): 1,
        ("POST", "/health", "4xx"): 1,
        ("other", "/health", "4xx"): 1,
        ("GET", "/static/{path}", "2xx"): 1,
    }
    # Neither the scrapes themselves nor what the paths and query strings carried.
    assert all(route != metrics.PATH for _, route, _ in request_counts(after))
    for word in ("Smith", "12345", "no-such-page", "BREW"):
        assert word not in scraped


def test_a_streamed_answer_is_timed_to_its_last_byte(app: FastAPI) -> None:
    @app.get("/test-stream/{parts}", include_in_schema=False)
    def stream(parts: int) -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for part in range(parts):
                await asyncio.sleep(0.1)
                yield f"part {part}\n".encode()

        return StreamingResponse(chunks(), media_type="text/plain")

    with TestClient(app) as client:
        answer = client.get("/test-stream/3")
        _, samples = scrape(client)
    assert answer.text == "part 0\npart 1\npart 2\n"
    labels = {"method": "GET", "route": "/test-stream/{parts}", "status": "2xx"}
    assert value(samples, f"{LATENCY}_count", **labels) == 1
    assert value(samples, f"{LATENCY}_sum", **labels) >= 0.3  # three parts, 0.1 s apart


@pytest.fixture
def jobs_table_gone(app: FastAPI) -> Iterator[None]:
    """The jobs table renamed away for the test, so every job query fails; then back."""
    with app.state.engine.begin() as connection:
        connection.execute(text("ALTER TABLE jobs RENAME TO jobs_away"))
    try:
        yield
    finally:
        with app.state.engine.begin() as connection:
            connection.execute(text("ALTER TABLE jobs_away RENAME TO jobs"))


def test_a_failing_query_leaves_the_job_figures_out_but_answers(
    app: FastAPI, jobs_table_gone: None, caplog: pytest.LogCaptureFixture
) -> None:
    client = TestClient(app)  # no lifespan: its job runner would need the table
    with caplog.at_level(logging.WARNING, "service.metrics"):
        assert client.get("/health").status_code == 200
        scraped, samples = scrape(client)
    assert "matcher_jobs" not in scraped and "matcher_queue_oldest_seconds" not in scraped
    assert value(samples, f"{LATENCY}_count", method="GET", route="/health", status="2xx") == 1
    [warning] = [r for r in caplog.records if r.name == "service.metrics"]
    assert warning.levelno == logging.WARNING and warning.exc_info is None
    assert warning.getMessage().startswith("job metrics left out: the database query failed")


def test_metrics_are_open_and_documented_as_text(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"][metrics.PATH]["get"]
    assert operation["tags"] == ["health"]
    assert "security" not in operation
    assert list(operation["responses"]["200"]["content"]) == ["text/plain"]
