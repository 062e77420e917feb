"""Conflicts of interest (exclusions) for staff: the list, paged and searched in the database;
a form that adds one, its mentor and mentee found by typing part of a name or id; removal
after a confirmation page, back to the same page of the list.

A conflict is stored by ``service.exclusions.add``, with the checks of an import (both ids
known; a pair already excluded takes the new reason). A refused form comes back with status
422, each problem next to its field and everything typed kept; nothing is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from service import exclusions
from service.api.deps import DB
from service.api.schemas import LINE
from service.db import commit_or_retry
from service.exclusions import FormProblems
from service.roles import STAFF
from service.search import count
from service.web.deps import Csrf, CurrentViewer, Viewer, confirm_page, render
from service.web.paging import PER_PAGE, Back, PageNumber, PerPage, back_with, page_of, safe_back

router = APIRouter(include_in_schema=False)
PATH = "/exclusions"
Search = Annotated[str, Query(max_length=100), LINE]
Field = Annotated[str, Form(max_length=4000), LINE]
Typed = Annotated[str, Form(max_length=4000)]  # checked by exclusions.add, shown by its field
NOTICES = {
    "added": "Conflict saved: no round will pair them.",
    "updated": "That pair was already a conflict: its reason is updated.",
    "unchanged": "That pair is already a conflict with this reason: nothing changed.",
    "removed": "Conflict removed: later rounds may pair them again.",
}
LABELS = {"mentor_id": "Mentor", "mentee_id": "Mentee", "reason": "Reason"}


@dataclass(frozen=True)
class ListQuery:
    """Where the person is: the list's search and page, and the form's two searches."""

    q: str = ""
    page: int = 1
    per_page: int = PER_PAGE
    find_mentor: str = ""
    find_mentee: str = ""

    def url(self, fragment: str = "", **extra: str) -> str:
        params = [
            (k, v)
            for k, v in (
                ("q", self.q),
                ("page", str(self.page) if self.page > 1 else ""),
                ("per_page", str(self.per_page) if self.per_page != PER_PAGE else ""),
                ("find_mentor", self.find_mentor),
                ("find_mentee", self.find_mentee),
                *extra.items(),
            )
            if v
        ]
        query = f"?{urlencode(params)}" if params else ""
        return f"{PATH}{query}{'#' + fragment if fragment else ''}"

    def hidden(self, *leave_out: str) -> list[tuple[str, str]]:
        """The parameters another form of the page carries along, but ``leave_out``."""
        fields = {
            "q": self.q,
            "page": str(self.page) if self.page > 1 else "",
            "per_page": str(self.per_page) if self.per_page != PER_PAGE else "",
            "find_mentor": self.find_mentor,
            "find_mentee": self.find_mentee,
        }
        return [(k, v) for k, v in fields.items() if v and k not in leave_out]


@router.get(PATH)
def list_exclusions(
    request: Request,
    db: DB,
    viewer: CurrentViewer,
    q: Search = "",
    page: PageNumber = 1,
    per_page: PerPage = PER_PAGE,
    find_mentor: Search = "",
    find_mentee: Search = "",
    notice: Literal["", "added", "updated", "unchanged", "removed"] = "",
) -> Response:
    """Every conflict, newest first, a page at a time, searched by part of a mentor's or a
    mentee's id or name; and the form that adds one (``find_mentor``, ``find_mentee``: the
    people it may name, short lists instead of everyone)."""
    viewer.require(STAFF)
    query = ListQuery(q.strip(), page, per_page, find_mentor.strip(), find_mentee.strip())
    return _page(request, db, viewer, query, NOTICES.get(notice, ""))


@router.post(PATH)
def add_exclusion(
    request: Request,
    db: DB,
    viewer: CurrentViewer,
    csrf_token: Csrf = "",
    mentor_id: Typed = "",
    mentee_id: Typed = "",
    reason: Typed = "",
    find_mentor: Field = "",
    find_mentee: Field = "",
) -> Response:
    """Add one conflict (or give a known pair a new reason), then show it in the list."""
    viewer.require(STAFF)
    viewer.check_form(csrf_token)
    try:
        exclusion, outcome = commit_or_retry(
            db, lambda: exclusions.add(db, viewer.user, mentor_id, mentee_id, reason)
        )
    except FormProblems as exc:
        # What was typed stays: the searches (or, if none came, the ids sent), the choices
        # and the reason.
        query = ListQuery(
            find_mentor=find_mentor.strip() or mentor_id.strip(),
            find_mentee=find_mentee.strip() or mentee_id.strip(),
        )
        typed = {"mentor_id": mentor_id.strip(), "mentee_id": mentee_id.strip(), "reason": reason}
        return _page(request, db, viewer, query, "", typed, exc.problems, 422)
    target = ListQuery(q=exclusion.mentee_id).url(f"exclusion-{exclusion.id}", notice=outcome)
    return RedirectResponse(target, status_code=303)


def _page(
    request: Request,
    db: DB,
    viewer: Viewer,
    query: ListQuery,
    notice: str,
    typed: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    found = exclusions.find_exclusions(query.q)
    paged = page_of(query.page, query.per_page, count(db, found), q=query.q, **_finding(query))
    query = replace(query, page=paged.number, per_page=paged.per_page)
    typed = typed or {}
    return render(
        request,
        "exclusions.html",
        viewer,
        status_code=status_code,
        rows=exclusions.page(db, found, paged.start, paged.per_page),
        paged=paged,
        path=PATH,
        query=query,
        back=query.url(),
        finder=_finder(db, query, typed),
        form=typed,
        problems=problems or {},
        labels=LABELS,
        notice=notice,
    )


def _finding(query: ListQuery) -> dict[str, str]:
    return {"find_mentor": query.find_mentor, "find_mentee": query.find_mentee}


def _finder(db: DB, query: ListQuery, typed: dict[str, str]) -> dict[str, Any]:
    """The people the form's searches found: a short list of each, the one chosen before
    checked, else the first when it is the only one or an id typed whole."""
    found: dict[str, Any] = {}
    searches: tuple[tuple[Literal["mentor", "mentee"], str], ...] = (
        ("mentor", query.find_mentor),
        ("mentee", query.find_mentee),
    )
    for kind, text in searches:
        people, count = exclusions.find_people(db, kind, text)
        ids = [person_id for person_id, _name in people]
        chosen = typed.get(f"{kind}_id", "")
        exact = bool(people) and ids[0].lower() == text.lower()
        if chosen not in ids:
            chosen = ids[0] if people and (exact or count == 1) else ""
        found[kind] = {"text": text, "people": people, "count": count, "checked": chosen}
    found["searched"] = bool(query.find_mentor or query.find_mentee)
    return found


@router.get(f"{PATH}/remove")
def confirm_remove(
    request: Request,
    db: DB,
    viewer: CurrentViewer,
    exclusion: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    back: Annotated[str, Query(max_length=2000)] = "",
) -> Response:
    """Ask before removing a conflict: who the two people are."""
    viewer.require(STAFF)
    row = exclusions.row(db, exclusion)
    returning = safe_back(back, PATH)
    return confirm_page(
        request,
        viewer,
        heading="Remove this conflict?",
        question=f"Remove the conflict of interest between mentor {row.mentor_name} "
        f"({row.mentor_id}) and mentee {row.mentee_name} ({row.mentee_id})? "
        "Later rounds may then pair them.",
        action=f"{PATH}/{row.id}/remove",
        hidden=[("back", returning)],
        confirm="Remove conflict",
        cancel=back_with(returning, f"exclusion-{row.id}"),
        danger=True,
    )


@router.post(f"{PATH}/{{exclusion_id}}/remove")
def remove_exclusion(
    exclusion_id: int,
    db: DB,
    viewer: CurrentViewer,
    csrf_token: Csrf = "",
    back: Back = "",
) -> Response:
    """Remove a conflict, then back to the page of the list it was removed from."""
    viewer.require(STAFF)
    viewer.check_form(csrf_token)
    exclusions.remove(db, viewer.user, exclusion_id)
    db.commit()
    target = back_with(safe_back(back, PATH), "exclusions-heading", notice="removed")
    return RedirectResponse(target, status_code=303)
