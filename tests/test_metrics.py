"""Measures of a pair list on worked examples, and the vectorised blocking count against a
plain-Python one written from its definition.

Scores here come from shared needs only (no coordinates, everyone virtual and always free):
a mentee's 1st need shared with the mentor is worth 30, the 2nd 20. Where mentees state
preferences, the preference and mutual points are set to 0 so that stated choices do not
move the scores.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import replace

import numpy as np
import pytest
from helpers import mentee, mentor, problem

from datasets.generator import generate
from matcher.checks import pair_allowed, violations
from matcher.data import Mentee, Mentor, ProblemData
from matcher.metrics import (
    EquityRow,
    blocking_pairs,
    churn,
    equity,
    equity_gap,
    load_spread,
    matched_counts,
    mix,
    preferences_met,
    score_stats,
    summary,
    valid,
    violation_count,
)
from matcher.scoring import pair_parts
from solver.solve import solve

NO_PREFERENCE_POINTS = {"preference": (0,), "mutual": 0}


def two_mentors(capacity_max: int = 2, **kw: object) -> ProblemData:
    """M1 (leadership) and M2 (wellbeing), each taking 1-2 new mentees.

    Scores (M1, M2): E1 (leadership) 30, 0; E2 (wellbeing) 0, 30; E3 (wellbeing, leadership)
    20, 30; E4 (no needs) 0, 0. E4 prefers M1; M1 prefers E4, then E1.
    """
    return problem(
        [
            mentor("M1", focus_areas=["leadership"], preferred_mentees=["E4", "E1"]),
            mentor("M2", focus_areas=["wellbeing"], capacity_max=2),
        ],
        [
            mentee("E1", needs=["leadership"]),
            mentee("E2", needs=["wellbeing"]),
            mentee("E3", needs=["wellbeing", "leadership"]),
            mentee("E4", preferred_mentors=["M1"]),
            mentee("E5"),
        ],
        capacity={"min": 1, "max": capacity_max},
        weights=NO_PREFERENCE_POINTS,
        **kw,  # type: ignore[arg-type]
    )


FULL = [("M1", "E1"), ("M1", "E2"), ("M2", "E3"), ("M2", "E4")]


# --- blocking pairs ---------------------------------------------------------------------------


def test_one_pair_blocks_by_score_and_another_by_stated_preference() -> None:
    prob = two_mentors()
    # Both mentors are full (2 of 2); E5 is unmatched.
    # Score: E2 has 0 with M1 and would get 30 with M2; M2's worst mentee is E4 (0) < 30, so
    # (M2, E2) blocks. (M1, E3): E3 has 30 with M2, only 20 with M1 - no. (M1, E4): 0 = 0 is
    # no preference. E5 (unmatched) scores 0 with both, not above either mentor's worst (0).
    assert blocking_pairs(prob, FULL) == 1
    # Stated: E4 lists M1 and is with M2 (unlisted); M1 lists E4 first and has E2, unlisted:
    # (M1, E4) blocks. E1-E3 list nobody; M2 lists nobody, so E5 does not beat M2's mentees,
    # and M1's mentees E1 (listed) and E2 (unlisted) are not beaten by E5 (unlisted).
    assert blocking_pairs(prob, FULL, "stated") == 1


def test_a_free_place_takes_any_allowed_mentee() -> None:
    # The scheme now allows 3; M2 keeps a personal maximum of 2. M1 (2 of 3) has a free
    # place, so unmatched E5 blocks with M1 on both definitions; (M1, E4) now blocks by
    # stated preference without M1 having to prefer E4 to anyone. By score (M2, E2) still
    # blocks: 2 by score, 2 stated.
    prob = two_mentors(capacity_max=3)
    assert blocking_pairs(prob, FULL) == 2
    assert blocking_pairs(prob, FULL, "stated") == 2
    # Excluding M1-E5 removes that pair from both counts.
    excluded = two_mentors(capacity_max=3, exclusions=[("M1", "E5")])
    assert blocking_pairs(excluded, FULL) == 1
    assert blocking_pairs(excluded, FULL, "stated") == 1


def test_blocking_pairs_rejects_an_unknown_preference_kind() -> None:
    with pytest.raises(ValueError, match="preferences"):
        blocking_pairs(two_mentors(), FULL, "mutual")  # type: ignore[arg-type]


def reference_blocking(prob: ProblemData, pairs: list[tuple[str, str]], preferences: str) -> int:
    """The definition of ``blocking_pairs``, pair by pair with ``pair_allowed``."""

    def rank(listed: tuple[str, ...], other: str) -> tuple[int, int]:
        # Smaller is better: listed by position, then every unlisted one, tied.
        return (0, listed.index(other)) if other in listed else (1, 0)

    def mentee_prefers(e: Mentee, a: Mentor, b: Mentor) -> bool:
        if preferences == "score":
            return score(a, e) > score(b, e)
        return rank(e.preferred_mentors, a.mentor_id) < rank(e.preferred_mentors, b.mentor_id)

    def mentor_prefers(m: Mentor, a: Mentee, b: Mentee) -> bool:
        if preferences == "score":
            return score(m, a) > score(m, b)
        return rank(m.preferred_mentees, a.mentee_id) < rank(m.preferred_mentees, b.mentee_id)

    def score(m: Mentor, e: Mentee) -> int:
        return sum(pair_parts(prob, m, e).values())

    mentors = {m.mentor_id: m for m in prob.mentors}
    mentees = {e.mentee_id: e for e in prob.mentees}
    mentors_of: dict[str, list[Mentor]] = defaultdict(list)
    new_of: dict[str, list[Mentee]] = defaultdict(list)
    for a, b in pairs:
        mentors_of[b].append(mentors[a])
        new_of[a].append(mentees[b])
    count = 0
    for m in prob.mentors:
        most = m.new_range(prob.settings)[1]
        for e in prob.mentees:
            if most == 0 or (m.mentor_id, e.mentee_id) in pairs or not pair_allowed(prob, m, e):
                continue
            current = mentors_of[e.mentee_id]
            wants = all(mentee_prefers(e, m, c) for c in current)  # True when unmatched
            takes = len(new_of[m.mentor_id]) < most or any(
                mentor_prefers(m, e, x) for x in new_of[m.mentor_id]
            )
            count += wants and takes
    return count


def test_the_worked_examples_agree_with_the_reference() -> None:
    for capacity_max in (2, 3):
        prob = two_mentors(capacity_max)
        for kind in ("score", "stated"):
            assert blocking_pairs(prob, FULL, kind) == reference_blocking(prob, FULL, kind)


def random_round(seed: int) -> ProblemData:
    """A generated round with stated preferences on both sides."""
    rng = np.random.default_rng(seed)
    prob = generate(6, 30, seed=seed, preference_rate=0.5)
    ids = [e.mentee_id for e in prob.mentees]
    mentors = tuple(
        replace(m, preferred_mentees=tuple(rng.choice(ids, size=rng.integers(0, 6), replace=False)))
        for m in prob.mentors
    )
    if seed % 4 == 3:  # a quarter of the rounds also forbid the same PCN
        rules = replace(prob.settings.rules, forbid_same_pcn=True)
        prob = replace(prob, settings=replace(prob.settings, rules=rules))
    return replace(prob, mentors=mentors)


def random_pairs(prob: ProblemData, seed: int) -> list[tuple[str, str]]:
    """Any mentor for most mentees, ignoring every rule (some mentees twice)."""
    rng = np.random.default_rng(seed + 1000)
    pairs = []
    for e in prob.mentees:
        for _ in range(rng.choice([0, 1, 1, 1, 2])):
            pairs.append((prob.mentors[rng.integers(len(prob.mentors))].mentor_id, e.mentee_id))
    return pairs


@pytest.mark.parametrize("seed", range(12))
def test_vectorised_blocking_agrees_with_the_reference_on_any_list(seed: int) -> None:
    prob = random_round(seed)
    pairs = random_pairs(prob, seed)
    for kind in ("score", "stated"):
        assert blocking_pairs(prob, pairs, kind) == reference_blocking(prob, pairs, kind)


@pytest.mark.parametrize("seed", range(3))
def test_vectorised_blocking_agrees_with_the_reference_on_solver_results(seed: int) -> None:
    prob = random_round(seed)
    result = solve(prob, time_limit=10, seed=0)
    pairs = [(p.mentor_id, p.mentee_id) for p in result.pairs]
    assert valid(prob, pairs)
    for kind in ("score", "stated"):
        assert blocking_pairs(prob, pairs, kind) == reference_blocking(prob, pairs, kind)


# --- validity, counts, scores, preferences ----------------------------------------------------


def test_validity_and_violations() -> None:
    prob = two_mentors()
    assert valid(prob, FULL) and violation_count(prob, FULL) == 0
    # E1 twice (one mentor each) and M1 with 3 new (band 1-2): two breaches.
    broken = [*FULL, ("M1", "E3")]
    assert not valid(prob, broken)
    assert violation_count(prob, broken) == 2 == len(violations(prob, broken))
    # Unknown ids are violations here, not errors.
    assert violation_count(prob, [("M9", "E1")]) == 1


def test_matched_counts_count_each_mentee_once() -> None:
    prob = problem(
        [mentor("M1"), mentor("M2")],
        [
            mentee("E1", "fellow"),
            mentee("E2", "fellow"),
            mentee("E3", "returner"),
            mentee("E4"),
        ],
        rules={"priority_cohorts": ("fellow", "returner")},
    )
    # E1 twice (an invalid list) is one matched fellow; E3 is a matched priority returner.
    pairs = [("M1", "E1"), ("M2", "E1"), ("M1", "E3"), ("M2", "E4")]
    assert matched_counts(prob, pairs) == {
        "mentees": 4,
        "matched": 3,
        "fellows": 2,
        "fellows_matched": 1,
        "priority": 3,
        "priority_matched": 2,
    }


def test_score_stats() -> None:
    # FULL scores 30 (M1-E1), 0 (M1-E2), 30 (M2-E3), 0 (M2-E4): mean 15, every score 15 away
    # from it, so the population std is 15; total 60.
    assert score_stats(two_mentors(), FULL) == {
        "mean_score": 15.0,
        "score_std": 15.0,
        "total_score": 60,
    }
    assert score_stats(two_mentors(), []) == {
        "mean_score": None,
        "score_std": None,
        "total_score": 0,
    }


def test_preferences_met() -> None:
    prob = problem(
        [mentor(f"M{k}") for k in range(1, 5)],
        [
            mentee("E1", preferred_mentors=["M1", "M2"]),
            mentee("E2", preferred_mentors=["M2", "M3", "M4"]),
            mentee("E3", preferred_mentors=["M1", "M2", "M3", "M4"]),
            mentee("E4", preferred_mentors=["M3"]),
            mentee("E5"),
        ],
    )
    # E1 gets its 1st choice; E2 its 3rd (top 3); E3 its 4th (neither); E4 nobody (neither);
    # E5 stated nothing and is not counted. 4 stated: first 1/4, top 3 2/4.
    pairs = [("M1", "E1"), ("M4", "E2"), ("M4", "E3"), ("M1", "E5")]
    assert preferences_met(prob, pairs) == {
        "stated": 4,
        "first_choice_share": 0.25,
        "top3_share": 0.5,
    }
    no_prefs = problem([mentor("M1")], [mentee("E1")])
    assert preferences_met(no_prefs, [("M1", "E1")]) == {
        "stated": 0,
        "first_choice_share": None,
        "top3_share": None,
    }


# --- balance and mix --------------------------------------------------------------------------


def test_load_spread_over_mentors_who_can_take_mentees() -> None:
    prob = problem(
        [
            mentor("M1", current_mentees=1),
            mentor("M2"),
            mentor("M3"),
            mentor("M4", status="paused"),
            mentor("M5", capacity_max=2, current_mentees=2),  # full: no new places
        ],
        [mentee(f"E{k}") for k in range(1, 5)],
        capacity={"min": 0},
    )
    # Loads: M1 1 + 2 = 3, M2 0 + 1 = 1, M3 0; M4 (paused) and M5 (full) are left out, even
    # though M4 is given a mentee. Mean 4/3; squared deviations 25/9 + 1/9 + 16/9 = 42/9;
    # population variance 14/9, std sqrt(14)/3; max - min = 3.
    pairs = [("M1", "E1"), ("M1", "E2"), ("M2", "E3"), ("M4", "E4")]
    spread = load_spread(prob, pairs)
    assert spread["load_std"] == pytest.approx(math.sqrt(14) / 3)
    assert spread["load_max_min_gap"] == 3.0


def test_mix_shares_of_the_largest_practice_pcn_and_cohort() -> None:
    prob = problem(
        [mentor("M1"), mentor("M2"), mentor("M3")],
        [
            mentee("E1", "fellow", practice_code="P1", pcn="N1"),
            mentee("E2", "fellow", practice_code="P1", pcn="N2"),
            mentee("E3", "returner", practice_code="P2"),
            mentee("E4", "fellow"),
            mentee("E5", "fellow", practice_code="P3", pcn="N3"),
            mentee("E6", "returner", practice_code=" p3 "),
            mentee("E7", "fellow", practice_code="P4"),
        ],
    )
    pairs = [("M1", "E1"), ("M1", "E2"), ("M1", "E3"), ("M1", "E4")]
    pairs += [("M2", "E5"), ("M2", "E6"), ("M3", "E7")]
    # M1 (4 new): practice P1 x2 -> 2/4; PCN N1, N2 once each, two missing -> 1/4;
    #             cohort fellow x3 -> 3/4.
    # M2 (2 new): practice P3 and " p3 " are the same -> 2/2; PCN N3 once, one missing
    #             -> 1/2; cohort fellow, returner -> 1/2.
    # M3 has one new mentee and is left out. Means: (0.5 + 1) / 2, (0.25 + 0.5) / 2,
    # (0.75 + 0.5) / 2.
    assert mix(prob, pairs) == {"mix_practice": 0.75, "mix_pcn": 0.375, "mix_cohort": 0.625}
    assert mix(prob, [("M3", "E7")]) == {"mix_practice": None, "mix_pcn": None, "mix_cohort": None}


# --- equity -----------------------------------------------------------------------------------


def equity_round() -> tuple[ProblemData, list[tuple[str, str]]]:
    """14 mentees: 6 women (IMG), 6 men (not IMG), 2 non-binary (IMG unknown)."""
    women = [
        mentee(f"F{k}", gender="Female" if k == 1 else "female", img=True, needs=["leadership"])
        for k in range(1, 7)
    ]
    men = [mentee(f"H{k}", gender="male", img=False) for k in range(1, 7)]
    others = [mentee(f"N{k}", gender="non-binary", needs=["leadership"]) for k in range(1, 3)]
    prob = problem(
        [mentor("M1", focus_areas=["leadership"]), mentor("M2", focus_areas=["leadership"])],
        [*women, *men, *others],
    )
    # Matched: 2 women (score 30 each), all 6 men (0 each), 1 non-binary mentee (30).
    pairs = [("M1", "F1"), ("M1", "F2"), ("M2", "N1")]
    pairs += [("M1" if k <= 3 else "M2", f"H{k}") for k in range(1, 7)]
    return prob, pairs


def test_equity_rows_and_the_group_that_does_worst() -> None:
    prob, pairs = equity_round()
    # Overall: 9 of 14 matched, mean score (30 + 30 + 30 + 6 * 0) / 9 = 10.
    # Women: 2/6 = 1/3, gap 9/14 - 1/3 = 13/42; mean 30, score gap 10 - 30 = -20.
    # Men: 6/6, gap 9/14 - 1 = -5/14; mean 0, score gap 10. Non-binary (2) is below
    # min_group 5 and not reported; nobody has an ethnicity; all are mid-career.
    women = dict(size=6, matched=2, match_rate=1 / 3, mean_score=30.0)
    men = dict(size=6, matched=6, match_rate=1.0, mean_score=0.0)
    women_gaps = dict(rate_gap=9 / 14 - 1 / 3, score_gap=-20.0)
    men_gaps = dict(rate_gap=9 / 14 - 1, score_gap=10.0)
    assert equity(prob, pairs) == [
        EquityRow("gender", "Female", **women, **women_gaps),  # type: ignore[arg-type]
        EquityRow("gender", "male", **men, **men_gaps),  # type: ignore[arg-type]
        EquityRow("img", "no", **men, **men_gaps),  # type: ignore[arg-type]
        EquityRow("img", "yes", **women, **women_gaps),  # type: ignore[arg-type]
        EquityRow("cohort", "mid_career", 14, 9, 9 / 14, 10.0, 0.0, 0.0),
    ]
    # The women's 13/42 is the largest gap (the IMG "yes" row ties with it, later in order).
    assert equity_gap(prob, pairs) == (9 / 14 - 1 / 3, "gender=Female")


def test_equity_smaller_groups_and_no_groups() -> None:
    prob, pairs = equity_round()
    # With min_group 2 the non-binary pair is reported: 1 of 2, gap 9/14 - 1/2 = 1/7.
    (row,) = [r for r in equity(prob, pairs, ("gender",), min_group=2) if r.group == "non-binary"]
    assert (row.size, row.matched, row.mean_score) == (2, 1, 30.0)
    assert row.rate_gap == pytest.approx(1 / 7)
    # Nobody has an ethnicity: no rows, no gap.
    assert equity(prob, pairs, ("ethnicity",)) == []
    assert equity_gap(prob, pairs, ("ethnicity",)) == (0.0, None)
    # Everyone matched: every gap is 0 and no group is named.
    everyone = [("M1" if k % 2 else "M2", e.mentee_id) for k, e in enumerate(prob.mentees)]
    assert equity_gap(prob, everyone) == (0.0, None)
    with pytest.raises(ValueError, match="colour"):
        equity(prob, pairs, ("colour",))


# --- churn, unknown ids, summary --------------------------------------------------------------


def test_churn_is_the_share_of_previous_pairs_not_kept() -> None:
    prob = two_mentors(previous=[("M1", "E1"), ("M2", "E2"), ("M2", "E5")])
    # FULL keeps M1-E1 only: 2 of 3 previous pairs changed.
    assert churn(prob, FULL) == pytest.approx(2 / 3)
    assert churn(two_mentors(), FULL) is None


def test_unknown_ids_raise_value_error() -> None:
    with pytest.raises(ValueError, match="unknown mentor 'M9'"):
        score_stats(two_mentors(), [("M9", "E1")])
    with pytest.raises(ValueError, match="unknown mentee 'E9'"):
        summary(two_mentors(), [("M1", "E9")])


def test_summary_of_the_worked_example() -> None:
    prob = two_mentors(previous=[("M1", "E1"), ("M2", "E2"), ("M2", "E5")])
    assert summary(prob, FULL, seconds=1.23456) == {
        "valid": True,
        "violations": 0,
        "mentees": 5,
        "matched": 4,
        "fellows": 0,
        "fellows_matched": 0,
        "priority": 0,
        "priority_matched": 0,
        "mean_score": 15.0,
        "score_std": 15.0,
        "total_score": 60,
        "preferences_stated": 1,
        "first_choice_share": 0.0,  # E4 is with M2, not its only choice M1
        "top3_share": 0.0,
        "blocking_pairs": 1,
        "blocking_pairs_stated": 1,
        "load_std": 0.0,  # both mentors have 2
        "load_max_min_gap": 0.0,
        "mix_practice": 0.0,  # nobody has a practice or PCN
        "mix_pcn": 0.0,
        "mix_cohort": 1.0,  # all mid-career
        # The only group, cohort mid_career (4 of 5), is the whole: nobody does worse.
        "equity_gap": 0.0,
        "equity_gap_group": None,
        "churn": 0.667,
        "seconds": 1.235,
    }


def test_summary_survives_a_list_that_breaks_the_rules() -> None:
    prob = two_mentors(exclusions=[("M2", "E5")])
    # M2-E5 is excluded, E1 is paired twice and M1 has 3 new mentees (band 1-2).
    broken = [("M1", "E1"), ("M1", "E2"), ("M1", "E3"), ("M2", "E1"), ("M2", "E5")]
    out = summary(prob, broken)
    assert out["valid"] is False
    assert out["violations"] == 3
    assert (out["matched"], out["total_score"]) == (4, 30 + 0 + 20 + 0 + 0)
    for kind, key in (("score", "blocking_pairs"), ("stated", "blocking_pairs_stated")):
        assert out[key] == reference_blocking(prob, broken, kind)
