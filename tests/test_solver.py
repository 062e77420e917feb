"""The solver on worked examples: each instance is small enough to find its optimum by hand.

Default weights (``matcher.settings``): a shared need is worth 30, 20, 12, 8, 5 points by its
place in the mentee's list; the mentee's 1st, 2nd, ... preferred mentor 40, 30, 20, ...; a
mutual speed-meeting choice 20 more; a soft gender wish met 15; face-to-face-only pairs lose
round(10 * km / max_km). Penalty: 1 * sum of squared loads + 2 * mix excess + 5 * changes.
Every answer also passes ``assert_valid``: no hard rule broken, levels recomputed
independently.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from helpers import (
    assert_valid,
    mentee,
    mentor,
    pair_set,
    problem,
    reference_levels,
    run,
    settings,
)

from datasets.generator import generate
from matcher.checks import evaluate
from matcher.data import PairRef, ProblemData
from solver.result import Status
from solver.solve import solve

ONE_EACH = {"min": 1, "max": 1}


def test_fellows_beat_other_cohorts_when_capacity_is_short() -> None:
    # M1 has one place. E1 (mid-career) would score 30 (shared need) + 40 (1st choice) = 70,
    # E2 (fellow) scores 0 - but level 1 (priority matched) comes first: E2 gets the place.
    prob = problem(
        [mentor("M1", focus_areas=["leadership"])],
        [
            mentee("E1", needs=["leadership"], preferred_mentors=["M1"]),
            mentee("E2", cohort="fellow"),
        ],
        capacity=ONE_EACH,
    )
    result = run(prob)
    assert result.status is Status.OPTIMAL
    assert pair_set(result) == {("M1", "E2")}
    # penalty: M1's load 1 squared = 1; no mix, no previous pairs.
    assert evaluate(prob, pair_set(result)) == {
        "priority_matched": 1,
        "matched": 1,
        "waiting_days": 0,
        "quality": 0,
        "penalty": 1,
    }
    assert "full" in result.unmatched["E1"] and "M1" in result.unmatched["E1"]


def test_more_mentees_matched_beats_quality() -> None:
    # E2 is free only on Monday morning, which only M1 offers. Giving M1 to E1 scores 70 but
    # matches one mentee; M1-E2 and M2-E1 score 0 but match two, and level 2 comes first.
    prob = problem(
        [
            mentor("M1", focus_areas=["leadership"], availability=["mon_am", "tue_am"]),
            mentor("M2", availability=["tue_am"]),
        ],
        [
            mentee("E1", needs=["leadership"], preferred_mentors=["M1"]),
            mentee("E2", availability=["mon_am"]),
        ],
        capacity=ONE_EACH,
    )
    result = run(prob)
    assert result.status is Status.OPTIMAL
    assert pair_set(result) == {("M1", "E2"), ("M2", "E1")}
    assert result.level("matched").value == 2
    assert result.objective == 0


def test_among_equal_counts_the_longer_waiter_wins() -> None:
    # One place. E1 joined on 1 Jan 2025, E2 on 1 Jun 2025 (the latest date): E1 has waited
    # 31 + 28 + 31 + 30 + 31 = 151 days, E2 0. Waiting (level 2) beats E2's shared need (30).
    prob = problem(
        [mentor("M1", focus_areas=["leadership"])],
        [
            mentee("E1", waiting_since="2025-01-01"),
            mentee("E2", needs=["leadership"], waiting_since="2025-06-01"),
        ],
        capacity=ONE_EACH,
    )
    result = run(prob)
    assert pair_set(result) == {("M1", "E1")}
    assert result.level("waiting_days").value == 151
    assert result.objective == 0


def test_quality_weights_shared_needs_by_their_order() -> None:
    # E1 needs leadership, wellbeing, research (in that order: 30, 20, 12 points).
    # M1 offers wellbeing and research: 20 + 12 = 32; M2 offers leadership only: 30.
    prob = problem(
        [
            mentor("M1", focus_areas=["wellbeing", "research"]),
            mentor("M2", focus_areas=["leadership"]),
        ],
        [mentee("E1", needs=["leadership", "wellbeing", "research"])],
        capacity=ONE_EACH,
    )
    result = run(prob)
    assert result.status is Status.OPTIMAL
    assert pair_set(result) == {("M1", "E1")}
    assert result.pairs[0].score == 32
    assert result.objective == 32


def test_a_stated_preference_wins() -> None:
    # M1 shares E1's first need (30); M2 is E1's first choice (40): M2.
    prob = problem(
        [mentor("M1", focus_areas=["leadership"]), mentor("M2")],
        [mentee("E1", needs=["leadership"], preferred_mentors=["M2"])],
        capacity=ONE_EACH,
    )
    result = run(prob)
    assert pair_set(result) == {("M2", "E1")}
    assert result.objective == 40


def test_a_mutual_choice_beats_a_one_sided_first_choice() -> None:
    # E1 ranks M1 first (40) and M2 second (30); M2 also chose E1 (+20 = 50): M2.
    prob = problem(
        [mentor("M1"), mentor("M2", preferred_mentees=["E1"])],
        [mentee("E1", preferred_mentors=["M1", "M2"])],
        capacity=ONE_EACH,
    )
    result = run(prob)
    assert pair_set(result) == {("M2", "E1")}
    assert result.objective == 50


def _minimum_round(allow_unused: bool) -> ProblemData:
    # Scheme band 4-8. M1 meets only on Monday mornings, when only E1 and E2 are free: two
    # mentees cannot reach M1's minimum of 4. M2 (personal maximum 4: band 4-4) meets any time
    # and shares E3-E6's need (30 each).
    return problem(
        [
            mentor("M1", availability=["mon_am"]),
            mentor("M2", capacity_max=4, focus_areas=["leadership"]),
        ],
        [mentee(f"E{j}", availability=["mon_am"]) for j in (1, 2)]
        + [mentee(f"E{j}", availability=["tue_am"], needs=["leadership"]) for j in (3, 4, 5, 6)],
        capacity={"allow_unused_mentors": allow_unused},
    )


def test_a_mentor_who_cannot_reach_the_minimum_is_left_unused() -> None:
    # Without minimums six could be matched (M1: E1, E2; M2: four). With them M1 stays unused
    # and M2 takes the four that share its need: 4 x 30 = 120. Penalty: load 4^2 = 16, plus
    # mix: four mentees of one cohort with M2 are 3 too many, 2 x 3 = 6; 16 + 6 = 22.
    prob = _minimum_round(allow_unused=True)
    result = run(prob)
    assert result.status is Status.OPTIMAL
    assert pair_set(result) == {("M2", f"E{j}") for j in (3, 4, 5, 6)}
    assert result.objective == 120
    assert result.level("penalty").value == 22
    for j in ("E1", "E2"):
        assert "minimum" in result.unmatched[j]


def test_unused_mentors_not_allowed_makes_the_round_infeasible() -> None:
    # Now M1 must be used, with at least 4 new mentees, but only E1 and E2 are allowed.
    result = run(_minimum_round(allow_unused=False))
    assert result.status is Status.INFEASIBLE
    assert result.conflicts == (
        "Mentor M1 must take at least 4 new mentees (the scheme does not allow unused mentors), "
        "but only 2 mentees are allowed with them.",
    )


def test_locks_are_always_paired() -> None:
    # Free choice: E1-M1 (30). Locked to M2, E1 goes to M2 (0) and M1 takes E2 (0).
    prob = problem(
        [mentor("M1", focus_areas=["leadership"]), mentor("M2")],
        [mentee("E1", needs=["leadership"]), mentee("E2")],
        locks=[("M2", "E1")],
        capacity=ONE_EACH,
    )
    result = run(prob)
    assert result.status is Status.OPTIMAL
    assert pair_set(result) == {("M2", "E1"), ("M1", "E2")}


def test_a_lock_on_a_same_practice_pair_is_infeasible() -> None:
    # Practice codes compare without case or surrounding spaces.
    prob = problem(
        [mentor("M1", practice_code="A81001"), mentor("M2")],
        [mentee("E1", practice_code=" a81001 ")],
        locks=[("M1", "E1")],
        capacity=ONE_EACH,
    )
    result = run(prob)
    assert result.status is Status.INFEASIBLE
    assert result.conflicts == (
        "The pinned pair M1 and E1 cannot be kept: they work in the same practice.",
    )


def test_a_mentee_locked_to_two_mentors_is_infeasible() -> None:
    prob = problem(
        [mentor("M1"), mentor("M2")],
        [mentee("E1")],
        locks=[("M1", "E1"), ("M2", "E1")],
        capacity=ONE_EACH,
    )
    result = run(prob)
    assert result.status is Status.INFEASIBLE
    text = " ".join(result.conflicts)
    assert all(name in text for name in ("E1", "M1", "M2"))


def test_exclusions_are_respected() -> None:
    # M1 would score 30, but is excluded (say, E1's educational supervisor): M2.
    prob = problem(
        [mentor("M1", focus_areas=["leadership"]), mentor("M2")],
        [mentee("E1", needs=["leadership"])],
        exclusions=[("M1", "E1")],
        capacity=ONE_EACH,
    )
    result = run(prob)
    assert pair_set(result) == {("M2", "E1")}
    assert result.objective == 0


@pytest.mark.parametrize(("strict", "expected", "quality"), [(True, "M2", 15), (False, "M1", 30)])
def test_a_strict_gender_wish_is_a_hard_rule(strict: bool, expected: str, quality: int) -> None:
    # E1 wants a female mentor. M1 (male) shares E1's need: 30; M2 ("Female": genders compare
    # without case) meets the wish: 15. Soft, M1 wins on points; strict, M1 is not allowed.
    prob = problem(
        [
            mentor("M1", gender="male", focus_areas=["leadership"]),
            mentor("M2", gender="Female"),
        ],
        [mentee("E1", needs=["leadership"], mentor_gender="female", mentor_gender_strict=strict)],
        capacity=ONE_EACH,
    )
    result = run(prob)
    assert pair_set(result) == {(expected, "E1")}
    assert result.objective == quality


def test_distance_limits_face_to_face_only_pairs() -> None:
    # E1 and E2 live at (52.0, -1.0) and meet face to face only. M1 is 50.04 km north, M2
    # 10.01 km north (both face to face only), M3 virtual only (no shared mode).
    # E1 (default limit 30 km) may only have M2: travel -round(10 * 10.01 / 30) = -3.
    # E2 (limit 60 km) may have M1: 30 (shared need) - round(10 * 50.04 / 60) = 30 - 8 = 22.
    # Both matched: E1-M2, E2-M1, quality -3 + 22 = 19.
    home: dict[str, Any] = {"latitude": 52.0, "longitude": -1.0, "modes": ["face_to_face"]}
    prob = problem(
        [
            mentor(
                "M1",
                latitude=52.45,
                longitude=-1.0,
                modes=["face_to_face"],
                focus_areas=["leadership"],
            ),
            mentor("M2", latitude=52.09, longitude=-1.0, modes=["face_to_face"]),
            mentor("M3", focus_areas=["leadership"]),
        ],
        [
            mentee("E1", needs=["leadership"], **home),
            mentee("E2", needs=["leadership"], max_distance_km=60, **home),
        ],
        capacity=ONE_EACH,
    )
    result = run(prob)
    assert result.status is Status.OPTIMAL
    assert pair_set(result) == {("M2", "E1"), ("M1", "E2")}
    assert {p.mentee_id: p.score for p in result.pairs} == {"E1": -3, "E2": 22}
    assert result.objective == 19


def test_unmatched_reasons_say_why() -> None:
    # E1 is free only on Sunday evenings, when neither mentor meets; E2 is excluded by M1 and
    # in M2's practice; E3 can have either.
    prob = problem(
        [
            mentor("M1", availability=["mon_am"]),
            mentor("M2", availability=["tue_pm"], practice_code="B82002"),
        ],
        [
            mentee("E1", availability=["sun_eve"]),
            mentee("E2", practice_code="B82002"),
            mentee("E3"),
        ],
        exclusions=[("M1", "E2")],
        capacity={"min": 1, "max": 2},
    )
    result = run(prob)
    assert {p.mentee_id for p in result.pairs} == {"E3"}
    assert result.unmatched["E1"] == "no allowed mentor: of 2 mentors, 2 with no shared weekly slot"
    assert "excluded" in result.unmatched["E2"]
    assert "same practice" in result.unmatched["E2"]


def test_same_input_and_seed_give_the_same_pairs() -> None:
    prob = generate(8, 40, seed=11)
    first = solve(prob, time_limit=10, seed=3)
    second = solve(prob, time_limit=10, seed=3)
    assert first.pairs == second.pairs
    assert first.levels == second.levels
    assert_valid(prob, first)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_objective_equals_the_independent_quality(seed: int) -> None:
    prob = generate(6, 30, seed=seed)
    result = solve(prob, time_limit=10, seed=0)
    pairs = [(p.mentor_id, p.mentee_id) for p in result.pairs]
    assert result.objective == evaluate(prob, pairs)["quality"]
    assert_valid(prob, result)


# --- an independent formulation ------------------------------------------------------------
# ``reference_levels`` (tests/helpers.py) is a MIP of its own, solved by SCIP: allowed pairs from
# ``matcher.checks``, a used/unused switch per mentor for the minimums, levels 1-4 maximised
# one after another, each fixed before the next.

REFERENCE_CASES = [
    # (mentors, mentees, seed, scheme minimum, unused mentors allowed, supply ratio); the note
    # says the first level at which the mentors' minimums make the real optimum fall short of
    # the flow relaxation's ("-": they do not bite).
    (4, 10, 1, 4, True, 1.05),  # -
    (8, 40, 4, 4, True, 1.05),  # -
    (8, 24, 10, 4, True, 3.0),  # quality
    (5, 17, 1, 7, True, 2.5),  # priority matched
    (4, 18, 10, 6, True, 1.5),  # priority matched
    (7, 20, 28, 6, True, 1.5),  # priority matched
    (5, 21, 6, 7, True, 2.5),  # matched
    (4, 30, 25, 7, True, 2.5),  # matched
    (5, 26, 51, 6, True, 1.5),  # matched
    (8, 38, 4, 5, False, 1.2),  # quality, every mentor used
    (6, 36, 17, 5, False, 1.2),  # priority matched, every mentor used
    (8, 23, 24, 5, False, 1.2),  # quality, every mentor used
    (6, 24, 2, 5, False, 1.2),  # infeasible
]


@pytest.mark.parametrize(
    ("n_mentors", "n_mentees", "seed", "least", "unused", "supply"), REFERENCE_CASES
)
def test_solver_reaches_the_reference_optimum(
    n_mentors: int, n_mentees: int, seed: int, least: int, unused: bool, supply: float
) -> None:
    st = settings(capacity={"min": least, "allow_unused_mentors": unused})
    prob = generate(n_mentors, n_mentees, seed=seed, settings=st, supply_ratio=supply)
    expected = reference_levels(prob)
    result = solve(prob, time_limit=10, seed=0)
    assert_valid(prob, result)
    if expected is None:
        assert result.status is Status.INFEASIBLE
        return
    assert result.status is Status.OPTIMAL
    got = {level.name: level.value for level in result.levels if level.name in expected}
    assert got == expected


def test_too_many_minimums_are_explained_within_the_time_limit() -> None:
    # Seven mentors that must each take at least 6 new mentees need 42; there are 31. The
    # level search proves this at once; the explanation must name mentors and come in time.
    st = settings(capacity={"min": 6, "allow_unused_mentors": False})
    prob = generate(7, 31, seed=3, settings=st, supply_ratio=2.0)
    result = solve(prob, time_limit=2, seed=0)
    assert result.status is Status.INFEASIBLE
    assert result.seconds < 2
    assert any(m.mentor_id in " ".join(result.conflicts) for m in prob.mentors)


def test_a_mentor_who_must_be_used_but_has_no_allowed_mentee() -> None:
    # The scheme does not allow unused mentors, and M2 meets only on Saturday mornings, when
    # no mentee is free: M2 cannot reach its minimum of 1, so the rules cannot all hold.
    prob = problem(
        [mentor("M1"), mentor("M2", availability=["sat_am"])],
        [mentee("E1", availability=["mon_am"])],
        capacity={"min": 1, "max": 1, "allow_unused_mentors": False},
    )
    result = solve(prob, time_limit=10, seed=0)
    assert result.status is Status.INFEASIBLE
    assert "M2" in " ".join(result.conflicts)


FALLBACK = "searching level by level"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_locking_pairs_of_an_optimum_changes_nothing(seed: int) -> None:
    # Pairs of an optimal answer, locked, leave the same optimum on levels 1-3 and the same
    # road to it: a lock must not push the solver off the relaxation's optimal face.
    prob = generate(6, 30, seed=seed)
    said: list[str] = []
    first = solve(prob, time_limit=10, seed=0, progress=said.append)
    locks = tuple(PairRef(p.mentor_id, p.mentee_id) for p in first.pairs[:3])
    said_locked: list[str] = []
    locked = solve(replace(prob, locks=locks), time_limit=10, seed=0, progress=said_locked.append)
    assert_valid(replace(prob, locks=locks), locked)
    assert {(p.mentor_id, p.mentee_id) for p in locked.pairs} >= {
        (r.mentor_id, r.mentee_id) for r in locks
    }
    for name in ("priority_matched", "matched", "waiting_days", "quality"):
        assert locked.level(name).value == first.level(name).value
    assert (FALLBACK in " ".join(said_locked)) == (FALLBACK in " ".join(said))
    assert locked.status is first.status


BRANCHING = "branching on which mentors are used"


@pytest.mark.parametrize(
    ("n_mentors", "n_mentees", "seed", "least", "unused", "supply"),
    [(8, 24, 10, 4, True, 3.0), (8, 38, 4, 5, False, 1.2), (8, 23, 24, 5, False, 1.2)],
)
def test_branching_on_mentors_proves_the_quality_the_reference_finds(
    n_mentors: int, n_mentees: int, seed: int, least: int, unused: bool, supply: float
) -> None:
    # In these rounds the minimums make the flow's quality bound unreachable, so the solver
    # branches on which mentors are used; its proven quality must be the SCIP model's.
    st = settings(capacity={"min": least, "allow_unused_mentors": unused})
    prob = generate(n_mentors, n_mentees, seed=seed, settings=st, supply_ratio=supply)
    said: list[str] = []
    result = solve(prob, time_limit=10, seed=0, progress=said.append)
    assert_valid(prob, result)
    assert any(BRANCHING in line for line in said)
    expected = reference_levels(prob)
    assert expected is not None
    quality = result.level("quality")
    assert quality.proven
    assert quality.value == quality.bound == expected["quality"]
