"""What every page needs: the signed-in viewer, role checks, CSRF checks, rendering."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from matcher.scoring import parts_line
from matcher.vocab import code_words, words_in
from service.api.deps import DB, role_refusal
from service.errors import ServiceError
from service.models import Participant, User, WebSession
from service.roles import (
    ADMINS,
    EVENT_READERS,
    PARTICIPANT_ROLES,
    PEOPLE_READERS,
    REPORT_READERS,
    ROUND_READERS,
    STAFF,
)
from service.web import sessions

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
# The CSRF token every form carries (checked by ``Viewer.check_form``).
Csrf = Annotated[str, Form(max_length=128)]


def words(codes: str | Iterable[str]) -> str:
    """A code, or codes joined by ", ", in the words of ``matcher.vocab.CODE_WORDS``."""
    if isinstance(codes, str):
        return code_words(codes)
    return ", ".join(code_words(code) for code in codes)


# Codes are shown as words on every page (the same for analysts: words of codes are no data).
templates.env.filters["words"] = words
templates.env.filters["words_in"] = words_in
templates.env.filters["parts_line"] = parts_line


class SignInRequired(Exception):
    """No valid session: the page sends the browser to the sign-in form."""

    def __init__(self, next_path: str):
        super().__init__(next_path)
        self.next_path = next_path


class Forbidden(ServiceError):
    status_code = 403


@dataclass(frozen=True)
class Viewer:
    user: User
    web: WebSession

    @property
    def participant(self) -> bool:
        """A mentor or mentee signed in with a link: only the pages under /me are theirs."""
        return self.user.role in PARTICIPANT_ROLES

    @property
    def named(self) -> bool:
        """Analysts see pseudonymised pages: ids, never names."""
        return self.user.role != "analyst"

    def may(self, roles: frozenset[str]) -> bool:
        return self.user.role in roles

    def require(self, roles: frozenset[str]) -> None:
        if not self.may(roles):
            raise Forbidden(role_refusal(self.user.role, roles))

    def check_form(self, csrf_token: str | None) -> None:
        if not sessions.same_masked(self.web.csrf_token, csrf_token):
            raise Forbidden("this form has expired or did not come from this site: reload the page")

    @property
    def nav(self) -> list[tuple[str, str]]:
        if self.participant:
            own = [("My record", "/me"), ("My surveys", "/me/surveys")]
            if self.user.role == "mentor":
                own.insert(1, ("Monthly return", "/me/return"))
            return own
        links = [
            ("Import", "/import", STAFF),
            ("Rounds", "/rounds", ROUND_READERS),
            ("People", "/people", PEOPLE_READERS),
            ("Register", "/register", PEOPLE_READERS),
            ("Conflicts", "/exclusions", STAFF),
            ("Matches", "/matches", REPORT_READERS),
            ("Sessions", "/sessions", REPORT_READERS),
            ("Training", "/training", STAFF),
            ("Applications", "/applications", STAFF),
            ("Outbox", "/outbox", STAFF),
            ("Mail wording", "/mail-templates", STAFF),
            ("Reports", "/reports", REPORT_READERS),
            ("Events", "/events", EVENT_READERS),
            ("Users", "/users", ADMINS),
            ("Audit", "/audit", ADMINS),
            ("Account", "/account", ROUND_READERS),
        ]
        return [(name, href) for name, href, roles in links if self.may(roles)]


def signed_in_viewer(request: Request, db: DB) -> Viewer:
    """Whoever is signed in, staff or participant (sign-out is for both)."""
    found = sessions.find(db, request.cookies.get(sessions.COOKIE))
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    return Viewer(*found)


def current_viewer(viewer: Annotated[Viewer, Depends(signed_in_viewer)]) -> Viewer:
    """A member of staff: every page but those under /me refuses mentors and mentees."""
    if viewer.participant:
        raise Forbidden("this page is for scheme staff: your own pages are at /me")
    return viewer


AnyViewer = Annotated[Viewer, Depends(signed_in_viewer)]
CurrentViewer = Annotated[Viewer, Depends(current_viewer)]


@dataclass(frozen=True)
class ParticipantViewer:
    """A mentor or mentee signed in with a link, and the record they are."""

    viewer: Viewer
    kind: str  # mentor | mentee
    person_id: str


def current_participant(
    viewer: Annotated[Viewer, Depends(signed_in_viewer)], db: DB
) -> ParticipantViewer:
    """The pages under /me: for mentors and mentees only (staff use the staff pages)."""
    row = db.get(Participant, viewer.user.id) if viewer.participant else None
    if row is None:
        raise Forbidden("these pages are for mentors and mentees who signed in with a link")
    return ParticipantViewer(viewer, row.kind, row.person_id)


CurrentParticipant = Annotated[ParticipantViewer, Depends(current_participant)]


def render(
    request: Request,
    template: str,
    viewer: Viewer | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        template,
        {
            "viewer": viewer,
            "csrf": sessions.mask(viewer.web.csrf_token) if viewer else "",
            **context,
        },
        status_code=status_code,
    )


def login_url(next_path: str) -> str:
    return "/login" + (f"?next={quote(next_path)}" if next_path not in ("", "/") else "")


def confirm_page(
    request: Request,
    viewer: Viewer,
    *,
    heading: str,
    question: str,
    action: str,
    confirm: str,
    cancel: str,
    danger: bool = False,
    hidden: Iterable[tuple[str, str]] = (),
    reason: str | None = None,
    reason_error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    """The page that asks before an action: ``question``, a button ``confirm`` posting to
    ``action`` (with ``hidden`` fields and, when ``reason`` is not None, a required reason),
    and a way back to ``cancel``."""
    return render(
        request,
        "confirm.html",
        viewer,
        status_code=status_code,
        heading=heading,
        question=question,
        action=action,
        hidden=list(hidden),
        reason=reason,
        reason_error=reason_error,
        confirm=confirm,
        cancel=cancel,
        danger=danger,
    )
