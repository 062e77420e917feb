"""The outbox: e-mails kept in the database until the mail server takes them.

A request that sends mail only adds rows (``queue_mail``), in its own transaction, so it
never waits on the mail server and a server that is down loses nothing. ``deliver_due``
sends what is due over SMTP (``MATCHER_SMTP_URL``), each row claimed first by a conditional
update that holds it for ``HOLD`` (two processes never send one mail twice), and tries a
failed one again after a growing pause, up to ``MOST_TRIES``. Without SMTP configured, staff
download what is queued (``eml_archive``: one .eml file per mail, in a zip).
"""

from __future__ import annotations

import io
import logging
import smtplib
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from service.config import ServiceSettings
from service.db import transaction, utcnow
from service.models import OutboxMail
from service.smtp_address import SmtpServer

log = logging.getLogger(__name__)
MOST_TRIES = 5
# The pause before each next try: a mail server down for an hour loses nothing.
PAUSES = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))
HOLD = timedelta(minutes=2)  # a claimed row's hold: longer than one send takes


@dataclass(frozen=True)
class MailSetup:
    """Who mails are from, and the service's public address for the links in them."""

    sender: str
    site: str

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> MailSetup:
        return cls(settings.mail_from, settings.public_url.rstrip("/"))

    def link(self, path: str) -> str:
        return f"{self.site}{path}"


def queue_mail(
    session: Session,
    *,
    kind: str,
    recipient: str,
    subject: str,
    body: str,
    about: str = "",
    attachment: tuple[str, str] | None = None,
) -> OutboxMail:
    """Add a mail to the outbox (the caller commits); ``attachment``: (file name, text)."""
    mail = OutboxMail(
        kind=kind,
        about=about,
        recipient=recipient,
        subject=subject,
        body=body,
        attachment_name=attachment[0] if attachment else None,
        attachment=attachment[1] if attachment else None,
        status="queued",
        attempts=0,
        next_attempt_at=utcnow(),
    )
    session.add(mail)
    session.flush()
    return mail


def build_message(mail: OutboxMail, sender: str) -> EmailMessage:
    """The mail as sent: plain text, with its attachment (an .ics as a calendar invitation)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring=f"outbox-{mail.id}")
    message.set_content(mail.body)
    if mail.attachment is not None and mail.attachment_name:
        calendar = mail.attachment_name.endswith(".ics")
        message.add_attachment(
            mail.attachment,
            subtype="calendar" if calendar else "plain",
            filename=mail.attachment_name,
            params={"method": "REQUEST"} if calendar else {},
        )
    return message


def deliver_due(
    sessions: sessionmaker[Session], server: SmtpServer, sender: str, limit: int = 100
) -> tuple[int, int]:
    """Send the mails that are due, over one connection; (sent, failed tries)."""
    claimed = _claim_due(sessions, limit)
    if not claimed:
        return 0, 0
    sent = tried = 0
    try:
        client = server.connect()
    except (OSError, smtplib.SMTPException) as exc:
        for mail in claimed:
            _record_failure(sessions, mail, exc)
        log.warning(
            "mail server not reached: %s (%d mail(s) wait)", type(exc).__name__, len(claimed)
        )
        return 0, len(claimed)
    with client:
        for mail in claimed:
            try:
                client.send_message(build_message(mail, sender))
            except (OSError, smtplib.SMTPException) as exc:
                _record_failure(sessions, mail, exc)
                tried += 1
                continue
            with transaction(sessions) as session:
                session.execute(
                    update(OutboxMail)
                    .where(OutboxMail.id == mail.id)
                    .values(status="sent", sent_at=utcnow(), last_error=None)
                )
            sent += 1
    if sent or tried:
        log.info("outbox: %d sent, %d to try again", sent, tried)
    return sent, tried


def _claim_due(sessions: sessionmaker[Session], limit: int) -> list[OutboxMail]:
    """The due rows, each held for ``HOLD`` by a conditional update this process won."""
    now = utcnow()
    with transaction(sessions) as session:
        due = session.scalars(
            select(OutboxMail.id)
            .where(OutboxMail.status == "queued", OutboxMail.next_attempt_at <= now)
            .order_by(OutboxMail.id)
            .limit(limit)
        ).all()
    claimed = []
    for mail_id in due:
        with transaction(sessions) as session:
            won = session.execute(
                update(OutboxMail)
                .where(
                    OutboxMail.id == mail_id,
                    OutboxMail.status == "queued",
                    OutboxMail.next_attempt_at <= now,
                )
                .values(next_attempt_at=now + HOLD, attempts=OutboxMail.attempts + 1)
            )
            if won.rowcount:  # type: ignore[attr-defined]
                claimed.append(session.get_one(OutboxMail, mail_id))
    return claimed


def _record_failure(sessions: sessionmaker[Session], mail: OutboxMail, exc: Exception) -> None:
    """Try again after the next pause, or fail the mail after its last try; the error is
    kept on the row for staff (the log has the mail's id only)."""
    error = f"{type(exc).__name__}: {exc}"[:1000]
    spent = mail.attempts >= MOST_TRIES
    pause = PAUSES[min(mail.attempts, len(PAUSES)) - 1]
    with transaction(sessions) as session:
        session.execute(
            update(OutboxMail)
            .where(OutboxMail.id == mail.id, OutboxMail.status == "queued")
            .values(
                status="failed" if spent else "queued",
                last_error=error,
                next_attempt_at=utcnow() + pause,
            )
        )
    log.warning("mail %d not sent (try %d): %s", mail.id, mail.attempts, type(exc).__name__)


def eml_archive(session: Session, sender: str) -> bytes:
    """The queued mails as a zip of .eml files (for a scheme without SMTP configured)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for mail in session.scalars(
            select(OutboxMail).where(OutboxMail.status == "queued").order_by(OutboxMail.id)
        ):
            archive.writestr(f"mail-{mail.id:06d}.eml", build_message(mail, sender).as_bytes())
    return buffer.getvalue()
