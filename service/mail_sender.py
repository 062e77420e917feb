"""Sends the outbox (``service.outbox``) from the processes that run jobs: a thread that
looks every ``MATCHER_MAIL_INTERVAL_SECONDS`` for mail that is due."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from service.config import ServiceSettings
from service.outbox import SmtpServer, deliver_due

log = logging.getLogger(__name__)


class MailSender:
    """The outbox's sender thread; ``stop`` ends it after the send in hand."""

    def __init__(
        self, sessions: sessionmaker[Session], server: SmtpServer, sender: str, interval: float
    ):
        self._sessions, self._server, self._sender = sessions, server, sender
        self._interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mail-sender", daemon=True)

    @classmethod
    def from_settings(
        cls, settings: ServiceSettings, sessions: sessionmaker[Session]
    ) -> MailSender | None:
        """A sender when ``MATCHER_SMTP_URL`` is set (ValueError, naming the setting, when it
        cannot be read); None without it: mail waits in the outbox to be downloaded."""
        if not settings.smtp_url:
            return None
        server = SmtpServer.from_url(settings.smtp_url)
        return cls(sessions, server, settings.mail_from, settings.mail_interval_seconds)

    def start(self) -> MailSender:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                deliver_due(self._sessions, self._server, self._sender)
            except Exception as exc:  # the database may be away a moment: next time
                log.warning("sending the outbox: %s", type(exc).__name__)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(60)
