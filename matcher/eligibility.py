"""Eligibility of a GP applying to be a mentor, from the scheme guidance ("GP eligibility").

The guidance asks that every mentor: holds full GMC registration and a licence to practise;
meets the requirements for remaining on the National Medical Performers List; is not subject
to interim suspension (section 41A of the Medical Act 1983) or restrictions; works at least
three clinical sessions a week; has the local minimum years since CCT (5 in the guidance,
ideally 8-10; the scheme sets its own); commits to at least 12 months of mentoring; and
commits to the mentorship training. A valid GMC number (7 digits) is checked as well.

``check_application`` answers every check, each with a sentence a decision-maker can read;
an application is eligible when all of them pass. No sentence repeats the GMC number.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from matcher import cells

MIN_CLINICAL_SESSIONS = 3
DEFAULT_MIN_YEARS_POST_CCT = 5.0
COMMITMENT_MONTHS = 12

CHECK_NAMES: tuple[str, ...] = (
    "gmc_number",
    "full_registration",
    "licence_to_practise",
    "performers_list",
    "not_suspended",
    "clinical_sessions",
    "years_post_cct",
    "commits_12_months",
    "commits_training",
)


@dataclass(frozen=True)
class Answers:
    """An applicant's answers to the eligibility questions (the GMC number is kept apart)."""

    has_full_registration: bool
    has_licence: bool
    on_performers_list: bool  # and meets the requirements for remaining on it
    suspended: bool  # interim suspension, or restrictions on practice
    clinical_sessions_per_week: float
    years_post_cct: float
    commits_12_months: bool
    commits_training: bool

    def __post_init__(self) -> None:
        for name in ("clinical_sessions_per_week", "years_post_cct"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a number, 0 or more (got {value})")


@dataclass(frozen=True)
class Check:
    """One eligibility rule: its name, whether the applicant meets it, and why."""

    name: str
    passed: bool
    detail: str


def check_application(
    gmc_number: str,
    answers: Answers,
    *,
    min_years_post_cct: float = DEFAULT_MIN_YEARS_POST_CCT,
) -> tuple[Check, ...]:
    """Every check of the guidance, in ``CHECK_NAMES`` order, passed or not."""
    if not math.isfinite(min_years_post_cct) or min_years_post_cct < 0:
        raise ValueError(f"min_years_post_cct must be 0 or more (got {min_years_post_cct})")
    a = answers
    sessions = _number(a.clinical_sessions_per_week)
    years = _number(a.years_post_cct)
    minimum = _number(min_years_post_cct)
    return (
        _gmc_check(gmc_number),
        _yes_no(
            "full_registration",
            a.has_full_registration,
            "Holds full registration with the GMC.",
            "Does not hold full registration with the GMC.",
        ),
        _yes_no(
            "licence_to_practise",
            a.has_licence,
            "Holds a licence to practise with the GMC.",
            "Does not hold a licence to practise with the GMC.",
        ),
        _yes_no(
            "performers_list",
            a.on_performers_list,
            "Is on the National Medical Performers List and meets the requirements for "
            "remaining on it.",
            "Is not on the National Medical Performers List, or does not meet the "
            "requirements for remaining on it.",
        ),
        _yes_no(
            "not_suspended",
            not a.suspended,
            "Is not subject to interim suspension or restrictions on practice.",
            "Is subject to interim suspension (section 41A of the Medical Act 1983) or "
            "restrictions on practice.",
        ),
        Check(
            "clinical_sessions",
            a.clinical_sessions_per_week >= MIN_CLINICAL_SESSIONS,
            f"Works {sessions} clinical session(s) a week; the scheme asks for at least "
            f"{MIN_CLINICAL_SESSIONS}.",
        ),
        Check(
            "years_post_cct",
            a.years_post_cct >= min_years_post_cct,
            f"Has {years} year(s) since CCT; the local minimum is {minimum}.",
        ),
        _yes_no(
            "commits_12_months",
            a.commits_12_months,
            f"Commits to at least {COMMITMENT_MONTHS} months of mentoring.",
            f"Does not commit to {COMMITMENT_MONTHS} months of mentoring.",
        ),
        _yes_no(
            "commits_training",
            a.commits_training,
            "Commits to the mentorship training.",
            "Does not commit to the mentorship training.",
        ),
    )


def is_eligible(checks: Iterable[Check]) -> bool:
    """Eligible when every check passes."""
    return all(check.passed for check in checks)


def failed(checks: Iterable[Check]) -> tuple[Check, ...]:
    return tuple(check for check in checks if not check.passed)


def _gmc_check(gmc_number: str) -> Check:
    try:
        cells.gmc_number(gmc_number)
    except cells.CellError:
        # Say what is wrong without repeating the number: the sentence is stored and shown.
        return Check(
            "gmc_number",
            False,
            f"The GMC number must be exactly 7 digits (got {_shape(gmc_number)}).",
        )
    return Check("gmc_number", True, "The GMC number has 7 digits.")


def _shape(text: str) -> str:
    if not text:
        return "nothing"
    if text.isascii() and text.isdigit():
        return f"{len(text)} digit(s)"
    return f"{len(text)} character(s), not all digits"


def _yes_no(name: str, passed: bool, yes: str, no: str) -> Check:
    return Check(name, passed, yes if passed else no)


def _number(value: float) -> str:
    """3.0 -> '3', 2.5 -> '2.5': how a person would write it."""
    return f"{value:g}"
