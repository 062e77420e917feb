"""Users (admins: add, change role, disable or enable, set a password, revoke tokens) and each
user's Account page (own password, own tokens, sign out everywhere).

Forms that carry a password find the viewer in a read session closed at once and hash with
no session open (``service.sign_in``), as the sign-in does; the rest are ordinary pages.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from service import accounts, audit
from service.api.auth import SignInService
from service.api.deps import DB
from service.auth import (
    PASSWORD_MAX,
    NameTaken,
    UserError,
    check_role,
    create_user,
    password_problem,
)
from service.errors import Conflict, Invalid, ServiceError
from service.roles import ADMINS, ROLES
from service.sign_in import TooManyAttempts, WrongPassword, client_address, signed_in_user
from service.web import sessions
from service.web.deps import (
    Csrf,
    CurrentViewer,
    Forbidden,
    Viewer,
    current_viewer,
    render,
    signed_in_viewer,
)

router = APIRouter(include_in_schema=False)
Password = Annotated[str, Form(max_length=PASSWORD_MAX)]
NOTICES = {
    "added": "User added. They can sign in with the password you chose.",
    "role": "Role changed.",
    "disabled": "User disabled: their sessions have ended and their tokens are revoked.",
    "enabled": "User enabled. Give them a new password or token if they need one.",
    "password": "Password changed. Your other sessions and your API tokens have ended.",
    "reset": "Password set: their sessions and API tokens have ended.",
    "revoked": "Token revoked.",
}


class TooManyAttemptsPage(ServiceError):
    status_code = 429


def viewer_without_lock(request: Request) -> Viewer:
    """The signed-in viewer, read in a session that is closed before the handler runs."""
    with request.app.state.read_sessions() as db:
        return current_viewer(signed_in_viewer(request, db))


LockFreeViewer = Annotated[Viewer, Depends(viewer_without_lock)]


def _checked(password: str, again: str | None, name: str) -> str:
    if again is not None and password != again:
        raise Invalid("the two new passwords differ: type the same one twice")
    if problem := password_problem(password, name):
        raise Invalid(problem)
    return password


@router.get("/account")
def account(request: Request, db: DB, viewer: CurrentViewer, notice: str = "") -> Response:
    tokens = accounts.tokens_of(db, viewer.user.id)
    return render(request, "account.html", viewer, tokens=tokens, notice=NOTICES.get(notice, ""))


@router.post("/account/password")
async def change_own_password(
    request: Request,
    viewer: LockFreeViewer,
    sign_in: SignInService,
    csrf_token: Csrf = "",
    current_password: Password = "",
    new_password: Password = "",
    new_password_again: Password = "",
) -> Response:
    viewer.check_form(csrf_token)
    _checked(new_password, new_password_again, viewer.user.name)
    address = client_address(request)
    try:
        checked = await sign_in.check(viewer.user.name, current_password, address, "password")
    except WrongPassword:
        raise Forbidden("the current password is wrong") from None
    except TooManyAttempts as exc:
        raise TooManyAttemptsPage(str(exc)) from None
    password_hash = await sign_in.hash_new(new_password)

    def store(db: Session) -> None:
        try:
            user = signed_in_user(db, checked)
        except WrongPassword:
            raise Conflict("your password was changed meanwhile: sign in again") from None
        accounts.set_password_hash(db, user, user, password_hash, keep_session=viewer.web.id)

    await sign_in.write(store)
    return RedirectResponse("/account?notice=password", status_code=303)


@router.post("/account/sign-out-everywhere")
def sign_out_everywhere(
    db: DB,
    viewer: CurrentViewer,
    csrf_token: Csrf = "",
    tokens: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """End every session of the viewer, this one too; with ``tokens``, revoke their tokens."""
    viewer.check_form(csrf_token)
    counts = accounts.end_access(db, viewer.user, tokens=bool(tokens))
    audit.record(db, viewer.user, "web.sign_out_everywhere", "user", viewer.user.id, **counts)
    db.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(sessions.COOKIE)
    return response


@router.post("/tokens/{token_id}/revoke")
def revoke_token(token_id: int, db: DB, viewer: CurrentViewer, csrf_token: Csrf = "") -> Response:
    viewer.check_form(csrf_token)
    row = accounts.revoke_token(db, viewer.user, token_id)
    db.commit()
    back = "/account" if row.user_id == viewer.user.id else f"/users/{row.user_id}"
    return RedirectResponse(f"{back}?notice=revoked", status_code=303)


@router.get("/users")
def list_users(request: Request, db: DB, viewer: CurrentViewer, notice: str = "") -> Response:
    viewer.require(ADMINS)
    return render(
        request,
        "users.html",
        viewer,
        users=accounts.summaries(db),
        roles=ROLES,
        notice=NOTICES.get(notice, ""),
    )


@router.post("/users")
async def add_user(
    viewer: LockFreeViewer,
    sign_in: SignInService,
    csrf_token: Csrf = "",
    name: Annotated[str, Form(max_length=64)] = "",
    role: Annotated[str, Form(max_length=16)] = "",
    password: Password = "",
    password_again: Password = "",
) -> Response:
    viewer.require(ADMINS)
    viewer.check_form(csrf_token)
    try:
        check_role(role)
    except UserError as exc:
        raise Invalid(str(exc)) from None
    password_hash = await sign_in.hash_new(_checked(password, password_again, name))

    def add(db: Session) -> int:
        try:
            user = create_user(db, name, role, None, password_hash=password_hash)
        except NameTaken as exc:
            raise Conflict(str(exc)) from None
        except UserError as exc:
            raise Invalid(str(exc)) from None
        audit.record(db, viewer.user, "user.create", "user", user.id, role=role)
        return user.id

    user_id = await sign_in.write(add)
    return RedirectResponse(f"/users/{user_id}?notice=added", status_code=303)


@router.get("/users/{user_id}")
def show_user(
    request: Request, user_id: int, db: DB, viewer: CurrentViewer, notice: str = ""
) -> Response:
    viewer.require(ADMINS)
    user = accounts.get_user(db, user_id)
    return render(
        request,
        "user.html",
        viewer,
        summary=accounts.summary(db, user),
        tokens=accounts.tokens_of(db, user.id),
        roles=ROLES,
        notice=NOTICES.get(notice, ""),
    )


@router.post("/users/{user_id}/role")
def change_role(
    user_id: int,
    db: DB,
    viewer: CurrentViewer,
    csrf_token: Csrf = "",
    role: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    viewer.require(ADMINS)
    viewer.check_form(csrf_token)
    accounts.set_role(db, viewer.user, accounts.get_user(db, user_id), role)
    db.commit()
    return RedirectResponse(f"/users/{user_id}?notice=role", status_code=303)


@router.post("/users/{user_id}/disabled")
def change_disabled(
    user_id: int,
    db: DB,
    viewer: CurrentViewer,
    csrf_token: Csrf = "",
    disabled: Annotated[str, Form(pattern="^(true|false)$")] = "true",
) -> Response:
    viewer.require(ADMINS)
    viewer.check_form(csrf_token)
    accounts.set_disabled(db, viewer.user, accounts.get_user(db, user_id), disabled == "true")
    db.commit()
    notice = "disabled" if disabled == "true" else "enabled"
    return RedirectResponse(f"/users/{user_id}?notice={notice}", status_code=303)


@router.post("/users/{user_id}/password")
async def set_password(
    user_id: int,
    viewer: LockFreeViewer,
    sign_in: SignInService,
    csrf_token: Csrf = "",
    password: Password = "",
    password_again: Password = "",
) -> Response:
    viewer.require(ADMINS)
    viewer.check_form(csrf_token)
    name = await sign_in.read(lambda db: accounts.get_user(db, user_id).name)
    password_hash = await sign_in.hash_new(_checked(password, password_again, name))

    def store(db: Session) -> None:
        user = accounts.get_user(db, user_id)
        keep = viewer.web.id if user.id == viewer.user.id else None
        accounts.set_password_hash(db, viewer.user, user, password_hash, keep_session=keep)

    await sign_in.write(store)
    return RedirectResponse(f"/users/{user_id}?notice=reset", status_code=303)
