"""Managing users and their access: roles, disabling, passwords, tokens, sessions.

Used alike by the API, the pages and ``matcher users``; every change is audited in the
caller's transaction. ``actor`` is the signed-in user making the change, or None for the
command line ("system" in the audit log). Passwords arrive here already checked against
the policy and hashed, so no transaction waits for a hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from service import audit
from service.auth import UserError, check_role, new_api_token
from service.db import utcnow
from service.errors import Conflict, Invalid, NotFound
from service.models import ApiToken, AuditEntry, User, WebSession
from service.roles import ROLES

SIGN_INS = ("auth.token", "web.sign_in")
TokenStatus = Literal["current", "expired", "revoked"]


@dataclass(frozen=True)
class UserSummary:
    user: User
    current_tokens: int
    last_sign_in: datetime | None


def get_user(session: Session, user_id: int) -> User:
    """A member of staff; mentors' and mentees' sign-ins are not users to manage here."""
    user = session.get(User, user_id)
    if user is None or user.role not in ROLES:
        raise NotFound(f"no user with id {user_id}")
    return user


def user_named(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name, User.role.in_(ROLES)))
    if user is None:
        raise NotFound(f"no user named {name!r}")
    return user


def summaries(session: Session, limit: int = 1000, offset: int = 0) -> list[UserSummary]:
    """Users by name, each with their current tokens and last sign-in (from the audit log)."""
    users = list(
        session.scalars(
            select(User).where(User.role.in_(ROLES)).order_by(User.name).limit(limit).offset(offset)
        )
    )
    return _summarise(session, users)


def summary(session: Session, user: User) -> UserSummary:
    return _summarise(session, [user])[0]


def _summarise(session: Session, users: list[User]) -> list[UserSummary]:
    ids = [u.id for u in users]
    tokens: dict[int, int] = dict(
        session.execute(
            select(ApiToken.user_id, func.count())
            .where(ApiToken.user_id.in_(ids), ApiToken.revoked_at.is_(None))
            .where(ApiToken.expires_at > utcnow())
            .group_by(ApiToken.user_id)
        ).all()
    )
    signed_in: dict[int | None, datetime] = dict(
        session.execute(
            select(AuditEntry.user_id, func.max(AuditEntry.at))
            .where(AuditEntry.action.in_(SIGN_INS), AuditEntry.user_id.in_(ids))
            .group_by(AuditEntry.user_id)
        ).all()
    )
    return [UserSummary(u, tokens.get(u.id, 0), signed_in.get(u.id)) for u in users]


def end_access(
    session: Session,
    user: User,
    *,
    keep_session: int | None = None,
    keep_token: int | None = None,
    tokens: bool = True,
) -> dict[str, int]:
    """End the user's web sessions and (with ``tokens``) revoke their current API tokens,
    but for the session or token the request itself came with. Returns the counts."""
    sessions_query = delete(WebSession).where(WebSession.user_id == user.id)
    if keep_session is not None:
        sessions_query = sessions_query.where(WebSession.id != keep_session)
    ended = session.execute(sessions_query).rowcount  # type: ignore[attr-defined]
    revoked = 0
    if tokens:
        tokens_query = (
            update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        if keep_token is not None:
            tokens_query = tokens_query.where(ApiToken.id != keep_token)
        revoked = session.execute(tokens_query).rowcount  # type: ignore[attr-defined]
    return {"sessions_ended": int(ended or 0), "tokens_revoked": int(revoked or 0)}


def _keep_an_admin(session: Session, user: User, what: str) -> None:
    """Refuse to leave no enabled admin. The enabled admins' rows are locked (PostgreSQL) so
    two admins demoting each other at once cannot both succeed; SQLite writers queue anyway."""
    admins = session.scalars(
        select(User.id).where(User.role == "admin", User.disabled.is_(False)).with_for_update()
    ).all()
    if user.id in admins and len(admins) == 1:
        raise Conflict(
            f"{user.name} is the only enabled admin: make another user an admin before you {what}"
        )


def set_role(session: Session, actor: User | None, user: User, role: str) -> User:
    try:
        check_role(role)
    except UserError as exc:
        raise Invalid(str(exc)) from None
    if role == user.role:
        return user
    if user.role == "admin":
        _keep_an_admin(session, user, "change their role")
    before, user.role = user.role, role
    audit.record(session, actor, "user.role", "user", user.id, before=before, after=role)
    return user


def set_disabled(session: Session, actor: User | None, user: User, disabled: bool) -> User:
    """Disabling ends every session and token of the user; enabling gives none back."""
    if disabled == user.disabled:
        return user
    counts: dict[str, int] = {}
    if disabled:
        if user.role == "admin":
            _keep_an_admin(session, user, "disable them")
        counts = end_access(session, user)
    user.disabled = disabled
    action = "user.disable" if disabled else "user.enable"
    audit.record(session, actor, action, "user", user.id, **counts)
    return user


def set_password_hash(
    session: Session,
    actor: User | None,
    user: User,
    password_hash: str,
    *,
    keep_session: int | None = None,
    keep_token: int | None = None,
) -> dict[str, int]:
    """A new password (checked and hashed by the caller); every other session and token of
    the user ends, so whoever knew the old password is out."""
    user.password_hash = password_hash
    counts = end_access(session, user, keep_session=keep_session, keep_token=keep_token)
    audit.record(session, actor, "user.password", "user", user.id, **counts)
    return counts


def tokens_of(
    session: Session, user_id: int, *, ended: bool = False, limit: int = 100, offset: int = 0
) -> list[ApiToken]:
    """Newest first; only current ones unless ``ended``."""
    query = select(ApiToken).where(ApiToken.user_id == user_id)
    if not ended:
        query = query.where(ApiToken.revoked_at.is_(None), ApiToken.expires_at > utcnow())
    query = query.order_by(ApiToken.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(query))


def token_status(token: ApiToken) -> TokenStatus:
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if token.expires_at <= utcnow() else "current"


def new_token(
    session: Session, actor: User | None, user: User, days: int, label: str
) -> tuple[ApiToken, str]:
    """A new token for ``user``, and the token itself (shown once)."""
    row, token = new_api_token(session, user, days, label)
    audit.record(session, actor, "token.create", "api_token", row.id, user_id=user.id, days=days)
    return row, token


def revoke_token(session: Session, actor: User | None, token_id: int) -> ApiToken:
    """Revoke one token. A non-admin ``actor`` may revoke only their own; another user's
    token is "not found" to them, so ids do not tell whose tokens exist."""
    row = session.get(ApiToken, token_id)
    everyone = actor is None or actor.role == "admin"
    if row is None or not (everyone or (actor is not None and row.user_id == actor.id)):
        raise NotFound(f"no token with id {token_id}" + ("" if everyone else " of yours"))
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(session, actor, "token.revoke", "api_token", row.id, user_id=row.user_id)
    return row
