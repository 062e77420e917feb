"""Where the service's e-mail goes: ``MATCHER_SMTP_URL`` read into an address, and a
connection to it (standard library ``smtplib``)."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


@dataclass(frozen=True)
class SmtpServer:
    """Where mail goes, read from ``MATCHER_SMTP_URL``:
    ``smtp://host:25``, ``smtp+starttls://user:password@host:587`` or ``smtps://host:465``."""

    scheme: str
    host: str
    port: int
    user: str | None
    password: str | None = field(repr=False)

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise ValueError(
                "MATCHER_SMTP_URL must look like smtp://host:25, smtp+starttls://user:password@"
                "host:587 or smtps://host:465"
            )
        return cls(
            parts.scheme,
            parts.hostname,
            parts.port or SCHEMES[parts.scheme],
            unquote(parts.username) if parts.username else None,
            unquote(parts.password) if parts.password else None,
        )

    def connect(self, timeout: float = 30.0) -> smtplib.SMTP:
        if self.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=timeout)
            if self.scheme == "smtp+starttls":
                client.starttls(context=ssl.create_default_context())
        if self.user:
            client.login(self.user, self.password or "")
        return client
