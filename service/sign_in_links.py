"""One-time sign-in links for mentors and mentees: no password to forget.

A person types their e-mail address; every mentor or mentee record with that address gets a
link by e-mail (through the outbox), and the answer is the same whether or not any record
has it, so the form does not tell who is on the register. Only a hash of each link's token is
kept. A link is used by a conditional update (``used_at`` still empty, not expired), so it
signs in once however many times it is followed; asking for links is rate-limited per
address typed and per client (``SignInGuard`` in its own namespace).
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from service import audit
from service.auth import token_hash
from service.config import ServiceSettings
from service.db import utcnow
from service.mail_templates import compose
from service.models import SignInLink, User
from service.outbox import MailSetup, queue_mail
from service.participants import participant_user, people_with_email
from service.sign_in_guard import SignInGuard

NAMESPACE = "matcher-sign-in-links"
LINK_PATH = "/me/link"


def link_guard(settings: ServiceSettings) -> SignInGuard:
    """Counts link requests per address typed and per client, within the sign-in window."""
    return SignInGuard(
        settings.rate_limit_storage,
        settings.sign_in_links_per_email,
        settings.sign_in_links_per_address,
        settings.sign_in_window_minutes,
        namespace=NAMESPACE,
    )


def send_links(session: Session, email: str, setup: MailSetup, minutes: int) -> int:
    """Queue a sign-in link to each record with ``email`` (the caller commits); how many."""
    sent = 0
    for person in people_with_email(session, email):
        user = participant_user(session, person.kind, person.person_id)
        if user.disabled:
            continue
        token = secrets.token_urlsafe(32)
        link = SignInLink(
            token_hash=token_hash(token),
            user_id=user.id,
            expires_at=utcnow() + timedelta(minutes=minutes),
        )
        session.add(link)
        session.flush()
        subject, body = compose(
            session,
            "sign_in_link",
            {
                "name": person.name,
                "link": setup.link(f"{LINK_PATH}?token={token}"),
                "minutes": str(minutes),
            },
        )
        queue_mail(
            session,
            kind="sign_in_link",
            recipient=person.email,
            subject=subject,
            body=body,
            about=f"user:{user.id}",
        )
        audit.record(session, None, "participants.link_sent", "user", user.id, link_id=link.id)
        sent += 1
    return sent


def use_link(session: Session, token: str) -> User | None:
    """The user the link signs in, once: None if it is unknown, used, expired, or its user
    disabled. The caller commits (the link is spent with the session it starts)."""
    now = utcnow()
    hashed = token_hash(token)
    spent = cast(
        CursorResult[Any],
        session.execute(
            update(SignInLink)
            .where(
                SignInLink.token_hash == hashed,
                SignInLink.used_at.is_(None),
                SignInLink.expires_at > now,
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        ),
    )
    if spent.rowcount != 1:
        return None
    user_id = session.scalar(select(SignInLink.user_id).where(SignInLink.token_hash == hashed))
    user = session.get(User, user_id) if user_id is not None else None
    return None if user is None or user.disabled else user
