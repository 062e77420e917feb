"""Prometheus metrics: request times by route, and the jobs as the database holds them.

``install(app, sessions)`` gives ``app`` a registry of its own, a middleware timing every
request, and ``GET /metrics``, open to all (counts and durations, nothing personal):

- ``matcher_http_request_duration_seconds`` (histogram; ``method``, ``route``, ``status``):
  ``route`` is the route's template (``/api/rounds/{round_id}``), never the path or query
  string, which can carry a person's details; ``other`` where no route matched. ``status`` is
  a class (``2xx``). Scrapes of /metrics are not counted: a scrape never changes what it reads.
- ``matcher_jobs`` (gauge; ``state``): jobs queued, running, done, failed, cancelled.
- ``matcher_job_run_seconds`` (summary, ``_sum`` and ``_count``; ``status``): start to finish
  of the jobs done, failed or cancelled after they started.
- ``matcher_queue_oldest_seconds`` (gauge): the oldest queued job's wait; 0 when none waits.

The job figures are read from the database at each scrape, so every process reports the
same numbers, whichever ran the jobs. A scrape whose query fails answers without them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from sqlalchemy import ColumnElement, extract, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from service.db import transaction, utcnow
from service.models import Job
from service.request_timing import Timed

log = logging.getLogger(__name__)

PATH = "/metrics"
OTHER = "other"
JOB_STATES = ("queued", "running", "done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")
# Any other method a client invents is ``other``: a label's values stay few.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds: pages and API calls take milliseconds, imports and reports up to a minute.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def install(app: FastAPI, sessions: sessionmaker[Session]) -> None:
    """Metrics for ``app``: call before it starts. ``sessions`` are only read through: the
    read-only factory keeps a scrape from taking SQLite's write lock."""
    registry = CollectorRegistry()
    latency = Histogram(
        "matcher_http_request_duration_seconds",
        "Time to answer a request, by method, route template and status class.",
        ("method", "route", "status"),
        buckets=BUCKETS,
        registry=registry,
    )
    registry.register(JobCollector(sessions))
    app.state.metrics = registry
    app.add_middleware(RequestTimer, latency=latency, routes=app.routes)

    @app.get(
        PATH,
        tags=["health"],
        response_class=PlainTextResponse,
        responses={200: {"content": {"text/plain": {}}}},
    )
    def metrics() -> PlainTextResponse:
        """Open to all: request and job figures (counts and durations) for Prometheus."""
        return PlainTextResponse(generate_latest(registry), media_type=CONTENT_TYPE_PLAIN_0_0_4)


class RequestTimer:
    """ASGI middleware: each request's time into ``latency``, until its last byte is sent
    (a streamed answer passes through untouched)."""

    def __init__(self, app: ASGIApp, latency: Histogram, routes: list[BaseRoute]) -> None:
        self.app = app
        self.latency = latency
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, root_path = scope["path"], scope.get("root_path", "")
        timed = Timed(send)
        try:
            await self.app(scope, receive, timed.send)
        finally:
            route = self.template(scope, path, root_path)
            if route != PATH:
                method = scope["method"] if scope["method"] in METHODS else OTHER
                status = f"{timed.status // 100}xx"
                self.latency.labels(method, route, status).observe(timed.seconds)

    def template(self, scope: Scope, path: str, root_path: str) -> str:
        """The path template of the route that answered; ``other`` if none matched."""
        template = getattr(scope.get("route"), "path_format", None)
        if isinstance(template, str):
            return template
        # A mounted app (the static files) leaves no route in the scope: find its mount,
        # against the path as it came in.
        asked = {**scope, "path": path, "root_path": root_path}
        for route in self.routes:
            if isinstance(route, Mount) and route.matches(asked)[0] is Match.FULL:
                return route.path_format
        return OTHER


@dataclass(frozen=True)
class JobFigures:
    """The jobs table, counted: jobs by state; runs and their seconds by how they ended."""

    by_state: Mapping[str, int]
    runs: Mapping[str, tuple[int, float]]
    oldest_queued_seconds: float


def job_figures(session: Session, now: datetime) -> JobFigures:
    by_state = dict.fromkeys(JOB_STATES, 0)
    for state, count in session.execute(select(Job.status, func.count()).group_by(Job.status)):
        by_state[state] = count
    runs = dict.fromkeys(FINISHED, (0, 0.0))
    seconds = func.sum(_run_seconds(session.get_bind().dialect.name))
    finished = session.execute(
        select(Job.status, func.count(), seconds)
        .where(Job.status.in_(FINISHED), Job.started_at.is_not(None), Job.finished_at.is_not(None))
        .group_by(Job.status)
    )
    for status, count, total in finished:
        runs[status] = (count, float(total or 0))
    oldest = session.scalar(select(func.min(Job.created_at)).where(Job.status == "queued"))
    # Clocks of different processes may differ a little: never a negative wait.
    waited = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    return JobFigures(by_state, runs, waited)


def _run_seconds(dialect: str) -> ColumnElement[Any]:
    """Seconds from ``started_at`` to ``finished_at``, in the database's own arithmetic."""
    if dialect == "sqlite":
        # julianday() reads the stored text to the millisecond.
        return (func.julianday(Job.finished_at) - func.julianday(Job.started_at)) * 86400.0
    if dialect == "postgresql":
        return extract("epoch", Job.finished_at - Job.started_at)
    raise ValueError(f"no job run time for a {dialect} database: SQLite and PostgreSQL only")


class JobCollector:
    """The job figures, read from the database at each scrape."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[Metric]:
        try:
            with transaction(self.sessions) as session:
                figures = job_figures(session, utcnow())
        except SQLAlchemyError as exc:
            # Its kind only: the scrape answers without the job figures.
            log.warning("job metrics left out: the database query failed (%s)", type(exc).__name__)
            return
        yield from job_metrics(figures)


def job_metrics(figures: JobFigures) -> Iterator[Metric]:
    jobs = GaugeMetricFamily("matcher_jobs", "Jobs in the database, by state.", labels=["state"])
    for state, count in figures.by_state.items():
        jobs.add_metric([state], count)
    yield jobs
    runs = SummaryMetricFamily(
        "matcher_job_run_seconds",
        "Time from start to finish of the jobs that ended, by how they ended.",
        labels=["status"],
    )
    for status, (count, seconds) in figures.runs.items():
        runs.add_metric([status], count, seconds)
    yield runs
    yield GaugeMetricFamily(
        "matcher_queue_oldest_seconds",
        "How long the oldest queued job has waited; 0 when none waits.",
        value=figures.oldest_queued_seconds,
    )
