"""The penalty level (squared loads and group mix), minimised by CP-SAT once levels 1-4 are
known, over the pairs that the relaxation's reduced costs leave to their optima."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solver import cpsat
from solver.budget import Budget
from solver.flow import Fixing
from solver.instance import Instance
from solver.model import MatchingModel

# The levels held at their targets or more, rather than fixed, when ``hold`` is asked for.
HELD = ("waiting_days", "quality")


@dataclass(frozen=True)
class PenaltyAnswer:
    chosen: np.ndarray | None  # allowed-pair indices; None when nothing was found
    value: int | None
    bound: int  # no pair list of the set searched has a smaller penalty
    proven: bool


def penalty_within(
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
        every proof; with a positive gap (``hold`` True) they are added as lower bounds, and the
    answer may pass them where they were not proven optimal. ``hint``
        (allowed-pair indices) need not keep the bands; when it does (``keeps_bands``), it is the
        answer if the search finds nothing better in time.
    """
    candidates = np.flatnonzero(fixing.allowed)
    floor = penalty_floor(inst, targets["matched"])
    model = MatchingModel(inst, candidates)
    for name in ("priority_matched", "matched"):
        model.fix(name, targets[name], True)
        model.fix(name, targets[name], False)
    if hold:
        for name in HELD:
            model.fix(name, targets[name], True)
    model.restrict(fixing)
    start = model.complete(np.searchsorted(candidates, hint))
    spent = budget.left() <= model.setup_work()
    if keeps_bands and (spent or budget.wall_left() <= 0):
        # The budget is spent (or, the safety net, the deadline has passed) and the hint keeps
        # every rule: it stands, its penalty unproven, rather than a search past the limit.
        budget.charge(0.0, not spent)
        value = model.levels["penalty"].value(start)
        return PenaltyAnswer(hint, value, min(value, floor), False)
    result = model.optimise(
        "penalty", False, start, budget.left(), budget.wall_left(), seed, workers
    )
    budget.charge(result.work, result.wall_stopped)
    if result.values is None:
        if keeps_bands:
            # No time to improve: the hint itself is the answer, its penalty unproven.
            value = model.levels["penalty"].value(start)
            return PenaltyAnswer(hint, value, min(value, floor), False)
        return PenaltyAnswer(None, None, floor, False)
    for name, target in targets.items():
        value = model.levels[name].value(result.values)
        # A held level may pass its target (when it was not proven); counts may not.
        if value < target or (value > target and not (hold and name in HELD)):
            raise AssertionError(f"penalty search left the {name} level at another value")
    proven = result.status == cpsat.OPTIMAL
    chosen = model.chosen(result.values)
    # The pairs' own penalty: the model bounds its counters from below only, so a solution
    # not proven optimal may count more than its pairs have.
    value = model.levels["penalty"].value(model.complete(chosen))
    return PenaltyAnswer(
        candidates[chosen],
        value,
        value if proven else min(value, max(floor, int(result.bound or 0))),
        proven,
    )


def penalty_floor(inst: Instance, matched: int) -> int:
    """No pair list that matches ``matched`` mentees (or more) has a smaller penalty: the
    squares of the loads with the new mentees spread as evenly as the mentors' room allows,
    no group excess and no churn counted. The t-th new mentee of a mentor with c current ones
    adds 2(c + t) - 1 to the square, rising with t, so the least total is the ``matched``
    cheapest such steps over all mentors."""
    balance = inst.problem.settings.weights.balance
    most = np.maximum(inst.most, 0)
    mentor = np.repeat(np.arange(inst.n_mentors), most)
    step = np.arange(len(mentor)) - np.repeat(np.cumsum(most) - most, most) + 1
    costs = 2 * (inst.current[mentor] + step) - 1
    take = min(matched, len(costs))
    cheapest = np.partition(costs, take - 1)[:take] if take else costs[:0]
    return int(balance * (np.sum(inst.current**2) + cheapest.sum()))
