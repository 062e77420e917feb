"""monthly returns kept under their form's one-time id; the audit log indexed by record

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 15:00:00

- ``session_returns``: one row per monthly return logged from the pages, keyed by the
  one-time id of its form, so the same form sent twice is refused by the database.
- ``ix_audit_log_entity``: the audit page's filter by record (type and id).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "session_returns",
        sa.Column("form_id", sa.String(length=64), nullable=False),
        sa.Column("mentor_id", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["mentor_id"], ["mentors.mentor_id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("form_id"),
    )
    op.create_index("ix_session_returns_mentor_id", "session_returns", ["mentor_id"])
    op.create_index("ix_audit_log_entity", "audit_log", ["entity", "entity_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_entity", table_name="audit_log")
    op.drop_index("ix_session_returns_mentor_id", table_name="session_returns")
    op.drop_table("session_returns")
