"""The mentor register, the matches and their lifecycle, and the reports (figures, ledger)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from service import finance, matches, monitoring
from service.api.deps import DB, Settings
from service.api.reports import YEARS
from service.api.schemas import LINES
from service.errors import Conflict, Invalid
from service.people import mentor_summaries
from service.roles import PEOPLE_READERS, REPORT_READERS, STAFF
from service.web.chart import BarChart, bar_chart
from service.web.deps import CurrentViewer, render
from service.web.paging import PER_PAGE, back_with, page_of, safe_back

router = APIRouter(include_in_schema=False)
NOTICES = {
    "registered": "Match {match} registered: its first meeting was held.",
    "ended": "Match {match} ended.",
}
Csrf = Annotated[str, Form(max_length=128)]
Search = Annotated[str, Query(max_length=100)]
PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]
PerPage = Annotated[int, Query(ge=1, le=10_000)]
Back = Annotated[str, Form(max_length=2000)]


def gbp(amount: float) -> str:
    return f"£{amount:,.2f}"


@router.get("/register")
def register(
    request: Request,
    db: DB,
    viewer: CurrentViewer,
    focus: Annotated[str, Query(max_length=100)] = "",
    q: Search = "",
    page: PageNumber = 1,
    per_page: PerPage = PER_PAGE,
) -> Response:
    """Every mentor with their focus areas and free places, a page at a time; optionally one
    focus area's, or those whose id (or, for people who see names, name) holds ``q``.

    The rows come from parsing the stored records, so the filtering and slicing happen after
    parsing, in Python (600 mentors parse in well under the page budget)."""
    viewer.require(PEOPLE_READERS)
    mentors = mentor_summaries(db)
    text = q.strip().lower()
    shown = [
        m
        for m in mentors
        if (not focus or focus in m["focus_areas"])
        and (
            not text
            or text in m["mentor_id"].lower()
            or (viewer.named and text in (m["name"] or "").lower())
        )
    ]
    paged = page_of(page, per_page, len(shown), focus=focus, q=q.strip())
    return render(
        request,
        "register.html",
        viewer,
        mentors=shown[paged.start : paged.start + paged.per_page],
        shown=len(shown),
        total=len(mentors),
        remaining=sum(m["remaining_capacity"] for m in shown),
        areas=sorted({area for m in mentors for area in m["focus_areas"]}),
        focus=focus,
        q=q.strip(),
        paged=paged,
        path="/register",
    )


@router.get("/matches")
def list_matches(
    request: Request,
    db: DB,
    viewer: CurrentViewer,
    status: Literal["", "confirmed", "registered", "ended"] = "",
    q: Search = "",
    page: PageNumber = 1,
    per_page: PerPage = PER_PAGE,
    notice: str = "",
    match: int = 0,
) -> Response:
    """Matches, a page at a time, optionally of one status or holding ``q`` in an id or a
    name (filtered and sliced in the database); staff move them on from here."""
    viewer.require(REPORT_READERS)
    search = q.strip()
    query = matches.find_matches(db, status or None, search, names=viewer.named)
    paged = page_of(page, per_page, matches.count(db, query), q=search, status=status)
    found = matches.page(db, query, paged.start, paged.per_page)
    return render(
        request,
        "matches.html",
        viewer,
        matches=matches.match_views(db, found, named=viewer.named),
        statuses=matches.STATUSES,
        status=status,
        q=search,
        paged=paged,
        path="/matches",
        back=paged.url("/matches", paged.number),
        next_steps=matches.NEXT,
        can_change=viewer.may(STAFF),
        today=date.today().isoformat(),
        notice=NOTICES[notice].format(match=match) if notice in NOTICES else "",
    )


@router.get("/matches/{match_id}/end")
def confirm_end(
    request: Request,
    match_id: int,
    db: DB,
    viewer: CurrentViewer,
    back: Annotated[str, Query(max_length=2000)] = "",
) -> Response:
    """Ask before ending a match, with the reason required here; ``back`` is the page of
    the Matches list to return to."""
    viewer.require(STAFF)
    match = matches.get_match(db, match_id)
    if "ended" not in matches.NEXT[match.status]:
        raise Conflict(f"match {match_id} is {match.status}: it cannot be ended")
    return _end_form(request, viewer, match_id, "", "", safe_back(back, "/matches"))


def _end_form(
    request: Request, viewer: CurrentViewer, match_id: int, reason: str, error: str, back: str
) -> Response:
    return render(
        request,
        "confirm.html",
        viewer,
        status_code=422 if error else 200,
        heading=f"End match {match_id}?",
        question=f"End match {match_id}? Sessions can no longer be logged for it.",
        action=f"/matches/{match_id}/status",
        hidden=[("status", "ended"), ("back", back)],
        reason=reason,
        reason_error=error,
        confirm="End match",
        cancel=back_with(back, f"match-{match_id}"),
        danger=True,
    )


@router.post("/matches/{match_id}/status")
def change_status(
    request: Request,
    match_id: int,
    db: DB,
    viewer: CurrentViewer,
    status: Annotated[Literal["registered", "ended"], Form()],
    csrf_token: Csrf = "",
    reason: Annotated[str, Form(max_length=500), LINES] = "",
    registered_on: Annotated[str, Form(max_length=10)] = "",
    back: Back = "",
) -> Response:
    """Register a confirmed match (on the day of its first meeting) or end one; a wrong step
    is 409; an end without a reason shows the form again, with nothing changed. Then back to
    ``back`` (the page of the list the form was on; only paths of this site), at the row."""
    viewer.require(STAFF)
    viewer.check_form(csrf_token)
    back = safe_back(back, "/matches")
    if status == "ended" and not reason.strip():
        error = "Required: say why the match ended."
        return _end_form(request, viewer, match_id, reason, error, back)
    matches.change_status(
        db, viewer.user, match_id, status, reason or None, _day(registered_on), date.today()
    )
    db.commit()
    target = back_with(back, f"match-{match_id}", notice=status, match=str(match_id))
    return RedirectResponse(target, status_code=303)


def _day(text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(f"the first meeting's date {text!r} is not a date as YYYY-MM-DD") from None


@router.get("/reports")
def reports(
    request: Request,
    db: DB,
    viewer: CurrentViewer,
    settings: Settings,
    year: Annotated[int | None, Query(ge=YEARS[0], le=YEARS[1])] = None,
) -> Response:
    """Today's monitoring figures, and the ledger of one financial year (default: this one)."""
    viewer.require(REPORT_READERS)
    tariff = finance.Tariff.from_settings(settings)
    today = date.today()
    fy = (
        finance.FinancialYear(year, tariff.year_start_month)
        if year is not None
        else finance.FinancialYear.containing(today, tariff.year_start_month)
    )
    ledger = finance.year_ledger(db, fy, tariff)
    figures = monitoring.monitoring(db, tariff, today)
    return render(
        request,
        "reports.html",
        viewer,
        today=today.isoformat(),
        monitoring=figures,
        figures=_figures(figures),
        year=fy,
        years=YEARS,
        ledger=[_line(line) for line in ledger.months],
        total=gbp(ledger.total_gbp),
        tariff=tariff,
        rate=gbp(tariff.rate_gbp),
        chart=_chart(ledger),
        chart_desc=_chart_desc(ledger),
    )


def _figures(m: monitoring.Monitoring) -> list[tuple[str, str]]:
    mean = m.mean_clinical_sessions
    return [
        ("Mentors trained", str(m.mentors_trained)),
        ("Registered matches", str(m.registered_matches)),
        ("Mean clinical sessions a week", "not stated" if mean is None else f"{mean:g}"),
        ("Spend to date", gbp(m.spend_to_date)),
        ("Profiled spend", gbp(m.profiled_spend)),
    ]


def _line(line: finance.MonthLine) -> dict[str, Any]:
    return {
        "month": line.month.strftime("%B %Y"),
        "mentoring": line.mentoring_sessions,
        "training": line.training_sessions,
        "unpaid": line.unpaid_sessions,
        "amount": gbp(line.amount_gbp),
        "cumulative": gbp(line.cumulative_gbp),
    }


def _chart(ledger: finance.Ledger) -> BarChart:
    return bar_chart(
        [
            (line.month.strftime("%b"), line.amount_gbp, gbp(line.amount_gbp))
            for line in ledger.months
        ]
    )


def _chart_desc(ledger: finance.Ledger) -> str:
    """The chart in words, for people who cannot see it."""
    highest = max(ledger.months, key=lambda line: line.amount_gbp)
    if highest.amount_gbp == 0:
        return f"Nothing was paid in {ledger.year.label}."
    return (
        f"The highest month is {highest.month.strftime('%B %Y')} at {gbp(highest.amount_gbp)}; "
        f"the year's total is {gbp(ledger.total_gbp)}. The table gives every month."
    )
