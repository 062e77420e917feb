"""analysts' plans: recruitment and rule comparisons, run as jobs

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 09:00:00

``plans``: one row per plan an analyst or staff member asked for on a round: its kind
(``recruit``: the fewest new mentors for a target; ``compare``: the round under several
settings), what was asked (``params``), the job that runs it, and its answer (``result``,
ids and figures only).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column(
            "round_id",
            sa.Integer(),
            sa.ForeignKey("rounds.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=False, unique=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column(
            "created_by",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.CheckConstraint("kind IN ('recruit', 'compare')", name="ck_plans_kind"),
    )
    op.create_index("ix_plans_round_id", "plans", ["round_id"])


def downgrade() -> None:
    op.drop_index("ix_plans_round_id", table_name="plans")
    op.drop_table("plans")
