"""Browser sessions: a random cookie token (stored hashed) with its own CSRF token."""

from __future__ import annotations

import base64
import hmac
import secrets
from datetime import timedelta

from fastapi import Response
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


def mask(token: str) -> str:
    """The token as a page carries it: XOR-ed with a fresh random pad each time. Pages are
    compressed, and a secret repeated in every page beside text a visitor can make the page
    echo (a search box) could be read from the compressed sizes (BREACH); masked, it never
    repeats."""
    raw = token.encode()
    pad = secrets.token_bytes(len(raw))
    return base64.urlsafe_b64encode(
        pad + bytes(a ^ b for a, b in zip(raw, pad, strict=True))
    ).decode()


def same_masked(expected: str | None, given: str | None) -> bool:
    """Whether ``given``, a masked token from a form, is ``expected``."""
    try:
        data = base64.urlsafe_b64decode((given or "").encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return False
    half = len(data) // 2
    if not half or len(data) % 2:
        return False
    pad, hidden = data[:half], data[half:]
    token = bytes(a ^ b for a, b in zip(hidden, pad, strict=True))
    return bool(expected) and hmac.compare_digest((expected or "").encode(), token)


def set_cookie(response: Response, token: str, hours: float, secure: bool) -> None:
    """The signed-in session's cookie on ``response`` (a password's sign-in or a link's)."""
    response.set_cookie(
        COOKIE, token, max_age=int(hours * 3600), httponly=True, samesite="lax", secure=secure
    )
    response.delete_cookie(LOGIN_COOKIE)


def set_form_cookie(
    response: Response,
    token: str,
    secure: bool,
    *,
    name: str = LOGIN_COOKIE,
    hours: float = 1.0,
    path: str = "/",
) -> None:
    """The double-submit token of a form shown before any session (sign-in, the public
    application form): the form carries it masked, the cookie plain."""
    response.set_cookie(
        name,
        token,
        max_age=int(hours * 3600),
        path=path,
        httponly=True,
        samesite="strict",
        secure=secure,
    )
