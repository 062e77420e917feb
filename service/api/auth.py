"""Sign in with a password to get an API token; see who you are."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from service import audit
from service.api.deps import CurrentUser, Settings
from service.api.schemas import LINE, Body, Timestamp, error, errors
from service.auth import PASSWORD_MAX, Account, new_api_token
from service.sign_in import SignIn, TooManyAttempts, WrongPassword, client_address, signed_in_user

router = APIRouter(tags=["auth"])
WRONG = "wrong user name or password"


async def get_sign_in(request: Request) -> SignIn:
    # async: read on the event loop, no worker thread for a flood of attempts to take
    sign_in: SignIn = request.app.state.sign_in
    return sign_in


SignInService = Annotated[SignIn, Depends(get_sign_in)]


class SignInBody(Body):
    username: Annotated[str, Field(min_length=1, max_length=64), LINE]
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)
    label: Annotated[str, LINE] = Field(
        default="sign-in", max_length=64, description="to tell tokens apart"
    )


class SignedIn(BaseModel):
    token: str = Field(description="send as 'Authorization: Bearer TOKEN'; shown only once")
    token_type: str = "bearer"
    token_id: int
    expires_at: Timestamp
    user: str
    role: str


class Me(BaseModel):
    id: int
    name: str
    role: str


def refusal(exc: TooManyAttempts | WrongPassword) -> HTTPException:
    """The answer to a refused attempt: 429 with Retry-After, or 401."""
    if isinstance(exc, TooManyAttempts):
        return HTTPException(429, str(exc), headers=exc.headers)
    return HTTPException(401, WRONG)


@router.post(
    "/auth/token",
    responses={
        401: error("Wrong user name or password (or the user is disabled)"),
        **errors(429),
    },
)
async def sign_in(
    body: SignInBody, request: Request, sign_in: SignInService, settings: Settings
) -> SignedIn:
    """Exchange a user name and password for a new API token (shown once), valid for
    ``MATCHER_TOKEN_DAYS`` days. Failed attempts are limited per account and per address."""
    address = client_address(request)
    try:
        account = await sign_in.check(body.username, body.password, address, "api")

        def issue(db: Session, account: Account = account) -> SignedIn:
            user = signed_in_user(db, account)
            row, token = new_api_token(db, user, settings.token_days, body.label)
            audit.record(db, user, "auth.token", "user", user.id, token_id=row.id)
            return SignedIn(
                token=token,
                token_id=row.id,
                expires_at=row.expires_at,
                user=user.name,
                role=user.role,
            )

        return await sign_in.write(issue)
    except (TooManyAttempts, WrongPassword) as exc:
        raise refusal(exc) from None


@router.get("/api/me")
def me(user: CurrentUser) -> Me:
    """The signed-in user and role."""
    return Me(id=user.id, name=user.name, role=user.role)
