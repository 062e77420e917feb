"""The scheme's records as SQLAlchemy tables. Changes go through Alembic migrations.

People are stored as the spreadsheet rows they were imported from (``record``: column ->
cell text), so a round re-reads them through the same validation as ``matcher match``; every
change keeps the earlier row in a version table.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from service.db import utcnow

ID = String(64)
ACTIVE_MATCH_STATUSES = ("confirmed", "registered")
ACTIVE_MATCH_SQL = "status IN ('confirmed', 'registered')"


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # A disabled user can neither sign in nor use a token; their sessions and tokens end.
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # SHA-256 of a 256-bit random token: the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class WebSession(Base):
    """A signed-in browser: the cookie holds a random token, stored here only as its hash."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    username: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)
    # Ids and counts only: never names, e-mails, GMC numbers or diversity data.
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Import(Base):
    __tablename__ = "imports"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # mentors | mentees
    filename: Mapped[str] = mapped_column(String(255))
    rows: Mapped[int] = mapped_column(Integer)
    added: Mapped[int] = mapped_column(Integer)
    updated: Mapped[int] = mapped_column(Integer)
    unchanged: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class PersonRow:
    """Columns shared by mentors and mentees: the imported row and its version."""

    name: Mapped[str] = mapped_column(String(255))
    record: Mapped[dict[str, Any]] = mapped_column()
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class PersonVersionRow:
    """One earlier (or the current) imported row of a person."""

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    record: Mapped[dict[str, Any]] = mapped_column()
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Mentor(PersonRow, Base):
    __tablename__ = "mentors"
    mentor_id: Mapped[str] = mapped_column(ID, primary_key=True)


class MentorVersion(PersonVersionRow, Base):
    __tablename__ = "mentor_versions"
    mentor_id: Mapped[str] = mapped_column(ForeignKey("mentors.mentor_id"), index=True)
    __table_args__ = (UniqueConstraint("mentor_id", "version"),)


class Mentee(PersonRow, Base):
    __tablename__ = "mentees"
    mentee_id: Mapped[str] = mapped_column(ID, primary_key=True)


class MenteeVersion(PersonVersionRow, Base):
    __tablename__ = "mentee_versions"
    mentee_id: Mapped[str] = mapped_column(ForeignKey("mentees.mentee_id"), index=True)
    __table_args__ = (UniqueConstraint("mentee_id", "version"),)


class Exclusion(Base):
    """A standing conflict of interest: this mentor must never mentor this mentee."""

    __tablename__ = "exclusions"
    id: Mapped[int] = mapped_column(primary_key=True)
    mentor_id: Mapped[str] = mapped_column(ForeignKey("mentors.mentor_id"))
    mentee_id: Mapped[str] = mapped_column(ForeignKey("mentees.mentee_id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("mentor_id", "mentee_id"),)


class Round(Base):
    __tablename__ = "rounds"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    # draft -> proposed (a run finished) -> approved; a run in progress is a job.
    status: Mapped[str] = mapped_column(String(16), default="draft")
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    time_limit: Mapped[float] = mapped_column(Float)
    mentee_ids: Mapped[list[Any] | None] = mapped_column()  # None: everyone waiting
    runs: Mapped[int] = mapped_column(Integer, default=0)
    # The job solving this round now; set and cleared atomically so only one runs at a time.
    active_job: Mapped[str | None] = mapped_column(String(36))
    inputs: Mapped[dict[str, Any] | None] = mapped_column()  # people and versions last run
    summary: Mapped[dict[str, Any] | None] = mapped_column()  # last run's result summary
    unmatched: Mapped[list[Any] | None] = mapped_column()  # [{mentee_id, reason}]
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class RoundPair(Base):
    """A pin (the pair must be made) or a forbid (it must not) for one round."""

    __tablename__ = "round_pairs"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # pin | forbid
    mentor_id: Mapped[str] = mapped_column(ForeignKey("mentors.mentor_id"))
    mentee_id: Mapped[str] = mapped_column(ForeignKey("mentees.mentee_id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("round_id", "mentor_id", "mentee_id"),)


class Proposal(Base):
    __tablename__ = "proposals"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    mentor_id: Mapped[str] = mapped_column(ForeignKey("mentors.mentor_id"))
    mentee_id: Mapped[str] = mapped_column(ForeignKey("mentees.mentee_id"))
    score: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[str] = mapped_column(Text)
    __table_args__ = (UniqueConstraint("round_id", "mentee_id"),)


class Job(Base):
    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The process that holds the job, and until when (renewed while it lives; see
    # ``service.jobs``): a job whose lease ran out is queued again or failed by whichever
    # process sees it.
    worker: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Starts by a worker: a job whose worker is lost is queued again while it has retries left.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A run's seconds, fixed when it is queued: the round's, cut to the scheme's most.
    time_limit: Mapped[float | None] = mapped_column(Float)
    __table_args__ = (
        Index("ix_jobs_status_lease", "status", "lease_until"),
        CheckConstraint("attempts >= 0", name="ck_jobs_attempts"),
    )


class OutboxMail(Base):
    """An e-mail to send: kept until the mail server takes it, tried again on failure (see
    ``service.outbox``)."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    # What it is about, e.g. ``match:12``: staff see what was sent for a record.
    about: Mapped[str] = mapped_column(String(64), default="", index=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    attachment_name: Mapped[str | None] = mapped_column(String(100))
    attachment: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Not before then: a failed try waits, and a process sending it holds it till then.
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'sent', 'failed')", name="ck_outbox_status"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
    )


class Match(Base):
    """A pair's lifecycle: confirmed (approved) -> registered (first meeting held) -> ended."""

    __tablename__ = "matches"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id"))
    mentor_id: Mapped[str] = mapped_column(ForeignKey("mentors.mentor_id"), index=True)
    mentee_id: Mapped[str] = mapped_column(ForeignKey("mentees.mentee_id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    score: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    registered_at: Mapped[datetime | None] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    end_reason: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        UniqueConstraint("round_id", "mentee_id"),
        # The database's own rule: a mentee has at most one active match, whichever
        # process or round writes it.
        Index(
            "uq_matches_one_active_per_mentee",
            "mentee_id",
            unique=True,
            sqlite_where=text(ACTIVE_MATCH_SQL),
            postgresql_where=text(ACTIVE_MATCH_SQL),
        ),
    )


class MentoringSession(Base):
    __tablename__ = "mentoring_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id"), index=True)
    mentor_id: Mapped[str] = mapped_column(ForeignKey("mentors.mentor_id"), index=True)
    mentee_id: Mapped[str] = mapped_column(ForeignKey("mentees.mentee_id"))
    held_on: Mapped[date] = mapped_column(Date, index=True)
    minutes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SessionReturn(Base):
    """A mentor's monthly return, kept under the one-time id of the form it came in: the
    primary key makes the database refuse the same form twice (a double click, a resend)."""

    __tablename__ = "session_returns"
    form_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    mentor_id: Mapped[str] = mapped_column(ForeignKey("mentors.mentor_id"), index=True)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    sessions: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Event(Base):
    """A speed-meeting event: who came, the rotation, and afterwards who chose whom."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    held_on: Mapped[date] = mapped_column(Date)
    start: Mapped[str] = mapped_column(String(5))  # HH:MM
    rounds: Mapped[int] = mapped_column(Integer)
    minutes: Mapped[int] = mapped_column(Integer)
    per_table: Mapped[int] = mapped_column(Integer)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class EventAttendee(Base):
    __tablename__ = "event_attendees"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    side: Mapped[str] = mapped_column(String(8))  # mentor | mentee
    person_id: Mapped[str] = mapped_column(ID)
    table: Mapped[int | None] = mapped_column(Integer)  # mentors' table numbers
    __table_args__ = (UniqueConstraint("event_id", "side", "person_id"),)


class EventMeeting(Base):
    __tablename__ = "event_meetings"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    table: Mapped[int] = mapped_column(Integer)
    mentor_id: Mapped[str] = mapped_column(ID)
    mentee_id: Mapped[str] = mapped_column(ID)
    score: Mapped[int] = mapped_column(Integer)
    __table_args__ = (UniqueConstraint("event_id", "mentor_id", "mentee_id"),)


class EventChoice(Base):
    """One ranked choice made after an event (rank 1 is the first choice)."""

    __tablename__ = "event_choices"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    side: Mapped[str] = mapped_column(String(8))  # who chose: mentor | mentee
    person_id: Mapped[str] = mapped_column(ID)
    rank: Mapped[int] = mapped_column(Integer)
    choice_id: Mapped[str] = mapped_column(ID)
    __table_args__ = (UniqueConstraint("event_id", "side", "person_id", "rank"),)


class Application(Base):
    """A GP's application to be a mentor, with the guidance's eligibility checks."""

    __tablename__ = "applications"
    id: Mapped[int] = mapped_column(primary_key=True)
    applicant_name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    gmc_number: Mapped[str] = mapped_column(String(16))
    mentor_id: Mapped[str | None] = mapped_column(ID)
    answers: Mapped[dict[str, Any]] = mapped_column()
    checks: Mapped[list[Any]] = mapped_column()
    eligible: Mapped[bool] = mapped_column(Boolean)
    decision: Mapped[str | None] = mapped_column(String(16))  # approved | rejected
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # staff (entered through the API or pages) | online (the public form)
    source: Mapped[str] = mapped_column(String(8), default="staff", server_default="staff")
    # The application form's other fields (telephone, practice, qualifications, motivation).
    details: Mapped[dict[str, Any] | None] = mapped_column()


class TrainingRecord(Base):
    __tablename__ = "training_records"
    id: Mapped[int] = mapped_column(primary_key=True)
    mentor_id: Mapped[str] = mapped_column(ForeignKey("mentors.mentor_id"), index=True)
    course: Mapped[str] = mapped_column(String(255))
    qualification: Mapped[str | None] = mapped_column(String(255))
    started_on: Mapped[date] = mapped_column(Date)
    completed_on: Mapped[date | None] = mapped_column(Date)
    reimbursed_sessions: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Participant(Base):
    """A mentor or mentee who signs in: a ``users`` row of their kind's role (no password),
    tied to their record. A person has at most one."""

    __tablename__ = "participants"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(8))  # mentor | mentee
    person_id: Mapped[str] = mapped_column(ID)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (
        CheckConstraint("kind IN ('mentor', 'mentee')", name="ck_participants_kind"),
        UniqueConstraint("kind", "person_id", name="uq_participants_person"),
    )


class SignInLink(Base):
    """A one-time sign-in link sent by e-mail; only its hash is kept."""

    __tablename__ = "sign_in_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


SURVEY_RATINGS = ("overall", "fit", "usefulness")


class Survey(Base):
    """One side's feedback on a match at one stage (after the first meeting, at the end):
    created unanswered, answered once."""

    __tablename__ = "surveys"
    id: Mapped[int] = mapped_column(primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id"), index=True)
    side: Mapped[str] = mapped_column(String(8))  # mentor | mentee
    stage: Mapped[str] = mapped_column(String(16))  # first_meeting | end
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)
    overall: Mapped[int | None] = mapped_column(Integer)
    fit: Mapped[int | None] = mapped_column(Integer)
    usefulness: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint("side IN ('mentor', 'mentee')", name="ck_surveys_side"),
        CheckConstraint("stage IN ('first_meeting', 'end')", name="ck_surveys_stage"),
        CheckConstraint(
            "answered_at IS NULL OR (overall IS NOT NULL AND fit IS NOT NULL "
            "AND usefulness IS NOT NULL)",
            name="ck_surveys_answered",
        ),
        *(
            CheckConstraint(
                f"{name} IS NULL OR ({name} >= 1 AND {name} <= 5)", name=f"ck_surveys_{name}"
            )
            for name in SURVEY_RATINGS
        ),
        UniqueConstraint("match_id", "side", "stage", name="uq_surveys_match_side_stage"),
    )


class ReturnReminder(Base):
    """The month-end reminder a mentor was sent for a month: the key makes it once."""

    __tablename__ = "return_reminders"
    mentor_id: Mapped[str] = mapped_column(ForeignKey("mentors.mentor_id"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM
    queued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class MailTemplate(Base):
    """The scheme's own wording of one kind of mail (``service.mail_templates``)."""

    __tablename__ = "mail_templates"
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Plan(Base):
    """An analyst's plan on a round (``service.plans``): recruitment or a comparison of
    settings, run as a job; its answer holds ids and figures only."""

    __tablename__ = "plans"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # recruit | compare
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    params: Mapped[dict[str, Any]] = mapped_column()
    job_id: Mapped[str] = mapped_column(String(36), unique=True)
    result: Mapped[dict[str, Any] | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    __table_args__ = (CheckConstraint("kind IN ('recruit', 'compare')", name="ck_plans_kind"),)
