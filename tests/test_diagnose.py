"""The sentences staff read when a round cannot be solved or a mentee is left unmatched: one
pinned pair per hard rule, and the other clashes of pins, each said in plain words."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import mentee, mentor, problem, run

from matcher.rules import RULE_CODES
from solver.result import Status
from solver.solve import solve

ONE_EACH = {"min": 1, "max": 1}

# --- the sentences staff read ---------------------------------------------------------------
# One pinned pair per hard rule, M1 and E1, that the rule forbids: the round cannot be solved,
# and the sentence says why in plain words. Without the pin, E1 has no allowed mentor, and the
# reason counts the mentors the rule removed ("of 1 mentor, 1 ...").
FAR = {"modes": ["face_to_face"], "latitude": 51.5, "longitude": -0.1}
RULE_CASES = [
    # (rule, mentor fields, mentee fields, other settings, why the pin fails, what E1 is told)
    ("inactive", {"status": "paused"}, {}, {}, "the mentor is not active", "1 not active"),
    (
        "full",
        {"current_mentees": 1},
        {},
        {},
        "the mentor already has as many mentees as they can take",
        "1 already at capacity",
    ),
    (
        "excluded",
        {},
        {},
        {"exclusions": [("M1", "E1")]},
        "they are excluded from being paired (e.g. supervisor or line manager)",
        "1 excluded (e.g. supervisor or line manager)",
    ),
    (
        "same_practice",
        {"practice_code": "A81001"},
        {"practice_code": "A81001"},
        {},
        "they work in the same practice",
        "1 in the same practice",
    ),
    (
        "same_pcn",
        {"pcn": "North PCN"},
        {"pcn": "North PCN"},
        {"rules": {"forbid_same_pcn": True}},
        "they work in the same PCN, which the scheme does not allow",
        "1 in the same PCN",
    ),
    (
        "availability",
        {"availability": ["mon_am"]},
        {"availability": ["tue_pm"]},
        {},
        "they share no weekly slot",
        "1 with no shared weekly slot",
    ),
    (
        "mode",
        {"modes": ["virtual"]},
        {"modes": ["face_to_face"]},
        {},
        "they share no meeting mode",
        "1 with no shared meeting mode",
    ),
    (
        "distance",
        FAR,
        {**FAR, "latitude": 52.5},  # 111 km north; the default maximum is 30 km
        {},
        "they meet only face to face and live further apart than the mentee travels",
        "1 too far away to meet face to face",
    ),
    (
        "gender",
        {"gender": "male"},
        {"mentor_gender": "female", "mentor_gender_strict": True},
        {},
        "the mentor is not of the gender the mentee requires",
        "1 not of the gender the mentee requires",
    ),
]


def test_every_rule_has_a_sentence() -> None:
    assert sorted(case[0] for case in RULE_CASES) == sorted(RULE_CODES)


@pytest.mark.parametrize(("rule", "mentor_kw", "mentee_kw", "extra", "why", "told"), RULE_CASES)
def test_a_pin_that_breaks_a_rule_is_said_in_plain_words(
    rule: str,
    mentor_kw: dict[str, Any],
    mentee_kw: dict[str, Any],
    extra: dict[str, Any],
    why: str,
    told: str,
) -> None:
    people = [mentor("M1", **mentor_kw)], [mentee("E1", **mentee_kw)]
    pinned = problem(*people, locks=[("M1", "E1")], capacity=ONE_EACH, **extra)
    result = run(pinned)
    assert result.status is Status.INFEASIBLE
    assert result.conflicts == (f"The pinned pair M1 and E1 cannot be kept: {why}.",)
    free = run(problem(*people, capacity=ONE_EACH, **extra))
    assert free.unmatched == {"E1": f"no allowed mentor: of 1 mentor, {told}"}


def test_a_mentee_pinned_to_two_mentors_is_said_in_plain_words() -> None:
    prob = problem(
        [mentor("M1"), mentor("M2")],
        [mentee("E1")],
        locks=[("M1", "E1"), ("M2", "E1")],
        capacity=ONE_EACH,
    )
    assert run(prob).conflicts == (
        "Mentee E1 is pinned to 2 mentors (M1, M2), but a mentee can have only one mentor.",
    )


def test_a_mentor_pinned_beyond_their_room_is_said_in_plain_words() -> None:
    # M1 has 2 mentees already and a maximum of 3: room for one more, and two are pinned.
    # M2, new to the scheme (maximum 1), has two pinned too.
    prob = problem(
        [mentor("M1", current_mentees=2, capacity_max=3), mentor("M2", capacity_max=1)],
        [mentee(f"E{j}") for j in range(1, 5)],
        locks=[("M1", "E1"), ("M1", "E2"), ("M2", "E3"), ("M2", "E4")],
        capacity={"min": 1},
    )
    assert run(prob).conflicts == (
        "Mentor M1 has 2 pinned mentees but room for only 1 more: they already have 2 mentees "
        "and the maximum is 3.",
        "Mentor M2 has 2 pinned mentees but room for only 1: the maximum is 1.",
    )


def test_the_diagnosis_counts_agree_with_their_nouns() -> None:
    # One mentee, one place, one active mentor, no allowed pair (no shared slot).
    prob = problem(
        [mentor("M1", availability=["mon_am"])],
        [mentee("E1", availability=["tue_pm"])],
        capacity=ONE_EACH,
    )
    said: list[str] = []
    solve(prob, time_limit=5, progress=said.append)
    assert said[:2] == [
        "1 mentee (0 of them priority) for 1 place with 1 active mentor; 0 pairs allowed.",
        "1 mentee has no allowed mentor at all.",
    ]
