"""Users, roles, passwords and API tokens.

Passwords are hashed with Argon2 (argon2-cffi). API tokens are 256-bit random strings, so a
plain SHA-256 of each is enough to store them safely: only the hash is kept.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from service.db import utcnow
from service.models import ApiToken, User

ROLES = ("admin", "matcher", "organiser", "analyst")
# Who may do what, for the API and the pages alike (the README's roles table).
STAFF = frozenset({"admin", "matcher"})
PEOPLE_READERS = frozenset({"admin", "matcher", "organiser"})
ROUND_READERS = frozenset(ROLES)
REPORT_READERS = frozenset({"admin", "matcher", "analyst"})
ADMINS = frozenset({"admin"})
ORGANISERS = frozenset({"admin", "organiser"})
EVENT_READERS = frozenset({"admin", "organiser", "matcher"})
TOKEN_DAYS = 90  # an API token's life unless asked otherwise
TOKEN_TOUCH = timedelta(minutes=5)
USER_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_hasher = PasswordHasher()


class UserError(ValueError):
    """A user cannot be created as asked (bad name or role, name taken)."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(session: Session, name: str, role: str, password: str | None) -> User:
    if not USER_NAME.match(name):
        raise UserError(f"user name {name!r} must be 1-64 letters, digits or _ . @ -")
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise UserError(f"a user named {name!r} already exists")
    user = User(name=name, role=role, password_hash=hash_password(password) if password else None)
    session.add(user)
    session.flush()
    return user


def issue_token(session: Session, user: User, days: float = TOKEN_DAYS, label: str = "") -> str:
    """A new API token for ``user``; returned once, stored only as its hash."""
    token = secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            user_id=user.id,
            token_hash=token_hash(token),
            label=label,
            expires_at=utcnow() + timedelta(days=days),
        )
    )
    session.flush()
    return token


def current_token(session: Session, token: str) -> tuple[ApiToken, User] | None:
    """The token and its user, if the token is current (not expired or revoked) and the user
    enabled. Reads only: see ``token_used`` for keeping ``last_used_at``."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    user = session.get(User, row.user_id)
    return None if user is None or user.disabled else (row, user)


def token_used(session: Session | sessionmaker[Session], row: ApiToken) -> None:
    """Keep the token's ``last_used_at`` to within ``TOKEN_TOUCH``.

    ``session``: the request's own (writing) session, where the change commits with the
    request's work; or a session factory, for a request that only reads: one small write in
    a transaction of its own, at most once per interval, so that reads stay reads.
    """
    now = utcnow()
    if row.last_used_at is not None and now - row.last_used_at < TOKEN_TOUCH:
        return
    if isinstance(session, Session):
        row.last_used_at = now
        return
    with session() as own, own.begin():
        own.execute(
            update(ApiToken)
            .where(ApiToken.id == row.id)
            .where(or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - TOKEN_TOUCH))
            .values(last_used_at=now)
        )


def user_for_password(session: Session, name: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        # Spend the same time as a real check so a wrong name cannot be told from a wrong password.
        password_matches(_DUMMY_HASH, password)
        return None
    return user if password_matches(user.password_hash, password) else None


_DUMMY_HASH = _hasher.hash(secrets.token_hex(8))
