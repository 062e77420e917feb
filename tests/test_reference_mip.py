"""The solver's answer is the true lexicographic optimum of every level: an independent MIP
(``tests/reference_mip.py``, SCIP, built from the records and ``matcher.checks`` only) finds
each level's optimum on small rounds of every shape, and the solver must reach all five."""

from __future__ import annotations

import pytest
from helpers import mentee, mentor, problem
from reference_mip import LEVELS, solve_reference

from datasets.shapes import SHAPES, Size
from matcher.checks import evaluate, violations
from matcher.data import ProblemData
from solver.result import Status
from solver.solve import solve

SMALL = Size("small", 12, 40)
LARGER = Size("larger", 20, 80)
# Shapes where mentors' minimums (or the equity rows) bite get more seeds.
MORE_SEEDS = ("oversupply", "narrow_band_pcn", "sparse", "equity_limit")
ROUNDS = (
    [(shape, SMALL, seed) for shape in SHAPES for seed in (1, 2)]
    + [(shape, SMALL, seed) for shape in MORE_SEEDS for seed in (3, 4, 5)]
    + [
        ("oversupply", LARGER, 4),
        ("sparse", LARGER, 1),
        ("narrow_band_pcn", LARGER, 1),
        ("f2f_heavy", LARGER, 1),
        ("equity_limit", LARGER, 1),
        ("equity_limit", LARGER, 2),
    ]
)


@pytest.mark.parametrize(
    ("shape", "size", "seed"),
    ROUNDS,
    ids=lambda v: v.name if isinstance(v, Size) else str(v),
)
def test_the_solver_reaches_the_reference_optimum_of_every_level(
    shape: str, size: Size, seed: int
) -> None:
    prob = SHAPES[shape](size, seed)
    reference = solve_reference(prob)
    assert reference is not None
    # The reference itself: its pairs keep every rule and its levels are evaluate's.
    assert violations(prob, reference.pairs) == []
    assert evaluate(prob, reference.pairs) == reference.levels

    result = solve(prob, time_limit=20)
    assert result.status is Status.OPTIMAL
    assert [level.name for level in result.levels] == list(LEVELS)
    assert all(level.proven for level in result.levels)
    got = {level.name: level.value for level in result.levels}
    assert got == reference.levels
    pairs = [(p.mentor_id, p.mentee_id) for p in result.pairs]
    assert violations(prob, pairs) == []
    assert evaluate(prob, pairs) == got


def _unreachable_minimum(allow_unused: bool) -> ProblemData:
    # Scheme band 4-8. M1 meets on Monday mornings only, when only E1 and E2 are free: it can
    # never reach its minimum of 4. M2 (band 4-4) already has one mentee, so it takes exactly
    # 3 new, any of E1-E6 (M2 is free any time); E3-E6 share its focus area.
    return problem(
        [
            mentor("M1", availability=["mon_am"]),
            mentor("M2", capacity_max=4, current_mentees=1, focus_areas=["leadership"]),
        ],
        [
            mentee("E1", availability=["mon_am"], waiting_since="2024-01-01"),
            mentee("E2", availability=["mon_am"]),
            mentee(
                "E3",
                cohort="fellow",
                availability=["tue_am"],
                needs=["leadership"],
                waiting_since="2024-06-01",
            ),
            mentee("E4", availability=["tue_am"], needs=["leadership"], waiting_since="2024-03-01"),
            mentee("E5", availability=["tue_am"], needs=["leadership"], waiting_since="2024-05-01"),
            mentee("E6", availability=["tue_am"], needs=["leadership"]),
        ],
        capacity={"allow_unused_mentors": allow_unused},
    )


def test_a_mentor_whose_minimum_cannot_be_reached_stays_unused() -> None:
    # M1 unused; M2 takes 3. Priority: the fellow E3 (1). Matched 3. Waiting days up to the
    # latest join date, 1 June 2024: E1 152 (Jan-May 2024: 31+29+31+30+31), E4 92 (Mar-May),
    # E5 31, E3, E2 and E6 0; with E3 in, the best two more are E1 and E4: 244. Quality: E3
    # and E4 share their first need with M2, 30 each: 60. Penalty: M2 ends with 1 + 3 = 4
    # (16, balance weight 1), M1 with 0; E1 and E4 are both mid_career at M2, an excess of 1
    # times the mix weight 2: 16 + 2 = 18.
    prob = _unreachable_minimum(allow_unused=True)
    reference = solve_reference(prob)
    assert reference is not None
    assert reference.levels == {
        "priority_matched": 1,
        "matched": 3,
        "waiting_days": 244,
        "quality": 60,
        "penalty": 18,
    }
    assert sorted(reference.pairs) == [("M2", "E1"), ("M2", "E3"), ("M2", "E4")]
    result = solve(prob, time_limit=20)
    assert result.status is Status.OPTIMAL
    assert {level.name: level.value for level in result.levels} == reference.levels


def test_a_mentor_who_must_be_used_but_cannot_be_is_infeasible() -> None:
    # Unused mentors not allowed: M1 has room and is below its minimum, so it must take 4.
    prob = _unreachable_minimum(allow_unused=False)
    assert solve_reference(prob) is None
    assert solve(prob, time_limit=20).status is Status.INFEASIBLE


@pytest.mark.parametrize(("gap", "quality"), [(1.0, 60), (0.2, 30)])
def test_the_equity_limit_changes_who_is_matched(gap: float, quality: int) -> None:
    # One mentor, band 1-2: two of four mentees. E1 and E2 (female) share its focus area (30
    # each); E3 and E4 are male. Groups of 2 by gender, N = 4, M = 2: the limit asks
    # 4 m_g - 2 * 2 >= -floor(gap * 4 * 2). Off (gap 1.0): E1 and E2, quality 60. At gap 0.2
    # (slack 1): 4 m_g >= 3, so one of each group, quality 30. Penalty either way: load 2
    # (4) plus two mid_career mentees at M1 (excess 1, times 2): 6.
    prob = problem(
        [mentor("M1", focus_areas=["leadership"])],
        [mentee(f"E{j}", gender="female", needs=["leadership"]) for j in (1, 2)]
        + [mentee(f"E{j}", gender="male") for j in (3, 4)],
        capacity={"min": 1, "max": 2},
        rules={"equity_max_gap": gap, "equity_attributes": ("gender",), "equity_min_group": 2},
    )
    reference = solve_reference(prob)
    assert reference is not None
    assert reference.levels == {
        "priority_matched": 0,
        "matched": 2,
        "waiting_days": 0,
        "quality": quality,
        "penalty": 6,
    }
    assert violations(prob, reference.pairs) == []
    result = solve(prob, time_limit=20)
    assert result.status is Status.OPTIMAL
    assert {level.name: level.value for level in result.levels} == reference.levels
