"""The branching's frontier set (``solver.branch.Search.reaching``) holds every pair of every
pair list that keeps the bands and levels 1-3 and reaches the best leaf's quality, however
early the search stopped: checked by an independent MIP (SCIP) that looks for such a pair
list using a pair outside the set, and must find none."""

from __future__ import annotations

import time

import numpy as np
import pytest
from ortools.linear_solver import pywraplp

from datasets.shapes import SHAPES, SIZES, Size
from solver.branch import branch_and_bound, node_work
from solver.flow import relax
from solver.instance import Instance, build_instance

SMALL = Size("small", 12, 40)
LARGER = Size("larger", 20, 80)
# Rounds where the relaxation's face keeps no band, so the branching has work to do.
ROUNDS = [
    ("oversupply", SMALL, 3),
    ("oversupply", LARGER, 4),
    ("sparse", LARGER, 1),
    ("narrow_band_pcn", LARGER, 1),
    ("narrow_band_pcn", SMALL, 4),
    # The first leaf (6,013) is not the best (6,014): better pair lists lie in open nodes.
    ("narrow_band_pcn", Size("wider", 40, 140), 4),
]


def _most_outside(
    inst: Instance, root_levels: tuple[int, int, int], quality: int, outside: np.ndarray
) -> int:
    """The most pairs of ``outside`` in one pair list that keeps every band, levels 1-2 and
    waiting days at ``root_levels`` and reaches ``quality``: SCIP over the instance's arrays."""
    solver = pywraplp.Solver.CreateSolver("SCIP")
    assert solver is not None
    pairs = inst.pairs
    x = [solver.BoolVar(f"x{k}") for k in range(len(pairs))]
    for j in range(inst.n_mentees):
        solver.Add(solver.Sum([x[k] for k in np.flatnonzero(pairs.mentee == j)]) <= 1)
    for i in range(inst.n_mentors):
        load = solver.Sum([x[k] for k in np.flatnonzero(pairs.mentor == i)])
        used = solver.BoolVar(f"y{i}")
        if inst.must_use[i]:
            solver.Add(used == 1)
        solver.Add(load >= int(inst.least[i]) * used)
        solver.Add(load <= int(inst.most[i]) * used)
    for k in np.flatnonzero(inst.locked):
        solver.Add(x[k] == 1)
    priority, matched, waiting = root_levels
    solver.Add(
        solver.Sum([x[k] for k in range(len(pairs)) if inst.priority[pairs.mentee[k]]]) == priority
    )
    solver.Add(solver.Sum(x) == matched)
    solver.Add(
        solver.Sum([int(inst.wait[pairs.mentee[k]]) * x[k] for k in range(len(pairs))]) == waiting
    )
    solver.Add(solver.Sum([int(inst.score[k]) * x[k] for k in range(len(pairs))]) >= quality)
    solver.Maximize(solver.Sum([x[k] for k in np.flatnonzero(outside)]))
    status = solver.Solve()
    if status == pywraplp.Solver.INFEASIBLE:
        return -1
    assert status == pywraplp.Solver.OPTIMAL
    return round(solver.Objective().Value())


@pytest.mark.parametrize(
    ("shape", "size", "seed"), ROUNDS, ids=lambda v: v.name if isinstance(v, Size) else str(v)
)
@pytest.mark.parametrize("after_leaf", [0, 2, None])
def test_no_pair_list_of_the_best_leafs_quality_uses_a_pair_outside_the_frontier_set(
    shape: str, size: Size, seed: int, after_leaf: int | None
) -> None:
    inst = build_instance(SHAPES[shape](size, seed))
    root = relax(inst)
    search = branch_and_bound(
        inst, root, 1e6, time.perf_counter() + 60, after_leaf=after_leaf, reaching=True
    )
    root_levels = (root.priority_matched, root.matched, root.waiting_days)
    everything = np.ones(len(inst.pairs), bool)
    if search.best is None:
        # Every region was closed: no pair list keeps the bands and levels 1-3 at all.
        assert search.exhausted and search.reaching is None
        assert _most_outside(inst, root_levels, -(10**9), everything) == -1
        return
    best = search.best.quality
    assert search.reaching is not None
    assert search.reaching.sum() < len(inst.pairs), "the set leaves some pair out"
    assert _most_outside(inst, root_levels, best, ~search.reaching) == 0
    if search.proven:
        # Nothing above the best leaf: no pair list at all reaches one more point.
        assert _most_outside(inst, root_levels, best + 1, everything) == -1


def test_without_being_asked_the_search_keeps_no_set() -> None:
    inst = build_instance(SHAPES["oversupply"](LARGER, 4))
    search = branch_and_bound(inst, relax(inst), 1e6, time.perf_counter() + 60)
    assert search.best is not None and search.reaching is None


def test_the_search_stops_the_given_nodes_after_its_first_leaf() -> None:
    # Oversupply at mid size: the first leaf comes some way down the dive, far from a proof.
    inst = build_instance(SHAPES["oversupply"](SIZES["mid"], 1))
    root = relax(inst)
    at_leaf = branch_and_bound(inst, root, 1e6, time.perf_counter() + 60, after_leaf=0)
    assert at_leaf.best is not None and not at_leaf.proven
    first = at_leaf.nodes
    before = branch_and_bound(inst, root, (first - 1) * node_work(inst), time.perf_counter() + 60)
    assert before.best is None and before.nodes == first - 1
    later = branch_and_bound(inst, root, 1e6, time.perf_counter() + 60, after_leaf=3)
    assert later.nodes == first + 3 and later.best is not None
    assert later.best.quality >= at_leaf.best.quality
