"""What staff see of the outbox: filtered pages of mails, counts by status, one mail as
shown (a sign-in link's text withheld), a failed mail tried again, and the downloads for
sending by hand without SMTP (.eml files in a zip, one mail-merge CSV) with a way to mark
what was downloaded as sent, so that it is not sent twice once SMTP is configured."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select, update
from sqlalchemy.orm import Session

from matcher.safe_write import safe_cell
from service import audit
from service.db import utcnow
from service.errors import Conflict, NotFound
from service.models import OutboxMail, User
from service.outbox import build_message
from service.search import like_pattern

STATUSES = ("queued", "sent", "failed")
# Mails whose text is a live credential: never shown on a page or in the API (the .eml and
# CSV downloads keep it: staff without SMTP forward those mails by hand).
SECRET_KINDS = frozenset({"sign_in_link"})
HIDDEN_TEXT = "(a one-time sign-in link: not shown)"
# Queued mails offered for sending by hand at a time (one download, one "mark as sent").
BATCH = 1000
CSV_COLUMNS = ("id", "kind", "about", "recipient", "subject", "body", "attachment_name")


@dataclass(frozen=True)
class OutboxFilter:
    """Which mails: each field set narrows the list. ``search`` finds mails about exactly
    that (e.g. ``match:12``) or to an address holding it; ``up_to`` is the newest id."""

    status: str = ""
    kind: str = ""
    about: str = ""
    search: str = ""
    up_to: int | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.status:
            out.append(OutboxMail.status == self.status)
        if self.kind:
            out.append(OutboxMail.kind == self.kind)
        if self.about:
            out.append(OutboxMail.about == self.about)
        text = self.search.strip()
        if text:
            recipient = func.lower(OutboxMail.recipient).like(like_pattern(text), escape="\\")
            out.append(or_(OutboxMail.about == text, recipient))
        if self.up_to is not None:
            out.append(OutboxMail.id <= self.up_to)
        return out


def query(found: OutboxFilter) -> Select[OutboxMail]:
    """The mails ``found`` selects, newest first."""
    return select(OutboxMail).where(*found.conditions()).order_by(OutboxMail.id.desc())


def count(session: Session, found: OutboxFilter) -> int:
    return session.scalar(select(func.count(OutboxMail.id)).where(*found.conditions())) or 0


def page(session: Session, found: OutboxFilter, start: int, size: int) -> list[OutboxMail]:
    return list(session.scalars(query(found).offset(start).limit(size)))


def counts(session: Session) -> dict[str, int]:
    """Mails by status, every status present (0 where there are none)."""
    rows = session.execute(select(OutboxMail.status, func.count()).group_by(OutboxMail.status))
    found = {status: int(n) for status, n in rows}
    return {status: found.get(status, 0) for status in STATUSES}


def kinds(session: Session) -> list[str]:
    """The kinds of mail in the outbox, for a page's filter."""
    return list(session.scalars(select(OutboxMail.kind).distinct().order_by(OutboxMail.kind)))


def get_mail(session: Session, mail_id: int) -> OutboxMail:
    mail = session.get(OutboxMail, mail_id)
    if mail is None:
        raise NotFound(f"no mail {mail_id} in the outbox")
    return mail


def hidden(mail: OutboxMail) -> bool:
    """True when the mail's text may not be shown (a one-time sign-in link)."""
    return mail.kind in SECRET_KINDS


def shown_body(mail: OutboxMail) -> str:
    return HIDDEN_TEXT if hidden(mail) else mail.body


def retry(session: Session, user: User, mail_id: int) -> OutboxMail:
    """Queue a failed mail again with its tries counted afresh (the caller commits), audited
    ``outbox.retry``; Conflict if it is not failed (any more)."""
    mail = get_mail(session, mail_id)
    again = session.execute(
        update(OutboxMail)
        .where(OutboxMail.id == mail_id, OutboxMail.status == "failed")
        .values(status="queued", attempts=0, next_attempt_at=utcnow())
    )
    if not again.rowcount:  # type: ignore[attr-defined]
        session.refresh(mail)
        raise Conflict(f"mail {mail_id} is {mail.status}: only a failed mail can be tried again")
    audit.record(session, user, "outbox.retry", "outbox", mail_id)
    session.refresh(mail)
    return mail


def batch(session: Session) -> list[int]:
    """The ids of the oldest ``BATCH`` queued mails: what a page offers to send by hand."""
    return list(
        session.scalars(
            select(OutboxMail.id)
            .where(OutboxMail.status == "queued")
            .order_by(OutboxMail.id)
            .limit(BATCH)
        )
    )


def mark_sent_by_hand(session: Session, user: User, ids: Sequence[int]) -> list[int]:
    """Mark those of ``ids`` still queued as sent (the caller commits), audited
    ``outbox.sent_by_hand`` with the count; the ids marked."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    now = utcnow()
    marked = list(
        session.scalars(
            update(OutboxMail)
            .where(OutboxMail.id.in_(wanted), OutboxMail.status == "queued")
            .values(status="sent", sent_at=now, last_error=None)
            .returning(OutboxMail.id)
        )
    )
    marked.sort()
    if marked:
        audit.record(
            session, user, "outbox.sent_by_hand", "outbox", None, mails=len(marked), ids=marked
        )
    return marked


def _downloadable(session: Session, status: str, up_to: int | None) -> list[OutboxMail]:
    found = OutboxFilter(status=status, up_to=up_to)
    return list(
        session.scalars(select(OutboxMail).where(*found.conditions()).order_by(OutboxMail.id))
    )


def eml_zip(
    session: Session, sender: str, status: str = "queued", up_to: int | None = None
) -> bytes:
    """The mails of ``status`` (up to id ``up_to``) as a zip of .eml files, oldest first,
    named as ``service.outbox.eml_archive`` names them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for mail in _downloadable(session, status, up_to):
            archive.writestr(f"mail-{mail.id:06d}.eml", build_message(mail, sender).as_bytes())
    return buffer.getvalue()


def mail_merge_csv(session: Session, up_to: int | None = None) -> bytes:
    """The queued mails (up to id ``up_to``) as one CSV for a mail merge, a row a mail:
    UTF-8 with a byte-order mark (Excel reads it as UTF-8), formula cells neutralised."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for mail in _downloadable(session, "queued", up_to):
        writer.writerow([safe_cell(value) for value in _csv_row(mail)])
    return out.getvalue().encode("utf-8-sig")


def _csv_row(mail: OutboxMail) -> tuple[Any, ...]:
    return (
        mail.id,
        mail.kind,
        mail.about,
        mail.recipient,
        mail.subject,
        mail.body,
        mail.attachment_name or "",
    )


def attachment_type(name: str) -> str:
    """The media type of an attachment the service makes (a calendar invitation or text)."""
    return "text/calendar; charset=utf-8" if name.endswith(".ics") else "text/plain; charset=utf-8"


def safe_file_name(name: str) -> str:
    """A name for a Content-Disposition header: letters, digits, dot, dash and underscore."""
    kept = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "_" for ch in name)
    return kept.lstrip(".") or "attachment"
