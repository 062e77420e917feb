"""Sign in and sign out."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from service import audit
from service.api.auth import SignInService
from service.api.deps import DB, Settings
from service.auth import PASSWORD_MAX
from service.roles import PARTICIPANT_ROLES
from service.sign_in import TooManyAttempts, WrongPassword, client_address, signed_in_user
from service.web import sessions
from service.web.deps import AnyViewer, render
from service.web.paging import safe_back

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only paths of this site: never an open redirect."""
    return safe_back(target, "/rounds")


@router.get("/")
def home(request: Request, db: DB) -> Response:
    found = sessions.find(db, request.cookies.get(sessions.COOKIE))
    if found is None:
        return RedirectResponse("/login", status_code=303)
    participant = found[0].role in PARTICIPANT_ROLES
    return RedirectResponse("/me" if participant else "/rounds", status_code=303)


@router.get("/login")
def login_form(request: Request, settings: Settings, next: str = "") -> Response:
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", next=_safe_next(next), login_csrf=sessions.mask(token))
    sessions.set_form_cookie(response, token, settings.secure_cookies)
    return response


@router.post("/login")
async def login(
    request: Request,
    settings: Settings,
    sign_in: SignInService,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=PASSWORD_MAX)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Check the password as ``POST /auth/token`` does (limits, no session held while
    hashing), then start a browser session in a short write."""

    def again(status: int, error: str, headers: dict[str, str] | None = None) -> Response:
        response = render(
            request,
            "login.html",
            status_code=status,
            next=_safe_next(next),
            login_csrf=sessions.mask(request.cookies.get(sessions.LOGIN_COOKIE, "")),
            username=username if status != 403 else "",
            error=error,
        )
        response.headers.update(headers or {})
        return response

    if not sessions.same_masked(request.cookies.get(sessions.LOGIN_COOKIE), csrf_token):
        return again(403, "The sign-in form expired. Please try again.")
    if not username or not password:
        return again(401, "Wrong user name or password.")
    try:
        account = await sign_in.check(username, password, client_address(request), "web")

        def start(db: Session) -> str:
            user = signed_in_user(db, account)
            token = sessions.start(db, user, settings.session_hours)
            audit.record(db, user, "web.sign_in", "user", user.id)
            return token

        token = await sign_in.write(start)
    except TooManyAttempts as exc:
        return again(429, f"{str(exc).capitalize()}.", exc.headers)
    except WrongPassword:
        return again(401, "Wrong user name or password.")
    response = RedirectResponse(_safe_next(next), status_code=303)
    sessions.set_cookie(response, token, settings.session_hours, settings.secure_cookies)
    return response


@router.post("/logout")
def logout(
    request: Request,
    db: DB,
    viewer: AnyViewer,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    viewer.check_form(csrf_token)
    sessions.end(db, request.cookies.get(sessions.COOKIE))
    db.commit()
    response = RedirectResponse("/me/sign-in" if viewer.participant else "/login", status_code=303)
    response.delete_cookie(sessions.COOKIE)
    return response
