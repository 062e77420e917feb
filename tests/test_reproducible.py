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
    # The equity limit at LMC size (30 x 200, 581 allowed pairs): CP-SAT level by level, which
    # proves every level after about 0.55 units of work; 0.3 units end the search first.
    problem = SHAPES["equity_limit"](SIZES["lmc"], 1)
    first, second = solve_twice(problem, work_limit=0.3)
    assert first.status is Status.FEASIBLE
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
    # The regional size (150 x 1,000, seed 1) with every slot as generated and the equity
    # limit: 114,649 allowed pairs, a model of 134,767 variables, which two CP-SAT workers
    # search interleaved in synchronised batches. 3 units of work end it after the first
    # levels (about 6 s a run on these machines).
    generated = generate(150, 1000, seed=1)
    rules = replace(generated.settings.rules, equity_max_gap=0.05)
    problem = replace(generated, settings=replace(generated.settings, rules=rules))
    first, second = (
        solve(problem, time_limit=SAFETY_NET, work_limit=3.0, num_workers=2, seed=0)
        for _ in range(2)
    )
    assert first.status is Status.FEASIBLE
    assert not first.wall_limit_fired and not second.wall_limit_fired
    assert fingerprint(first) == fingerprint(second)
