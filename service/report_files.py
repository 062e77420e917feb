"""The reports as spreadsheets: the monitoring figures and the reimbursement ledger.

Every file says the date it is as of twice: in its name
(``monitoring-2026-27-as-of-2026-11-30.csv``) and in an ``as_of`` column (ISO date) on
every row, so that a machine reads one table and a person sees the date beside each figure.
The workbooks add an "About" sheet that says it in words ("As of 30 November 2026").

* Monitoring: one row, with the columns of ``GET /api/reports/monitoring``; the workbook
  adds the participants' scheme experience (``experience_file``: the surveys' figures by
  round, cohort and mentee group, never a comment; no means nor counts of each rating for
  fewer than 5 answers).
* Ledger: the year's twelve months, with the columns of ``GET /api/reports/finance``'s
  months; and, per month, each mentor paid or over the cap (the lines add up to the month's).
  Staff get the mentor's name beside the id; analysts get ids only.

Cells are written by ``matcher.safe_write`` (nothing Excel would run; XLSX with a styled,
frozen header and sized columns).
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.safe_write import Row, Sheet, write_csv, write_workbook
from service.experience import SUPPRESSED, ExperienceRow
from service.finance import FinancialYear, Ledger, Payment, Tariff
from service.models import SURVEY_RATINGS, Mentor
from service.monitoring import Monitoring

KINDS = ("csv", "xlsx")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
MONITORING_COLUMNS = (
    "as_of",
    "financial_year",
    "mentors_trained",
    "registered_matches",
    "mean_clinical_sessions",
    "spend_to_date",
    "profiled_spend",
    "mentors_profiled",
    "whole_weeks_left",
)
MONTH_COLUMNS = (
    "as_of",
    "financial_year",
    "month",
    "mentoring_sessions",
    "training_sessions",
    "unpaid_sessions",
    "amount_gbp",
    "cumulative_gbp",
)
MENTOR_COLUMNS = (
    "as_of",
    "financial_year",
    "month",
    "mentor_id",
    "mentor_name",
    "mentoring_sessions",
    "training_sessions",
    "unpaid_sessions",
    "amount_gbp",
)
ID_MENTOR_COLUMNS = tuple(c for c in MENTOR_COLUMNS if c != "mentor_name")
EXPERIENCE_COLUMNS = (
    "as_of",
    "by",
    "attribute",
    "group",
    "stage",
    "side",
    "sent",
    "answered",
    "response_rate",
    "note",
    *(f"{rating}_{part}" for rating in SURVEY_RATINGS for part in ("mean", *"12345")),
)
# The experience by each grouping: ``by`` -> its rows (``service.experience``).
Experience = Mapping[str, Sequence[ExperienceRow]]


def as_of_words(day: date) -> str:
    """``As of 30 November 2026``."""
    return f"As of {day.day} {day.strftime('%B %Y')}"


def file_name(report: str, year: FinancialYear, as_of: date, kind: str) -> str:
    """``ledger-2026-27-as-of-2026-11-30.xlsx``: the report, its year and its date."""
    return f"{report}-{year.label.replace('/', '-')}-as-of-{as_of.isoformat()}.{kind}"


@dataclass(frozen=True)
class MentorMonth:
    """What one mentor is owed for one month of the ledger."""

    month: date
    mentor_id: str
    mentoring_sessions: int
    training_sessions: int
    unpaid_sessions: int
    amount_gbp: float


def mentor_months(
    payments: Iterable[Payment], year: FinancialYear, tariff: Tariff
) -> list[MentorMonth]:
    """Per month and mentor, the sessions paid and over the cap, as ``finance.ledger`` counts
    them for the month: summed over the mentors, they give the month's line."""
    mentoring: Counter[tuple[date, str]] = Counter()
    training: Counter[tuple[date, str]] = Counter()
    unpaid: Counter[tuple[date, str]] = Counter()
    for p in payments:
        if p.on not in year:
            continue
        key = (p.on.replace(day=1), p.mentor_id)
        if not p.paid:
            unpaid[key] += p.sessions
        elif p.kind == "mentoring":
            mentoring[key] += p.sessions
        else:
            training[key] += p.sessions
    return [
        MentorMonth(
            month,
            mentor_id,
            mentoring[month, mentor_id],
            training[month, mentor_id],
            unpaid[month, mentor_id],
            tariff.amount(mentoring[month, mentor_id] + training[month, mentor_id]),
        )
        for month, mentor_id in sorted({*mentoring, *training, *unpaid})
    ]


def monitoring_file(figures: Monitoring, kind: str, experience: Experience | None = None) -> bytes:
    """The monitoring figures at ``figures.as_of``: one row (no names in it for anyone);
    the workbook adds ``experience`` as a sheet of its own."""
    row = {
        "as_of": figures.as_of.isoformat(),
        "financial_year": figures.year.label,
        "mentors_trained": figures.mentors_trained,
        "registered_matches": figures.registered_matches,
        "mean_clinical_sessions": figures.mean_clinical_sessions,
        "spend_to_date": figures.spend_to_date,
        "profiled_spend": figures.profiled_spend,
        "mentors_profiled": figures.mentors_profiled,
        "whole_weeks_left": figures.whole_weeks_left,
    }
    about = [
        f"Monitoring figures, financial year {figures.year.label}",
        "Spend to date: payments dated up to and including the as-of date.",
        "Profiled spend: spend to date plus, for each mentor with a confirmed or "
        "registered match, a paid session in each whole week left, up to the cap.",
    ]
    sheets = [Sheet("Monitoring", MONITORING_COLUMNS, [row])]
    if experience is not None:
        sheets.append(_experience_sheet(figures.as_of, experience))
        about += EXPERIENCE_ABOUT
    return _file(kind, [*sheets, _about(figures.as_of, about)])


EXPERIENCE_ABOUT = [
    "Experience: the participants' feedback surveys (after the first meeting, at the end), "
    "by round, mentee cohort and mentee group (gender, ethnicity, IMG): surveys sent by the "
    "as-of date, answers given by then, the response rate, and each rating's mean and "
    "answers of 1 to 5.",
    f"A row with {SUPPRESSED} gives no means nor answers of 1 to 5, so that no one's answers "
    "can be read.",
]


def experience_file(as_of: date, experience: Experience, kind: str) -> bytes:
    """The participants' scheme experience at ``as_of``: one row per grouping, group, stage
    and side (never a comment or a name)."""
    sheets = [
        _experience_sheet(as_of, experience),
        _about(as_of, ["Participants' scheme experience", *EXPERIENCE_ABOUT]),
    ]
    return _file(kind, sheets)


def _experience_sheet(as_of: date, experience: Experience) -> Sheet:
    rows: list[Row] = []
    for by, found in experience.items():
        for line in found:
            row: dict[str, object] = {
                "as_of": as_of.isoformat(),
                "by": by,
                "attribute": line.attribute,
                "group": line.group,
                "stage": line.stage,
                "side": line.side,
                "sent": line.sent,
                "answered": line.answered,
                "response_rate": line.response_rate,
                "note": SUPPRESSED if line.suppressed else "",
            }
            for rating in line.ratings:
                row[f"{rating.rating}_mean"] = rating.mean
                row.update({f"{rating.rating}_{n}": c for n, c in enumerate(rating.counts, 1)})
            rows.append(row)
    return Sheet("Experience", EXPERIENCE_COLUMNS, rows)


def ledger_file(
    session: Session,
    ledger: Ledger,
    payments: Sequence[Payment],
    as_of: date,
    kind: str,
    *,
    named: bool,
    by_mentor: bool = False,
) -> bytes:
    """The ledger of ``ledger.year`` as the records stood on ``as_of``: the CSV holds the
    month lines (or, ``by_mentor``, the mentor lines); the workbook holds both. ``payments``
    are the year's (``finance.year_payments``), from which ``ledger`` was made."""
    label = ledger.year.label
    months: list[Row] = [
        {
            "as_of": as_of.isoformat(),
            "financial_year": label,
            "month": line.month.strftime("%Y-%m"),
            "mentoring_sessions": line.mentoring_sessions,
            "training_sessions": line.training_sessions,
            "unpaid_sessions": line.unpaid_sessions,
            "amount_gbp": line.amount_gbp,
            "cumulative_gbp": line.cumulative_gbp,
        }
        for line in ledger.months
    ]
    lines = mentor_months(payments, ledger.year, ledger.tariff)
    names = _mentor_names(session, {line.mentor_id for line in lines}) if named else {}
    mentor_columns = MENTOR_COLUMNS if named else ID_MENTOR_COLUMNS
    mentors: list[Row] = [
        {
            "as_of": as_of.isoformat(),
            "financial_year": label,
            "month": line.month.strftime("%Y-%m"),
            "mentor_id": line.mentor_id,
            **({"mentor_name": names.get(line.mentor_id, "")} if named else {}),
            "mentoring_sessions": line.mentoring_sessions,
            "training_sessions": line.training_sessions,
            "unpaid_sessions": line.unpaid_sessions,
            "amount_gbp": line.amount_gbp,
        }
        for line in lines
    ]
    if kind == "csv":
        if by_mentor:
            return _file(kind, [Sheet("By mentor", mentor_columns, mentors)])
        return _file(kind, [Sheet("Months", MONTH_COLUMNS, months)])
    tariff = ledger.tariff
    about = _about(
        as_of,
        [
            f"Reimbursement ledger, financial year {label}",
            f"One session at £{tariff.rate_gbp:,.2f} for each week a mentor logged a session, "
            f"up to {tariff.annual_cap} a year, and the training sessions of each completed "
            "course; unpaid sessions are mentoring weeks over the cap.",
            "Months: the year's twelve months. By mentor: each month's lines per mentor, "
            "adding up to the month's.",
        ],
    )
    return _file(
        kind,
        [
            Sheet("Months", MONTH_COLUMNS, months),
            Sheet("By mentor", mentor_columns, mentors),
            about,
        ],
    )


def _about(as_of: date, lines: list[str]) -> Sheet:
    return Sheet("About", ("about",), [[as_of_words(as_of)], *([line] for line in lines)])


def _mentor_names(session: Session, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    found = session.execute(select(Mentor.mentor_id, Mentor.name).where(Mentor.mentor_id.in_(ids)))
    return {mentor_id: name for mentor_id, name in found}


def _file(kind: str, sheets: list[Sheet]) -> bytes:
    """The first sheet as CSV, or every sheet as a workbook."""
    if kind == "csv":
        first = sheets[0]
        return _bytes("csv", lambda path: write_csv(path, first.header, first.rows))
    if kind == "xlsx":
        return _bytes("xlsx", lambda path: write_workbook(path, sheets))
    raise ValueError(f"unknown spreadsheet kind {kind!r}: choose csv or xlsx")


def _bytes(suffix: str, write: Callable[[Path], None]) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, f"report.{suffix}")
        write(path)
        return path.read_bytes()
