"""Alembic environment: migrations run on the connection ``service.db.upgrade`` passes in,
or on ``DATABASE_URL`` when run with the ``alembic`` command."""

from __future__ import annotations

from alembic import context

from service.config import get_settings
from service.db import make_engine
from service.models import Base

target_metadata = Base.metadata


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(get_settings().database_url)
    with engine.begin() as own:
        context.configure(connection=own, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


run()
