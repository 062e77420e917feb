"""Mentors and mentees sign in with a link sent by e-mail (``service.sign_in_links``).

``/me/sign-in`` asks for an address and always answers the same, so it does not tell who is
on the register. The link opens ``/me/link``, which asks the person to press a button before
the link is spent: mail scanners that fetch every link in a message do not use it up. Both
forms carry the pre-session double-submit token of ``/login``. The link's token travels in
the query string, which the access log leaves out.
"""

from __future__ import annotations

import re
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from service import audit, sign_in_links
from service.api.deps import DB, Settings
from service.outbox import MailSetup
from service.sign_in import client_address
from service.sign_in_guard import wait_words
from service.web import sessions
from service.web.deps import render

router = APIRouter(include_in_schema=False)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
Token = Annotated[str, Query(max_length=100)]


def _with_login_cookie(response: Response, token: str, secure: bool) -> Response:
    sessions.set_form_cookie(response, token, secure)
    return response


def _form_page(request: Request, settings: Settings, status: int = 200, **context: Any) -> Response:
    token = request.cookies.get(sessions.LOGIN_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        "me_sign_in.html",
        status_code=status,
        login_csrf=sessions.mask(token),
        minutes=settings.sign_in_link_minutes,
        **context,
    )
    return _with_login_cookie(response, token, settings.secure_cookies)


@router.get("/me/sign-in")
def sign_in_form(request: Request, settings: Settings) -> Response:
    return _form_page(request, settings, email="")


@router.post("/me/sign-in")
def ask_for_link(
    request: Request,
    db: DB,
    settings: Settings,
    email: Annotated[str, Form(max_length=254)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Queue a link to every record with the address; the same answer whether any has it."""
    typed = email.strip()
    if not sessions.same_masked(request.cookies.get(sessions.LOGIN_COOKIE), csrf_token):
        return _form_page(
            request, settings, 403, email=typed, error="The form expired. Please try again."
        )
    if not EMAIL.match(typed):
        return _form_page(
            request,
            settings,
            422,
            email=typed,
            error="Enter the e-mail address the scheme has for you, such as name@nhs.net.",
        )
    guard = request.app.state.link_guard
    address = client_address(request)
    refusal = guard.refusal(typed.lower(), address)
    if refusal is not None:
        response = _form_page(
            request,
            settings,
            429,
            email=typed,
            error=f"Too many links asked for: try again in {wait_words(refusal.seconds)}.",
        )
        response.headers["Retry-After"] = str(refusal.seconds)
        return response
    guard.failed(typed.lower(), address)  # every request counts, sent or not

    setup = MailSetup.from_settings(settings)
    sign_in_links.send_links(db, typed, setup, settings.sign_in_link_minutes)
    db.commit()
    return _form_page(request, settings, email=typed, sent=True)


@router.get("/me/link")
def open_link(request: Request, settings: Settings, token: Token = "") -> Response:
    """The page a link opens: one button spends it."""
    login = request.cookies.get(sessions.LOGIN_COOKIE) or secrets.token_urlsafe(32)
    response = render(request, "me_link.html", token=token, login_csrf=sessions.mask(login))
    return _with_login_cookie(response, login, settings.secure_cookies)


@router.post("/me/link")
def use_link(
    request: Request,
    db: DB,
    settings: Settings,
    token: Annotated[str, Form(max_length=100)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Spend the link and start a session; an unknown, used or expired link says so (410)
    with the form to ask for a new one."""
    if not sessions.same_masked(request.cookies.get(sessions.LOGIN_COOKIE), csrf_token):
        login = secrets.token_urlsafe(32)
        response = render(
            request,
            "me_link.html",
            status_code=403,
            token=token,
            login_csrf=sessions.mask(login),
            error="The page expired. Press the button again.",
        )
        return _with_login_cookie(response, login, settings.secure_cookies)
    user = sign_in_links.use_link(db, token) if token else None
    if user is None:
        db.rollback()
        return _form_page(
            request,
            settings,
            410,
            email="",
            error="This link has been used or has expired. Ask for a new one below.",
        )
    cookie = sessions.start(db, user, settings.session_hours)
    audit.record(db, user, "web.sign_in", "user", user.id, via="link")
    db.commit()
    signed_in = RedirectResponse("/me", status_code=303)
    sessions.set_cookie(signed_in, cookie, settings.session_hours, settings.secure_cookies)
    return signed_in
