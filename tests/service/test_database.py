"""The migrations build exactly the tables the models describe, on each database."""

from __future__ import annotations

import json
from datetime import datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import text

from service.db import make_engine, upgrade
from service.models import Base


def test_migrations_match_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    upgrade(engine)  # a second upgrade is a no-op
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    engine.dispose()


def test_stored_records_are_normalised_by_migration_0004(database_url: str) -> None:
    # Rows stored as typed by an earlier version (cells as written, unknown columns kept)
    # become the readers' values; a record the readers cannot read is left alone.
    engine = make_engine(database_url)
    config = Config()
    config.set_main_option("script_location", "service:migrations")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
        typed = {
            "mentee_id": "E1",
            "name": "Dr Cy",
            "cohort": "GP Fellow",
            "waiting_since": "03/11/2025",
            "same_img": "Yes",
            "needs": " Leadership ",
            "notes": "phoned on Monday",
            "modes": "",
        }
        broken = {"mentee_id": "E2", "name": "Dr Di", "cohort": "astronaut"}
        for record in (typed, broken):
            connection.execute(
                text(
                    "INSERT INTO mentees (mentee_id, name, record, version, created_at, updated_at)"
                    " VALUES (:id, :name, :record, 1, :now, :now)"
                ),
                {
                    "id": record["mentee_id"],
                    "name": record["name"],
                    "record": json.dumps(record),
                    "now": datetime(2026, 1, 1),
                },
            )
    upgrade(engine)
    with engine.connect() as connection:
        stored = dict(connection.execute(text("SELECT mentee_id, record FROM mentees")).all())
        audit = connection.execute(text("SELECT action, detail FROM audit_log")).all()
    records = {k: v if isinstance(v, dict) else json.loads(v) for k, v in stored.items()}
    assert records["E1"] == {
        "mentee_id": "E1",
        "name": "Dr Cy",
        "cohort": "fellow",
        "waiting_since": "2025-11-03",
        "same_img": "yes",
        "needs": "leadership",
    }
    assert records["E2"] == broken
    assert [(a, d if isinstance(d, dict) else json.loads(d)) for a, d in audit] == [
        ("mentees.normalised", {"records": 1})
    ]
    engine.dispose()
