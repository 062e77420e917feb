"""Job runners for the service's processes, and `matcher worker`: a process that only runs
jobs (any number of them, beside any number of `matcher serve`, on one database)."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from sqlalchemy.orm import Session, sessionmaker

from service.config import ServiceSettings
from service.jobs import JobRunner
from service.mail_sender import MailSender
from service.plans import KINDS as PLAN_KINDS
from service.plans import plan_kind
from service.queue import make_queue
from service.round_runs import round_kind

log = logging.getLogger(__name__)


def make_runner(settings: ServiceSettings, sessions: sessionmaker[Session]) -> JobRunner:
    """A runner on the queue of ``settings.database_url``, knowing every kind of job."""
    kinds = {
        "round": round_kind(sessions, settings.postcode_lookup, settings.max_time_limit),
        **{kind: plan_kind(sessions, kind, settings.postcode_lookup) for kind in PLAN_KINDS},
    }
    return JobRunner(
        sessions,
        make_queue(settings.database_url),
        kinds,
        lease_seconds=settings.job_lease_seconds,
        retries=settings.job_retries,
    )


def run_worker(settings: ServiceSettings, concurrency: int) -> int:
    """Run jobs on ``concurrency`` threads (each solve in a child process of its own) until
    SIGTERM or SIGINT; then hand running jobs back to the queue and stop."""
    from service.db import make_engine, session_factory, upgrade

    engine = make_engine(settings.database_url)
    upgrade(engine)
    sessions = session_factory(engine)
    runner = make_runner(settings, sessions)
    mail = MailSender.from_settings(settings, sessions)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("worker %s: %s received, stopping", runner.worker, signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    runner.reap()
    runner.start_workers(concurrency)
    mail.start()
    log.info("worker %s: running jobs on %d thread(s)", runner.worker, concurrency)
    try:
        while not stop.wait(1.0):
            if not runner.alive():
                log.warning("worker %s: its lease keeper stopped; exiting", runner.worker)
                return 1
    finally:
        mail.stop()
        runner.shutdown()
        engine.dispose()
    log.info("worker %s: stopped", runner.worker)
    return 0
