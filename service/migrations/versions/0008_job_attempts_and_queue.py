"""jobs run again once when their worker is lost, and carry their time limit; queue tables

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 04:30:00

- ``jobs.attempts``: how many times a worker has started the job. A job whose worker stops
  without a word (its lease runs out) is queued again while it has tries left
  (``MATCHER_JOB_RETRIES``), then failed.
- ``jobs.time_limit``: the seconds the run may take, fixed when it is queued (the round's,
  cut to the scheme's most), so every worker runs it alike, whenever it runs.
- On PostgreSQL, the tables of the job queue (huey's ``PostgresStorage``, prefix ``queue``)
  live in the scheme's database beside its records, made here once rather than by every
  process as it starts (two processes starting at once would race to make them). On SQLite
  the queue is a file of its own beside the database (``service.queue``), which huey makes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("time_limit", sa.Float(), nullable=True))
        batch.create_check_constraint("ck_jobs_attempts", "attempts >= 0")
    if op.get_bind().dialect.name == "postgresql":
        from service.queue import postgres_queue_ddl

        for statement in postgres_queue_ddl():
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        from service.queue import QUEUE_TABLES

        for table in QUEUE_TABLES:
            op.execute(f"DROP TABLE IF EXISTS {table}")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint("ck_jobs_attempts", type_="check")
        batch.drop_column("time_limit")
        batch.drop_column("attempts")
