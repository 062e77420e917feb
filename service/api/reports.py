"""Reports: the monthly reimbursement ledger and the monitoring figures (SPEC section 6)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from service import finance, monitoring
from service.api.deps import DB, ReportReaders, Settings
from service.api.schemas import SIGNED_IN, Day
from service.errors import Invalid

router = APIRouter(tags=["reports"], responses=SIGNED_IN)
# Years a report may ask about: keeps dates away from the calendar's ends.
YEARS = (2000, 2100)


class MonthPublic(BaseModel):
    month: str  # YYYY-MM
    mentoring_sessions: int
    training_sessions: int
    unpaid_sessions: int  # mentoring weeks beyond the annual cap
    amount_gbp: float
    cumulative_gbp: float


class FinanceReport(BaseModel):
    financial_year: str
    rate_gbp: float
    annual_cap: int
    months: list[MonthPublic]
    total_gbp: float


class MonitoringReport(BaseModel):
    financial_year: str
    as_of: date
    mentors_trained: int
    registered_matches: int
    mean_clinical_sessions: float | None
    spend_to_date: float
    profiled_spend: float
    mentors_profiled: int  # mentors with a confirmed or registered match at as_of
    whole_weeks_left: int


@router.get("/api/reports/finance")
def finance_report(
    db: DB,
    _user: ReportReaders,
    settings: Settings,
    year: Annotated[
        int | None,
        Query(ge=YEARS[0], le=YEARS[1], description="The financial year starting in this year"),
    ] = None,
) -> FinanceReport:
    """The monthly reimbursement ledger of one financial year (default: the current one)."""
    tariff = finance.Tariff.from_settings(settings)
    fy = (
        finance.FinancialYear(year, tariff.year_start_month)
        if year is not None
        else finance.FinancialYear.containing(date.today(), tariff.year_start_month)
    )
    ledger = finance.year_ledger(db, fy, tariff)
    return FinanceReport(
        financial_year=fy.label,
        rate_gbp=tariff.rate_gbp,
        annual_cap=tariff.annual_cap,
        months=[
            MonthPublic(
                month=line.month.strftime("%Y-%m"),
                mentoring_sessions=line.mentoring_sessions,
                training_sessions=line.training_sessions,
                unpaid_sessions=line.unpaid_sessions,
                amount_gbp=line.amount_gbp,
                cumulative_gbp=line.cumulative_gbp,
            )
            for line in ledger.months
        ],
        total_gbp=ledger.total_gbp,
    )


@router.get("/api/reports/monitoring")
def monitoring_report(
    db: DB,
    _user: ReportReaders,
    settings: Settings,
    as_of: Annotated[Day | None, Query(description="YYYY-MM-DD; default: today")] = None,
) -> MonitoringReport:
    """Mentors trained, registered matches, mean clinical sessions, spend to date and profiled.

    422 for a date outside the years 2000 to 2100."""
    as_of = as_of or date.today()
    if not YEARS[0] <= as_of.year <= YEARS[1]:
        raise Invalid(f"as_of must be a date in the years {YEARS[0]} to {YEARS[1]}")
    figures = monitoring.monitoring(db, finance.Tariff.from_settings(settings), as_of)
    return MonitoringReport(
        financial_year=figures.year.label,
        as_of=figures.as_of,
        mentors_trained=figures.mentors_trained,
        registered_matches=figures.registered_matches,
        mean_clinical_sessions=figures.mean_clinical_sessions,
        spend_to_date=figures.spend_to_date,
        profiled_spend=figures.profiled_spend,
        mentors_profiled=figures.mentors_profiled,
        whole_weeks_left=figures.whole_weeks_left,
    )
