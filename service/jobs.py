"""Background jobs: queued on huey (``service.queue``), their state kept in the ``jobs`` table.

A job is queued, then running (with ``progress`` from 0 to 1 and the latest message), then
done, failed (with the reason) or cancelled. The queue carries a job's id to a worker, in
this process or another; the worker claims the row (queued -> running, in one conditional
update) and holds it under a *lease* (``jobs.worker``, ``jobs.lease_until``) that it renews
while it lives. Any process finds a running job whose lease has run out (its worker was
killed, its machine gone): the job is queued again while it has tries left
(``retries``), then failed, and its round freed. Starting or restarting a process never
touches jobs that live workers hold. A stopping worker hands its running jobs back to the
queue. Every change of state is a conditional update, so two processes never both claim,
finish, fail or cancel one job.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from huey.api import Huey
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from service.db import transaction, utcnow
from service.models import Job, Round, User
from service.queue import QueueWorkers

log = logging.getLogger(__name__)
UNFINISHED = ("queued", "running")
PROGRESS_EVERY_SECONDS = 0.5
# How often the lease keeper looks for cancel requests (a running job stops within about
# this, plus the solver's own poll), renews its leases (a third of a lease) and looks for
# lapsed leases and lost queue entries (half a lease).
KEEPER_TICK_SECONDS = 1.0
LOST = "its worker stopped (no sign of life within its lease): run it again"
RETRYING = "its worker stopped (no sign of life within its lease): queued to try again"
HANDED_BACK = "its worker stopped and handed it back: waiting for another worker"
CANCELLED = "cancelled on request"


class JobCancelled(Exception):
    """The job was asked to stop (cancelled, or its worker is stopping)."""


class JobReporter:
    """What a running job uses to say how far it has got (written at most twice a second),
    to hear that it should stop (``cancelled``), and to tell that it is still its
    worker's (``worker``)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        job_id: str,
        cancelled: threading.Event | None = None,
        worker: str | None = None,
    ):
        self._sessions = sessions
        self._job_id = job_id
        self._last = 0.0
        self.cancelled = cancelled or threading.Event()
        self.worker = worker

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
# A kind of job: given the job's id and round, its work and its clean-up after a failure.
JobKind = Callable[[str, "int | None"], tuple[Work, Callable[[], None]]]


def worker_name() -> str:
    """This process, as ``jobs.worker`` names it: host, process id and a random part."""
    return f"{socket.gethostname()[:50]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class JobRunner:
    """Queues jobs, runs those this process's queue workers take, holds their leases and
    records their outcome; its lease keeper also watches every other worker's leases."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        queue: Huey,
        kinds: dict[str, JobKind],
        *,
        lease_seconds: float = 30.0,
        retries: int = 1,
    ):
        self._sessions = sessions
        self.queue = queue
        self._kinds = kinds
        self._task = queue.task(name="run_job")(self._execute)
        self.worker = worker_name()
        self.lease = timedelta(seconds=lease_seconds)
        self.retries = retries
        self._held: dict[str, threading.Event] = {}  # job id -> its stop signal
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._workers: QueueWorkers | None = None
        self._keeper = threading.Thread(target=self._keep, name="job-leases", daemon=True)
        self._keeper.start()

    def start_workers(self, count: int) -> None:
        """Take jobs from the queue on ``count`` threads of this process."""
        if count > 0:
            self._workers = QueueWorkers(self.queue, count)
            self._workers.start()

    @property
    def working(self) -> int:
        """How many queue workers this process runs."""
        return self._workers.workers if self._workers is not None else 0

    def new_job(self, session: Session, kind: str, user: User, round_id: int | None) -> Job:
        job = Job(id=str(uuid.uuid4()), kind=kind, round_id=round_id, status="queued")
        job.created_by = user.id
        session.add(job)
        session.flush()
        return job

    def dispatch(self, job_id: str, kind: str, round_id: int | None) -> None:
        """Put a job whose row is committed on the queue (and wake this process's workers)."""
        self._task(job_id, kind, round_id)
        if self._workers is not None:
            self._workers.wake.set()

    def _execute(self, job_id: str, kind: str, round_id: int | None) -> None:
        """A queue worker's task: claim the job and run it. Never raises: the outcome is in
        the job's row."""
        try:
            if self._stopping.is_set():  # taken from the queue as this process stops
                self.dispatch(job_id, kind, round_id)
                return
            make = self._kinds.get(kind)
            if make is None:
                _fail(
                    self._sessions,
                    [Job.id == job_id, Job.status == "queued"],
                    f"no such kind: {kind}",
                )
                return
            self._claim_and_run(job_id, kind, round_id, make(job_id, round_id))
        except Exception as exc:  # the database may be away: the lease decides what follows
            log.warning("job %s: %s", job_id, type(exc).__name__)

    def _claim_and_run(
        self, job_id: str, kind: str, round_id: int | None, parts: tuple[Work, Callable[[], None]]
    ) -> None:
        cancelled = threading.Event()
        with self._lock:
            # Under the lock that ``shutdown`` takes to stop what is held: a job taken just
            # as this process stops goes back on the queue rather than run unstoppable.
            if self._stopping.is_set():
                self.dispatch(job_id, kind, round_id)
                return
            self._held[job_id] = cancelled
        try:
            with transaction(self._sessions) as session:
                claimed = session.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.status == "queued")
                    .values(
                        status="running",
                        worker=self.worker,
                        started_at=utcnow(),
                        message="started",
                        lease_until=utcnow() + self.lease,
                        attempts=Job.attempts + 1,
                    )
                )
            if claimed.rowcount == 0:  # type: ignore[attr-defined]
                return  # cancelled while queued, or another worker has it
            log.info("job %s started", job_id, extra=self._ids(job_id, kind, round_id))
            self._work(job_id, *parts, cancelled)
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
            message = work(JobReporter(self._sessions, job_id, cancelled, self.worker))
        except Exception as exc:
            stopped = isinstance(exc, JobCancelled)
            if stopped and self._stopping.is_set() and self._hand_back(job_id):
                return
            if not stopped:
                log.warning("job %s failed: %s", job_id, type(exc).__name__)
            if not self._holds(job_id):
                return  # its lease lapsed: it is queued again or ended, by another's hand
            # Tidy up first: whoever sees the job end may act on the round at once.
            try:
                on_failure()
            except Exception as tidy_exc:
                log.warning("tidying up after job %s: %s", job_id, type(tidy_exc).__name__)
            if stopped:
                self._finish(job_id, "cancelled", CANCELLED)
            else:
                self._finish(job_id, "failed", str(exc) or type(exc).__name__)
            return
        self._finish(job_id, "done", message)

    def _ids(self, job_id: str, kind: str | None = None, round_id: int | None = None) -> Any:
        """A log line's fields (``MATCHER_LOG_FORMAT=json``): ids only."""
        fields = {"job_id": job_id, "worker": self.worker}
        return fields | ({"kind": kind, "round_id": round_id} if kind else {})

    def _holds(self, job_id: str) -> bool:
        with transaction(self._sessions) as session:
            holder = session.scalar(
                select(Job.worker).where(Job.id == job_id, Job.status == "running")
            )
        return holder == self.worker

    def _hand_back(self, job_id: str) -> bool:
        """Queue a job this stopping worker holds again (its round stays held); False if
        someone asked to cancel it meanwhile."""
        with transaction(self._sessions) as session:
            row = session.execute(
                update(Job)
                .where(
                    Job.id == job_id,
                    Job.status == "running",
                    Job.worker == self.worker,
                    Job.cancel_requested.is_(False),
                )
                .values(**_requeued(HANDED_BACK), attempts=Job.attempts - 1)
                .returning(Job.kind, Job.round_id)
            ).first()
        if row is None:
            return False
        self.dispatch(job_id, row.kind, row.round_id)
        log.info("job %s handed back to the queue", job_id, extra=self._ids(job_id))
        return True

    def _finish(self, job_id: str, status: str, message: str) -> None:
        values: dict[str, Any] = {"status": status, "finished_at": utcnow(), "message": message}
        if status == "done":
            values["progress"] = 1.0
        elif status == "failed":
            values["error"] = message
        with transaction(self._sessions) as session:
            ended = session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == "running", Job.worker == self.worker)
                .values(**values)
            )
        if ended.rowcount:  # type: ignore[attr-defined]
            # The outcome's kind only: a failure's words can quote the records that failed.
            log.info("job %s %s", job_id, status, extra={**self._ids(job_id), "status": status})

    def _keep(self) -> None:
        """The lease keeper: hears cancel requests, renews this process's leases, and deals
        with every process's lapsed leases and lost queue entries."""
        # The process's owner reaps once as it starts (``reap``); from then on, every half lease.
        renewed, reaped = 0.0, time.monotonic()
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
                    self.reap()
                    reaped = now
            except Exception as exc:  # the database may be away a moment: try again next tick
                # No traceback: formatting one races with other threads' parsing on
                # Python 3.11, and the statement and its error say what failed.
                log.warning("keeping the job leases: %s: %s", type(exc).__name__, exc)

    def reap(self) -> None:
        """Queue again (or fail) the running jobs whose leases lapsed, and put back on the
        queue any queued job the queue has lost (taken by a worker that died at once)."""
        for job_id, kind, round_id in reap_expired(self._sessions, self.retries):
            self.dispatch(job_id, kind, round_id)
        self._requeue_lost()

    def _requeue_lost(self) -> None:
        before = utcnow() - self.lease
        with transaction(self._sessions) as session:
            waiting = session.execute(
                select(Job.id, Job.kind, Job.round_id)
                .where(Job.status == "queued", Job.created_at < before)
                .order_by(Job.created_at)
                .limit(100)
            ).all()
        if not waiting:
            return
        on_queue = {task.args[0] for task in self.queue.pending() if task.args}
        for job_id, kind, round_id in waiting:
            if job_id not in on_queue:  # at worst twice on the queue: only one claim wins
                log.warning(
                    "job %s was not on the queue: queued again", job_id, extra=self._ids(job_id)
                )
                self.dispatch(job_id, kind, round_id)

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
                .where(Job.id.in_(held), Job.worker == self.worker, Job.status == "running")
                .values(lease_until=utcnow() + self.lease)
            )

    def alive(self) -> bool:
        """Whether this runner works: not stopping, and its lease keeper running."""
        return not self._stopping.is_set() and self._keeper.is_alive()

    def shutdown(self, wait_seconds: float = 10.0) -> None:
        """Stop: running jobs are stopped and handed back to the queue (for another worker,
        or this service when it starts again), queued ones stay queued."""
        with self._lock:
            self._stopping.set()
            held = list(self._held.values())
        for stop in held:
            stop.set()
        if self._workers is not None:
            self._workers.shutdown_timeout = wait_seconds
            self._workers.stop(graceful=True)  # idle ones stop at once
            with self._lock:
                if self._held:
                    log.warning("%d job(s) did not stop within %g s", len(self._held), wait_seconds)
        # The keeper's last tick ends before the caller disposes of the database engine.
        self._keeper.join(wait_seconds + KEEPER_TICK_SECONDS)
        self.queue.storage.close()


def _requeued(message: str) -> dict[str, Any]:
    return {
        "status": "queued",
        "worker": None,
        "lease_until": None,
        "started_at": None,
        "progress": 0.0,
        "message": message,
    }


def reap_expired(sessions: sessionmaker[Session], retries: int = 0) -> list[Any]:
    """Deal with the running jobs whose leases have run out: queued again while they have
    tries left (the rows returned: id, kind, round, for the caller to put on the queue),
    cancelled if someone had asked, else failed with their rounds freed. Jobs without a
    lease (left by a version before leases) count as expired."""
    lapsed = [Job.status == "running", or_(Job.lease_until.is_(None), Job.lease_until < utcnow())]
    with transaction(sessions) as session:
        again = session.execute(
            update(Job)
            .where(*lapsed, Job.attempts <= retries, Job.cancel_requested.is_(False))
            .values(**_requeued(RETRYING))
            .returning(Job.id, Job.kind, Job.round_id)
        ).all()
    if again:
        log.warning(
            "queued %d job(s) again: %s",
            len(again),
            RETRYING,
            extra={"job_ids": [r.id for r in again]},
        )
    _fail(sessions, [*lapsed, Job.cancel_requested.is_(True)], CANCELLED, status="cancelled")
    _fail(sessions, lapsed, LOST)
    return list(again)


def _fail(
    sessions: sessionmaker[Session], where: list[Any], reason: str, status: str = "failed"
) -> list[str]:
    """End the jobs ``where`` holds for, in one conditional update, and free exactly their
    rounds."""
    values: dict[str, Any] = {"status": status, "finished_at": utcnow(), "message": reason}
    if status == "failed":
        values["error"] = reason
    with transaction(sessions) as session:
        ended = list(session.scalars(update(Job).where(*where).values(**values).returning(Job.id)))
        if ended:
            session.execute(
                update(Round).where(Round.active_job.in_(ended)).values(active_job=None)
            )
    if ended:
        log.warning("%s %d job(s): %s", status, len(ended), reason, extra={"job_ids": ended})
    return ended
