"""Users, for admins: list, add, change role, disable or enable, set a password; and your own
password.

The routes that hash a password find the caller in a read session that is closed at once,
check and hash with no session open, and then write in a short transaction: a writing
session opened by the usual dependency would hold SQLite's write lock while Argon2 runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy.orm import Session

from service import accounts, audit
from service.api.auth import SignInService, refusal
from service.api.deps import DB, Admin, _bearer, refuse_participants, role_refusal
from service.api.schemas import MAX_INT, SIGNED_IN, Body, PathId, Timestamp, error, errors
from service.auth import (
    PASSWORD_MAX,
    PASSWORD_MIN,
    NameTaken,
    UserError,
    check_role,
    create_user,
    current_token,
    password_problem,
    token_used,
)
from service.errors import Conflict, Invalid
from service.models import User
from service.roles import ADMINS, ROLES
from service.sign_in import TooManyAttempts, WrongPassword, client_address, signed_in_user

router = APIRouter(tags=["users"], responses=SIGNED_IN)
Password = Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX)]
# The schema carries the length; the rest of the policy (no common password, not the user
# name, not one character repeated) is a 422 from the handler.
NewPassword = Annotated[str, Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)]
RoleName = Annotated[str, Field(json_schema_extra={"enum": list(ROLES)})]


class UserPublic(BaseModel):
    id: int
    name: str
    role: str
    disabled: bool
    created_at: Timestamp
    current_tokens: int = Field(description="API tokens neither expired nor revoked")
    last_sign_in: Timestamp | None = Field(description="by password, on the pages or the API")

    @classmethod
    def of(cls, summary: accounts.UserSummary) -> UserPublic:
        user = summary.user
        return cls(
            id=user.id,
            name=user.name,
            role=user.role,
            disabled=user.disabled,
            created_at=user.created_at,
            current_tokens=summary.current_tokens,
            last_sign_in=summary.last_sign_in,
        )


class UserCreate(Body):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")
    role: RoleName
    password: NewPassword


class UserUpdate(Body):
    """Only the fields sent change; at least one must be sent."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"minProperties": 1})

    # Left out, not null: the schema has no null, and a null is refused below.
    role: RoleName | SkipJsonSchema[None] = None
    disabled: bool | SkipJsonSchema[None] = Field(
        default=None, description="true ends every session and token"
    )

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                if value is None:
                    raise ValueError(f"{key} must not be null: leave it out to keep it")
        return data


class PasswordSet(Body):
    model_config = ConfigDict(extra="forbid", strict=True)

    password: NewPassword


class PasswordChange(Body):
    model_config = ConfigDict(extra="forbid", strict=True)

    current_password: Password
    new_password: NewPassword


class AccessEnded(BaseModel):
    """What a new password ended: every other web session and API token of the user."""

    sessions_ended: int
    tokens_revoked: int


@dataclass(frozen=True)
class Caller:
    user: User
    token_id: int


def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """``current_user``'s checks and answers, in a read session closed before the handler
    runs; the last-used time is kept by a small write of its own, as for a GET."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "sign in: send 'Authorization: Bearer TOKEN'", challenge)
    with request.app.state.read_sessions() as db:
        found = current_token(db, credentials.credentials)
    if found is None:
        raise HTTPException(401, "unknown, expired or revoked token", challenge)
    token, user = found
    refuse_participants(user)
    token_used(request.app.state.sessions, token)
    return Caller(user, token.id)


def admin_caller(who: Annotated[Caller, Depends(caller)]) -> Caller:
    if who.user.role not in ADMINS:
        raise HTTPException(403, role_refusal(who.user.role, ADMINS))
    return who


@router.get("/api/users")
def list_users(
    db: DB,
    _admin: Admin,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> list[UserPublic]:
    """Every user by name, with role, whether disabled, current tokens and last sign-in."""
    return [UserPublic.of(s) for s in accounts.summaries(db, limit, offset)]


@router.post("/api/users", status_code=201, responses={409: error("The name is taken")})
async def add_user(
    body: UserCreate, admin: Annotated[Caller, Depends(admin_caller)], sign_in: SignInService
) -> UserPublic:
    """Add a user who signs in with ``password`` (checked against the password policy)."""
    try:
        check_role(body.role)
    except UserError as exc:
        raise Invalid(str(exc)) from None
    if problem := password_problem(body.password, body.name):
        raise Invalid(problem)
    password_hash = await sign_in.hash_new(body.password)

    def add(db: Session) -> UserPublic:
        try:
            user = create_user(db, body.name, body.role, None, password_hash=password_hash)
        except NameTaken as exc:
            raise Conflict(str(exc)) from None
        except UserError as exc:
            raise Invalid(str(exc)) from None
        audit.record(db, admin.user, "user.create", "user", user.id, role=user.role)
        return UserPublic.of(accounts.UserSummary(user, 0, None))

    return await sign_in.write(add)


@router.patch(
    "/api/users/{user_id}",
    responses={**errors(404), 409: error("It would leave no enabled admin")},
)
def update_user(user_id: PathId, body: UserUpdate, db: DB, admin: Admin) -> UserPublic:
    """Change a user's role, or disable (ending their sessions and tokens) or enable them.
    The last enabled admin can be neither demoted nor disabled (409)."""
    if body.role is None and body.disabled is None:
        raise Invalid("send role, disabled or both")
    user = accounts.get_user(db, user_id)
    if body.role is not None:
        accounts.set_role(db, admin, user, body.role)
    if body.disabled is not None:
        accounts.set_disabled(db, admin, user, body.disabled)
    db.flush()
    answer = UserPublic.of(accounts.summary(db, user))
    db.commit()
    return answer


@router.post("/api/users/{user_id}/password", responses=errors(404))
async def set_password(
    user_id: PathId,
    body: PasswordSet,
    admin: Annotated[Caller, Depends(admin_caller)],
    sign_in: SignInService,
) -> AccessEnded:
    """Give a user a new password; all their sessions and tokens end."""
    name = await sign_in.read(lambda db: accounts.get_user(db, user_id).name)
    if problem := password_problem(body.password, name):
        raise Invalid(problem)
    password_hash = await sign_in.hash_new(body.password)

    def store(db: Session) -> AccessEnded:
        user = accounts.get_user(db, user_id)
        keep = admin.token_id if user.id == admin.user.id else None
        counts = accounts.set_password_hash(db, admin.user, user, password_hash, keep_token=keep)
        return AccessEnded(**counts)

    return await sign_in.write(store)


@router.post(
    "/api/me/password",
    responses={403: error("The current password is wrong"), **errors(429)},
)
async def change_own_password(
    body: PasswordChange,
    request: Request,
    me: Annotated[Caller, Depends(caller)],
    sign_in: SignInService,
) -> AccessEnded:
    """Change your password (the current one is needed); your other sessions and tokens end,
    the token of this request stays. Wrong current passwords count as failed sign-ins."""
    if problem := password_problem(body.new_password, me.user.name):
        raise Invalid(problem)
    address = client_address(request)
    try:
        account = await sign_in.check(me.user.name, body.current_password, address, "password")
    except WrongPassword:
        raise HTTPException(403, "the current password is wrong") from None
    except TooManyAttempts as exc:
        raise refusal(exc) from None
    password_hash = await sign_in.hash_new(body.new_password)

    def store(db: Session) -> AccessEnded:
        try:
            user = signed_in_user(db, account)
        except WrongPassword:
            raise Conflict("your password was changed meanwhile: sign in again") from None
        counts = accounts.set_password_hash(db, user, user, password_hash, keep_token=me.token_id)
        return AccessEnded(**counts)

    return await sign_in.write(store)
