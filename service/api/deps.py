"""Dependencies shared by every route: the database session, the signed-in user, roles."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from service.auth import current_token, token_used
from service.config import ServiceSettings
from service.models import User
from service.roles import (
    ADMINS,
    EVENT_READERS,
    ORGANISERS,
    PARTICIPANT_ROLES,
    PEOPLE_READERS,
    REPORT_READERS,
    ROUND_READERS,
    STAFF,
)

_bearer = HTTPBearer(auto_error=False, description="An API token from `matcher users add`")


def get_db(request: Request) -> Iterator[Session]:
    """A session per request; handlers commit what they change, anything else rolls back.

    GET and HEAD requests read through ``read_sessions``: on SQLite these do not take the
    write lock, so reads never queue behind a long import or approval.
    """
    state = request.app.state
    factory = state.read_sessions if request.method in ("GET", "HEAD") else state.sessions
    with factory() as session:
        yield session


def get_settings(request: Request) -> ServiceSettings:
    settings: ServiceSettings = request.app.state.settings
    return settings


DB = Annotated[Session, Depends(get_db)]
Settings = Annotated[ServiceSettings, Depends(get_settings)]


def current_user(
    request: Request,
    db: DB,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            401, "sign in: send 'Authorization: Bearer TOKEN'", {"WWW-Authenticate": "Bearer"}
        )
    found = current_token(db, credentials.credentials)
    if found is None:
        raise HTTPException(
            401, "unknown, expired or revoked token", {"WWW-Authenticate": "Bearer"}
        )
    token, user = found
    refuse_participants(user)
    reading = request.method in ("GET", "HEAD")
    token_used(request.app.state.sessions if reading else db, token)
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def refuse_participants(user: User) -> None:
    """Mentors and mentees have their own pages (/me); the API is the staff's."""
    if user.role in PARTICIPANT_ROLES:
        raise HTTPException(403, "the API is for scheme staff: mentors and mentees use /me")


def role_refusal(role: str, allowed: frozenset[str]) -> str:
    return f"the {role} role may not do this (allowed: {', '.join(sorted(allowed))})"


def allow(roles: frozenset[str]) -> Callable[[User], User]:
    """A dependency that lets only ``roles`` through (403 for the others)."""

    def check(user: CurrentUser) -> User:
        if user.role not in roles:
            raise HTTPException(403, role_refusal(user.role, roles))
        return user

    return check


Staff = Annotated[User, Depends(allow(STAFF))]
PeopleReaders = Annotated[User, Depends(allow(PEOPLE_READERS))]
RoundReaders = Annotated[User, Depends(allow(ROUND_READERS))]
ReportReaders = Annotated[User, Depends(allow(REPORT_READERS))]
Admin = Annotated[User, Depends(allow(ADMINS))]
Organisers = Annotated[User, Depends(allow(ORGANISERS))]
EventReaders = Annotated[User, Depends(allow(EVENT_READERS))]
