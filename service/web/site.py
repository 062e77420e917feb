"""Mount the pages on the app: routers, static files, HTML errors, security headers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from service.web import (
    application_pages,
    apply_pages,
    audit_pages,
    auth_pages,
    docs_page,
    event_pages,
    exclusion_pages,
    import_pages,
    mail_template_pages,
    outbox_pages,
    participant_pages,
    participant_sign_in_pages,
    people_pages,
    plan_pages,
    record_pages,
    return_pages,
    round_admin_pages,
    round_pages,
    session_pages,
    sessions,
    survey_pages,
    training_pages,
    user_pages,
)
from service.web.deps import SignInRequired, Viewer, login_url, render

ROUTERS = (
    auth_pages.router,
    import_pages.router,
    round_pages.router,
    round_admin_pages.router,
    record_pages.router,
    people_pages.router,
    exclusion_pages.router,
    session_pages.router,
    training_pages.router,
    application_pages.router,
    event_pages.router,
    user_pages.router,
    audit_pages.router,
    outbox_pages.router,
    mail_template_pages.router,
    apply_pages.router,
    survey_pages.router,
    participant_sign_in_pages.router,
    participant_pages.router,
    return_pages.router,
    plan_pages.router,
)
HEADINGS = {
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    409: "Not possible now",
    429: "Please wait",
}
# Pages use no inline script or style, and nothing from elsewhere.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# Files the same for everyone, which browsers may keep; every other answer (pages, API JSON,
# errors, downloads) is marked not to be stored.
CACHEABLE = ("/static/", f"{docs_page.ASSETS}/")


def html_error(request: Request, status: int, message: str) -> Response:
    viewer = None
    state = getattr(request.app.state, "read_sessions", None)
    if state is not None:
        with state() as db:
            found = sessions.find(db, request.cookies.get(sessions.COOKIE))
            viewer = Viewer(*found) if found else None
    heading = HEADINGS.get(status, "Something is wrong" if status < 500 else "Server error")
    return render(
        request,
        "error.html",
        viewer,
        status_code=status,
        heading=heading,
        message=message,
        back=request.headers.get("referer") if _same_site(request) else None,
    )


def _same_site(request: Request) -> bool:
    referer = request.headers.get("referer", "")
    return referer.startswith(str(request.base_url))


def install(app: FastAPI) -> None:
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    docs_page.install(app)

    @app.exception_handler(SignInRequired)
    async def sign_in(_request: Request, exc: SignInRequired) -> Response:
        if exc.next_path == "/me" or exc.next_path.startswith(("/me/", "/me?")):
            # Mentors and mentees sign in with a link, not a password.
            return RedirectResponse("/me/sign-in", status_code=303)
        return RedirectResponse(login_url(exc.next_path), status_code=303)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.url.path.startswith(CACHEABLE):
            response.headers.setdefault("Cache-Control", "no-store")
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers.setdefault("Content-Security-Policy", CSP)
            response.headers.setdefault("X-Frame-Options", "DENY")
        return response
