"""Branch and bound over which mentors are used, for rounds where mentors' minimums bite.

The flow relaxation lets a mentor take fewer new mentees than their minimum. Each node of the
search fixes some mentors *open* (at least their minimum) and some *closed* (no new mentee);
its flow, with those lower bounds and with the counts of levels 1-2 fixed, bounds every pair
list below it on waiting days and quality. A node whose flow keeps every mentor inside the band
is a *leaf*: its flow is the best pair list in it. Otherwise it branches on an under-filled
mentor: closed, or open.

A first dive, always into the better child, finds a leaf early; then best-first order stops as
soon as no open node can beat the best leaf.

The search stops after a number of nodes fixed by its work limit (each node's flow counted by
the pairs it has, see ``node_work``), never by the clock, so the same round and limit explore
the same nodes on every run; a wall-clock deadline is only a safety net.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from solver.flow import FlowInfeasible, Relaxation, relax
from solver.instance import Instance

# The work of one node's flows, in the units of CP-SAT's deterministic time, at the 0.6 units a
# second one CP-SAT worker does on these machines. Measured: oversupply at mid size (31,412
# pairs, 520 people) 0.018 s a node; the national sample's candidates (56,149 pairs, 4,600
# people) 0.13 s a node: the flows grow with the people more than with the pairs.
NODE_WORK_PER_PAIR = 7e-8
NODE_WORK_PER_PERSON = 1.6e-5
NODE_WORK_MIN = 1.0e-3


def node_work(inst: Instance) -> float:
    """The work one node of the search is counted as: its flows grow with the round."""
    people = inst.n_mentors + inst.n_mentees
    return NODE_WORK_MIN + NODE_WORK_PER_PAIR * len(inst.pairs) + NODE_WORK_PER_PERSON * people


@dataclass(frozen=True)
class Search:
    best: Relaxation | None  # the best leaf: levels 1-2 and waiting days at their bounds
    proven: bool  # no pair list inside every band has a better quality
    exhausted: bool  # every node was explored or pruned (else the work limit ended it)
    nodes: int
    work: float  # nodes x node_work
    wall_stopped: bool  # the wall-clock deadline, not the work limit, ended the search
    # Bool per pair, when asked for and a leaf was found: every pair that a pair list inside
    # every band, keeping levels 1-2 and waiting days, with the best leaf's quality or more
    # may use (``frontier_pairs``).
    reaching: np.ndarray | None = None


def frontier_pairs(frontier: Sequence[Relaxation], quality: int) -> np.ndarray:
    """Whether each pair can be in a pair list of ``quality`` or more inside every band that
    keeps levels 1-2 and waiting days, given the frontier of a search: the nodes not branched
    on (leaves of ``quality`` or more, and the nodes left open), whose regions cover every
    such pair list. A list in a node's region loses at most ``node.quality - quality`` points
    against that node's bound, so it uses only the pairs that node's reduced costs leave
    (``Relaxation.near_optimal``); the nodes' bounds are tighter than the root's, so the set
    is smaller than the root's for the same quality."""
    allowed = np.zeros(len(frontier[0].locked) if frontier else 0, dtype=bool)
    for node in frontier:
        if node.quality >= quality:
            allowed |= node.pairs_within(node.quality - quality)
    return allowed


def branch_and_bound(
    inst: Instance,
    root: Relaxation,
    work_limit: float,
    deadline: float,
    after_leaf: int | None = None,
    reaching: bool = False,
) -> Search:
    """Best quality under mentors' minimums, keeping the relaxation's levels 1-2 and waiting
    days; at most ``work_limit`` work (whole nodes), at most ``after_leaf`` nodes after the
    first leaf (when given), and never past ``deadline`` (a ``time.perf_counter()`` reading).
    With ``reaching``, the result says which pairs a pair list of the best leaf's quality may
    use (``Search.reaching``)."""
    locked_mentees = inst.pairs.mentee[inst.locked]
    counts = (
        root.priority_matched - int(inst.priority[locked_mentees].sum()),
        root.matched - len(locked_mentees),
    )
    locks_per_mentor = np.bincount(inst.pairs.mentor[inst.locked], minlength=inst.n_mentors)
    minimum = np.maximum(inst.least - locks_per_mentor, 0)

    def evaluate(opened: np.ndarray, closed: np.ndarray) -> Relaxation | None:
        try:
            node = relax(inst, ~closed, np.where(opened, minimum, 0), counts)
        except FlowInfeasible:
            return None
        return node if node.waiting_days == root.waiting_days else None

    def under_filled(node: Relaxation) -> np.ndarray:
        load = np.bincount(inst.pairs.mentor[node.chosen], minlength=inst.n_mentors)
        return ((load > 0) | inst.must_use) & (load < inst.least)

    order = itertools.count()
    Entry = tuple[int, int, np.ndarray, np.ndarray, Relaxation]

    def entry(opened: np.ndarray, closed: np.ndarray) -> Entry | None:
        node = evaluate(opened, closed)
        return None if node is None else (-node.quality, next(order), opened, closed, node)

    heap: list[Entry] = []
    leaves: list[Relaxation] = []
    # Dive first (always into the better child) for an early leaf to prune with; best-first after.
    diving = entry(inst.must_use.copy(), np.zeros(inst.n_mentors, dtype=bool))
    best: Relaxation | None = None
    nodes = 0
    max_nodes = int(work_limit / node_work(inst))
    wall_stopped = False
    first_leaf: int | None = None
    while nodes < max_nodes:
        if after_leaf is not None and first_leaf is not None and nodes - first_leaf >= after_leaf:
            break
        if time.perf_counter() >= deadline:
            wall_stopped = True
            break
        if diving is not None:
            current, diving = diving, None
        elif heap and (best is None or -heap[0][0] > best.quality):
            current = heapq.heappop(heap)
        else:
            break  # nothing left, or nothing that can pass the best leaf
        _, _, opened, closed, node = current
        nodes += 1
        under = under_filled(node)
        if not under.any():
            first_leaf = nodes if first_leaf is None else first_leaf
            if best is None or node.quality > best.quality:
                best = node
            # Only leaves as good as the best count for the frontier (a national search
            # finds hundreds).
            leaves = [leaf for leaf in (*leaves, node) if leaf.quality >= best.quality]
            continue
        # The mentor furthest below their minimum: both branches move the bound most.
        load = np.bincount(inst.pairs.mentor[node.chosen], minlength=inst.n_mentors)
        deficit = np.where(under & ~opened, inst.least - load, -1)
        i = int(np.argmax(deficit))
        if deficit[i] < 0:
            raise AssertionError("an open mentor below its minimum: the flow ignored a lower bound")
        closing, opening = closed.copy(), opened.copy()
        closing[i], opening[i] = True, True
        children = [
            c
            for c in (entry(opening, closed), None if inst.must_use[i] else entry(opened, closing))
            if c
        ]
        if best is None and children:
            diving = min(children)
            children.remove(diving)
        for child in children:
            heapq.heappush(heap, child)

    exhausted = diving is None and (not heap or (best is not None and -heap[0][0] <= best.quality))
    frontier = [*leaves, *(e[4] for e in heap), *([] if diving is None else [diving[4]])]
    return Search(
        best=best,
        proven=best is not None and (not heap or -heap[0][0] <= best.quality),
        exhausted=exhausted,
        nodes=nodes,
        work=nodes * node_work(inst),
        wall_stopped=wall_stopped and not exhausted,
        reaching=frontier_pairs(frontier, best.quality) if reaching and best else None,
    )
