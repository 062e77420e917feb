"""participants' sign-in, surveys, return reminders, mail templates, online applications

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 07:30:00

- ``participants``: a mentor or mentee who signs in (a ``users`` row of role ``mentor`` or
  ``mentee`` with no password), tied to one person; a person has at most one such user.
- ``sign_in_links``: one-time sign-in links sent by e-mail, stored only as hashes; a link is
  used once (``used_at`` set by a conditional update) and expires.
- ``surveys``: one per side of a match per stage (after the first meeting, at its end),
  answered once, with ratings from 1 to 5 and a comment.
- ``return_reminders``: the month-end reminder a mentor was sent for a month, once.
- ``mail_templates``: the scheme's own wording of a kind of mail, replacing the default.
- ``applications.source`` (``staff`` or ``online``) and ``applications.details`` (the
  application form's other fields: telephone, practice, qualifications, motivation).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RATINGS = ("overall", "fit", "usefulness")


def upgrade() -> None:
    op.create_table(
        "participants",
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('mentor', 'mentee')", name="ck_participants_kind"),
        sa.UniqueConstraint("kind", "person_id", name="uq_participants_person"),
    )
    op.create_table(
        "sign_in_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False, unique=True),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_sign_in_links_user_id", "sign_in_links", ["user_id"])
    rating_checks = [
        sa.CheckConstraint(
            f"{name} IS NULL OR ({name} >= 1 AND {name} <= 5)", name=f"ck_surveys_{name}"
        )
        for name in RATINGS
    ]
    op.create_table(
        "surveys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("match_id", sa.Integer(), sa.ForeignKey("matches.id"), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        *(sa.Column(name, sa.Integer(), nullable=True) for name in RATINGS),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.CheckConstraint("side IN ('mentor', 'mentee')", name="ck_surveys_side"),
        sa.CheckConstraint("stage IN ('first_meeting', 'end')", name="ck_surveys_stage"),
        sa.CheckConstraint(
            "answered_at IS NULL OR (overall IS NOT NULL AND fit IS NOT NULL "
            "AND usefulness IS NOT NULL)",
            name="ck_surveys_answered",
        ),
        *rating_checks,
        sa.UniqueConstraint("match_id", "side", "stage", name="uq_surveys_match_side_stage"),
    )
    op.create_index("ix_surveys_match_id", "surveys", ["match_id"])
    op.create_table(
        "return_reminders",
        sa.Column(
            "mentor_id", sa.String(length=64), sa.ForeignKey("mentors.mentor_id"), primary_key=True
        ),
        sa.Column("month", sa.String(length=7), primary_key=True),
        sa.Column("queued_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "mail_templates",
        sa.Column("kind", sa.String(length=32), primary_key=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column(
            "updated_by",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="SET NULL"),
            nullable=True,
        ),
    )
    op.add_column(
        "applications",
        sa.Column("source", sa.String(length=8), nullable=False, server_default="staff"),
    )
    op.add_column("applications", sa.Column("details", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("applications", "details")
    op.drop_column("applications", "source")
    op.drop_table("mail_templates")
    op.drop_table("return_reminders")
    op.drop_index("ix_surveys_match_id", table_name="surveys")
    op.drop_table("surveys")
    op.drop_index("ix_sign_in_links_user_id", table_name="sign_in_links")
    op.drop_table("sign_in_links")
    op.drop_table("participants")
