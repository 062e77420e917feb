"""How a round is searched, once the flow relaxation is known (see ``solver.solve``).

Three strategies, tried in order: the relaxation's optimal face (its bounds met exactly),
branching on which mentors are used (mentors' minimums bite), and CP-SAT level by level (the
counts of levels 1-2 themselves fall short). Each returns the pairs and the levels, a list of
conflicts when the rules cannot all hold, or None to hand over to the next.

How far each search goes is decided by a work budget (``Budget``) counted in CP-SAT's
deterministic time, never by the clock, so the same round, settings and seed give the same
pairs on every run even when the budget ends the search. The wall-clock deadline is kept as a
safety net; when it ends a search first, the budget remembers it and the result says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from matcher import equity
from matcher.equity import shortfalls
from solver import cpsat
from solver.branch import branch_and_bound
from solver.diagnose import explain_infeasible
from solver.equity_repair import repair
from solver.flow import Fixing, Relaxation, relax, warm_start
from solver.instance import Instance
from solver.model import LevelSolve, MatchingModel
from solver.result import LEVEL_MAXIMIZE, LEVEL_NAMES, Level

Progress = Callable[[str], None]


class Budget:
    """The search's limits: ``work`` units of deterministic time (CP-SAT's own, and the
    branching's nodes counted in the same units) decide how far every search goes; the
    ``deadline`` (a ``time.perf_counter()`` reading) is only a safety net, and ``wall_stopped``
    records that it ended a search first."""

    def __init__(self, work: float, deadline: float):
        self.work = work
        self.deadline = deadline
        self.spent = 0.0
        self.wall_stopped = False

    def left(self) -> float:
        return self.work - self.spent

    def wall_left(self) -> float:
        return self.deadline - time.perf_counter()

    def charge(self, work: float, wall_stopped: bool) -> None:
        self.spent += work
        self.wall_stopped = self.wall_stopped or wall_stopped


# Up to this many allowed pairs, every allowed pair is a variable and CP-SAT's proofs are global.
FULL_MODEL_PAIRS = 400_000
CANDIDATES_PER_MENTEE = 12
CANDIDATES_PER_MENTOR = 24


@dataclass(frozen=True)
class Round:
    """What every strategy works from."""

    inst: Instance
    relaxation: Relaxation
    bounds: dict[str, int]  # the relaxation's values of levels 1-3
    candidates: np.ndarray  # allowed pairs the branching and level search may use
    full: bool  # the candidates are every allowed pair
    budget: Budget
    seed: int
    workers: int
    say: Progress


Outcome = tuple[np.ndarray, list[Level], int] | list[str]


@dataclass(frozen=True)
class PenaltyAnswer:
    chosen: np.ndarray | None  # allowed-pair indices; None when nothing was found
    value: int | None
    bound: int  # no pair list of the set searched has a smaller penalty
    proven: bool


def _penalty_within(
    inst: Instance,
    fixing: Fixing,
    targets: dict[str, int],
    hint: np.ndarray,
    budget: Budget,
    seed: int,
    workers: int,
    hold: bool,
    keeps_bands: bool = False,
) -> PenaltyAnswer:
    """Minimise the penalty over the pair lists that keep every band, reach ``targets`` (values
    of levels 1-3) and respect ``fixing`` (see ``flow.Relaxation.near_optimal``).

    Counts are always equalities. On an optimal face (``hold`` False) waiting days and quality
    follow from complementary slackness, which spares two knapsack-like constraints that slow
    every proof; with a positive gap (``hold`` True) they are added as lower bounds. ``hint``
    (allowed-pair indices) need not keep the bands; when it does (``keeps_bands``), it is the
    answer if the search finds nothing better in time.
    """
    candidates = np.flatnonzero(fixing.allowed)
    model = MatchingModel(inst, candidates)
    for name in ("priority_matched", "matched"):
        model.fix(name, targets[name], True)
        model.fix(name, targets[name], False)
    if hold:
        for name in ("waiting_days", "quality"):
            model.fix(name, targets[name], True)
    model.restrict(fixing)
    start = model.complete(np.searchsorted(candidates, hint))
    spent = budget.left() <= model.setup_work()
    if keeps_bands and (spent or budget.wall_left() <= 0):
        # The budget is spent (or, the safety net, the deadline has passed) and the hint keeps
        # every rule: it stands, its penalty unproven, rather than a search past the limit.
        budget.charge(0.0, not spent)
        return PenaltyAnswer(hint, model.levels["penalty"].value(start), 0, False)
    result = model.optimise(
        "penalty", False, start, budget.left(), budget.wall_left(), seed, workers
    )
    budget.charge(result.work, result.wall_stopped)
    if result.values is None:
        if keeps_bands:
            # No time to improve: the hint itself is the answer, its penalty unproven.
            return PenaltyAnswer(hint, model.levels["penalty"].value(start), 0, False)
        return PenaltyAnswer(None, None, 0, False)
    for name, target in targets.items():
        if model.levels[name].value(result.values) != target:
            raise AssertionError(f"penalty search left the {name} level at another value")
    proven = result.status == cpsat.OPTIMAL
    chosen = model.chosen(result.values)
    # The pairs' own penalty: the model bounds its counters from below only, so a solution
    # not proven optimal may count more than its pairs have.
    value = model.levels["penalty"].value(model.complete(chosen))
    return PenaltyAnswer(
        candidates[chosen],
        value,
        value if proven else min(value, int(result.bound or 0)),
        proven,
    )


def solve_on_face(r: Round) -> Outcome | None:
    """Meet every bound of levels 1-3 using only pairs of the relaxation's optimal face.

    Every pair list that meets the bounds lies on that face, so when this succeeds levels 1-3
    are proven optimal and the penalty level is optimised over all of their optima. None when
    the bounds cannot all be met (mentors' minimums bite) or no answer came in time.
    """
    inst, relaxation, bounds, say = r.inst, r.relaxation, r.bounds, r.say
    face = relaxation.near_optimal(0)
    on_face = np.flatnonzero(face.allowed)
    say(f"optimal face of the relaxation: {len(on_face)} of {len(inst.pairs)} pairs")
    hint = warm_start(inst.restricted(on_face), np.searchsorted(on_face, relaxation.chosen))
    answer = _penalty_within(
        inst, face, bounds, on_face[hint], r.budget, r.seed, r.workers, hold=False
    )
    if answer.chosen is None or answer.value is None:
        return None
    levels = [Level(name, bound, bound, True) for name, bound in bounds.items()]
    levels.append(Level("penalty", answer.value, answer.bound, answer.proven))
    say(f"level penalty: {answer.value} ({'proven' if answer.proven else f'bound {answer.bound}'})")
    return answer.chosen, levels, len(on_face)


def solve_by_branching(r: Round) -> Outcome | None:
    """Branch on which mentors are used (see ``solver.branch``) for the best quality, then
    minimise the penalty over every pair list that reaches it. None when no pair list keeps the
    relaxation's levels 1-2 and waiting days (or none was found in time)."""
    inst, relaxation, bounds, candidates, say = r.inst, r.relaxation, r.bounds, r.candidates, r.say
    sub = inst.restricted(candidates)
    root = relaxation if r.full else relax(sub)
    if any(
        getattr(root, name) != bounds[name]
        for name in ("priority_matched", "matched", "waiting_days")
    ):
        return None
    budget = r.budget
    # The safety net leaves the penalty search a little of the wall time too.
    search = branch_and_bound(
        sub, root, 0.7 * budget.left(), time.perf_counter() + 0.9 * budget.wall_left()
    )
    budget.charge(search.work, search.wall_stopped)
    leaf = search.best
    if leaf is None:
        say(
            "no pair list keeps the bounds of levels 1-2 and waiting days"
            if search.exhausted
            else f"no pair list inside every band found by branching within the limit ({search.nodes} nodes)"
        )
        return None
    # Proven over all allowed pairs only when the search saw them all, or met the global bound.
    proven = search.proven and (r.full or leaf.quality == bounds["quality"])
    say(
        f"level quality: {leaf.quality} after {search.nodes} nodes "
        f"({'proven' if proven else 'bound ' + str(bounds['quality'])})"
    )
    targets = {**bounds, "quality": leaf.quality}
    hint = candidates[leaf.chosen]
    # Every pair list of this quality loses at most `gap` points against the relaxation, so the
    # reduced costs of the relaxation over all pairs confine them (see `near_optimal`).
    near = relaxation.near_optimal(bounds["quality"] - leaf.quality)
    if proven and near.allowed.sum() <= FULL_MODEL_PAIRS:
        answer = _penalty_within(
            inst, near, targets, hint, r.budget, r.seed, r.workers, hold=True, keeps_bands=True
        )
        searched = int(near.allowed.sum())
    else:
        # Quality not proven: no set holds every pair list of the final quality; the penalty
        # is minimised over the best leaf's own optima.
        answer = _penalty_within(
            sub,
            leaf.near_optimal(0),
            targets,
            leaf.chosen,
            r.budget,
            r.seed,
            r.workers,
            hold=False,
            keeps_bands=True,
        )
        answer = replace(
            answer,
            chosen=None if answer.chosen is None else candidates[answer.chosen],
            proven=False,
            bound=0,
        )
        searched = int(leaf.near_optimal(0).allowed.sum())
    assert answer.chosen is not None and answer.value is not None
    levels = [
        Level(name, bounds[name], bounds[name], True)
        for name in ("priority_matched", "matched", "waiting_days")
    ]
    levels.append(
        Level("quality", leaf.quality, leaf.quality if proven else bounds["quality"], proven)
    )
    levels.append(Level("penalty", answer.value, answer.bound, answer.proven))
    say(
        f"level penalty: {answer.value} over {searched} pairs ({'proven' if answer.proven else 'not proven'})"
    )
    return answer.chosen, levels, searched


def solve_by_levels(r: Round) -> Outcome:
    """Optimise the levels one by one with CP-SAT over the candidate pairs."""
    inst, relaxation, bounds, candidates, say = r.inst, r.relaxation, r.bounds, r.candidates, r.say
    # Positions within the candidates; the relaxation's pairs are always among them.
    position = warm_start(
        inst.restricted(candidates), np.searchsorted(candidates, relaxation.chosen)
    )
    if equity.active(inst.problem):
        start = repair(inst, candidates[position], candidates)
        position = np.searchsorted(candidates, start)
    model = MatchingModel(inst, candidates)
    say(f"model: {len(candidates)} candidate pairs of {len(inst.pairs)} allowed")
    values = model.complete(position)
    feasible_start = keeps_bands(inst, candidates[position]) and not shortfalls(
        inst.problem,
        {inst.problem.mentees[j].mentee_id for j in inst.pairs.mentee[candidates[position]]},
    )
    levels: list[Level] = []
    earlier_proven = True
    # The relaxation bounds a level only while every earlier level keeps the relaxation's
    # value: with fewer waiting days, say, more quality may be possible (the equity limit at
    # LMC size, seed 1: waiting days proven at 47,363 against the relaxation's 47,423, whose
    # quality of 3,637 was then passed by 3,650).
    on_relaxation = True
    budget = r.budget
    for name in LEVEL_NAMES:
        maximize = LEVEL_MAXIMIZE[name]
        value = model.levels[name].value(values)
        bound = bounds.get(name) if on_relaxation else None
        if feasible_start and earlier_proven and bound is not None and value == bound:
            proven = True
        else:
            remaining = budget.left()
            share = remaining if name == "penalty" else remaining * 0.6
            out_of_time = budget.wall_left() <= model.overrun  # the safety net
            spent = remaining <= model.setup_work()
            if feasible_start and (spent or out_of_time):
                # No work left for a search (or no time that a CP-SAT call on this model would
                # keep to), and the pair list in hand keeps every rule: this level stays
                # unproven rather than a search past the limit.
                say(f"level {name}: no time left to search")
                budget.charge(0.0, not spent)
                outcome = LevelSolve(cpsat.UNKNOWN, None, None, None)
            else:
                say(f"level {name}: searching (up to {share:.2f} units of work)")
                outcome = model.optimise(
                    name,
                    maximize,
                    values,
                    share,
                    budget.wall_left(),
                    r.seed,
                    r.workers,
                    bound if earlier_proven else None,
                )
                budget.charge(outcome.work, outcome.wall_stopped)
            if outcome.values is None:
                if outcome.status == cpsat.INFEASIBLE or not feasible_start:
                    left = budget.wall_left()
                    return (explain_infeasible(inst, left) if left > 0 else []) or [
                        "No pair list keeps every mentor inside the capacity band within the time limit."
                    ]
                proven = False
                # A bound proven for other values of the earlier levels may be passed: never
                # report one on the wrong side of the value in hand.
                if bound is None:
                    bound = value
                else:
                    bound = max(bound, value) if maximize else min(bound, value)
            else:
                values, value = outcome.values, int(outcome.value or 0)
                feasible_start = True
                solved_proof = outcome.status == cpsat.OPTIMAL and r.full and earlier_proven
                if bound is None or not earlier_proven:
                    bound = outcome.bound if r.full else None
                proven = solved_proof or (earlier_proven and bound is not None and value == bound)
                if proven:
                    bound = value
        if bound is None:
            bound = value
        levels.append(Level(name, value, int(bound), proven))
        earlier_proven = earlier_proven and proven
        on_relaxation = on_relaxation and bounds.get(name) == value
        model.fix(name, value, maximize)
        say(f"level {name}: {value} ({'proven' if proven else f'bound {bound}'})")
    chosen = model.chosen(values)
    return candidates[chosen], _as_chosen(model, levels, model.complete(chosen)), len(candidates)


def _as_chosen(model: MatchingModel, levels: list[Level], values: np.ndarray) -> list[Level]:
    """The levels of the pair list returned, from its own variables.

    A level not proven is only held at its value or better while later levels are searched,
    so they may improve it; and the model bounds its penalty counters from below only, so a
    solution CP-SAT did not prove optimal may count more penalty than its pairs have. The
    pairs' own values are reported, with each bound kept on the right side of them."""
    found = []
    for level in levels:
        value = model.levels[level.name].value(values)
        if value == level.value:
            found.append(level)
            continue
        maximize = LEVEL_MAXIMIZE[level.name]
        bound = max(level.bound, value) if maximize else min(level.bound, value)
        found.append(replace(level, value=value, bound=bound, proven=value == bound))
    return found


def keeps_bands(inst: Instance, chosen: np.ndarray) -> bool:
    load = np.bincount(inst.pairs.mentor[chosen], minlength=inst.n_mentors)
    under = ((load > 0) | inst.must_use) & (load < inst.least)
    return not under.any() and not (load > inst.most).any()


def candidate_pairs(inst: Instance, relaxed: np.ndarray) -> np.ndarray:
    """Each mentee's and each mentor's best pairs, the relaxation's pairs, locks and previous pairs."""
    pairs = inst.pairs
    keep = np.zeros(len(pairs), dtype=bool)
    keep[relaxed] = True
    keep |= inst.locked | inst.previous
    for owner, limit in (
        (pairs.mentee, CANDIDATES_PER_MENTEE),
        (pairs.mentor, CANDIDATES_PER_MENTOR),
    ):
        order = np.lexsort((-inst.score, owner))
        sorted_owner = owner[order]
        first = np.r_[0, np.flatnonzero(sorted_owner[1:] != sorted_owner[:-1]) + 1]
        rank = np.arange(len(order)) - np.repeat(first, np.diff(np.r_[first, len(order)]))
        keep[order[rank < limit]] = True
    return np.flatnonzero(keep)
