"""Users, roles, passwords and API tokens.

Passwords are hashed with Argon2 (argon2-cffi). API tokens are 256-bit random strings, so a
plain SHA-256 of each is enough to store them safely: only the hash is kept. A password is
checked with no database session open (``sign_in.py``): ``account_for_sign_in`` reads what
the check needs, and the caller verifies it afterwards.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from service.db import utcnow
from service.models import ApiToken, User
from service.roles import ROLES

TOKEN_DAYS = 90  # an API token's life unless asked otherwise
TOKEN_TOUCH = timedelta(minutes=5)
USER_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
PASSWORD_MIN = 10
PASSWORD_MAX = 1024
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")
_hasher = PasswordHasher()


class UserError(ValueError):
    """A user cannot be created as asked (bad name, role or password)."""


class NameTaken(UserError):
    """Another user already has the name."""


@cache
def _common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def password_problem(password: str, user_name: str) -> str | None:
    """Why ``password`` may not be used, or None. Length and a block list, no composition
    rules: a long phrase of plain words is a good password."""
    if len(password) < PASSWORD_MIN:
        return f"the password must have at least {PASSWORD_MIN} characters"
    if len(password) > PASSWORD_MAX:
        return f"the password must have at most {PASSWORD_MAX} characters"
    if len(set(password)) == 1:
        return "the password must not be one character repeated"
    if password.lower() == user_name.lower():
        return "the password must not be the user name"
    if password.lower() in _common_passwords():
        return "the password is one of the most common passwords: choose another"
    return None


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


def check_role(role: str) -> None:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")


def create_user(
    session: Session,
    name: str,
    role: str,
    password: str | None,
    *,
    password_hash: str | None = None,
) -> User:
    """A new user. ``password`` is checked against the policy and hashed here; a caller in a
    hurry to close its transaction checks and hashes first and passes ``password_hash``."""
    if not USER_NAME.match(name):
        raise UserError(f"user name {name!r} must be 1-64 letters, digits or _ . @ -")
    check_role(role)
    if password is not None and (problem := password_problem(password, name)):
        raise UserError(problem)
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise NameTaken(f"a user named {name!r} already exists")
    if password is not None:
        password_hash = hash_password(password)
    user = User(name=name, role=role, password_hash=password_hash)
    session.add(user)
    session.flush()
    return user


def issue_token(session: Session, user: User, days: float = TOKEN_DAYS, label: str = "") -> str:
    """A new API token for ``user``; returned once, stored only as its hash."""
    return new_api_token(session, user, days, label)[1]


def new_api_token(
    session: Session, user: User, days: float = TOKEN_DAYS, label: str = ""
) -> tuple[ApiToken, str]:
    """The stored row of a new token, and the token itself (shown once)."""
    token = secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        token_hash=token_hash(token),
        label=label,
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(row)
    session.flush()
    return row, token


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


@dataclass(frozen=True)
class Account:
    """What a password check needs, read in a short session that is closed before hashing."""

    user_id: int | None  # None: no user has the name
    password_hash: str | None = field(repr=False)  # kept out of logs and tracebacks
    disabled: bool = False

    @property
    def hash_to_check(self) -> str:
        # A name with no user (or no password) is checked against a dummy hash: the answer
        # takes as long as for a real account, so names cannot be told apart by timing.
        return self.password_hash or _DUMMY_HASH


def account_for_sign_in(session: Session, name: str) -> Account:
    if not USER_NAME.match(name):
        # No user has such a name; and a NUL byte would not even reach PostgreSQL's parser.
        return Account(None, None, False)
    row = session.execute(
        select(User.id, User.password_hash, User.disabled).where(User.name == name)
    ).first()
    if row is None:
        return Account(None, None, False)
    return Account(row.id, row.password_hash, row.disabled)


_DUMMY_HASH = _hasher.hash(secrets.token_hex(8))
