"""accounts that can be disabled, tokens that expire, one active match per mentee

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 12:00:00

- ``users.disabled``: a disabled user can neither sign in nor use a token.
- ``api_tokens.expires_at``, ``revoked_at`` and ``label``. Tokens issued before this version
  never expired; they now expire ``LEGACY_TOKEN_DAYS`` days after the upgrade (an audit
  entry says how many).
- ``uq_matches_one_active_per_mentee``: a partial unique index, so that the database itself
  refuses a second confirmed or registered match for a mentee. Concurrent approvals before
  this version could leave such duplicates; each later duplicate is ended with a reason that
  names the match it duplicated, and an audit entry lists them, before the index is built.
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEGACY_TOKEN_DAYS = 90
ACTIVE = "status IN ('confirmed', 'registered')"


def upgrade() -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    # Plain ADD COLUMN, never a batch copy of ``users``: on SQLite a batch drops and
    # recreates the table, and dropping ``users`` would cascade to every token and session.
    op.add_column(
        "users", sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column(
        "api_tokens", sa.Column("label", sa.String(length=64), nullable=False, server_default="")
    )
    op.add_column("api_tokens", sa.Column("expires_at", sa.DateTime(), nullable=True))
    op.add_column("api_tokens", sa.Column("revoked_at", sa.DateTime(), nullable=True))
    connection = op.get_bind()
    legacy = connection.execute(
        sa.text("UPDATE api_tokens SET expires_at = :at WHERE expires_at IS NULL"),
        {"at": now + timedelta(days=LEGACY_TOKEN_DAYS)},
    ).rowcount
    # Nothing refers to api_tokens, so SQLite's copy of it loses nothing.
    with op.batch_alter_table("api_tokens") as batch:
        batch.alter_column("expires_at", existing_type=sa.DateTime(), nullable=False)
    ended = _end_duplicate_active_matches(connection, now)
    if legacy:
        _audit(connection, now, "tokens.expiry_set", "api_token", {"tokens": legacy})
    if ended:
        _audit(connection, now, "matches.duplicates_ended", "match", {"match_ids": ended})
    op.create_index(
        "uq_matches_one_active_per_mentee",
        "matches",
        ["mentee_id"],
        unique=True,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )


def _end_duplicate_active_matches(connection: sa.Connection, now: datetime) -> list[int]:
    """End every active match of a mentee but the earliest; returns the ended ids."""
    rows = connection.execute(
        sa.text(f"SELECT id, mentee_id FROM matches WHERE {ACTIVE} ORDER BY mentee_id, id")
    ).all()
    first: dict[str, int] = {}
    ended = []
    for match_id, mentee_id in rows:
        if mentee_id not in first:
            first[mentee_id] = match_id
            continue
        connection.execute(
            sa.text(
                "UPDATE matches SET status = 'ended', ended_at = :now, end_reason = :reason "
                "WHERE id = :id"
            ),
            {
                "now": now,
                "id": match_id,
                "reason": f"duplicate of match {first[mentee_id]}: ended by the upgrade that "
                "made one active match per mentee a database rule",
            },
        )
        ended.append(match_id)
    return ended


def _audit(
    connection: sa.Connection, now: datetime, action: str, entity: str, detail: dict[str, object]
) -> None:
    audit = sa.table(
        "audit_log",
        sa.column("at", sa.DateTime()),
        sa.column("user_id", sa.Integer()),
        sa.column("username", sa.String()),
        sa.column("action", sa.String()),
        sa.column("entity", sa.String()),
        sa.column("entity_id", sa.String()),
        sa.column("detail", sa.JSON()),
    )
    connection.execute(
        audit.insert().values(
            at=now,
            user_id=None,
            username="system",
            action=action,
            entity=entity,
            entity_id=None,
            detail=detail,
        )
    )


def downgrade() -> None:
    op.drop_index("uq_matches_one_active_per_mentee", table_name="matches")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("revoked_at")
        batch.drop_column("expires_at")
        batch.drop_column("label")
    op.drop_column("users", "disabled")
