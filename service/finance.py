"""The monthly reimbursement ledger, derived from the session logs and training records.

Nothing in the ledger is typed in: every figure is recomputed from the records as they stand
(guidance section 4, "Reimbursement"; the settings are named in brackets).

* **One session a week.** A mentor is paid one session (``session_rate_gbp``, £289) for each
  ISO week (Monday to Sunday) in which they logged at least one mentoring session: the
  guidance pays "one session every week", so a second session in the same week earns nothing
  more. A week is paid in the month of its first logged session, so a week that spans two
  months (or two financial years) is paid once, where its first session falls.
* **Annual cap.** Per mentor, at most ``annual_session_cap`` (35) mentoring sessions are paid
  in a financial year (``financial_year_start_month``: April to March), earliest weeks first;
  weeks beyond the cap are shown as unpaid.
* **Training.** Each training record's ``reimbursed_sessions`` are paid at the same rate in the
  month of its ``completed_on``: nothing is paid for a course not yet completed. Training
  sessions do not count towards the mentoring cap.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.config import ServiceSettings
from service.models import MentoringSession, TrainingRecord


@dataclass(frozen=True)
class Tariff:
    """What a session is worth, how many a mentor may be paid a year, when the year starts."""

    rate_gbp: float = 289.0
    annual_cap: int = 35
    year_start_month: int = 4

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> Tariff:
        return cls(
            settings.session_rate_gbp,
            settings.annual_session_cap,
            settings.financial_year_start_month,
        )

    def amount(self, sessions: int) -> float:
        """Pounds for ``sessions``; computed from the count each time, so sums never drift."""
        return round(sessions * self.rate_gbp, 2)


@dataclass(frozen=True)
class FinancialYear:
    """Twelve months from the first day of ``start_month`` in ``start_year``."""

    start_year: int
    start_month: int = 4

    @classmethod
    def containing(cls, day: date, start_month: int = 4) -> FinancialYear:
        return cls(day.year if day.month >= start_month else day.year - 1, start_month)

    @property
    def start(self) -> date:
        return date(self.start_year, self.start_month, 1)

    @property
    def end(self) -> date:
        """The first day after the year."""
        return date(self.start_year + 1, self.start_month, 1)

    @property
    def label(self) -> str:
        """``2026/27``; a year starting in January is just ``2026``."""
        if self.start_month == 1:
            return str(self.start_year)
        return f"{self.start_year}/{(self.start_year + 1) % 100:02d}"

    def months(self) -> list[date]:
        """The first day of each of the twelve months, in order."""
        offsets = (self.start_month - 1 + i for i in range(12))
        return [date(self.start_year + m // 12, m % 12 + 1, 1) for m in offsets]

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day < self.end


@dataclass(frozen=True)
class LoggedSession:
    mentor_id: str
    held_on: date


@dataclass(frozen=True)
class Training:
    mentor_id: str
    completed_on: date | None  # None: not completed, so not paid yet
    sessions: int


@dataclass(frozen=True)
class Payment:
    """Sessions owed to one mentor on one day: a mentoring week (one) or a completed course."""

    mentor_id: str
    on: date
    kind: Literal["mentoring", "training"]
    sessions: int
    paid: bool = True  # False: a mentoring week beyond the annual cap


def mentoring_weeks(sessions: Iterable[LoggedSession]) -> dict[str, list[date]]:
    """Mentor id -> for each ISO week with a logged session, the week's first session date."""
    first: dict[tuple[str, int, int], date] = {}
    for s in sessions:
        iso = s.held_on.isocalendar()
        key = (s.mentor_id, iso.year, iso.week)
        if key not in first or s.held_on < first[key]:
            first[key] = s.held_on
    weeks: defaultdict[str, list[date]] = defaultdict(list)
    for (mentor_id, _year, _week), day in first.items():
        weeks[mentor_id].append(day)
    return {mentor_id: sorted(days) for mentor_id, days in sorted(weeks.items())}


def payments(
    sessions: Iterable[LoggedSession],
    training: Iterable[Training],
    year: FinancialYear,
    tariff: Tariff,
) -> list[Payment]:
    """Every payment falling in ``year``, in date order, with the cap applied per mentor.

    ``sessions`` must include those of the six days before the year: a week whose first
    session is in the last days of the year before belongs to that year, not this one.
    """
    out = []
    for mentor_id, days in mentoring_weeks(sessions).items():
        in_year = [day for day in days if day in year]
        out += [
            Payment(mentor_id, day, "mentoring", 1, paid=n < tariff.annual_cap)
            for n, day in enumerate(in_year)
        ]
    out += [
        Payment(t.mentor_id, t.completed_on, "training", t.sessions)
        for t in training
        if t.completed_on is not None and t.completed_on in year and t.sessions > 0
    ]
    return sorted(out, key=lambda p: (p.on, p.mentor_id, p.kind))


def paid_sessions(payments: Iterable[Payment], until: date | None = None) -> int:
    """Paid sessions (mentoring and training) dated on or before ``until`` (default: all)."""
    return sum(p.sessions for p in payments if p.paid and (until is None or p.on <= until))


def paid_mentoring_by_mentor(payments: Iterable[Payment], until: date) -> Counter[str]:
    """Mentor id -> paid mentoring sessions dated on or before ``until``: what the cap has used."""
    return Counter(
        p.mentor_id for p in payments if p.kind == "mentoring" and p.paid and p.on <= until
    )


@dataclass(frozen=True)
class MonthLine:
    month: date  # the first day of the month
    mentoring_sessions: int
    training_sessions: int
    unpaid_sessions: int
    amount_gbp: float
    cumulative_gbp: float


@dataclass(frozen=True)
class Ledger:
    year: FinancialYear
    tariff: Tariff
    months: tuple[MonthLine, ...]

    @property
    def total_gbp(self) -> float:
        return self.months[-1].cumulative_gbp


def ledger(payments: Sequence[Payment], year: FinancialYear, tariff: Tariff) -> Ledger:
    """The year's twelve months: sessions paid, sessions over the cap, pounds, running total."""
    mentoring: Counter[date] = Counter()
    training: Counter[date] = Counter()
    unpaid: Counter[date] = Counter()
    for p in payments:
        if p.on not in year:
            continue
        month = p.on.replace(day=1)
        if not p.paid:
            unpaid[month] += p.sessions
        elif p.kind == "mentoring":
            mentoring[month] += p.sessions
        else:
            training[month] += p.sessions
    lines = []
    cumulative = 0
    for month in year.months():
        sessions = mentoring[month] + training[month]
        cumulative += sessions
        lines.append(
            MonthLine(
                month=month,
                mentoring_sessions=mentoring[month],
                training_sessions=training[month],
                unpaid_sessions=unpaid[month],
                amount_gbp=tariff.amount(sessions),
                cumulative_gbp=tariff.amount(cumulative),
            )
        )
    return Ledger(year, tariff, tuple(lines))


def year_payments(db: Session, year: FinancialYear, tariff: Tariff) -> list[Payment]:
    """The stored records' payments in ``year``."""
    # Six days before the year: their weeks may run into it, and are paid before it.
    since = year.start - timedelta(days=6)
    logged = db.execute(
        select(MentoringSession.mentor_id, MentoringSession.held_on).where(
            MentoringSession.held_on >= since, MentoringSession.held_on < year.end
        )
    )
    completed = db.execute(
        select(
            TrainingRecord.mentor_id,
            TrainingRecord.completed_on,
            TrainingRecord.reimbursed_sessions,
        ).where(TrainingRecord.completed_on >= year.start, TrainingRecord.completed_on < year.end)
    )
    return payments(
        (LoggedSession(mentor_id, held_on) for mentor_id, held_on in logged),
        (Training(mentor_id, on, sessions) for mentor_id, on, sessions in completed),
        year,
        tariff,
    )


def year_ledger(db: Session, year: FinancialYear, tariff: Tariff) -> Ledger:
    return ledger(year_payments(db, year, tariff), year, tariff)
