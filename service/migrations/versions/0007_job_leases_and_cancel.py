"""jobs held by a worker under a lease, and cancelled on request

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 02:15:00

- ``jobs.worker``: the process holding the job (its id, e.g. ``host:pid:random``).
- ``jobs.lease_until``: the job is that worker's until then; the worker renews it while it
  lives, and any process fails a job whose lease has run out.
- ``jobs.cancel_requested``: someone asked for a running job to stop.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("worker", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("lease_until", sa.DateTime(), nullable=True))
        batch.add_column(
            sa.Column("cancel_requested", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index("ix_jobs_status_lease", "jobs", ["status", "lease_until"])


def downgrade() -> None:
    op.drop_index("ix_jobs_status_lease", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("cancel_requested")
        batch.drop_column("lease_until")
        batch.drop_column("worker")
