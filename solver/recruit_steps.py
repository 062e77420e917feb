"""The three steps of recruitment planning, by min-cost flows, with the MIP of
``solver.recruit_model`` where the flows leave a gap.

A plan is a b-matching: each mentee to at most one mentor row (a current mentor, or a profile
standing for all its copies), each row's new mentees within bounds. With the bounds fixed
(which current mentors are used, how many copies of each profile) that is a flow with lower
bounds, solved exactly: the circulation source -> mentee -> row -> sink -> source, each lower
bound taken out of its arc's capacity and put into the supplies of its ends. Two uses:

* *relaxed*: no row's minimum, copies as many as allowed. It bounds the real problem, whose
  every plan it admits: the most target mentees the current mentors can take (step 1), and the
  fewest new mentors (step 2) as a linear relaxation, in which each mentee a copy of profile p
  takes costs 1 / hi_p of a new mentor (``C / hi_p`` units, C the least common multiple);
* *fixed*: the current mentors the relaxed flow used must reach their minimum and the others
  stay unused, copies as rounded from the relaxed loads: a plan, when the flow exists.

Step 2 tries two relaxed flows: one that also prefers well-scoring pairs (so that among equally
few new mentors the plan picks those whose focus areas fit their mentees), and one that fills
the profiles in a fixed order, the widest first (so that few profiles carry a fraction of a
copy to round up). When the rounded plan meets the bound, it is proven the fewest; when
neither does, or the equity limit bites (no flow knows of it), the MIP searches from the best
plan in hand, within the time left.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
from ortools.graph.python import min_cost_flow

from matcher import equity
from solver.instance import Instance
from solver.recruit_model import RecruitModel, StepStatus

SOURCE, SINK = 0, 1
MAX_SAFE_COST = 2**62


@dataclass
class Round:
    """The round extended with one mentor row per profile (after the ``n_current`` current
    mentors), and what every step reads."""

    inst: Instance
    n_current: int
    usable: np.ndarray  # bool per mentor row: can take anyone at all
    copies: np.ndarray  # int per profile: most copies worth recruiting
    kept: np.ndarray  # allowed-pair indices to usable rows (and profiles with copies)
    goal: np.ndarray  # bool per mentee: reachable target mentees
    seed: int
    deadline: float  # a time.perf_counter() reading
    timings: dict[str, float] = field(default_factory=dict)
    _model: RecruitModel | None = None

    @property
    def model(self) -> RecruitModel:
        """The MIP, built on first need."""
        if self._model is None:
            self._model = RecruitModel(self.inst, self.n_current, self.kept, self.copies)
        return self._model

    def left(self, share: float) -> float:
        return share * max(0.0, self.deadline - time.perf_counter())

    def flow(
        self,
        lower: np.ndarray,
        upper: np.ndarray,
        unit_cost: np.ndarray,
        required: np.ndarray,
        optional: np.ndarray,
        gain: np.ndarray,
    ) -> tuple[np.ndarray, int] | None:
        """The plan over ``kept`` of least cost (rows' unit costs less the pairs' ``gain``,
        int per kept pair) with every ``required`` mentee matched, ``optional`` ones free to
        be, and each row within [lower, upper]; its chosen pairs and cost, or None."""
        return _flow(self.inst, self.kept, lower, upper, unit_cost, required, optional, gain)

    def current_bounds(self, used: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Current mentors' bounds: relaxed when ``used`` is None, else fixed by it."""
        inst, n = self.inst, self.n_current
        least, most = inst.least[:n], inst.most[:n]
        upper = np.where(self.usable[:n], most, 0)
        if used is None:
            return np.zeros(n, np.int64), upper
        on = used | inst.must_use[:n]
        return np.where(on, least, 0), np.where(on | (least == 0), upper, 0)

    def bounds(self, used: np.ndarray | None, copies: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every row's bounds: the current mentors' (``current_bounds``), then the profiles'
        for ``copies`` (their minimum only when fixed)."""
        lower, upper = self.current_bounds(used)
        lo, hi = self.inst.least[self.n_current :], self.inst.most[self.n_current :]
        profile_lower = np.zeros(len(copies), np.int64) if used is None else lo * copies
        return np.r_[lower, profile_lower], np.r_[upper, hi * copies]

    def loads(self, chosen: np.ndarray) -> np.ndarray:
        return np.bincount(self.inst.pairs.mentor[chosen], minlength=self.inst.n_mentors)

    def keeps_equity(self, chosen: np.ndarray) -> bool:
        problem = self.inst.problem
        matched = {problem.mentees[j].mentee_id for j in self.inst.pairs.mentee[chosen]}
        return not equity.shortfalls(problem, matched)

    def worth(self) -> np.ndarray:
        """Per kept pair: more than every score together, plus its score (most matched, then
        best quality)."""
        score = self.inst.score[self.kept]
        return int(np.abs(score).max(initial=0)) * self.inst.n_mentees + 1 + score


def prepare(
    inst: Instance, n_current: int, wanted: np.ndarray, seed: int, deadline: float
) -> Round:
    """The round of ``inst`` for the ``wanted`` mentees (bool per mentee): which rows can
    take anyone at all (room, and as many allowed mentees as their minimum), how many copies
    of each profile are worth recruiting (``solver.recruit``), the reachable target mentees."""
    pairs = inst.pairs
    allowed = np.bincount(pairs.mentor, minlength=inst.n_mentors)
    usable = (inst.most > 0) & (allowed >= inst.least)
    copies = np.where(
        usable[n_current:], allowed[n_current:] // np.maximum(inst.least[n_current:], 1), 0
    )
    reach = np.zeros(inst.n_mentees, dtype=bool)
    reach[pairs.mentee[usable[pairs.mentor]]] = True
    goal = wanted & reach
    if not equity.active(inst.problem):
        on_goal = goal[pairs.mentee]
        copies = np.minimum(
            copies, np.bincount(pairs.mentor[on_goal], minlength=inst.n_mentors)[n_current:]
        )
    row_open = np.r_[usable[:n_current], usable[n_current:] & (copies > 0)]
    kept = np.flatnonzero(row_open[pairs.mentor])
    return Round(inst, n_current, usable, copies, kept, goal, seed, deadline)


@dataclass(frozen=True)
class Count:
    """What a counting step found: its value, the bound, and the plan."""

    status: StepStatus
    value: int | None
    bound: int | None
    chosen: np.ndarray | None  # allowed-pair indices
    copies: np.ndarray | None  # per profile


def before(r: Round) -> Count:
    """Step 1: the most target mentees the current mentors can take at once."""
    started = time.perf_counter()
    none = np.zeros(len(r.copies), np.int64)
    nobody = np.zeros(r.inst.n_mentees, bool)
    everyone = ~nobody
    zero = np.zeros(r.inst.n_mentors, np.int64)
    on_goal = r.goal[r.inst.pairs.mentee[r.kept]].astype(np.int64)
    relaxed = r.flow(*r.bounds(None, none), zero, nobody, r.goal, on_goal)
    assert relaxed is not None  # nothing is required: the empty plan is a flow
    bound = int(r.goal[r.inst.pairs.mentee[relaxed[0]]].sum())
    used = r.loads(relaxed[0])[: r.n_current] > 0
    # The most target mentees, then the most others (the equity limit asks for them too).
    plan = r.flow(*r.bounds(used, none), zero, nobody, everyone, on_goal * len(everyone) + 1)
    value = None
    if plan is not None and r.keeps_equity(plan[0]):
        value = int(r.goal[r.inst.pairs.mentee[plan[0]]].sum())
    r.timings["before"] = round(time.perf_counter() - started, 3)
    if value == bound:
        return Count(StepStatus.OPTIMAL, value, bound, plan[0], none)  # type: ignore[index]
    hint = None if value is None else r.model.values(plan[0], none)  # type: ignore[index]
    step = r.model.most_targets_now(r.goal, hint, r.left(0.25), r.seed)
    r.timings["before"] = round(time.perf_counter() - started, 3)
    if not step.found or (value is not None and value > int(step.value or 0)):
        status = StepStatus.FEASIBLE if value is not None else step.status
        upper = bound if step.bound is None else min(bound, step.bound)
        return Count(status, value, upper, None if value is None else plan[0], none)  # type: ignore[index]
    found = r.model.chosen(step.values)  # type: ignore[arg-type]
    upper = bound if step.bound is None else min(bound, step.bound)
    return Count(step.status, step.value, upper, found, none)


def fewest(r: Round) -> Count:
    """Step 2: every reachable target mentee matched, the fewest new mentors."""
    started = time.perf_counter()
    inst, n = r.inst, r.n_current
    hi = np.maximum(inst.most[n:], 1)
    open_ = r.copies > 0
    unit = int(np.lcm.reduce(hi[open_])) if open_.any() else 1
    per_copy = np.r_[np.zeros(n, np.int64), np.where(open_, unit // hi, 0)]
    nobody = np.zeros(inst.n_mentees, bool)
    score = inst.score[r.kept]
    # Preferring good pairs: one unit of copies outweighs every score together.
    scale = 2 * int(np.abs(score).max(initial=0)) * inst.n_mentees + 1
    # Filling profiles in order, the widest first: ranks add up to less than one unit.
    rank = np.zeros(len(hi), np.int64)
    rank[np.lexsort((-hi, -_goal_pairs(r)))] = np.arange(len(hi))
    spread = len(hi) * inst.n_mentees + 1
    tries = (
        (scale * per_copy, score),
        (spread * per_copy + np.r_[np.zeros(n, np.int64), rank], np.zeros_like(score)),
    )
    bound, best = 0, None
    for unit_cost, gain in filter(lambda t: _exact(inst, t[0]), tries):
        relaxed = r.flow(*r.bounds(None, r.copies), unit_cost, r.goal, nobody, gain)
        if relaxed is None:
            r.timings["fewest"] = round(time.perf_counter() - started, 3)
            return Count(StepStatus.INFEASIBLE, None, None, None, None)
        loads = r.loads(relaxed[0])
        bound = max(bound, -(-int(np.dot(loads, per_copy)) // unit))
        for copies in _roundings(loads[n:], hi, bound):
            if best is None or copies.sum() < best.value:
                best = _fixed(r, loads[:n] > 0, copies) or best
        if best is not None and best.value <= bound:  # type: ignore[operator]
            r.timings["fewest"] = round(time.perf_counter() - started, 3)
            return replace(best, status=StepStatus.OPTIMAL, bound=best.value)
    r.timings["fewest"] = round(time.perf_counter() - started, 3)
    return _fewest_by_mip(r, bound, best, started)


def _exact(inst: Instance, unit_cost: np.ndarray) -> bool:
    """Whether a flow with these costs stays exact: OR-Tools scales costs by the number of
    nodes, and every cost must stay within 64 bits (else the MIP answers alone)."""
    nodes = 2 + inst.n_mentees + inst.n_mentors
    return int(unit_cost.max(initial=0)) * (inst.n_mentees + 1) * nodes < MAX_SAFE_COST


def _roundings(loads: np.ndarray, hi: np.ndarray, bound: int) -> list[np.ndarray]:
    """Copies per profile from a relaxed flow's loads: the bound's number, to the largest
    fractions of a copy; then every fraction rounded up."""
    whole = loads // hi
    fraction = loads / hi - whole
    top = np.argsort(-fraction, kind="stable")[: max(0, bound - int(whole.sum()))]
    to_bound = whole.copy()
    to_bound[top[fraction[top] > 0]] += 1
    rounded_up = -(-loads // hi)
    return [to_bound, rounded_up] if to_bound.sum() < rounded_up.sum() else [rounded_up]


def _fixed(r: Round, used: np.ndarray, copies: np.ndarray) -> Count | None:
    """The plan with these current mentors used and these copies, if there is one."""
    zero = np.zeros(r.inst.n_mentors, np.int64)
    plan = r.flow(*r.bounds(used, copies), zero, r.goal, ~r.goal, r.worth())
    if plan is None or not r.keeps_equity(plan[0]):
        return None
    return Count(StepStatus.FEASIBLE, int(copies.sum()), None, plan[0], copies)


def _fewest_by_mip(r: Round, bound: int, best: Count | None, started: float) -> Count:
    """The MIP, from the best plan in hand; the better plan, and the better bound."""
    model = r.model
    model.require(r.goal)
    hint = None if best is None else model.values(best.chosen, best.copies)  # type: ignore[arg-type]
    step = model.fewest_recruits(bound, hint, r.left(0.8), r.seed)
    r.timings["fewest"] = round(time.perf_counter() - started, 3)
    if step.status is StepStatus.INFEASIBLE:
        return Count(StepStatus.INFEASIBLE, None, None, None, None)
    bound = max(bound, step.bound or 0)
    if step.values is not None and (best is None or step.value < best.value):  # type: ignore[operator]
        best = Count(
            StepStatus.FEASIBLE,
            step.value,
            None,
            model.chosen(step.values),
            model.recruited(step.values),
        )
    if best is None:
        return Count(StepStatus.UNKNOWN, None, bound, None, None)
    proven = bound >= best.value  # type: ignore[operator]
    status = StepStatus.OPTIMAL if proven else StepStatus.FEASIBLE
    return replace(best, status=status, bound=bound)


def best_pairs(r: Round, plan: np.ndarray, copies: np.ndarray) -> tuple[np.ndarray, bool]:
    """Step 3: with these copies, the most mentees matched, then the best total score. The
    relaxed flow picks which current mentors to use; when its plan is a real one, it is proven
    (for these copies); else the better of it and ``plan`` (a plan of step 1 or 2)."""
    started = time.perf_counter()
    zero = np.zeros(r.inst.n_mentors, np.int64)
    gain = r.worth()
    relaxed = r.flow(*r.bounds(None, copies), zero, r.goal, ~r.goal, gain)
    best, proven = plan, False
    if relaxed is not None:
        used = r.loads(relaxed[0])[: r.n_current] > 0
        fixed = r.flow(*r.bounds(used, copies), zero, r.goal, ~r.goal, gain)
        if fixed is not None and r.keeps_equity(fixed[0]):
            mine = _total(r, gain, plan)
            best = fixed[0] if fixed[1] <= mine else plan
            proven = fixed[1] == relaxed[1]
    r.timings["pairs"] = round(time.perf_counter() - started, 3)
    return best, proven


def _total(r: Round, gain: np.ndarray, chosen: np.ndarray) -> int:
    """A plan's flow cost: less the gains of its pairs."""
    return -int(gain[np.searchsorted(r.kept, chosen)].sum())


def _goal_pairs(r: Round) -> np.ndarray:
    """Per profile: the target mentees it may take."""
    on = r.goal[r.inst.pairs.mentee[r.kept]]
    rows = np.bincount(r.inst.pairs.mentor[r.kept][on], minlength=r.inst.n_mentors)
    return rows[r.n_current :]


def _flow(
    inst: Instance,
    kept: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    unit_cost: np.ndarray,
    required: np.ndarray,
    optional: np.ndarray,
    gain: np.ndarray,
) -> tuple[np.ndarray, int] | None:
    pairs = inst.pairs
    n_mentees, n_rows = inst.n_mentees, inst.n_mentors
    on = (required | optional)[pairs.mentee[kept]] & (upper[pairs.mentor[kept]] > 0)
    arcs, gains = kept[on], gain[on]
    mentee_node = 2 + np.arange(n_mentees)
    row_node = 2 + n_mentees + np.arange(n_rows)
    enters = np.flatnonzero(required | optional)
    tails = np.r_[np.full(len(enters), SOURCE), mentee_node[pairs.mentee[arcs]], row_node, SINK]
    heads = np.r_[mentee_node[enters], row_node[pairs.mentor[arcs]], np.full(n_rows, SINK), SOURCE]
    low = np.r_[required[enters].astype(np.int64), np.zeros(len(arcs), np.int64), lower, 0]
    high = np.r_[np.ones(len(enters) + len(arcs), np.int64), upper, n_mentees]
    costs = np.r_[np.zeros(len(enters), np.int64), -gains, unit_cost, 0].astype(np.int64)
    if np.any(low > high):
        return None
    supply = np.zeros(2 + n_mentees + n_rows, np.int64)
    np.add.at(supply, heads, low)
    np.subtract.at(supply, tails, low)
    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32), heads.astype(np.int32), (high - low).astype(np.int64), costs
    )
    solver.set_nodes_supplies(np.arange(len(supply), dtype=np.int32), supply)
    status = solver.solve()
    if status == solver.INFEASIBLE:
        return None
    if status != solver.OPTIMAL:
        raise RuntimeError(f"min-cost flow ended with status {status}")
    first = len(enters)
    taken = solver.flows(np.arange(first, first + len(arcs))) > 0
    return np.sort(arcs[taken]), int(solver.optimal_cost()) + int(np.dot(low, costs))
