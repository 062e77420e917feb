"""The MIP of the levels (``solver.mip``) against worked examples, the CP-SAT model's levels and
the independent checks."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import mentee, mentor, problem

from datasets.shapes import SHAPES, Size
from matcher.checks import evaluate, violations
from matcher.data import ProblemData
from solver.flow import relax, warm_start
from solver.instance import build_instance
from solver.mip import MIP_LEVELS, MipStatus, solve_levels
from solver.mip_rows import build, hold_levels
from solver.result import Status
from solver.solve import solve

# Small rounds of every shape the MIP is meant for (the equity limit is a constraint row too).
SMALL = Size("small", 12, 40)
LARGER = Size("larger", 20, 80)
SHAPE_NAMES = (
    "oversupply",
    "undersupply",
    "sparse",
    "narrow_band_pcn",
    "many_locks",
    "heavy_loads",
    "equity_limit",
)


def _pairs(prob: ProblemData, result_pairs: tuple) -> list[tuple[str, str]]:
    return [(p.mentor_id, p.mentee_id) for p in result_pairs]


def _minimum_round() -> ProblemData:
    # Scheme band 4-8, unused mentors allowed. M1 meets only on Monday mornings, when only E1
    # and E2 are free: two mentees cannot reach M1's minimum of 4. M2 (band 4-4) meets any time
    # and shares E3-E6's need, 30 points each.
    return problem(
        [
            mentor("M1", availability=["mon_am"]),
            mentor("M2", capacity_max=4, focus_areas=["leadership"]),
        ],
        [mentee(f"E{j}", availability=["mon_am"]) for j in (1, 2)]
        + [mentee(f"E{j}", availability=["tue_am"], needs=["leadership"]) for j in (3, 4, 5, 6)],
    )


def test_a_mentor_below_the_minimum_is_left_unused() -> None:
    # The flow, without minimums, matches six (M1: E1, E2). M1's y must be 0 (two pairs
    # cannot reach 4), so at most M2's four: matched 4, quality 4 x 30 = 120, no priority
    # mentee and no waiting days (no join dates).
    prob = _minimum_round()
    result = solve_levels(build_instance(prob), time_limit=10)
    assert result.status is MipStatus.OPTIMAL
    assert {(p.mentor_id, p.mentee_id) for p in result.pairs} == {
        ("M2", f"E{j}") for j in (3, 4, 5, 6)
    }
    # The penalty as the independent checks count it (the squares of the loads and the
    # mentees of one cohort with M2).
    assert [(lv.name, lv.value, lv.proven) for lv in result.levels] == [
        ("priority_matched", 0, True),
        ("matched", 4, True),
        ("waiting_days", 0, True),
        ("quality", 120, True),
        ("penalty", evaluate(prob, _pairs(prob, result.pairs))["penalty"], True),
    ]


def test_a_mentor_who_must_be_used_without_enough_mentees_is_infeasible() -> None:
    # Unused mentors not allowed: M1 needs 4 new mentees but has only E1 and E2.
    prob = _minimum_round()
    prob = problem(prob.mentors, prob.mentees, capacity={"allow_unused_mentors": False})
    result = solve_levels(build_instance(prob), time_limit=10)
    assert result.status is MipStatus.INFEASIBLE
    assert result.pairs == () and result.levels == ()


def test_bad_options_are_errors() -> None:
    inst = build_instance(_minimum_round())
    with pytest.raises(ValueError, match="held levels and searched levels"):
        solve_levels(inst, levels=("quality",))
    with pytest.raises(ValueError, match="held levels and searched levels"):
        solve_levels(inst, levels=("matched", "quality"), held={"priority_matched": 0})
    with pytest.raises(ValueError, match="no level to search"):
        solve_levels(inst, levels=())
    with pytest.raises(ValueError, match="known bounds only for levels 1-4"):
        solve_levels(inst, bounds={"penalty": 0})
    with pytest.raises(ValueError, match="time_limit"):
        solve_levels(inst, time_limit=0)


# Rounds where the relaxation's face fails because mentors' minimums bite: the existing
# solver branches on which mentors are used (and, for sparse 20 x 80 seed 1, goes on level by
# level), so the y variables decide the answer.
MINIMUMS_BITE = [
    ("oversupply", SMALL, 2),
    ("oversupply", SMALL, 4),
    ("oversupply", SMALL, 5),
    ("narrow_band_pcn", SMALL, 3),
    ("narrow_band_pcn", SMALL, 4),
    ("oversupply", LARGER, 4),
    ("sparse", LARGER, 1),
    ("narrow_band_pcn", LARGER, 1),
]


@pytest.mark.parametrize(
    ("shape", "size", "seed"),
    [(shape, SMALL, seed) for shape in SHAPE_NAMES for seed in (1, 2)] + MINIMUMS_BITE,
    ids=lambda v: v.name if isinstance(v, Size) else str(v),
)
def test_levels_equal_the_solver_and_the_independent_checks(
    shape: str, size: Size, seed: int
) -> None:
    prob = SHAPES[shape](size, seed)
    expected = solve(prob, time_limit=10)
    assert expected.status is Status.OPTIMAL
    result = solve_levels(build_instance(prob), time_limit=10)
    assert result.status is MipStatus.OPTIMAL
    pairs = _pairs(prob, result.pairs)
    assert violations(prob, pairs) == []
    recomputed = evaluate(prob, pairs)
    for level in result.levels:
        assert level.proven and level.bound == level.value
        assert level.value == expected.level(level.name).value, level.name
        assert level.value == recomputed[level.name], level.name
    assert [level.name for level in result.levels] == list(MIP_LEVELS)


@pytest.mark.parametrize("shape", ["oversupply", "sparse"])
def test_bounds_and_start_from_the_flow_give_the_same_levels(shape: str) -> None:
    # The flow's levels 1-3 are upper bounds; when its warm start keeps every band and meets
    # them, those levels need no HiGHS call.
    prob = SHAPES[shape](SMALL, 2)
    inst = build_instance(prob)
    plain = solve_levels(inst, time_limit=10)
    relaxation = relax(inst)
    bounds = {
        "priority_matched": relaxation.priority_matched,
        "matched": relaxation.matched,
        "waiting_days": relaxation.waiting_days,
    }
    helped = solve_levels(
        inst, time_limit=10, bounds=bounds, start=warm_start(inst, relaxation.chosen)
    )
    assert helped.levels == plain.levels
    assert violations(prob, _pairs(prob, helped.pairs)) == []


def test_a_node_limit_keeps_the_pairs_valid_and_the_same_on_a_second_run() -> None:
    prob = SHAPES["oversupply"](SMALL, 3)
    inst = build_instance(prob)
    first = solve_levels(inst, time_limit=10, node_limit=1)
    second = solve_levels(inst, time_limit=10, node_limit=1)
    assert first.pairs == second.pairs and first.levels == second.levels
    assert violations(prob, _pairs(prob, first.pairs)) == []
    recomputed = evaluate(prob, _pairs(prob, first.pairs))
    for level in first.levels:
        assert level.value == recomputed[level.name]
        assert level.bound >= level.value


@pytest.mark.parametrize("shape", ["oversupply", "equity_limit"])
def test_levels_held_at_their_optima_give_the_same_later_levels(shape: str) -> None:
    prob = SHAPES[shape](SMALL, 2)
    inst = build_instance(prob)
    whole = solve_levels(inst, time_limit=10)
    values = {level.name: level.value for level in whole.levels}
    rest = solve_levels(
        inst,
        time_limit=10,
        levels=MIP_LEVELS[3:],
        held={name: values[name] for name in MIP_LEVELS[:3]},
    )
    assert [(lv.name, lv.value, lv.proven) for lv in rest.levels] == [
        (name, values[name], True) for name in MIP_LEVELS[3:]
    ]
    assert evaluate(prob, _pairs(prob, rest.pairs))["waiting_days"] >= values["waiting_days"]


def test_counts_held_at_their_most_become_bounds_on_each_mentee() -> None:
    # Oversupply: every mentee with an allowed pair can be matched, so holding `matched` at
    # that number fixes each of them as matched, and levels 1-3 need no row of their own.
    prob = SHAPES["oversupply"](SMALL, 2)
    inst = build_instance(prob)
    whole = solve_levels(inst, time_limit=10)
    values = {level.name: level.value for level in whole.levels}
    assert values["matched"] == len(np.unique(inst.pairs.mentee))
    model = build(inst, penalty=False)
    rows_before = len(model.proto.linear_constraints.ids)
    hold_levels(inst, model, {name: values[name] for name in MIP_LEVELS[:3]})
    assert len(model.proto.linear_constraints.ids) == rows_before
    pairs_of = np.bincount(inst.pairs.mentee, minlength=inst.n_mentees)
    several = np.flatnonzero(pairs_of > 1)
    assert list(model.proto.linear_constraints.lower_bounds)[: len(several)] == [1.0] * len(several)
    only = np.flatnonzero(pairs_of[inst.pairs.mentee] == 1)
    assert [model.proto.variables.lower_bounds[k] for k in only] == [1.0] * len(only)


def test_mentees_known_to_be_matched_leave_the_count_rows_to_the_others() -> None:
    # Undersupply: `matched` held below the number with pairs keeps a row, over the pairs of
    # the mentees not known to be matched, with their known share taken off its value.
    inst = build_instance(SHAPES["undersupply"](SMALL, 2))
    model = build(inst, penalty=False)
    rows_before = len(model.proto.linear_constraints.ids)
    known = np.zeros(inst.n_mentees, dtype=bool)
    known[np.unique(inst.pairs.mentee)[:5]] = True
    hold_levels(inst, model, {"matched": 20}, must_match=known)
    constraints = model.proto.linear_constraints
    assert len(constraints.ids) == rows_before + 1
    assert (constraints.lower_bounds[-1], constraints.upper_bounds[-1]) == (15.0, float("inf"))
    matrix = model.proto.linear_constraint_matrix
    in_row = [c for r, c in zip(matrix.row_ids, matrix.column_ids, strict=True) if r == rows_before]
    others = np.flatnonzero(~known[inst.pairs.mentee])
    assert sorted(in_row) == others.tolist()
    # The same round solved with and without the known mentees held agrees where they are matched.
    plain = solve_levels(inst, time_limit=10)
    matched = np.zeros(inst.n_mentees, dtype=bool)
    matched[inst.pairs.mentee[plain.chosen]] = True
    held = solve_levels(inst, time_limit=10, must_match=matched)
    assert [(lv.name, lv.value, lv.proven) for lv in held.levels] == [
        (lv.name, lv.value, lv.proven) for lv in plain.levels
    ]


def test_each_pair_of_a_mentor_who_may_stay_unused_is_held_at_or_below_its_y() -> None:
    inst = build_instance(SHAPES["oversupply"](LARGER, 4))
    model = build(inst, penalty=False)
    matrix, constraints = model.proto.linear_constraint_matrix, model.proto.linear_constraints
    rows: dict[int, dict[int, float]] = {}
    for row, col, coef in zip(matrix.row_ids, matrix.column_ids, matrix.coefficients, strict=True):
        rows.setdefault(row, {})[col] = coef
    upper = dict(zip(constraints.ids, constraints.upper_bounds, strict=True))
    # Rows x - y <= 0, as (x, y).
    held = set()
    for row, cols in rows.items():
        plus = [c for c, v in cols.items() if v == 1.0]
        minus = [c for c, v in cols.items() if v == -1.0]
        if len(cols) == 2 and len(plus) == len(minus) == 1 and upper[row] == 0.0:
            held.add((plus[0], minus[0]))
    y_of = {int(i): model.n_pairs + m for m, i in enumerate(model.used)}
    expected = {(k, y_of[int(i)]) for k, i in enumerate(inst.pairs.mentor) if int(i) in y_of}
    assert expected, "the round has mentors who may stay unused"
    assert held == expected


@pytest.mark.parametrize(
    ("shape", "size", "seed"),
    MINIMUMS_BITE[:4],
    ids=lambda v: v.name if isinstance(v, Size) else str(v),
)
def test_presolve_off_gives_the_same_levels(shape: str, size: Size, seed: int) -> None:
    inst = build_instance(SHAPES[shape](size, seed))
    plain = solve_levels(inst, time_limit=10, levels=MIP_LEVELS[:4])
    off = solve_levels(inst, time_limit=10, levels=MIP_LEVELS[:4], presolve=False)
    assert off.status is plain.status is MipStatus.OPTIMAL
    assert off.levels == plain.levels
