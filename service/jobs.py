"""Background jobs: worker threads of one process, each job's state kept in the ``jobs`` table.

A job is queued, then running (with ``progress`` from 0 to 1 and the latest message), then
done, failed (with the reason) or cancelled. The process that queued a job holds it under a
*lease* (``jobs.worker``, ``jobs.lease_until``) and renews it while it lives; any process
fails a job whose lease has run out (``reap_expired``) and frees its round, so a killed
process's jobs end within a lease, and starting or restarting a process never touches jobs
that live processes hold. Every change of state is a conditional update, so two processes
never both finish, fail or cancel one job.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from service import audit
from service.db import transaction, utcnow
from service.errors import Conflict, NotFound
from service.models import Job, Round, User

log = logging.getLogger(__name__)
UNFINISHED = ("queued", "running")
PROGRESS_EVERY_SECONDS = 0.5
# How often the lease keeper looks for cancel requests (a running job stops within about
# this, plus the solver's own poll), renews its leases (a third of a lease) and fails
# expired ones (half a lease).
KEEPER_TICK_SECONDS = 1.0
LOST = "its worker stopped (no sign of life within its lease): run it again"
STOPPED = "the service stopped before this job finished: run it again"


class JobCancelled(Exception):
    """The job was asked to stop (cancelled, or its process is stopping)."""


class JobReporter:
    """What a running job uses to say how far it has got (written at most twice a second),
    and to hear that it should stop (``cancelled``)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        job_id: str,
        cancelled: threading.Event | None = None,
    ):
        self._sessions = sessions
        self._job_id = job_id
        self._last = 0.0
        self.cancelled = cancelled or threading.Event()

    def progress(self, fraction: float, message: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < PROGRESS_EVERY_SECONDS:
            return
        self._last = now
        with transaction(self._sessions) as session:
            session.execute(
                update(Job)
                .where(Job.id == self._job_id, Job.status == "running")
                .values(progress=round(min(max(fraction, 0.0), 1.0), 3), message=message[:500])
            )


Work = Callable[[JobReporter], str]


def worker_name() -> str:
    """This process, as ``jobs.worker`` names it: host, process id and a random part."""
    return f"{socket.gethostname()[:50]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class JobRunner:
    """Runs jobs on worker threads, holds their leases and records their outcome."""

    def __init__(
        self, sessions: sessionmaker[Session], workers: int = 1, lease_seconds: float = 30.0
    ):
        self._sessions = sessions
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="job")
        self.worker = worker_name()
        self.lease = timedelta(seconds=lease_seconds)
        self._held: dict[str, threading.Event] = {}  # job id -> its cancel signal
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._keeper = threading.Thread(target=self._keep, name="job-leases", daemon=True)
        self._keeper.start()

    def new_job(self, session: Session, kind: str, user: User, round_id: int | None) -> Job:
        job = Job(id=str(uuid.uuid4()), kind=kind, round_id=round_id, status="queued")
        job.created_by = user.id
        job.worker = self.worker
        job.lease_until = utcnow() + self.lease
        session.add(job)
        session.flush()
        return job

    def submit(self, job_id: str, work: Work, on_failure: Callable[[], None]) -> None:
        """Run ``work`` once the caller has committed the job row.

        ``work`` returns its closing message; if it raises, the job fails with the reason
        (or, for ``JobCancelled``, ends cancelled) and ``on_failure`` tidies up (e.g. frees
        the round).
        """
        with self._lock:
            self._held[job_id] = threading.Event()
        self._pool.submit(self._run, job_id, work, on_failure)

    def _run(self, job_id: str, work: Work, on_failure: Callable[[], None]) -> None:
        try:
            with self._lock:
                cancelled = self._held[job_id]
            with transaction(self._sessions) as session:
                claimed = session.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.status == "queued", Job.worker == self.worker)
                    .values(
                        status="running",
                        started_at=utcnow(),
                        message="started",
                        lease_until=utcnow() + self.lease,
                    )
                )
            if claimed.rowcount == 0:  # type: ignore[attr-defined]
                return  # cancelled or failed while queued: whoever did it freed the round
            self._work(job_id, work, on_failure, cancelled)
        finally:
            with self._lock:
                self._held.pop(job_id, None)

    def _work(
        self,
        job_id: str,
        work: Work,
        on_failure: Callable[[], None],
        cancelled: threading.Event,
    ) -> None:
        try:
            message = work(JobReporter(self._sessions, job_id, cancelled))
        except Exception as exc:
            stopped = isinstance(exc, JobCancelled)
            if not stopped:
                log.warning("job %s failed: %s", job_id, type(exc).__name__)
            # Tidy up first: whoever sees the job end may act on the round at once.
            try:
                on_failure()
            except Exception:
                log.exception("tidying up after job %s ended", job_id)
            if stopped and not self._stopping.is_set():
                self._finish(job_id, "cancelled", "cancelled on request")
            else:
                self._finish(
                    job_id, "failed", STOPPED if stopped else str(exc) or type(exc).__name__
                )
            return
        self._finish(job_id, "done", message)

    def _finish(self, job_id: str, status: str, message: str) -> None:
        values: dict[str, Any] = {"status": status, "finished_at": utcnow(), "message": message}
        if status == "done":
            values["progress"] = 1.0
        elif status == "failed":
            values["error"] = message
        with transaction(self._sessions) as session:
            session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == "running", Job.worker == self.worker)
                .values(**values)
            )

    def _keep(self) -> None:
        """The lease keeper: hears cancel requests, renews this process's leases, and fails
        any process's jobs whose leases ran out."""
        renewed = reaped = 0.0
        while not self._stopping.wait(KEEPER_TICK_SECONDS):
            try:
                with self._lock:
                    held = list(self._held)
                now = time.monotonic()
                if held:
                    self._hear_cancels(held)
                    if now - renewed >= self.lease.total_seconds() / 3:
                        self._renew(held)
                        renewed = now
                if now - reaped >= self.lease.total_seconds() / 2:
                    reap_expired(self._sessions)
                    reaped = now
            except Exception as exc:  # the database may be away a moment: try again next tick
                # No traceback: formatting one races with other threads' parsing on
                # Python 3.11, and the statement and its error say what failed.
                log.warning("keeping the job leases: %s: %s", type(exc).__name__, exc)

    def _hear_cancels(self, held: list[str]) -> None:
        with transaction(self._sessions) as session:
            asked = session.scalars(
                select(Job.id).where(Job.id.in_(held), Job.cancel_requested.is_(True))
            ).all()
        with self._lock:
            for job_id in asked:
                if job_id in self._held:
                    self._held[job_id].set()

    def _renew(self, held: list[str]) -> None:
        with transaction(self._sessions) as session:
            session.execute(
                update(Job)
                .where(Job.id.in_(held), Job.worker == self.worker, Job.status.in_(UNFINISHED))
                .values(lease_until=utcnow() + self.lease)
            )

    def alive(self) -> bool:
        """Whether this runner takes jobs: not stopping, and its lease keeper running."""
        return not self._stopping.is_set() and self._keeper.is_alive()

    def shutdown(self, wait_seconds: float = 10.0) -> None:
        """Stop: queued jobs fail at once (their rounds freed), running ones are stopped
        and fail with the reason, so none waits for its lease to run out."""
        self._stopping.set()
        with self._lock:
            held = dict(self._held)
        for cancelled in held.values():
            cancelled.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        if held:
            _fail(self._sessions, [Job.worker == self.worker, Job.status == "queued"], STOPPED)
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            with self._lock:
                if not self._held:
                    break
            time.sleep(0.05)
        # The keeper's last tick ends before the caller disposes of the database engine.
        self._keeper.join(max(0.0, deadline - time.monotonic()) + KEEPER_TICK_SECONDS)


def reap_expired(sessions: sessionmaker[Session]) -> list[str]:
    """Fail the unfinished jobs whose leases have run out, and free their rounds; the ids
    failed. Jobs without a lease (left by a version before leases) count as expired."""
    now = utcnow()
    expired = or_(Job.lease_until.is_(None), Job.lease_until < now)
    return _fail(sessions, [Job.status.in_(UNFINISHED), expired], LOST)


def _fail(sessions: sessionmaker[Session], where: list[Any], reason: str) -> list[str]:
    """Fail the jobs ``where`` holds for, in one conditional update, and free exactly their
    rounds."""
    with transaction(sessions) as session:
        failed = list(
            session.scalars(
                update(Job)
                .where(*where)
                .values(status="failed", finished_at=utcnow(), error=reason, message=reason)
                .returning(Job.id)
            )
        )
        if failed:
            session.execute(
                update(Round).where(Round.active_job.in_(failed)).values(active_job=None)
            )
    if failed:
        log.warning("failed %d job(s): %s", len(failed), reason)
    return failed


def request_cancel(session: Session, user: User, job_id: str) -> Job:
    """Cancel a queued job at once (its round freed) or ask a running one to stop (its
    worker stops it within a few seconds and frees the round), in the audit log; 409 for a
    finished job. The caller commits."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job with id {job_id!r}")
    queued = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "queued")
        .values(status="cancelled", finished_at=utcnow(), message="cancelled before it started")
    )
    if queued.rowcount:  # type: ignore[attr-defined]
        session.execute(update(Round).where(Round.active_job == job_id).values(active_job=None))
    else:
        running = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "running")
            .values(cancel_requested=True, message="stopping on request")
        )
        if not running.rowcount:  # type: ignore[attr-defined]
            raise Conflict(f"job {job_id} has already ended ({job.status})")
    session.flush()
    session.refresh(job)
    audit.record(session, user, "jobs.cancel", "job", job_id, status=job.status)
    return job


ERROR_FOR_ANALYSTS = "ask a matching officer why"


def queue_position(session: Session, job: Job) -> int | None:
    """For a queued job, its place in the queue (1: next to start); None otherwise."""
    if job.status != "queued":
        return None
    earlier = or_(
        Job.created_at < job.created_at, and_(Job.created_at == job.created_at, Job.id < job.id)
    )
    ahead = session.scalar(
        select(func.count()).select_from(Job).where(Job.status == "queued", earlier)
    )
    return int(ahead or 0) + 1


def job_view(job: Job, *, named: bool = True, position: int | None = None) -> dict[str, Any]:
    """The job for its readers; ``named=False`` (analysts): a failure's words withheld, as
    they can quote the records that failed. ``position``: its place in the queue."""
    return {
        "queue_position": position,
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
