"""The mentor register, the matches and their lifecycle, and the reports (figures, ledger) with
their downloads as of a date."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from service import experience, finance, matches, monitoring, report_files
from service.api.deps import DB, Settings
from service.api.reports import YEARS
from service.api.schemas import LINE, LINES
from service.config import ServiceSettings
from service.errors import Conflict, Invalid, NotFound
from service.models import Mentee
from service.outbox import MailSetup
from service.people import mentor_summaries
from service.roles import PEOPLE_READERS, REPORT_READERS, STAFF
from service.search import count
from service.web.chart import BarChart, bar_chart
from service.web.deps import Csrf, CurrentViewer, confirm_page, render
from service.web.paging import PER_PAGE, Back, PageNumber, PerPage, back_with, page_of, safe_back

router = APIRouter(include_in_schema=False)
NOTICES = {
    "registered": "Match {match} registered: its first meeting was held.",
    "ended": "Match {match} ended.",
}
Search = Annotated[str, Query(max_length=100)]
Year = Annotated[int | None, Query(ge=YEARS[0], le=YEARS[1])]
AsOf = Annotated[str, Query(max_length=10), LINE]


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
    paged = page_of(page, per_page, count(db, query), q=search, status=status)
    found = matches.page(db, query, paged.start, paged.per_page)
    return render(
        request,
        "matches.html",
        viewer,
        matches=matches.match_views(db, found, named=viewer.named),
        cohorts=_cohorts(db, {m.mentee_id for m in found}),
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


def _cohorts(db: Session, mentee_ids: set[str]) -> dict[str, str]:
    """Mentee id -> cohort code, of the mentees on a page (the cohort only: it is shown to
    analysts too, as on the round page)."""
    if not mentee_ids:
        return {}
    rows = db.execute(
        select(Mentee.mentee_id, Mentee.record).where(Mentee.mentee_id.in_(mentee_ids))
    )
    return {mentee_id: str(record.get("cohort") or "") for mentee_id, record in rows}


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
    return confirm_page(
        request,
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
    settings: Settings,
    status: Annotated[Literal["registered", "ended"], Form()],
    csrf_token: Csrf = "",
    reason: Annotated[str, Form(max_length=500), LINES] = "",
    registered_on: Annotated[str, Form(max_length=10)] = "",
    back: Back = "",
) -> Response:
    """Register a confirmed match (on the day of its first meeting) or end one, sending both
    people that stage's feedback survey; a wrong step is 409; an end without a reason shows
    the form again, with nothing changed. Then back to ``back`` (the page of the list the
    form was on; only paths of this site), at the row."""
    viewer.require(STAFF)
    viewer.check_form(csrf_token)
    back = safe_back(back, "/matches")
    if status == "ended" and not reason.strip():
        error = "Required: say why the match ended."
        return _end_form(request, viewer, match_id, reason, error, back)
    matches.change_status(
        db,
        viewer.user,
        match_id,
        status,
        reason or None,
        _day(registered_on),
        date.today(),
        setup=MailSetup.from_settings(settings),
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
    year: Year = None,
    as_of: AsOf = "",
) -> Response:
    """The monitoring figures as of a day (default today), and the ledger of one financial
    year (default: this one) as the records stand today; each downloadable."""
    viewer.require(REPORT_READERS)
    tariff = finance.Tariff.from_settings(settings)
    today = date.today()
    day = _as_of(as_of, today)
    fy = _year(year, tariff, today)
    ledger = finance.year_ledger(db, fy, tariff)
    figures = monitoring.monitoring(db, tariff, day)
    sent, answered = experience.totals(db, day)
    return render(
        request,
        "reports.html",
        viewer,
        surveys_sent=sent,
        surveys_answered=answered,
        today=today.isoformat(),
        today_words=report_files.as_of_words(today),
        as_of=day.isoformat(),
        as_of_words=report_files.as_of_words(day),
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


@router.get("/reports/monitoring.{kind}")
def monitoring_download(
    kind: str, db: DB, viewer: CurrentViewer, settings: Settings, as_of: AsOf = ""
) -> Response:
    """The monitoring figures as of a day (default today), as CSV or XLSX (with a sheet of
    the participants' scheme experience); no names in them."""
    viewer.require(REPORT_READERS)
    _check_kind(kind)
    tariff = finance.Tariff.from_settings(settings)
    figures = monitoring.monitoring(db, tariff, _as_of(as_of, date.today()))
    name = report_files.file_name("monitoring", figures.year, figures.as_of, kind)
    # The workbook adds the participants' experience; the CSV stays one table of one row.
    views = experience.by_each(db, figures.as_of) if kind == "xlsx" else None
    return _download(report_files.monitoring_file(figures, kind, views), kind, name)


@router.get("/reports/ledger.{kind}")
def ledger_download(
    kind: str, db: DB, viewer: CurrentViewer, settings: Settings, year: Year = None
) -> Response:
    """The ledger of one financial year as the records stand today: the months (CSV), or
    the months and the lines per mentor and month (XLSX). Analysts get mentor ids only."""
    viewer.require(REPORT_READERS)
    _check_kind(kind)
    return _ledger(db, settings, year, kind, named=viewer.named, by_mentor=False)


@router.get("/reports/ledger-by-mentor.csv")
def ledger_by_mentor_download(
    db: DB, viewer: CurrentViewer, settings: Settings, year: Year = None
) -> Response:
    """The ledger's lines per mentor and month, adding up to the months' (CSV). Analysts get
    mentor ids, never names."""
    viewer.require(REPORT_READERS)
    return _ledger(db, settings, year, "csv", named=viewer.named, by_mentor=True)


def _ledger(
    db: Session,
    settings: ServiceSettings,
    year: int | None,
    kind: str,
    *,
    named: bool,
    by_mentor: bool,
) -> Response:
    tariff = finance.Tariff.from_settings(settings)
    today = date.today()
    fy = _year(year, tariff, today)
    paid = finance.year_payments(db, fy, tariff)
    ledger = finance.ledger(paid, fy, tariff)
    content = report_files.ledger_file(
        db, ledger, paid, today, kind, named=named, by_mentor=by_mentor
    )
    report = "ledger-by-mentor" if by_mentor else "ledger"
    return _download(content, kind, report_files.file_name(report, fy, today, kind))


def _check_kind(kind: str) -> None:
    if kind not in report_files.KINDS:
        raise NotFound(f"no download of kind {kind!r}: choose csv or xlsx")


def _download(content: bytes, kind: str, name: str) -> Response:
    return Response(
        content,
        media_type=report_files.MEDIA_TYPES[kind],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _year(year: int | None, tariff: finance.Tariff, today: date) -> finance.FinancialYear:
    if year is not None:
        return finance.FinancialYear(year, tariff.year_start_month)
    return finance.FinancialYear.containing(today, tariff.year_start_month)


def _as_of(text: str, today: date) -> date:
    """The as-of day of the form's ``YYYY-MM-DD`` (empty: today), in the years reports cover."""
    if not text.strip():
        return today
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(f"the as-of date {text!r} is not a date as YYYY-MM-DD") from None
    if not YEARS[0] <= day.year <= YEARS[1]:
        raise Invalid(f"the as-of date must be in the years {YEARS[0]} to {YEARS[1]}")
    return day


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
