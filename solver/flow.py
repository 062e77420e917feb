"""Min-cost flow over all allowed pairs: the relaxation that bounds levels 1-3, and a warm start.

Dropping only the mentors' lower capacity (and the penalty level) leaves a b-matching, which a
flow solves exactly in a fraction of a second even with millions of pairs. Its optimum is
therefore a valid bound for the first three levels of the real problem, and very often the
real optimum: when its pairs keep every mentor inside the band, nothing is left to prove.

Two flows give the lexicographic optimum of the relaxation: the first fixes how many priority
and other mentees can be matched; the second, with those counts as supplies, maximises waiting
days and then quality (quality is scaled below one day of waiting, so it only breaks ties).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from ortools.graph.python import min_cost_flow

from solver.instance import Instance

SOURCE, SINK, PRIORITY_HUB, OTHER_HUB = 0, 1, 2, 3
# OR-Tools scales costs by the node count inside its cost-scaling algorithm.
MAX_SAFE_COST = 2**62


@dataclass(frozen=True)
class Relaxation:
    priority_matched: int
    matched: int
    waiting_days: int
    quality: int
    chosen: np.ndarray  # indices of allowed pairs in one optimal relaxed matching
    locked: np.ndarray  # bool per allowed pair
    lower: np.ndarray  # int per mentor: fewest new mentees (besides locks) the flow had to give
    capacity: np.ndarray  # int per mentor: most new mentees (besides locks) the flow could give
    residual: _Residual = field(repr=False)

    @cached_property
    def reduced(self) -> Reduced:
        """Reduced costs, computed on first use: only faces need them, not every flow."""
        return self.residual.reduced()

    def pairs_within(self, delta: float) -> np.ndarray:
        """``near_optimal(delta).allowed``, without keeping the reduced costs when they were
        not kept already (a search asks this of many nodes once)."""
        reduced = self.__dict__.get("reduced") or self.residual.reduced()
        return self.locked | (reduced.pair < delta + 0.5)

    def near_optimal(self, delta: float) -> Fixing:
        """What every pair list within ``delta`` quality points of the bound must look like.

        For any flow with the same supplies, cost - optimal cost = sum over arcs of
        reduced cost x change of flow, each term >= 0 (complementary slackness). So a pair list
        that meets the bounds of levels 1-2 and loses at most ``delta`` quality keeps every arc
        whose reduced cost exceeds ``delta`` in absolute value as in the relaxation's optimum.
        With ``delta = 0`` this is the optimal face.
        """
        limit = delta + 0.5
        # Pairs with no arc and no lock can carry nothing (NaN compares False).
        pair, locked = self.reduced.pair, self.locked
        mentee = np.nan_to_num(self.reduced.mentee, nan=-np.inf)  # locked mentees: matched
        mentor = self.reduced.mentor
        return Fixing(
            allowed=locked | (pair < limit),
            forced=locked | (pair < -limit),
            must_match=mentee < -limit,
            never_match=mentee > limit,
            full=mentor < -limit,
            idle=mentor > limit,
            lower=self.lower,
            capacity=self.capacity,
        )


@dataclass(frozen=True)
class Reduced:
    """Reduced costs under optimal potentials, in quality points; NaN where there is no arc
    (locked pairs, and pairs the network leaves out)."""

    pair: np.ndarray  # per allowed pair
    mentee: np.ndarray  # per mentee (its supply arc)
    mentor: np.ndarray  # per mentor (its capacity arc)


@dataclass(frozen=True)
class _Residual:
    """What an optimal flow leaves to compute its reduced costs from."""

    network: _Network
    flows: np.ndarray
    arcs: np.ndarray  # allowed-pair index of each pair arc
    free: np.ndarray  # mentee index of each supply arc
    n_pairs: int
    n_mentees: int
    n_nodes: int

    def reduced(self) -> Reduced:
        reduced = _reduced_costs(self.network, self.flows, self.n_nodes)
        n_free, n_arcs = len(self.free), len(self.arcs)
        pair = np.full(self.n_pairs, np.nan)
        pair[self.arcs] = reduced[n_free : n_free + n_arcs]
        mentee = np.full(self.n_mentees, np.nan)
        # A supply arc's cost is in waiting days x quality_range: any non-zero reduced cost
        # there is worth more than every quality point together.
        mentee[self.free] = reduced[:n_free]
        return Reduced(pair, mentee, reduced[n_free + n_arcs :])


@dataclass(frozen=True)
class Fixing:
    """Pairs still allowed and variables fixed by reduced costs (see ``near_optimal``)."""

    allowed: np.ndarray  # bool per allowed pair
    forced: np.ndarray  # bool per allowed pair
    must_match: np.ndarray  # bool per mentee
    never_match: np.ndarray  # bool per mentee
    full: np.ndarray  # bool per mentor: every free place taken
    idle: np.ndarray  # bool per mentor: no more new mentees (besides locks) than `lower`
    lower: np.ndarray  # int per mentor: at least this many new mentees besides locks
    capacity: np.ndarray  # int per mentor: at most this many new mentees besides locks


@dataclass(frozen=True)
class _Network:
    tails: np.ndarray
    heads: np.ndarray
    capacities: np.ndarray
    costs: np.ndarray

    def add_to(self, flow: min_cost_flow.SimpleMinCostFlow) -> min_cost_flow.SimpleMinCostFlow:
        flow.add_arcs_with_capacity_and_unit_cost(
            self.tails, self.heads, self.capacities, self.costs
        )
        return flow


class FlowError(RuntimeError):
    """The flow solver did not reach an optimum (a bug, never bad input)."""


class FlowInfeasible(FlowError):
    """The supplies cannot be routed: the counts or lower bounds asked for cannot be met."""


def _solve(flow: min_cost_flow.SimpleMinCostFlow) -> None:
    status = flow.solve()
    if status == flow.INFEASIBLE:
        raise FlowInfeasible("the supplies cannot be routed")
    if status != flow.OPTIMAL:
        raise FlowError(f"min-cost flow ended with status {status}")


def relax(
    inst: Instance,
    open_mentors: np.ndarray | None = None,
    lower: np.ndarray | None = None,
    counts: tuple[int, int] | None = None,
) -> Relaxation:
    """Lexicographic optimum of levels 1-3 without mentors' lower capacities.

    ``open_mentors`` (bool per mentor) restricts which mentors may take new mentees; ``lower``
    (int per mentor) makes some take at least that many new mentees besides their locks;
    ``counts`` (priority, all) fixes how many free mentees are matched instead of maximising.
    Raises FlowInfeasible when the lower bounds or counts cannot be met.
    """
    n_mentees, n_mentors = inst.n_mentees, inst.n_mentors
    pairs = inst.pairs
    locked = np.flatnonzero(inst.locked)
    locked_mentee = np.zeros(n_mentees, dtype=bool)
    locked_mentee[pairs.mentee[locked]] = True
    capacity = inst.most - np.bincount(pairs.mentor[locked], minlength=n_mentors)
    if open_mentors is not None:
        capacity = np.where(open_mentors, capacity, 0)
    capacity = np.maximum(capacity, 0)
    lower = np.zeros(n_mentors, dtype=np.int64) if lower is None else np.minimum(lower, capacity)

    usable = ~locked_mentee[pairs.mentee] & (capacity[pairs.mentor] > 0)
    arcs = np.flatnonzero(usable)
    free = np.flatnonzero(~locked_mentee)
    mentee_node = 4 + np.arange(n_mentees)
    mentor_node = 4 + n_mentees + np.arange(n_mentors)
    n_free = len(free)

    def network(
        supply_tails: np.ndarray, supply_costs: np.ndarray, pair_costs: np.ndarray
    ) -> _Network:
        """Supply arcs into the free mentees, then the pair arcs, then the mentors' capacities."""
        return _Network(
            tails=np.concatenate([supply_tails, mentee_node[pairs.mentee[arcs]], mentor_node]),
            heads=np.concatenate(
                [mentee_node[free], mentor_node[pairs.mentor[arcs]], np.full(n_mentors, SINK)]
            ),
            capacities=np.concatenate(
                [np.ones(n_free + len(arcs), dtype=np.int64), capacity - lower]
            ),
            costs=np.concatenate(
                [supply_costs, pair_costs, np.zeros(n_mentors, dtype=np.int64)]
            ).astype(np.int64),
        )

    # Each mentor's lower bound is taken out of its capacity arc and demanded at its node.
    mentor_demand = -lower
    if counts is None:
        # Stage A: most priority mentees, then most mentees.
        a = network(
            np.full(n_free, SOURCE),
            -(inst.priority[free].astype(np.int64) * (n_free + 1) + 1),
            np.zeros(len(arcs), dtype=np.int64),
        ).add_to(min_cost_flow.SimpleMinCostFlow())
        a.add_arc_with_capacity_and_unit_cost(SOURCE, SINK, n_free, 0)
        a.set_nodes_supplies(mentor_node.astype(np.int32), mentor_demand.astype(np.int64))
        a.set_node_supply(SOURCE, n_free)
        a.set_node_supply(SINK, -(n_free - int(lower.sum())))
        _solve(a)
        taken = a.flows(np.arange(n_free)) > 0
        n_prio = int(np.sum(inst.priority[free] & taken))
        n_all = int(np.sum(taken))
    else:
        n_prio, n_all = counts

    # Stage B: with exactly those counts, most waiting days, then best quality.
    score = inst.score[arcs]
    low = int(score.min()) if len(arcs) else 0
    quality_range = (int(score.max()) - low) * max(n_all, 1) + 1 if len(arcs) else 1
    wait_cost = inst.wait[free] * quality_range
    if len(free) and int(wait_cost.max()) * (n_mentees + n_mentors + 5) > MAX_SAFE_COST:
        raise FlowError("waiting days and scores too large for an exact flow")
    hubs = np.where(inst.priority[free], PRIORITY_HUB, OTHER_HUB)
    stage_b = network(hubs, -wait_cost, -(score - low))
    b = stage_b.add_to(min_cost_flow.SimpleMinCostFlow())
    b.set_nodes_supplies(mentor_node.astype(np.int32), mentor_demand.astype(np.int64))
    b.set_node_supply(PRIORITY_HUB, n_prio)
    b.set_node_supply(OTHER_HUB, n_all - n_prio)
    b.set_node_supply(SINK, -(n_all - int(lower.sum())))
    _solve(b)
    flows = b.flows(np.arange(len(stage_b.tails)))
    pair_arcs = slice(n_free, n_free + len(arcs))
    chosen = np.sort(np.concatenate([locked, arcs[flows[pair_arcs] > 0]]))
    matched = pairs.mentee[chosen]
    return Relaxation(
        priority_matched=int(inst.priority[matched].sum()),
        matched=len(chosen),
        waiting_days=int(inst.wait[matched].sum()),
        quality=int(inst.score[chosen].sum()),
        chosen=chosen,
        locked=inst.locked,
        lower=lower,
        capacity=capacity,
        residual=_Residual(
            stage_b, flows, arcs, free, len(pairs), n_mentees, n_mentees + n_mentors + 4
        ),
    )


def _reduced_costs(network: _Network, flows: np.ndarray, n: int) -> np.ndarray:
    """Reduced cost of every arc under optimal node potentials.

    Optimal potentials are shortest distances in the residual graph (which has no negative
    cycle at an optimum) from a root joined to every node. By complementary slackness every
    optimal flow leaves empty the arcs of positive reduced cost and fills those of negative.
    """
    tails, heads, costs = network.tails, network.heads, network.costs.astype(np.float64)
    forward, backward = flows < network.capacities, flows > 0
    rows = np.concatenate([tails[forward], heads[backward]])
    cols = np.concatenate([heads[forward], tails[backward]])
    weights = np.concatenate([costs[forward], -costs[backward]])
    potential = _shortest_from_all(n, rows, cols, weights)
    return costs + potential[tails] - potential[heads]


def _shortest_from_all(
    n: int, rows: np.ndarray, cols: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Bellman-Ford from a virtual root joined to every node by a zero arc, one vectorised
    relaxation of all arcs per round; it stops as soon as a round changes nothing (a few dozen
    rounds here, where a general implementation runs far longer)."""
    dist = np.zeros(n)
    for _ in range(n + 1):
        relaxed = dist.copy()
        np.minimum.at(relaxed, cols, dist[rows] + weights)
        if np.array_equal(relaxed, dist):
            return dist
        dist = relaxed
    raise FlowError("negative cycle in the residual graph: the flow was not optimal")


def warm_start(inst: Instance, chosen: np.ndarray, max_rounds: int = 25) -> np.ndarray:
    """Pairs that respect lower capacities where the flow alone can: close under-filled mentors.

    A mentor that the relaxation gives fewer new mentees than its minimum is closed and the flow
    solved again, until no closable mentor is under-filled. Mentors that must be used (locked,
    or unused mentors not allowed) are left for CP-SAT to repair.
    """
    open_mentors = inst.most > 0
    for _ in range(max_rounds):
        load = np.bincount(inst.pairs.mentor[chosen], minlength=inst.n_mentors)
        under = (load > 0) & (load < inst.least) & ~inst.must_use
        if not under.any():
            break
        open_mentors = open_mentors & ~under
        chosen = relax(inst, open_mentors).chosen
    return chosen
