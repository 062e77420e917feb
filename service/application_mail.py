"""The mails an applicant gets: one when an online application arrives, one with the decision.

Both are queued in the caller's transaction (``service.outbox.queue_mail``), in the scheme's
wording (``service.mail_templates``), marked ``about="application:<id>"`` so the
application's page lists them. An application without an e-mail address gets none.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.mail_templates import compose
from service.models import Application, OutboxMail
from service.outbox import queue_mail

MAX_RECIPIENT = 254  # RFC 5321's longest address, as the outbox keeps it


def reference(application: Application) -> str:
    """How the applicant and staff name an application: A-42."""
    return f"A-{application.id}"


def about(application: Application) -> str:
    return f"application:{application.id}"


def received(session: Session, application: Application) -> OutboxMail | None:
    """Queue "we have your application", with its reference."""
    context = {"name": application.applicant_name, "reference": reference(application)}
    return _queue(session, application, "application_received", context)


def decided(session: Session, application: Application) -> OutboxMail | None:
    """Queue the decision, with the reason staff gave (the applicant reads it)."""
    context = {
        "name": application.applicant_name,
        "reference": reference(application),
        "approved": application.decision == "approved",
        "reason": application.decision_reason or "",
    }
    return _queue(session, application, "application_decision", context)


def sent_about(session: Session, application: Application) -> list[OutboxMail]:
    """The mails about the application, oldest first (queued, sent or failed)."""
    query = select(OutboxMail).where(OutboxMail.about == about(application))
    return list(session.scalars(query.order_by(OutboxMail.id)))


def _queue(
    session: Session, application: Application, kind: str, context: Mapping[str, object]
) -> OutboxMail | None:
    if not application.email or len(application.email) > MAX_RECIPIENT:
        return None  # no address, or one no mail can go to (stored before it was refused)
    subject, body = compose(session, kind, context)
    return queue_mail(
        session,
        kind=kind,
        recipient=application.email,
        subject=subject,
        body=body,
        about=about(application),
    )
