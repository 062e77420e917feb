"""Service settings, read from the environment (``DATABASE_URL``, ``MATCHER_*``)."""

from __future__ import annotations

import os
from dataclasses import replace
from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from matcher.limits import DEFAULT_LIMITS, ReadLimits
from service.smtp_address import SmtpServer


class ServiceSettings(BaseSettings):
    """Everything the service reads from its environment, with the scheme's defaults."""

    # A refused value is not echoed back: MATCHER_SMTP_URL can carry a password.
    model_config = SettingsConfigDict(
        env_prefix="MATCHER_", extra="ignore", hide_input_in_errors=True
    )

    database_url: str = Field(
        default="sqlite:///scheme.db",
        validation_alias=AliasChoices("DATABASE_URL", "MATCHER_DATABASE_URL"),
    )
    max_upload_bytes: int = Field(default=5_000_000, gt=0)
    # A spreadsheet's rows and, for a workbook, its unpacked size (zip bombs): see matcher.limits.
    max_import_rows: int = Field(default=DEFAULT_LIMITS.max_rows, gt=0)
    max_unpacked_bytes: int = Field(default=DEFAULT_LIMITS.max_unpacked_bytes, gt=0)
    # A CSV of postcode -> latitude, longitude (e.g. an ONS Postcode Directory extract) on
    # this server: how a `postcode` column becomes a distance in every round.
    postcode_lookup: str = ""
    # Reimbursement (guidance section 4): £289 a session, one session a week, a yearly cap.
    session_rate_gbp: float = Field(default=289.0, gt=0)
    annual_session_cap: int = Field(default=35, ge=0)
    training_sessions_max: int = Field(default=4, ge=0)
    financial_year_start_month: int = Field(default=4, ge=1, le=12)
    # Eligibility: the local scheme's minimum years since CCT (the guidance leaves it local).
    min_years_post_cct: float = Field(default=5.0, ge=0)
    default_time_limit: float = Field(default=30.0, gt=0, le=3600)
    # Fair use: the longest time limit a round may ask for (a round asking more is refused,
    # and one stored with more is run with this).
    max_time_limit: float = Field(default=3600.0, gt=0, le=3600)
    # Queue workers inside each `matcher serve` process (0, or `--no-worker`: this process
    # queues jobs and serves pages, and `matcher worker` processes run the jobs).
    job_workers: int = Field(default=1, ge=0, le=32)
    # A worker's running job is taken from it this long after it stops renewing its lease
    # (killed, machine gone), then queued again while it has retries left, else failed.
    job_lease_seconds: float = Field(default=30.0, ge=2, le=600)
    job_retries: int = Field(default=1, ge=0, le=5)
    # E-mail (service.outbox): smtp://host:25, smtp+starttls://user:password@host:587 or
    # smtps://host:465; empty, mail waits in the outbox to be downloaded. Sent by the
    # processes that run jobs, every mail_interval_seconds.
    smtp_url: str = ""
    mail_from: str = "matching@localhost"
    mail_interval_seconds: float = Field(default=10.0, ge=0.2, le=3600)
    # Month-end reminders to mentors who owe a monthly return (service/return_reminders.py),
    # queued by the processes that run jobs.
    return_reminders: bool = True
    # The address people reach the service at, for the links in its mails (sign-in, surveys,
    # returns): https://mentoring.example.org behind a proxy.
    public_url: str = Field(
        default="http://127.0.0.1:8000", pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$"
    )
    # Logs: text (one readable line per event) or json (one object per line, for a collector).
    log_format: Literal["text", "json"] = "text"
    # Web sessions: set MATCHER_SECURE_COOKIES=true when the service is behind HTTPS.
    secure_cookies: bool = False
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    # API tokens: their life unless a shorter one is asked for (service/api/tokens.py).
    token_days: int = Field(default=90, ge=1, le=3650)
    # Failed sign-ins allowed per account name and per client address within the window;
    # then answers are 429 until the window has room (service/sign_in_guard.py).
    sign_in_failures_per_account: int = Field(default=5, ge=1)
    sign_in_failures_per_address: int = Field(default=30, ge=1)
    sign_in_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # Applications through the public form (/apply) accepted from one client address an hour.
    applications_per_address_per_hour: int = Field(default=5, ge=1)
    # Mentors and mentees sign in with a one-time link by e-mail (service/sign_in_links.py):
    # its life, and the links one address, or one client, may ask for within the window.
    sign_in_link_minutes: int = Field(default=30, ge=5, le=24 * 60)
    sign_in_links_per_email: int = Field(default=3, ge=1)
    sign_in_links_per_address: int = Field(default=20, ge=1)
    # Where the counts live: memory:// (this process) or e.g. redis://127.0.0.1:6379/0,
    # shared by every process of the service.
    rate_limit_storage: str = "memory://"
    # Password hashes checked at once (Argon2: ~0.2 s of one core and 64 MB each). Half the
    # cores: a flood of sign-ins leaves the other half to everyone else.
    password_checks: int = Field(default_factory=lambda: max(1, (os.cpu_count() or 2) // 2), ge=1)

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url_readable(cls, url: str) -> str:
        if url:
            SmtpServer.from_url(url)  # its ValueError names the setting and the forms
        return url

    @property
    def read_limits(self) -> ReadLimits:
        return replace(
            DEFAULT_LIMITS,
            max_rows=self.max_import_rows,
            max_unpacked_bytes=self.max_unpacked_bytes,
        )


@lru_cache
def get_settings() -> ServiceSettings:
    return ServiceSettings()
