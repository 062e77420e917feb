"""The benchmark's baseline methods: rules kept, capacities respected, each method's promise.

The baselines ignore mentors' minimums (and locks, which generated problems do not have), so
the only breaches ``matcher.checks.violations`` may report for them are rule 1's lower bound:
"mentor X would have T mentees ..., outside the band lo-hi" with T < lo, or, when the scheme
forbids unused mentors, "mentor X is left with T mentees, below the minimum". Everything else
(one mentor per mentee, the maximum, rules 2-6) must hold; our matcher must keep every rule.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
from helpers import mentee, mentor, problem
from ortools.linear_solver import pywraplp

from datasets.generator import generate
from matcher.checks import pair_allowed, violations
from matcher.data import ProblemData
from matcher.scoring import pair_parts
from matcher.settings import CapacitySettings, Settings
from solver.baselines import (
    METHODS,
    gale_shapley,
    greedy,
    min_cost_flow,
    random_draw,
    run_method,
)

TIME_LIMIT = 5.0
# (seed, supply_ratio, allow_unused_mentors): scarce supply makes the order of choices matter,
# spare supply leaves mentors under their minimum.
CASES = [(0, 1.05, True), (1, 0.8, True), (2, 1.05, False), (3, 0.7, False), (0, 2.5, False)]
BELOW_BAND = re.compile(
    r"rule 1 \(capacity band\): mentor (\S+) would have (\d+) mentees .*outside the band (\d+)-(\d+)"
)
LEFT_UNUSED = re.compile(
    r"rule 1 \(capacity band\): mentor (\S+) is left with (\d+) mentees, below the minimum of (\d+)"
)


def small(seed: int, supply_ratio: float = 1.05, allow_unused: bool = True) -> ProblemData:
    settings = Settings(capacity=CapacitySettings(allow_unused_mentors=allow_unused))
    return generate(8, 40, seed=seed, supply_ratio=supply_ratio, settings=settings)


def score(prob: ProblemData, mentor_id: str, mentee_id: str) -> int:
    """Pair score recomputed from the records, independently of ``score_pairs``."""
    mentors = {m.mentor_id: m for m in prob.mentors}
    mentees = {e.mentee_id: e for e in prob.mentees}
    return sum(pair_parts(prob, mentors[mentor_id], mentees[mentee_id]).values())


@pytest.mark.parametrize("name", list(METHODS))
@pytest.mark.parametrize(("seed", "supply", "allow_unused"), CASES)
def test_only_minimums_can_break(name: str, seed: int, supply: float, allow_unused: bool) -> None:
    prob = small(seed, supply, allow_unused)
    pairs = run_method(name, prob, seed=seed, time_limit=TIME_LIMIT)
    assert pairs, "every small problem has some allowed pair"
    matched = Counter(j for _, j in pairs)
    assert max(matched.values()) == 1, "a mentee paired twice"
    load = Counter(i for i, _ in pairs)
    for m in prob.mentors:
        assert load[m.mentor_id] <= m.new_range(prob.settings)[1], m.mentor_id
    breaches = violations(prob, pairs)
    if name == "cpsat":
        assert breaches == []
        return
    for text in breaches:
        below = BELOW_BAND.match(text)
        unused = LEFT_UNUSED.match(text)
        if below:
            total, lo = int(below[2]), int(below[3])
        elif unused and not allow_unused:
            total, lo = int(unused[2]), int(unused[3])
        else:
            raise AssertionError(f"{name} broke more than a minimum: {text}")
        assert total < lo, text


def test_baselines_do_break_minimums() -> None:
    # With spare places (and unused mentors not allowed) greedy leaves one mentor unused and
    # two under their minimum: the filter above really sees both kinds of breach.
    prob = small(0, 2.5, allow_unused=False)
    breaches = violations(prob, greedy(prob))
    assert sum(bool(LEFT_UNUSED.match(t)) for t in breaches) == 1
    assert sum(bool(BELOW_BAND.match(t)) for t in breaches) == 2


def test_random_draw_is_seeded() -> None:
    prob = small(1, 0.8)
    assert random_draw(prob, seed=7) == random_draw(prob, seed=7)
    draws = {tuple(random_draw(prob, seed=s)) for s in range(5)}
    assert len(draws) == 5


def reference_assignment(prob: ProblemData) -> tuple[int, int]:
    """(most mentees matched, best total score among such) by LP over the allowed pairs.

    A bipartite b-matching has a totally unimodular constraint matrix, so GLOP's vertex
    optimum is integral; the count is fixed before the score is maximised.
    """
    solver = pywraplp.Solver.CreateSolver("GLOP")
    assert solver is not None
    x = {
        (m.mentor_id, e.mentee_id): solver.NumVar(0, 1, f"x_{m.mentor_id}_{e.mentee_id}")
        for m in prob.mentors
        for e in prob.mentees
        if pair_allowed(prob, m, e)
    }
    for e in prob.mentees:
        solver.Add(sum(v for (_, j), v in x.items() if j == e.mentee_id) <= 1)
    for m in prob.mentors:
        most = m.new_range(prob.settings)[1]
        solver.Add(sum(v for (i, _), v in x.items() if i == m.mentor_id) <= most)
    count = sum(x.values())
    solver.Maximize(count)
    assert solver.Solve() == pywraplp.Solver.OPTIMAL
    best_count = round(solver.Objective().Value())
    solver.Add(count >= best_count)
    solver.Maximize(sum(score(prob, i, j) * v for (i, j), v in x.items()))
    assert solver.Solve() == pywraplp.Solver.OPTIMAL
    return best_count, round(solver.Objective().Value())


@pytest.mark.parametrize(("seed", "supply", "allow_unused"), CASES)
def test_min_cost_flow_is_an_optimal_assignment(
    seed: int, supply: float, allow_unused: bool
) -> None:
    prob = small(seed, supply, allow_unused)
    pairs = min_cost_flow(prob)
    assert (len(pairs), sum(score(prob, i, j) for i, j in pairs)) == reference_assignment(prob)


@pytest.mark.parametrize("seed", range(4))
def test_gale_shapley_has_no_blocking_pair(seed: int) -> None:
    prob = generate(10, 60, seed=seed, supply_ratio=0.8)
    pairs = gale_shapley(prob)
    mentor_of = {j: i for i, j in pairs}
    held: dict[str, list[str]] = {m.mentor_id: [] for m in prob.mentors}
    for i, j in pairs:
        held[i].append(j)

    # Lower is better: by score, then by the other side's id.
    def mentee_view(i: str, j: str) -> tuple[int, str]:
        return -score(prob, i, j), i

    def mentor_view(i: str, j: str) -> tuple[int, str]:
        return -score(prob, i, j), j

    for m in prob.mentors:
        i = m.mentor_id
        most = m.new_range(prob.settings)[1]
        for e in prob.mentees:
            j = e.mentee_id
            if not pair_allowed(prob, m, e) or most == 0 or mentor_of.get(j) == i:
                continue
            mentee_wants = j not in mentor_of or mentee_view(i, j) < mentee_view(mentor_of[j], j)
            mentor_wants = len(held[i]) < most or any(
                mentor_view(i, j) < mentor_view(i, k) for k in held[i]
            )
            assert not (mentee_wants and mentor_wants), f"{i}-{j} blocks"


# Two mentors with one place each (scheme band 1-1). E1 may have either mentor and scores
# higher with M1 (shared need); E2 and E3 are excluded from M2, so M1 is their only option.
# Options: E1 2, E2 1, E3 1 -> E2 or E3 goes first; the tie goes to the GP Fellow, else to
# the longer wait (E2 joined earlier). The winner takes M1; the loser is left with no
# mentor (0 options, placed next, unmatched); E1 then takes M2. By id order instead, E1
# would take M1 and only one mentee would be matched.
@pytest.mark.parametrize(
    ("e3_cohort", "expected"),
    [
        ("fellow", [("M1", "E3"), ("M2", "E1")]),
        ("mid_career", [("M1", "E2"), ("M2", "E1")]),
    ],
)
def test_greedy_places_the_most_constrained_mentee_first(
    e3_cohort: str, expected: list[tuple[str, str]]
) -> None:
    prob = problem(
        [mentor("M1", focus_areas=["leadership"]), mentor("M2")],
        [
            mentee("E1", needs=["leadership"], waiting_since="2024-01-01"),
            mentee("E2", waiting_since="2024-02-01"),
            mentee("E3", cohort=e3_cohort, waiting_since="2024-06-01"),
        ],
        exclusions=[("M2", "E2"), ("M2", "E3")],
        capacity={"min": 1, "max": 1},
    )
    assert greedy(prob) == expected


def test_greedy_recounts_options_as_mentors_fill() -> None:
    # Three mentors with one place each. E1 can have only M1; E2, a GP Fellow who scores best
    # with M2, can have M2 or M3; E3 can have M1 or M2. E1 goes first (1 option) and takes
    # M1, which leaves E3 with one option (M2) against E2's two, so E3 takes M2 and E2 M3.
    # Counting options only once, at the start, would put E2 (2 options, fellow) before E3:
    # E2 would take M2 and E3 be left with nothing.
    prob = problem(
        [mentor("M1"), mentor("M2", focus_areas=["leadership"]), mentor("M3")],
        [
            mentee("E1"),
            mentee("E2", cohort="fellow", needs=["leadership"]),
            mentee("E3"),
        ],
        exclusions=[("M2", "E1"), ("M3", "E1"), ("M1", "E2"), ("M3", "E3")],
        capacity={"min": 1, "max": 1},
    )
    assert greedy(prob) == [("M1", "E1"), ("M2", "E3"), ("M3", "E2")]


def test_run_method_dispatches_by_name() -> None:
    prob = small(0)
    assert run_method("greedy", prob) == greedy(prob)
    assert list(METHODS) == ["random", "greedy", "min_cost_flow", "gale_shapley", "cpsat"]


def test_unknown_method_is_an_error_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown method 'hungarian'") as caught:
        run_method("hungarian", small(0))
    for name in METHODS:
        assert name in str(caught.value)
