"""Browser sessions: a random cookie token (stored hashed) with its own CSRF token."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service.auth import token_hash
from service.db import utcnow
from service.models import User, WebSession

COOKIE = "matcher_session"
LOGIN_COOKIE = "matcher_login_csrf"


def start(session: Session, user: User, hours: float) -> str:
    """A new signed-in session for ``user``; returns the cookie value (shown once)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    session.add(
        WebSession(
            token_hash=token_hash(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            expires_at=now + timedelta(hours=hours),
        )
    )
    session.flush()
    return token


def find(session: Session, token: str | None) -> tuple[User, WebSession] | None:
    if not token:
        return None
    row = session.scalar(select(WebSession).where(WebSession.token_hash == token_hash(token)))
    if row is None or row.expires_at < utcnow():
        return None
    user = session.get(User, row.user_id)
    return None if user is None or user.disabled else (user, row)


def end(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(WebSession).where(WebSession.token_hash == token_hash(token)))


def same_token(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))
