"""Background jobs: a small pool of threads, each job's state kept in the ``jobs`` table.

A job is queued, then running (with ``progress`` from 0 to 1 and the latest message), then
done or failed (with the reason). Jobs that a stopped service left unfinished are marked
failed when it starts again, and their rounds freed.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from service.db import transaction, utcnow
from service.models import Job, Round, User

log = logging.getLogger(__name__)
UNFINISHED = ("queued", "running")
PROGRESS_EVERY_SECONDS = 0.5


class JobReporter:
    """What a running job uses to say how far it has got (written at most twice a second)."""

    def __init__(self, sessions: sessionmaker[Session], job_id: str):
        self._sessions = sessions
        self._job_id = job_id
        self._last = 0.0

    def progress(self, fraction: float, message: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < PROGRESS_EVERY_SECONDS:
            return
        self._last = now
        with transaction(self._sessions) as session:
            session.execute(
                update(Job)
                .where(Job.id == self._job_id)
                .values(progress=round(min(max(fraction, 0.0), 1.0), 3), message=message[:500])
            )


Work = Callable[[JobReporter], str]


class JobRunner:
    """Runs jobs on worker threads and records their outcome."""

    def __init__(self, sessions: sessionmaker[Session], workers: int = 1):
        self._sessions = sessions
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="job")

    def new_job(self, session: Session, kind: str, user: User, round_id: int | None) -> Job:
        job = Job(id=str(uuid.uuid4()), kind=kind, round_id=round_id, status="queued")
        job.created_by = user.id
        session.add(job)
        session.flush()
        return job

    def submit(self, job_id: str, work: Work, on_failure: Callable[[], None]) -> None:
        """Run ``work`` once the caller has committed the job row.

        ``work`` returns its closing message; if it raises, the job fails with the reason
        and ``on_failure`` tidies up (e.g. frees the round).
        """
        self._pool.submit(self._run, job_id, work, on_failure)

    def _run(self, job_id: str, work: Work, on_failure: Callable[[], None]) -> None:
        with transaction(self._sessions) as session:
            session.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(status="running", started_at=utcnow(), message="started")
            )
        try:
            message = work(JobReporter(self._sessions, job_id))
        except Exception as exc:
            log.warning("job %s failed: %s", job_id, type(exc).__name__)
            # Tidy up first: whoever sees "failed" may act on the round at once.
            try:
                on_failure()
            except Exception:
                log.exception("tidying up after job %s failed", job_id)
            self._finish(job_id, "failed", str(exc) or type(exc).__name__)
            return
        self._finish(job_id, "done", message)

    def _finish(self, job_id: str, status: str, message: str) -> None:
        values: dict[str, Any] = {"status": status, "finished_at": utcnow(), "message": message}
        if status == "done":
            values["progress"] = 1.0
        else:
            values["error"] = message
        with transaction(self._sessions) as session:
            session.execute(update(Job).where(Job.id == job_id).values(**values))

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def recover_unfinished(sessions: sessionmaker[Session]) -> int:
    """Mark jobs a previous run of the service left unfinished as failed; free their rounds."""
    with transaction(sessions) as session:
        ids = list(session.scalars(select(Job.id).where(Job.status.in_(UNFINISHED))))
        if ids:
            session.execute(
                update(Job)
                .where(Job.id.in_(ids))
                .values(
                    status="failed",
                    finished_at=utcnow(),
                    error="the service stopped before this job finished: run it again",
                    message="the service stopped before this job finished: run it again",
                )
            )
        session.execute(update(Round).where(Round.active_job.is_not(None)).values(active_job=None))
    return len(ids)


ERROR_FOR_ANALYSTS = "ask a matching officer why"


def job_view(job: Job, *, named: bool = True) -> dict[str, Any]:
    """The job for its readers; ``named=False`` (analysts): a failure's words withheld, as
    they can quote the records that failed."""
    return {
        "job_id": job.id,
        "kind": job.kind,
        "round_id": job.round_id,
        "status": job.status,
        "progress": job.progress,
        "message": job.message,
        "error": job.error if named or not job.error else ERROR_FOR_ANALYSTS,
        "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }
