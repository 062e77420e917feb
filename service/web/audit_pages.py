"""The audit log, for admins: filtered and paged in the database."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from service import audit
from service.api.deps import DB
from service.api.schemas import LINE
from service.errors import Invalid
from service.roles import ADMINS
from service.web.deps import CurrentViewer, render
from service.web.paging import PER_PAGE, page_of

router = APIRouter(include_in_schema=False)
Code = Annotated[str, Query(max_length=64), LINE]
Day = Annotated[str, Query(max_length=10), LINE]


@router.get("/audit")
def audit_log(
    request: Request,
    db: DB,
    viewer: CurrentViewer,
    action: Code = "",
    user: Code = "",
    entity: Annotated[str, Query(max_length=32), LINE] = "",
    entity_id: Code = "",
    since: Day = "",
    until: Day = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=10_000)] = PER_PAGE,
) -> Response:
    """Who did what, and when, newest first, a page at a time; optionally only one action,
    one user's, one record's (its type, and its id), or those of a range of days (UTC)."""
    viewer.require(ADMINS)
    found = audit.AuditFilter(
        action=action.strip(),
        username=user.strip(),
        entity=entity.strip(),
        entity_id=entity_id.strip(),
        since=_day(since, "from"),
        until=_day(until, "to"),
    )
    paged = page_of(
        page,
        per_page,
        audit.count(db, found),
        action=found.action,
        user=found.username,
        entity=found.entity,
        entity_id=found.entity_id,
        since=since.strip(),
        until=until.strip(),
    )
    rows = audit.entries(db, found, paged.start, paged.per_page)
    return render(
        request,
        "audit.html",
        viewer,
        entries=[
            {
                "id": e.id,
                "at": e.at.strftime("%Y-%m-%d %H:%M:%S"),
                "user": e.username,
                "action": e.action,
                "entity": e.entity,
                "entity_id": e.entity_id or "",
                "detail": audit.detail_line(e.detail or {}),
            }
            for e in rows
        ],
        choices=audit.choices(db),
        filters=found,
        since=since.strip(),
        until=until.strip(),
        filtered=any(paged.params),
        paged=paged,
        path="/audit",
    )


def _day(text: str, which: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(f"the {which} date {text!r} is not a date as YYYY-MM-DD") from None
