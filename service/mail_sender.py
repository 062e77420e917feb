"""The mail loop of the processes that run jobs: a thread that sends the outbox
(``service.outbox``) every ``MATCHER_MAIL_INTERVAL_SECONDS`` when SMTP is configured, and
queues the month-end return reminders (``service.return_reminders``) when they are due,
whether or not SMTP is configured (without it they wait in the outbox to be downloaded)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from service.config import ServiceSettings
from service.outbox import MailSetup, SmtpServer, deliver_due
from service.return_reminders import remind_if_due

log = logging.getLogger(__name__)
REMINDERS_EVERY = 3600.0  # seconds between looks for due reminders (the first at start)


class MailSender:
    """The mail loop's thread; ``stop`` ends it after the send in hand."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        server: SmtpServer | None,
        setup: MailSetup,
        interval: float,
        today: Callable[[], date] = date.today,
    ):
        self._sessions, self._server, self._setup = sessions, server, setup
        self._today = today
        self._interval = interval
        self.reminders = True
        self._next_reminders = 0.0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mail-sender", daemon=True)

    @classmethod
    def from_settings(
        cls, settings: ServiceSettings, sessions: sessionmaker[Session]
    ) -> MailSender:
        """The loop, sending over ``MATCHER_SMTP_URL`` when it is set (ValueError, naming the
        setting, when it cannot be read)."""
        server = SmtpServer.from_url(settings.smtp_url) if settings.smtp_url else None
        sender = cls(
            sessions, server, MailSetup.from_settings(settings), settings.mail_interval_seconds
        )
        sender.reminders = settings.return_reminders
        return sender

    def start(self) -> MailSender:
        self._thread.start()
        return self

    def _run(self) -> None:
        while True:
            self._once()
            if self._stopping.wait(self._interval):
                return

    def _once(self) -> None:
        try:
            if self.reminders and time.monotonic() >= self._next_reminders:
                self._next_reminders = time.monotonic() + REMINDERS_EVERY
                remind_if_due(self._sessions, self._setup, self._today())
            if self._server is not None:
                deliver_due(self._sessions, self._server, self._setup.sender)
        except Exception as exc:  # the database may be away a moment: next time
            log.warning("mail loop: %s", type(exc).__name__)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(60)
