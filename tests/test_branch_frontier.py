"""The branching's frontier (``solver.branch.Search.pairs_reaching``) holds every pair of every
pair list that keeps the bands and levels 1-3 and reaches a quality, however early the search
stopped: checked by an independent MIP (SCIP) that looks for such a pair list using a pair
outside the set, and must find none."""

from __future__ import annotations

import time

import numpy as np
import pytest
from ortools.linear_solver import pywraplp

from datasets.shapes import SHAPES, Size
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
@pytest.mark.parametrize("nodes", [1, 3, None])
def test_no_pair_list_of_the_quality_uses_a_pair_outside_the_frontier_set(
    shape: str, size: Size, seed: int, nodes: int | None
) -> None:
    inst = build_instance(SHAPES[shape](size, seed))
    root = relax(inst)
    work = 1e6 if nodes is None else nodes * node_work(inst)
    search = branch_and_bound(inst, root, work, time.perf_counter() + 60)
    if nodes is not None:
        assert search.nodes <= nodes
    root_levels = (root.priority_matched, root.matched, root.waiting_days)
    if not search.frontier:
        # Every region was closed: no pair list keeps the bands and levels 1-3 at all.
        assert search.exhausted and search.best is None
        everything = np.ones(len(inst.pairs), bool)
        assert _most_outside(inst, root_levels, -(10**9), everything) == -1
        return
    best = None if search.best is None else search.best.quality
    # The bound itself, the best leaf's quality and a little below it.
    for quality in sorted({root.quality, *(() if best is None else (best, best - 3))}):
        reaching = search.pairs_reaching(quality)
        assert _most_outside(inst, root_levels, quality, ~reaching) <= 0, quality
    if search.proven:
        assert best is not None
        # Nothing above the best leaf: no pair at all can reach one more point.
        assert _most_outside(inst, root_levels, best + 1, np.ones(len(inst.pairs), bool)) == -1


@pytest.mark.parametrize("after_leaf", [0, 2])
def test_the_search_stops_the_given_nodes_after_its_first_leaf(after_leaf: int) -> None:
    inst = build_instance(SHAPES["oversupply"](LARGER, 4))
    root = relax(inst)
    whole = branch_and_bound(inst, root, 1e6, time.perf_counter() + 60)
    search = branch_and_bound(inst, root, 1e6, time.perf_counter() + 60, after_leaf=after_leaf)
    assert search.best is not None
    assert search.nodes <= whole.nodes
    # The dive's first leaf comes on the same node either way; the search goes on at most
    # `after_leaf` nodes past it.
    leaves = [node for node in search.frontier if not _under_filled(inst, node.chosen)]
    assert leaves
    if not search.proven:
        assert search.nodes <= _first_leaf_node(inst, root) + after_leaf


def _under_filled(inst: Instance, chosen: np.ndarray) -> bool:
    load = np.bincount(inst.pairs.mentor[chosen], minlength=inst.n_mentors)
    return bool((((load > 0) | inst.must_use) & (load < inst.least)).any())


def _first_leaf_node(inst: Instance, root) -> int:
    """The node count at which a search first holds a leaf."""
    for n in range(1, 200):
        search = branch_and_bound(inst, root, n * node_work(inst), time.perf_counter() + 60)
        if search.best is not None:
            return n
    raise AssertionError("no leaf in 200 nodes")
