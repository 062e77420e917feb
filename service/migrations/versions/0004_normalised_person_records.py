"""stored people keep normalised values, not the cells they were typed as

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 10:00:00

Earlier imports stored each row's cells as typed ("Yes", "03/11/2025", " leadership ") and
every column of the file, known or not. Each current record is rewritten as the readers
read it (yes, 2025-11-03, leadership), keeping only the contract's columns, so that a
re-import of the same people compares equal. The values mean the same; the earlier form
stays in the version history, and one audit entry per table says how many were rewritten.
A record the readers cannot read is left as it is.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from matcher.columns import MENTEES, MENTORS
    from matcher.errors import InputError
    from matcher.readers import mentees_file, mentors_file
    from matcher.spreadsheet import Table

    connection = op.get_bind()
    audit = sa.table(
        "audit_log",
        sa.column("at", sa.DateTime),
        sa.column("user_id", sa.Integer),
        sa.column("username", sa.String),
        sa.column("action", sa.String),
        sa.column("entity", sa.String),
        sa.column("entity_id", sa.String),
        sa.column("detail", sa.JSON),
    )
    for name, id_column, schema, read in (
        ("mentors", "mentor_id", MENTORS, mentors_file),
        ("mentees", "mentee_id", MENTEES, mentees_file),
    ):
        people = sa.table(name, sa.column(id_column, sa.String), sa.column("record", sa.JSON))
        rows = connection.execute(sa.select(people.c[id_column], people.c.record)).all()
        rewritten = 0
        for person_id, record in _normalised(rows, schema, read, Table, InputError):
            connection.execute(
                people.update().where(people.c[id_column] == person_id).values(record=record)
            )
            rewritten += 1
        if rewritten:
            connection.execute(
                audit.insert().values(
                    at=datetime.now(UTC).replace(tzinfo=None),
                    user_id=None,
                    username="migration 0004",
                    action=f"{name}.normalised",
                    entity=name,
                    entity_id=None,
                    detail={"records": rewritten},
                )
            )


def _normalised(
    rows: Sequence[Any], schema: Any, read: Any, table_type: Any, input_error: Any
) -> list[tuple[str, dict[str, str]]]:
    """(id, new record) for each stored record that reads and differs once normalised."""
    known = set(schema.columns)
    changed = []
    for person_id, record in rows:
        cells = {k: str(v) for k, v in (record or {}).items() if k in known}
        header = tuple(cells)
        try:
            people = read(table_type.from_rows("stored", header, [(2, cells)]), keep_records=False)
        except input_error:
            continue
        normal = {k: v for k, v in zip(header, people.stored[0], strict=True) if v != ""}
        if normal != record:
            changed.append((person_id, normal))
    return changed


def downgrade() -> None:
    # The normalised values mean what the typed ones did; there is nothing to undo.
    pass
