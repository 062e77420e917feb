"""The reimbursement ledger and the monitoring arithmetic on small worked examples.

Dates are in the financial year 2026/27 (1 April 2026 to 31 March 2027) unless stated; ISO
weeks run Monday to Sunday. The rate is £289 a session and the cap 35 sessions a year.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import pytest

from service.finance import (
    FinancialYear,
    LoggedSession,
    Payment,
    Tariff,
    Training,
    ledger,
    mentoring_weeks,
    paid_mentoring_by_mentor,
    paid_sessions,
    payments,
)
from service.monitoring import profiled_sessions, whole_weeks_left

TARIFF = Tariff(rate_gbp=289.0, annual_cap=35, year_start_month=4)
FY26 = FinancialYear(2026)


def logged(mentor_id: str, *days: str) -> list[LoggedSession]:
    return [LoggedSession(mentor_id, date.fromisoformat(day)) for day in days]


def months_of(
    sessions: list[LoggedSession], training: Sequence[Training] = ()
) -> dict[str, tuple[int, int, int, float, float]]:
    """Month -> (mentoring, training, unpaid, amount, cumulative), months with activity only."""
    book = ledger(payments(sessions, training, FY26, TARIFF), FY26, TARIFF)
    return {
        line.month.strftime("%Y-%m"): (
            line.mentoring_sessions,
            line.training_sessions,
            line.unpaid_sessions,
            line.amount_gbp,
            line.cumulative_gbp,
        )
        for line in book.months
        if line.mentoring_sessions or line.training_sessions or line.unpaid_sessions
    }


def test_financial_year() -> None:
    assert (FY26.start, FY26.end, FY26.label) == (date(2026, 4, 1), date(2027, 4, 1), "2026/27")
    assert [m.strftime("%Y-%m") for m in FY26.months()][::11] == ["2026-04", "2027-03"]
    assert len(FY26.months()) == 12
    assert FinancialYear.containing(date(2027, 3, 31)) == FY26
    assert FinancialYear.containing(date(2027, 4, 1)) == FinancialYear(2027)
    assert FinancialYear(1999).label == "1999/00"
    calendar = FinancialYear.containing(date(2026, 7, 1), start_month=1)
    assert (calendar.label, calendar.start, calendar.end) == (
        "2026",
        date(2026, 1, 1),
        date(2027, 1, 1),
    )


def test_two_sessions_in_one_week_are_paid_once() -> None:
    # Mon 6 and Thu 9 April 2026 are both in ISO week 15: one week, one session, £289.
    # Mon 13 April starts week 16: a second paid session, £578 for the month.
    sessions = logged("M1", "2026-04-06", "2026-04-09", "2026-04-13")
    assert mentoring_weeks(sessions) == {"M1": [date(2026, 4, 6), date(2026, 4, 13)]}
    assert months_of(sessions) == {"2026-04": (2, 0, 0, 578.0, 578.0)}


def test_week_spanning_two_months_counts_in_the_month_of_its_first_session() -> None:
    # ISO week 18 runs Mon 27 April to Sun 3 May 2026. M1 mentors on Thu 30 April and Fri
    # 1 May: one week, paid in April. M2 mentors only on Fri 1 May: their week starts (for
    # them) in May. April 1 x £289; May 1 x £289, cumulative £578.
    sessions = logged("M1", "2026-04-30", "2026-05-01") + logged("M2", "2026-05-01")
    assert months_of(sessions) == {
        "2026-04": (1, 0, 0, 289.0, 289.0),
        "2026-05": (1, 0, 0, 289.0, 578.0),
    }


def test_annual_cap_per_mentor() -> None:
    # M1 mentors every Monday for 40 weeks from 6 April 2026. Mondays per month: April 4
    # (6, 13, 20, 27), May 4, June 5, July 4, August 5, September 4, October 4 -> 30 by the
    # end of October; November 5 (2 .. 30) -> 35, the cap. December's 4 Mondays and
    # 4 January 2027 are over the cap: shown as unpaid, not paid.
    # M2's one session in December is paid: the cap is per mentor.
    mondays = [date(2026, 4, 6) + timedelta(weeks=k) for k in range(40)]
    sessions = [LoggedSession("M1", day) for day in mondays] + logged("M2", "2026-12-02")
    months = months_of(sessions)
    assert months["2026-11"] == (5, 0, 0, 1445.0, 35 * 289.0)
    assert months["2026-12"] == (1, 0, 4, 289.0, 36 * 289.0)
    assert months["2027-01"] == (0, 0, 1, 0.0, 36 * 289.0)
    # 35 x £289 = £10,115: the guidance's yearly maximum for one mentor.
    paid = payments(sessions, [], FY26, TARIFF)
    assert paid_mentoring_by_mentor(paid, until=date(2027, 3, 31)) == {"M1": 35, "M2": 1}
    assert TARIFF.amount(paid_mentoring_by_mentor(paid, date(2027, 3, 31))["M1"]) == 10_115.0


def test_training_is_paid_in_the_month_it_is_completed() -> None:
    # T1: completed 15 June 2026, 4 sessions -> June 4 x £289 = £1,156 (the guidance's
    # training maximum). T2: not completed, nothing yet. T3: completed in March 2026, the
    # year before. Training does not use the mentoring cap: M1's June week is paid too.
    training = [
        Training("M1", date(2026, 6, 15), 4),
        Training("M2", None, 4),
        Training("M3", date(2026, 3, 10), 4),
    ]
    assert months_of(logged("M1", "2026-06-16"), training) == {
        "2026-06": (1, 4, 0, 1445.0, 1445.0),
    }


def test_year_boundaries() -> None:
    # Tue 31 March and Wed 1 April 2026 share ISO week 14: it is paid in March 2026, the year
    # before, so April 2026 pays nothing for it. Wed 31 March and Thu 1 April 2027 share
    # week 13 of 2027: paid in March 2027, this year's last month, once.
    sessions = logged("M1", "2026-03-31", "2026-04-01", "2027-03-31", "2027-04-01")
    assert months_of(sessions) == {"2027-03": (1, 0, 0, 289.0, 289.0)}
    before = FinancialYear(2025)
    assert [(p.on, p.paid) for p in payments(sessions, [], before, TARIFF)] == [
        (date(2026, 3, 31), True)
    ]
    # The cap starts again each year: 35 weeks paid in 2026/27 leave 2027/28 untouched.
    mondays = [LoggedSession("M1", date(2026, 4, 6) + timedelta(weeks=k)) for k in range(52)]
    next_year = payments(mondays, [], FinancialYear(2027), TARIFF)
    # 6 April 2026 + 51 weeks = Mon 29 March 2027, so none falls after 31 March 2027.
    assert next_year == []
    this_year = payments(mondays, [], FY26, TARIFF)
    assert (paid_sessions(this_year), len(this_year)) == (35, 52)


def test_a_ledger_has_all_twelve_months_and_a_total() -> None:
    book = ledger([], FY26, TARIFF)
    assert [line.month for line in book.months] == FY26.months()
    assert book.total_gbp == 0.0
    # Payments outside the year are left out of its ledger.
    stray = [Payment("M1", date(2026, 3, 31), "mentoring", 1)]
    assert ledger(stray, FY26, TARIFF).total_gbp == 0.0


def test_spend_to_a_date() -> None:
    # With a cap of 2: weeks paid on 6 and 13 April, training (4 sessions) completed on
    # 15 April, and the week of 20 April, the third, over the cap.
    tariff = Tariff(annual_cap=2)
    sessions = logged("M1", "2026-04-06", "2026-04-13", "2026-04-20")
    paid = payments(sessions, [Training("M1", date(2026, 4, 15), 4)], FY26, tariff)
    assert paid_sessions(paid, until=date(2026, 4, 12)) == 1
    assert paid_sessions(paid, until=date(2026, 4, 15)) == 1 + 1 + 4
    assert paid_sessions(paid) == 6


@pytest.mark.parametrize(
    ("as_of", "weeks"),
    [
        # 364 days after 1 April 2026 to 31 March 2027: 52 whole weeks.
        (date(2026, 4, 1), 52),
        # 181 days after 1 October 2026 (30 + 30 + 31 + 31 + 28 + 31): 25 weeks and 6 days.
        (date(2026, 10, 1), 25),
        # 25 to 31 March: exactly one week; on the year's last day, none.
        (date(2027, 3, 24), 1),
        (date(2027, 3, 25), 0),
        (date(2027, 3, 31), 0),
    ],
)
def test_whole_weeks_left(as_of: date, weeks: int) -> None:
    assert whole_weeks_left(as_of, FY26) == weeks


def test_profiled_sessions() -> None:
    # 25 weeks left. M1 has used 3 of 35: 25 more (weeks run out first). M2 has used 30:
    # 5 more (the cap runs out first). M3 has used all 35: none. M4 has none paid: 25.
    # M1 listed twice (two matches) is profiled once. 25 + 5 + 0 + 25 = 55.
    paid = {"M1": 3, "M2": 30, "M3": 35}
    assert profiled_sessions(paid, ["M1", "M1", "M2", "M3", "M4"], 25, 35) == 55
    assert profiled_sessions(paid, [], 25, 35) == 0
