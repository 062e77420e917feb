"""Sign in with a password to get an API token; see who you are."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from service import audit
from service.api.deps import DB, CurrentUser
from service.auth import issue_token, user_for_password
from service.errors import ServiceError

router = APIRouter(tags=["auth"])


class Unauthorised(ServiceError):
    status_code = 401


class SignIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


@router.post("/auth/token")
def sign_in(body: SignIn, db: DB) -> dict[str, Any]:
    """Exchange a user name and password for a new API token (shown once)."""
    user = user_for_password(db, body.username, body.password)
    if user is None:
        raise Unauthorised("wrong user name or password")
    token = issue_token(db, user)
    audit.record(db, user, "auth.token", "user", user.id)
    db.commit()
    return {"token": token, "token_type": "bearer", "user": user.name, "role": user.role}


@router.get("/api/me")
def me(user: CurrentUser) -> dict[str, Any]:
    """The signed-in user and role."""
    return {"id": user.id, "name": user.name, "role": user.role}
