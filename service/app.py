"""The FastAPI application: ``create_app()`` wires settings, database, jobs and routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from service import metrics
from service.api import (
    applications,
    audit_log,
    auth,
    events,
    exclusions,
    jobs,
    mail_templates,
    matches,
    outbox,
    people,
    plans,
    reports,
    rounds,
    sessions,
    surveys,
    tokens,
    training,
    users,
)
from service.api.schemas import Health, Readiness
from service.config import ServiceSettings
from service.db import make_engine, read_session_factory, session_factory, upgrade
from service.errors import install_handlers
from service.mail_sender import MailSender
from service.queue import queue_answers
from service.sign_in import SignIn
from service.sign_in_guard import SignInGuard
from service.sign_in_links import link_guard
from service.web import site
from service.workers import make_runner

ROUTERS = (
    auth.router,
    people.router,
    exclusions.router,
    events.router,
    rounds.router,
    jobs.router,
    matches.router,
    sessions.router,
    applications.router,
    training.router,
    reports.router,
    audit_log.router,
    users.router,
    tokens.router,
    outbox.router,
    mail_templates.router,
    surveys.router,
    plans.router,
)


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """An app over ``settings.database_url``; the schema is migrated to the newest version."""
    settings = settings or ServiceSettings()
    engine = make_engine(settings.database_url)
    upgrade(engine)

    sessions = session_factory(engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Its own runner: an app entered twice at once (two test clients) has two, each
        # stopped by the lifespan that started it. Its lease keeper deals with lapsed leases
        # only: jobs that live workers hold are theirs.
        runner = make_runner(settings, sessions)
        runner.reap()
        runner.start_workers(settings.job_workers)
        app.state.jobs = runner
        # The outbox goes out from the processes that run jobs.
        mail = MailSender.from_settings(settings, sessions) if settings.job_workers else None
        if mail is not None:
            mail.start()
        yield
        if mail is not None:
            mail.stop()
        runner.shutdown()
        engine.dispose()

    app = FastAPI(
        title="GP mentor matching service",
        version="0.1.0",
        description="Scheme records and matching rounds for GP mentoring schemes.",
        lifespan=lifespan,
        docs_url=None,  # /docs is service.web.docs_page: Swagger UI's files from this server
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = sessions
    app.state.read_sessions = read_session_factory(engine)
    app.state.sign_in = SignIn(
        SignInGuard.from_settings(settings),
        app.state.read_sessions,
        sessions,
        settings.password_checks,
    )
    app.state.link_guard = link_guard(settings)
    install_handlers(app, html=site.html_error)
    # Scrapes only read: the read sessions, which on SQLite take no write lock.
    metrics.install(app, app.state.read_sessions)
    for router in ROUTERS:
        app.include_router(router)
    site.install(app)
    # Lists and pages at national size are mostly repeated markup: compressed, a tenth.
    # Form tokens are masked afresh on every page (``web.sessions.mask``), so compression
    # cannot leak them.
    app.add_middleware(GZipMiddleware, minimum_size=1000)

    @app.get("/health", tags=["health"])
    def health() -> Health:
        """Open to all: the service answers."""
        return Health(status="ok")

    @app.get("/ready", tags=["health"], responses={503: {"model": Readiness}})
    def ready() -> JSONResponse:
        """Open to all: 200 when the database and the job queue answer and this process's
        job runner is alive, else 503 with what failed (for a load balancer or an
        orchestrator's readiness probe)."""
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            database = True
        except SQLAlchemyError:
            database = False
        runner = getattr(app.state, "jobs", None)
        jobs = runner is not None and runner.alive()
        queue = runner is not None and queue_answers(runner.queue)
        ok = database and queue and jobs
        answer = Readiness(
            status="ready" if ok else "not ready",
            database=database,
            queue=queue,
            jobs=jobs,
            workers=runner.working if runner is not None else 0,
        )
        return JSONResponse(answer.model_dump(), status_code=200 if ok else 503)

    return app
