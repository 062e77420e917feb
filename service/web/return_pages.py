"""Monthly returns outstanding: staff see which mentors have not sent a month's return and
send the reminders now (they also go by themselves at month end)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from service import return_reminders
from service.api.deps import DB
from service.errors import Invalid
from service.outbox import MailSetup
from service.roles import STAFF
from service.session_logs import month_bounds
from service.web.deps import Csrf, CurrentViewer, render
from service.web.paging import PER_PAGE, PageNumber, PerPage, page_of
from service.web.session_pages import MonthQuery, last_month, month_words

router = APIRouter(include_in_schema=False)


@router.get("/returns")
def outstanding(
    request: Request,
    db: DB,
    viewer: CurrentViewer,
    month: MonthQuery = "",
    page: PageNumber = 1,
    per_page: PerPage = PER_PAGE,
    reminded: int = 0,
) -> Response:
    """The mentors who owe ``month``'s return (default: last month), a page at a time."""
    viewer.require(STAFF)
    today = date.today()
    month = month.strip() or last_month(today)
    try:
        month_bounds(month)
    except Invalid as exc:
        return render(
            request,
            "returns.html",
            viewer,
            status_code=422,
            month=month,
            month_error=exc.message,
            this_month=f"{today:%Y-%m}",
        )
    owed = return_reminders.owed(db, month)
    paged = page_of(page, per_page, len(owed), month=month)
    unreminded = sum(1 for o in owed if o.reminded_at is None and o.email)
    notice = (
        f"{reminded} reminder{'s' if reminded != 1 else ''} queued."
        if "reminded" in request.query_params
        else ""
    )
    return render(
        request,
        "returns.html",
        viewer,
        month=month,
        month_error="",
        month_name=month_words(month),
        this_month=f"{today:%Y-%m}",
        owed=owed[paged.start : paged.start + paged.per_page],
        total=len(owed),
        unreminded=unreminded,
        paged=paged,
        path="/returns",
        notice=notice,
    )


@router.post("/returns/reminders")
def send_reminders(
    request: Request,
    db: DB,
    viewer: CurrentViewer,
    month: Annotated[str, Form(max_length=20)],
    csrf_token: Csrf = "",
) -> Response:
    """Queue a reminder to each mentor who owes the month's return and has not had one."""
    viewer.require(STAFF)
    viewer.check_form(csrf_token)
    setup = MailSetup.from_settings(request.app.state.settings)
    queued = return_reminders.remind(db, viewer.user, month.strip(), setup)
    db.commit()
    return RedirectResponse(f"/returns?month={month.strip()}&reminded={queued}", status_code=303)
