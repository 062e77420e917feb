"""Engine, sessions and migrations: SQLite by default, PostgreSQL through ``DATABASE_URL``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service.errors import Conflict

SQLITE_BUSY_MS = 30_000
READ_ONLY = "matcher_read_only"
T = TypeVar("T")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the settings each backend needs for a threaded web service.

    ``hide_parameters``: an error's message never carries the statement's values (names,
    e-mail addresses, GMC numbers), so neither do logs or tracebacks.
    """
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, hide_parameters=True, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # let the "begin" listener issue BEGIN
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # A writer takes the write lock when it begins (BEGIN IMMEDIATE), so two writers queue
    # instead of one failing with "database is locked" when it tries to upgrade a read. A
    # reader (``read_only``) begins deferred: in WAL mode it never waits for a writer.
    read_only = conn.get_execution_options().get(READ_ONLY, False)
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for units of work that may write."""
    return sessionmaker(engine, expire_on_commit=False)


def read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for reading only: on SQLite they never take the write lock.

    A write through one still works on SQLite (it upgrades the lock, and may then find the
    database busy), so anything that writes uses ``session_factory``.
    """
    options: dict[str, Any] = {READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        options["postgresql_readonly"] = True
    return sessionmaker(engine.execution_options(**options), expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed whole at the end, rolled back whole on any error."""
    with factory() as session, session.begin():
        yield session


def commit_or_retry(session: Session, work: Callable[[], T], *, dry_run: bool = False) -> T:
    """Run ``work`` and commit (or, for a dry run, roll back); again if a race broke a unique key.

    Two imports of the same new people at once: the second fails on the key the first just
    committed; run again, it sees those people as stored. Three failures in a row give 409.
    """
    for _attempt in range(3):
        try:
            result = work()
        except IntegrityError:
            session.rollback()
            continue
        except BaseException:
            session.rollback()
            raise
        if dry_run:
            session.rollback()
        else:
            session.commit()
        return result
    raise Conflict("other changes to the same records kept coming in at the same moment: try again")


# Any fixed number: the advisory lock's name for "migrating this database".
MIGRATION_LOCK = 0x6D61_7463


def upgrade(engine: Engine) -> None:
    """Bring the database schema to the newest migration. On PostgreSQL one process at a
    time (an advisory lock, held to the end of the transaction): web and worker processes
    started together would otherwise race to make the same tables."""
    config = Config()
    config.set_main_option("script_location", "service:migrations")
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
