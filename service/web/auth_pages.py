"""Sign in and sign out."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from service import audit
from service.api.deps import DB, Settings
from service.auth import user_for_password
from service.web import sessions
from service.web.deps import CurrentViewer, render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only paths of this site: never an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/rounds"


@router.get("/")
def home(request: Request, db: DB) -> Response:
    signed_in = sessions.find(db, request.cookies.get(sessions.COOKIE)) is not None
    return RedirectResponse("/rounds" if signed_in else "/login", status_code=303)


@router.get("/login")
def login_form(request: Request, settings: Settings, next: str = "") -> Response:
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", next=_safe_next(next), login_csrf=token)
    response.set_cookie(
        sessions.LOGIN_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
    )
    return response


@router.post("/login")
def login(
    request: Request,
    db: DB,
    settings: Settings,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    if not sessions.same_token(request.cookies.get(sessions.LOGIN_COOKIE), csrf_token):
        return render(
            request,
            "login.html",
            status_code=403,
            next=_safe_next(next),
            login_csrf=request.cookies.get(sessions.LOGIN_COOKIE, ""),
            error="The sign-in form expired. Please try again.",
        )
    user = user_for_password(db, username, password) if username and password else None
    if user is None:
        return render(
            request,
            "login.html",
            status_code=401,
            next=_safe_next(next),
            login_csrf=csrf_token,
            username=username,
            error="Wrong user name or password.",
        )
    token = sessions.start(db, user, settings.session_hours)
    audit.record(db, user, "web.sign_in", "user", user.id)
    db.commit()
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        sessions.COOKIE,
        token,
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    response.delete_cookie(sessions.LOGIN_COOKIE)
    return response


@router.post("/logout")
def logout(
    request: Request,
    db: DB,
    viewer: CurrentViewer,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    viewer.check_form(csrf_token)
    sessions.end(db, request.cookies.get(sessions.COOKIE))
    db.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(sessions.COOKIE)
    return response
