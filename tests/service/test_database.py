"""The migrations build exactly the tables the models describe, on each database."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from service.db import make_engine, upgrade
from service.models import Base
from service.queue import QUEUE_TABLES

QUEUE = set(QUEUE_TABLES)


def test_migrations_match_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    upgrade(engine)  # a second upgrade is a no-op
    with engine.connect() as connection:
        # The job queue's tables are huey's (made by migration 0008 on PostgreSQL), not models.
        context = MigrationContext.configure(
            connection,
            opts={"include_name": lambda name, kind, _: not (kind == "table" and name in QUEUE)},
        )
        assert compare_metadata(context, Base.metadata) == []
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


def test_migration_0005_ends_duplicate_active_matches_then_the_database_refuses_them(
    database_url: str,
) -> None:
    # Concurrent approvals before 0005 could leave a mentee with two active matches.
    engine = make_engine(database_url)
    config = Config()
    config.set_main_option("script_location", "service:migrations")
    now = datetime(2026, 1, 1)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")
        for table, key in (("mentors", "mentor_id"), ("mentees", "mentee_id")):
            for person in ("P1", "P2"):
                connection.execute(
                    text(
                        f"INSERT INTO {table} ({key}, name, record, version, created_at, "
                        "updated_at) VALUES (:id, 'x', '{}', 1, :now, :now)"
                    ),
                    {"id": person, "now": now},
                )
        connection.execute(
            text("INSERT INTO users (name, role, created_at) VALUES ('u', 'admin', :now)"),
            {"now": now},
        )
        connection.execute(
            text(
                "INSERT INTO api_tokens (user_id, token_hash, created_at) "
                "SELECT id, 'h', :now FROM users"
            ),
            {"now": now},
        )
        for mentor, mentee, status in (
            ("P1", "P1", "confirmed"),
            ("P2", "P1", "registered"),  # the duplicate: ended by the upgrade
            ("P2", "P2", "confirmed"),
            ("P1", "P2", "ended"),
        ):
            connection.execute(
                text(
                    "INSERT INTO matches (mentor_id, mentee_id, status, created_at) "
                    "VALUES (:mr, :me, :status, :now)"
                ),
                {"mr": mentor, "me": mentee, "status": status, "now": now},
            )
    upgrade(engine)
    with engine.connect() as connection:
        matches = connection.execute(
            text("SELECT id, mentee_id, status, end_reason FROM matches ORDER BY id")
        ).all()
        audit = dict(connection.execute(text("SELECT action, detail FROM audit_log")).all())
        expiry = connection.execute(text("SELECT expires_at FROM api_tokens")).scalar_one()
    assert [(m.mentee_id, m.status) for m in matches] == [
        ("P1", "confirmed"),
        ("P1", "ended"),
        ("P2", "confirmed"),
        ("P2", "ended"),
    ]
    assert matches[1].end_reason.startswith(f"duplicate of match {matches[0].id}: ended by")
    details = {k: v if isinstance(v, dict) else json.loads(v) for k, v in audit.items()}
    assert details == {
        "matches.duplicates_ended": {"match_ids": [matches[1].id]},
        "tokens.expiry_set": {"tokens": 1},
    }
    assert expiry is not None
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO matches (mentor_id, mentee_id, status, created_at) "
                "VALUES ('P2', 'P1', 'confirmed', :now)"
            ),
            {"now": now},
        )
    with engine.begin() as connection:  # an ended match beside an active one is fine
        connection.execute(
            text(
                "INSERT INTO matches (mentor_id, mentee_id, status, created_at) "
                "VALUES ('P2', 'P1', 'ended', :now)"
            ),
            {"now": now},
        )
    engine.dispose()
