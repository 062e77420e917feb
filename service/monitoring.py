"""The Primary Care Monitoring Survey figures and the ledger's two totals, at a date ``as_of``.

* ``mentors_trained``: distinct mentors with a training record completed on or before as_of.
* ``registered_matches``: matches registered (first introductory meeting held) on or before
  as_of, whether or not they have ended since.
* ``mean_clinical_sessions``: mean ``clinical_sessions_per_week`` over active mentors who
  state it (their current record); ``None`` if none do.
* ``spend_to_date``: the ledger's pounds (``service.finance``) in the financial year holding
  as_of, for payments dated up to and including as_of.
* ``profiled_spend``: spend to date plus, for each mentor with a confirmed or registered match
  at as_of, ``min(cap - mentoring sessions paid this year, whole weeks left) * rate``: what is
  paid if every such mentor mentors every remaining week. Whole weeks left counts the days
  after as_of to the year's last day, in sevens.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from matcher.readers import parse_mentors
from matcher.settings import Settings
from service.finance import (
    FinancialYear,
    Tariff,
    paid_mentoring_by_mentor,
    paid_sessions,
    year_payments,
)
from service.models import Match, Mentor, TrainingRecord
from service.people import ACTIVE_MATCH, stored_table


@dataclass(frozen=True)
class Monitoring:
    as_of: date
    year: FinancialYear
    mentors_trained: int
    registered_matches: int
    mean_clinical_sessions: float | None
    spend_to_date: float
    profiled_spend: float
    mentors_profiled: int
    whole_weeks_left: int


def whole_weeks_left(as_of: date, year: FinancialYear) -> int:
    """Whole weeks in the days after ``as_of`` up to the year's last day (0 past the end)."""
    return max(0, (year.end - as_of).days - 1) // 7


def profiled_sessions(
    paid_so_far: Mapping[str, int], mentors: Iterable[str], weeks_left: int, cap: int
) -> int:
    """Sessions still to pay if each of ``mentors`` is paid every week left, up to the cap."""
    return sum(min(max(0, cap - paid_so_far.get(m, 0)), weeks_left) for m in set(mentors))


def mean_clinical_sessions(db: Session) -> float | None:
    """Mean stated clinical sessions a week of active mentors, read as a round reads them."""
    people = list(db.scalars(select(Mentor).order_by(Mentor.mentor_id)))
    if not people:
        return None
    stated = [
        m.clinical_sessions_per_week
        for m in parse_mentors(stored_table("mentors", people), Settings())
        if m.is_active and m.clinical_sessions_per_week is not None
    ]
    return round(sum(stated) / len(stated), 2) if stated else None


def mentors_matched_at(db: Session, as_of: date) -> set[str]:
    """Mentors with a match confirmed by ``as_of`` and not ended by then."""
    next_day = datetime.combine(as_of + timedelta(days=1), time())
    # A match without a confirmation time counts from when it was stored.
    started = func.coalesce(Match.confirmed_at, Match.created_at) < next_day
    not_ended = or_(
        Match.status.in_(ACTIVE_MATCH),
        and_(Match.status == "ended", Match.ended_at >= next_day),
    )
    return set(db.scalars(select(Match.mentor_id).where(started, not_ended)))


def monitoring(db: Session, tariff: Tariff, as_of: date) -> Monitoring:
    """The monitoring figures as the records stand, seen from ``as_of``."""
    year = FinancialYear.containing(as_of, tariff.year_start_month)
    next_day = datetime.combine(as_of + timedelta(days=1), time())
    trained = db.scalar(
        select(func.count(func.distinct(TrainingRecord.mentor_id))).where(
            TrainingRecord.completed_on <= as_of
        )
    )
    registered = db.scalar(
        select(func.count()).select_from(Match).where(Match.registered_at < next_day)
    )
    paid = year_payments(db, year, tariff)
    matched = mentors_matched_at(db, as_of)
    weeks_left = whole_weeks_left(as_of, year)
    to_date = paid_sessions(paid, until=as_of)
    ahead = profiled_sessions(
        paid_mentoring_by_mentor(paid, until=as_of), matched, weeks_left, tariff.annual_cap
    )
    return Monitoring(
        as_of=as_of,
        year=year,
        mentors_trained=trained or 0,
        registered_matches=registered or 0,
        mean_clinical_sessions=mean_clinical_sessions(db),
        spend_to_date=tariff.amount(to_date),
        profiled_spend=tariff.amount(to_date + ahead),
        mentors_profiled=len(matched),
        whole_weeks_left=weeks_left,
    )
