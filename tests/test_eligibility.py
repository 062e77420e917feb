"""The guidance's eligibility checks for mentor applications, as worked examples."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pytest

from matcher.eligibility import (
    CHECK_NAMES,
    Answers,
    Check,
    check_application,
    failed,
    is_eligible,
)

# A GP who meets every rule: 6 sessions a week, 12 years since CCT, both commitments.
GOOD = Answers(
    has_full_registration=True,
    has_licence=True,
    on_performers_list=True,
    suspended=False,
    clinical_sessions_per_week=6,
    years_post_cct=12,
    commits_12_months=True,
    commits_training=True,
)


def test_a_gp_who_meets_every_rule_is_eligible() -> None:
    checks = check_application("1234567", GOOD)
    assert [c.name for c in checks] == list(CHECK_NAMES)
    assert is_eligible(checks)
    assert failed(checks) == ()
    by_name = {c.name: c.detail for c in checks}
    assert by_name["clinical_sessions"] == (
        "Works 6 clinical session(s) a week; the scheme asks for at least 3."
    )
    assert by_name["years_post_cct"] == "Has 12 year(s) since CCT; the local minimum is 5."


def test_each_failing_answer_fails_exactly_its_own_check() -> None:
    cases: dict[str, tuple[dict[str, Any], str]] = {
        "full_registration": (
            {"has_full_registration": False},
            "Does not hold full registration with the GMC.",
        ),
        "licence_to_practise": (
            {"has_licence": False},
            "Does not hold a licence to practise with the GMC.",
        ),
        "performers_list": (
            {"on_performers_list": False},
            "Is not on the National Medical Performers List, or does not meet the "
            "requirements for remaining on it.",
        ),
        "not_suspended": (
            {"suspended": True},
            "Is subject to interim suspension (section 41A of the Medical Act 1983) or "
            "restrictions on practice.",
        ),
        "clinical_sessions": (
            {"clinical_sessions_per_week": 2.5},
            "Works 2.5 clinical session(s) a week; the scheme asks for at least 3.",
        ),
        "years_post_cct": (
            {"years_post_cct": 4},
            "Has 4 year(s) since CCT; the local minimum is 5.",
        ),
        "commits_12_months": (
            {"commits_12_months": False},
            "Does not commit to 12 months of mentoring.",
        ),
        "commits_training": (
            {"commits_training": False},
            "Does not commit to the mentorship training.",
        ),
    }
    for name, (change, detail) in cases.items():
        checks = check_application("1234567", replace(GOOD, **change))
        assert failed(checks) == (Check(name, False, detail),), name
        assert not is_eligible(checks)


def test_boundaries_are_inclusive() -> None:
    # Exactly 3 sessions and exactly the local minimum both pass ("at least").
    at_minimum = replace(GOOD, clinical_sessions_per_week=3, years_post_cct=5)
    assert is_eligible(check_application("1234567", at_minimum))
    just_below = replace(GOOD, clinical_sessions_per_week=2.99, years_post_cct=4.99)
    names = [c.name for c in failed(check_application("1234567", just_below))]
    assert names == ["clinical_sessions", "years_post_cct"]


def test_the_local_minimum_years_post_cct_is_a_parameter() -> None:
    # 7 years since CCT: enough for the guidance's 5, not for a scheme that asks for 8.
    seven = replace(GOOD, years_post_cct=7)
    assert is_eligible(check_application("1234567", seven))
    checks = check_application("1234567", seven, min_years_post_cct=8)
    assert failed(checks) == (
        Check("years_post_cct", False, "Has 7 year(s) since CCT; the local minimum is 8."),
    )


@pytest.mark.parametrize(
    ("number", "detail"),
    [
        ("123456", "The GMC number must be exactly 7 digits (got 6 digit(s))."),
        ("12345678", "The GMC number must be exactly 7 digits (got 8 digit(s))."),
        (
            "123456A",
            "The GMC number must be exactly 7 digits (got 7 character(s), not all digits).",
        ),
        ("", "The GMC number must be exactly 7 digits (got nothing)."),
        (
            "１２３４５６７",
            "The GMC number must be exactly 7 digits (got 7 character(s), not all digits).",
        ),
    ],
)
def test_a_malformed_gmc_number_fails_without_being_repeated(number: str, detail: str) -> None:
    checks = check_application(number, GOOD)
    assert failed(checks) == (Check("gmc_number", False, detail),)
    if number:
        assert number not in detail


def test_everything_wrong_names_every_check() -> None:
    nothing = Answers(
        has_full_registration=False,
        has_licence=False,
        on_performers_list=False,
        suspended=True,
        clinical_sessions_per_week=0,
        years_post_cct=0,
        commits_12_months=False,
        commits_training=False,
    )
    checks = check_application("12", nothing)
    assert [c.name for c in failed(checks)] == list(CHECK_NAMES)


@pytest.mark.parametrize("bad", [-1, math.nan, math.inf])
def test_impossible_numbers_are_refused_on_construction(bad: float) -> None:
    with pytest.raises(ValueError, match="clinical_sessions_per_week must be a number"):
        replace(GOOD, clinical_sessions_per_week=bad)
    with pytest.raises(ValueError, match="years_post_cct must be a number"):
        replace(GOOD, years_post_cct=bad)
    with pytest.raises(ValueError, match="min_years_post_cct must be 0 or more"):
        check_application("1234567", GOOD, min_years_post_cct=bad)
