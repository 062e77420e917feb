"""Engine, sessions and migrations: SQLite by default, PostgreSQL through ``DATABASE_URL``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service.errors import Conflict

SQLITE_BUSY_MS = 30_000
T = TypeVar("T")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the settings each backend needs for a threaded web service."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # SQLite starts a transaction lazily; BEGIN IMMEDIATE on first use makes writers
        # queue instead of failing with "database is locked" when two requests race.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # let the "begin" listener issue BEGIN
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


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


def upgrade(engine: Engine) -> None:
    """Bring the database schema to the newest migration."""
    config = Config()
    config.set_main_option("script_location", "service:migrations")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
