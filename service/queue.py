"""The job queue: huey, stored in the scheme's own database, and its in-process workers.

Why huey: it is a long-kept task queue with no dependencies of its own whose storage can be
the databases this service already runs on. On PostgreSQL its queue is four tables in the
scheme's database (a worker takes a task with ``FOR UPDATE SKIP LOCKED``), so any number of web and worker processes, on any number of
machines, share it with no other server; on SQLite (one machine, ``make run``) it is a file
beside the database. The queue only carries each job's id, kind and round to a worker:
what a job is, who holds it and until when live in the ``jobs`` table (``service.jobs``),
where they are guarded by conditional updates.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from huey import MemoryHuey, PostgresHuey, SqliteHuey
from huey.api import Huey
from huey.consumer import Consumer, Worker
from huey.storage import PostgresStorage
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)
QUEUE_NAME = "matcher"
TABLE_PREFIX = "queue"
QUEUE_TABLES = tuple(f"{TABLE_PREFIX}_{part}" for part in ("kv", "schedule", "task", "counter"))
# An idle worker looks at the queue at least this often (at first ten times a second, less
# often as it stays empty), and at once when its own process queues a job. Polling, not
# PostgreSQL's LISTEN: a worker waiting on a notification cannot be stopped until the wait
# ends, and a job queued by another process waits at most this to start.
MOST_POLL_SECONDS = 0.5


def postgres_queue_ddl() -> list[str]:
    """The statements that make the queue's tables on PostgreSQL (run by a migration)."""
    storage = PostgresStorage(QUEUE_NAME, dsn="", table_prefix=TABLE_PREFIX, create_tables=False)
    return list(storage.ddl)


def queue_file(database: str) -> str:
    """The SQLite queue's file for a database file: ``scheme.db`` -> ``scheme-queue.db``."""
    path = Path(database)
    return str(path.with_name(f"{path.stem}-queue{path.suffix or '.db'}"))


def make_queue(database_url: str) -> Huey:
    """The queue for the database at ``database_url`` (an in-memory SQLite database gets a
    queue in memory, for this process only)."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    common = {"results": False, "utc": True}
    if backend == "postgresql":
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        return PostgresHuey(
            QUEUE_NAME,
            dsn=dsn,
            table_prefix=TABLE_PREFIX,
            create_tables=False,
            blocking=False,
            **common,
        )
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            return MemoryHuey(QUEUE_NAME, **common)
        return SqliteHuey(QUEUE_NAME, filename=queue_file(url.database), **common)
    raise ValueError(f"no job queue for a {backend} database: use PostgreSQL or SQLite")


def queue_answers(queue: Huey) -> bool:
    """Whether the queue's storage answers (for the readiness check)."""
    try:
        queue.storage.queue_size()
    except Exception as exc:
        log.warning("the job queue does not answer: %s", type(exc).__name__)
        return False
    return True


class _WakeableWorker(Worker):
    """huey's worker, which also wakes when this process queues a job (``QueueWorkers.wake``)
    rather than only at its next look."""

    wake: threading.Event
    delay: float
    default_delay: float
    max_delay: float
    backoff: float

    def sleep(self) -> None:
        delay = min(self.delay, self.max_delay)
        if self.wake.wait(delay):
            self.wake.clear()
            self.delay = self.default_delay
        else:
            self.delay = delay * self.backoff


class QueueWorkers(Consumer):
    """huey's consumer as threads of this process. Signals stay with the process's owner
    (uvicorn, or ``matcher worker``), which stops the workers through ``service.jobs``."""

    worker_class = _WakeableWorker

    def __init__(self, queue: Huey, workers: int):
        self.wake = threading.Event()
        super().__init__(
            queue,
            workers=workers,
            periodic=False,
            worker_type="thread",
            max_delay=MOST_POLL_SECONDS,
            check_worker_health=False,
        )

    def _create_worker(self) -> _WakeableWorker:
        worker: _WakeableWorker = super()._create_worker()
        worker.wake = self.wake
        return worker

    def stop(self, graceful: bool = False) -> None:
        self.stop_flag.set()
        self.wake.set()  # a sleeping worker sees the stop at once
        super().stop(graceful)

    def _set_signal_handlers(self) -> None:
        """Leave the process's signal handlers as they are."""
