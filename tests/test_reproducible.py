"""The same round, settings and seed give the same pairs, even when the limit ends the search.

How far the search goes is counted in deterministic work (CP-SAT's deterministic time, and the
branching's nodes in the same units), not in seconds, so a run on a busy machine stops at the
same point as one on an idle machine. Each test solves a round twice with a work limit that
ends the search before every level is proven, and a wall-clock limit far above what that work
takes: the safety net must not fire, and the two answers must be identical.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from datasets.generator import generate
from datasets.shapes import SHAPES, SIZES
from matcher.data import ProblemData
from solver.result import Result, Status
from solver.solve import WORK_PER_SECOND, solve, work_budget

SAFETY_NET = 30.0  # seconds: far above what the work limits below take


def fingerprint(result: Result) -> tuple[object, ...]:
    return (
        result.status,
        result.pairs,
        tuple((lv.name, lv.value, lv.bound, lv.proven) for lv in result.levels),
    )


def solve_twice(problem: ProblemData, work_limit: float) -> tuple[Result, Result]:
    return tuple(  # type: ignore[return-value]
        solve(problem, time_limit=SAFETY_NET, work_limit=work_limit, seed=0) for _ in range(2)
    )


def test_the_equity_limit_round_stopped_by_its_work_limit_repeats() -> None:
    # The equity limit at LMC size (30 x 200, 581 allowed pairs): the MIP proves levels 1-4
    # within 0.1 units of work and the penalty within 0.6; 0.3 units end the penalty's search.
    problem = SHAPES["equity_limit"](SIZES["lmc"], 1)
    first, second = solve_twice(problem, work_limit=0.3)
    assert first.status is Status.FEASIBLE
    assert first.level("quality").proven and not first.level("penalty").proven
    assert not first.wall_limit_fired and not second.wall_limit_fired
    assert fingerprint(first) == fingerprint(second)


def test_the_oversupply_round_stopped_by_its_work_limit_repeats() -> None:
    # Oversupply at mid size (120 mentors with room for 600, 400 mentees): branching on used
    # mentors, then the MIP over the pairs near the bound, proves every level with about 2
    # units of work; 0.2 units end the search in the branching, before the MIP.
    problem = SHAPES["oversupply"](SIZES["mid"], 2)
    first, second = solve_twice(problem, work_limit=0.2)
    assert first.status is Status.FEASIBLE
    assert not first.level("quality").proven
    assert not first.wall_limit_fired and not second.wall_limit_fired
    assert fingerprint(first) == fingerprint(second)


def test_the_wall_clock_safety_net_is_reported_when_it_fires() -> None:
    # The equity limit at mid size needs about 8 units of work to prove its levels: with 100
    # units allowed, the 4 s wall-clock limit ends the search, and the result says so.
    problem = SHAPES["equity_limit"](SIZES["mid"], 1)
    result = solve(problem, time_limit=4.0, work_limit=100.0, seed=0)
    assert result.status is Status.FEASIBLE
    assert result.wall_limit_fired


def test_the_work_limit_follows_from_the_time_limit_alone() -> None:
    # 20 s for a round of 581 allowed pairs: 0.05 + 0.000581 s kept for the last steps and
    # 0.000581 s for the first, the rest at WORK_PER_SECOND.
    expected = WORK_PER_SECOND * (20.0 - 0.050581 - 0.000581)
    assert work_budget(20.0, 581) == pytest.approx(expected)
    # A limit the first and last steps would eat whole still leaves a tenth of it to search.
    assert work_budget(1.0, 3_000_000) == pytest.approx(WORK_PER_SECOND * 0.1)


def test_a_large_model_searched_by_interleaved_workers_repeats() -> None:
    # The regional size with more mentees than places (150 x 1,250, seed 1) and an equity limit
    # of 0.01 that the best pair list without it breaks: 151,651 allowed pairs, more than the
    # MIP takes, so CP-SAT searches a model over all of them with two workers interleaved in
    # synchronised batches. 2 units of work end it within the waiting days (about 11 s a run on
    # these machines).
    generated = generate(150, 1250, seed=1)
    rules = replace(generated.settings.rules, equity_max_gap=0.01)
    problem = replace(generated, settings=replace(generated.settings, rules=rules))
    first, second = (
        solve(problem, time_limit=SAFETY_NET, work_limit=2.0, num_workers=2, seed=0)
        for _ in range(2)
    )
    assert first.status is Status.FEASIBLE
    assert not first.level("waiting_days").proven
    assert not first.wall_limit_fired and not second.wall_limit_fired
    assert fingerprint(first) == fingerprint(second)
