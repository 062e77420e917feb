"""Session logs: the list, and a mentor's monthly return entered in one form."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from service import session_logs
from service.api.deps import DB
from service.errors import Invalid, NotFound
from service.models import Match, Mentor, MentoringSession
from service.roles import REPORT_READERS, STAFF
from service.session_logs import ReturnInvalid, TypedRow
from service.web.deps import Csrf, CurrentViewer, Viewer, render
from service.web.paging import PER_PAGE, PageNumber, PerPage, page_of

router = APIRouter(include_in_schema=False)
ROWS_PER_MATCH = 5  # a month holds at most five weekly sessions
MAX_ROWS = 400  # more than any mentor's matches times ROWS_PER_MATCH
Search = Annotated[str, Query(max_length=100)]
MonthQuery = Annotated[str, Query(max_length=20)]
PersonId = Annotated[str, Query(max_length=64)]
# A return's one-time id: secrets.token_urlsafe(24) gives 32 characters.
FormId = Annotated[str, Form(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Column = Annotated[list[str], Form()]


@dataclass(frozen=True)
class SessionRow:
    """A logged session as the list shows it; names are empty for analysts."""

    id: int
    held_on: date
    match_id: int
    mentor_id: str
    mentee_id: str
    minutes: int
    mentor_name: str = ""
    mentee_name: str = ""


def _rows(db: Session, found: list[MentoringSession], named: bool) -> list[SessionRow]:
    names = (
        session_logs.people_names(db, (s.mentor_id for s in found), (s.mentee_id for s in found))
        if named and found
        else {}
    )
    return [
        SessionRow(
            s.id,
            s.held_on,
            s.match_id,
            s.mentor_id,
            s.mentee_id,
            s.minutes,
            names.get(s.mentor_id, ""),
            names.get(s.mentee_id, ""),
        )
        for s in found
    ]


@router.get("/sessions")
def list_sessions(
    request: Request,
    db: DB,
    viewer: CurrentViewer,
    month: MonthQuery = "",
    q: Search = "",
    page: PageNumber = 1,
    per_page: PerPage = PER_PAGE,
) -> Response:
    """Logged sessions, newest first, a page at a time (filtered, counted and sliced in the
    database): optionally of one month, optionally holding ``q`` in an id or, for people
    who see names, a name; with the filter's totals."""
    viewer.require(REPORT_READERS)
    search, month = q.strip(), month.strip()
    try:
        query = session_logs.find_sessions(month or None, search, names=viewer.named)
    except Invalid as exc:
        return render(
            request,
            "sessions.html",
            viewer,
            status_code=422,
            month=month,
            month_error=exc.message,
            q=search,
            sessions=[],
            totals=session_logs.Totals(0, 0),
            paged=page_of(1, per_page, 0),
            path="/sessions",
            can_log=viewer.may(STAFF),
        )
    totals = session_logs.session_totals(db, query)
    paged = page_of(page, per_page, totals.sessions, month=month, q=search)
    found = session_logs.session_page(db, query, paged.start, paged.per_page)
    return render(
        request,
        "sessions.html",
        viewer,
        month=month,
        month_error="",
        month_name=month_words(month) if month else "",
        q=search,
        sessions=_rows(db, found, viewer.named),
        totals=totals,
        paged=paged,
        path="/sessions",
        can_log=viewer.may(STAFF),
    )


# --- the monthly return --------------------------------------------------------------------


@dataclass
class RowView:
    """One row of the return form: its place among the form's rows, as typed, its problem."""

    place: int
    number: int
    held_on: str = ""
    minutes: str = ""
    problem: str = ""


@dataclass
class MatchView:
    match: Match
    mentee_name: str
    confirmed: date
    first_day: date
    last_day: date
    logged: list[MentoringSession]
    rows: list[RowView] = field(default_factory=list)

    @property
    def logged_minutes(self) -> int:
        return sum(s.minutes for s in self.logged)


def last_month(today: date) -> str:
    """The month before ``today``'s, as ``YYYY-MM``: a return covers a month that has ended."""
    return f"{today.replace(day=1) - timedelta(days=1):%Y-%m}"


def month_words(month: str) -> str:
    start, _end = session_logs.month_bounds(month)
    return f"{start:%B %Y}"


def shift_month(month: str, by: int) -> str:
    start, end = session_logs.month_bounds(month)
    day = end if by > 0 else start - timedelta(days=1)
    return f"{day:%Y-%m}"


@router.get("/sessions/return")
def monthly_return(
    request: Request,
    db: DB,
    viewer: CurrentViewer,
    mentor: PersonId = "",
    month: MonthQuery = "",
    q: Search = "",
    logged: Annotated[int, Query(ge=0, le=MAX_ROWS)] = 0,
    mentees: Annotated[int, Query(ge=0, le=MAX_ROWS)] = 0,
    repeated: bool = False,
    none: bool = False,
) -> Response:
    """Choose a mentor (searched by id or name) and a month (default: last month), then
    enter the month's sessions of each of their matches in one form."""
    viewer.require(STAFF)
    today = date.today()
    month = month.strip() or last_month(today)
    try:
        session_logs.month_bounds(month)
    except Invalid as exc:
        return _return_page(
            request, db, viewer, None, month, q.strip(), today, month_error=exc.message
        )
    chosen = None
    if mentor.strip():
        chosen = db.get(Mentor, mentor.strip())
        if chosen is None:
            raise NotFound(f"no mentor with id {mentor.strip()}")
    notice = return_notice(repeated, none, logged, mentees, month)
    return _return_page(request, db, viewer, chosen, month, q.strip(), today, notice=notice)


@router.post("/sessions/return")
def log_return(
    request: Request,
    db: DB,
    viewer: CurrentViewer,
    mentor: Annotated[str, Form(max_length=64)],
    month: Annotated[str, Form(max_length=20)],
    form_id: FormId,
    csrf_token: Csrf = "",
    match: Annotated[list[int], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    held_on: Column = [],  # noqa: B006
    minutes: Column = [],  # noqa: B006
    none_held: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    """Log every filled-in row of a return in one transaction: all or nothing. Bad rows show
    the form again (422) with each problem next to its row and everything typed kept; the
    same form sent twice logs once; "none held" sends a return of no sessions. Then back to
    the return, with how much was logged."""
    viewer.require(STAFF)
    viewer.check_form(csrf_token)
    rows = typed_rows(match, held_on, minutes)
    today = date.today()
    nil = none_held == "yes"
    try:
        done = session_logs.log_return(
            db, viewer.user, mentor, month, form_id, rows, today, none_held=nil
        )
    except ReturnInvalid as exc:
        db.rollback()
        chosen = db.get(Mentor, mentor)
        return _return_page(
            request,
            db,
            viewer,
            chosen,
            month,
            "",
            today,
            typed=rows,
            invalid=exc,
            form_id=form_id,
            none_held=nil,
        )
    db.commit()
    query = urlencode({"mentor": mentor, "month": month, **told(done)})
    return RedirectResponse(f"/sessions/return?{query}#return", status_code=303)


def typed_rows(match: list[int], held_on: list[str], minutes: list[str]) -> list[TypedRow]:
    """A return form's columns as rows; a form whose columns do not line up is refused."""
    if not len(match) == len(held_on) == len(minutes) <= MAX_ROWS:
        raise Invalid("the return's rows came incomplete: reload the page and enter them again")
    if any(len(text) > 40 for text in [*held_on, *minutes]):
        raise Invalid("a date or minutes is too long: reload the page and enter them again")
    return [TypedRow(*row) for row in zip(match, held_on, minutes, strict=True)]


def told(done: session_logs.ReturnLogged) -> dict[str, str]:
    """What the page after a return says, as query parameters (see ``return_notice``)."""
    if done.repeated:
        return {"repeated": "true"}
    if not done.sessions:
        return {"none": "true"}
    return {"logged": str(done.sessions), "mentees": str(done.mentees)}


def return_notice(repeated: bool, none: bool, logged: int, mentees: int, month: str) -> str:
    if repeated:
        return "This return had already been logged: nothing was logged twice."
    if none:
        return f"A return of no sessions in {month_words(month)} was sent."
    if logged:
        return (
            f"{logged} session{'s' if logged != 1 else ''} logged for "
            f"{mentees} mentee{'s' if mentees != 1 else ''}."
        )
    return ""


def _return_page(
    request: Request,
    db: Session,
    viewer: Viewer,
    mentor: Mentor | None,
    month: str,
    q: str,
    today: date,
    *,
    month_error: str = "",
    notice: str = "",
    typed: list[TypedRow] | None = None,
    invalid: ReturnInvalid | None = None,
    form_id: str = "",
    none_held: bool = False,
) -> Response:
    found, found_total = session_logs.find_mentors(db, q) if q else ([], 0)
    context = return_context(
        db, mentor, month, today, month_error, typed, invalid, form_id, none_held
    )
    context |= {"q": q, "found": found, "found_total": found_total, "notice": notice}
    status = 422 if invalid or month_error else 200
    return render(request, "session_return.html", viewer, status_code=status, **context)


def return_context(
    db: Session,
    mentor: Mentor | None,
    month: str,
    today: date,
    month_error: str = "",
    typed: list[TypedRow] | None = None,
    invalid: ReturnInvalid | None = None,
    form_id: str = "",
    none_held: bool = False,
) -> dict[str, Any]:
    """What a return form shows of ``mentor`` in ``month`` (``return_form.html``)."""
    context: dict[str, Any] = {
        "mentor": mentor,
        "month": month,
        "month_error": month_error,
        "this_month": f"{today:%Y-%m}",
        "views": [],
        "general": invalid.general if invalid else "",
        "stray": [],
        "form_id": form_id or secrets.token_urlsafe(24),
        "future": False,
        "problems": 0,
        "none_held": none_held,
    }
    if mentor is not None and not month_error:
        start, end = session_logs.month_bounds(month)
        views, stray = return_views(db, mentor.mentor_id, month, today, typed, invalid)
        context |= {
            "month_name": f"{start:%B %Y}",
            "previous": shift_month(month, -1),
            "next": shift_month(month, 1) if end <= today else "",
            "future": start > today,
            "views": views,
            "stray": stray,
            "problems": sum(1 for v in views for r in v.rows if r.problem),
        }
    return context


def return_views(
    db: Session,
    mentor_id: str,
    month: str,
    today: date,
    typed: list[TypedRow] | None,
    invalid: ReturnInvalid | None,
) -> tuple[list[MatchView], list[str]]:
    """Each match of the return with its logged sessions and its rows (blank, or as typed
    with their problems); and the problems of typed rows whose match is not in the form."""
    start, end = session_logs.month_bounds(month)
    matches = session_logs.return_matches(db, mentor_id, month)
    logged = session_logs.logged_in_month(db, (m.id for m in matches), month)
    names = session_logs.people_names(db, (), (m.mentee_id for m in matches))
    views = {
        m.id: MatchView(
            m,
            names.get(m.mentee_id, ""),
            session_logs.confirmed_on(m),
            max(start, session_logs.confirmed_on(m)),
            min(end - timedelta(days=1), today),
            logged.get(m.id, []),
        )
        for m in matches
    }
    problems = invalid.problems if invalid else {}
    stray = []
    for place, row in enumerate(typed or []):
        view = views.get(row.match_id)
        if view is None:
            if place in problems:
                stray.append(problems[place])
            continue
        view.rows.append(
            RowView(place, len(view.rows) + 1, row.held_on, row.minutes, problems.get(place, ""))
        )
    for view in views.values():
        while len(view.rows) < ROWS_PER_MATCH:
            view.rows.append(RowView(0, len(view.rows) + 1))
    # The form lists the rows match by match; a row's place is its order in the form.
    ordered = list(views.values())
    renumbered = 0
    for view in ordered:
        for shown in view.rows:
            shown.place = renumbered
            renumbered += 1
    return ordered, stray
