"""The MIP's part of the search (``solver.mip``): the quality level proven over the pairs the
relaxation's reduced costs leave, and levels 1-4 where the relaxation's counts fall short.

Quality. Every pair list that keeps the relaxation's levels 1-3 and loses at most ``delta``
quality points against it uses only the pairs of ``Relaxation.near_optimal(delta)``. So a MIP
over those pairs alone, levels 1-3 held at their bounds, that finds quality ``v >= bound -
delta`` has found the best quality of any pair list; one that finds less (or nothing) proves
that no pair list reaches ``bound - delta``, and ``delta`` grows until the set holds a pair
list of the quality in hand. On oversupply rounds (minimums biting) these sets hold a tenth of
the allowed pairs, and HiGHS proves each in about a second where the MIP over every pair takes
7-23 s and branching on used mentors does not close its gap in 40 s.

Work. HiGHS offers no deterministic time; each call is charged its simplex iterations and
nodes in the units of ``solver.strategies.Budget`` (deterministic for the same round and seed,
HiGHS running on one thread), and given a node limit from the budget left. Its wall time is
the budget's safety net, as for CP-SAT.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from solver.budget import Budget, Progress
from solver.diagnose import explain_infeasible
from solver.flow import Relaxation, warm_start
from solver.instance import Instance
from solver.mip import MIP_LEVELS, MipLevels, MipStatus, solve_levels
from solver.penalty import PenaltyAnswer, penalty_floor
from solver.result import Level

# Work units per simplex iteration and per node, at the 0.45 units a second of the budget.
# Nodes are what bounds HiGHS (its node limit); measured: 238 nodes in 2.7 s on the equity
# limit at 20 x 80 (174 pairs), and 1-4 nodes, most of the time in presolve and cuts at the
# root, on rounds of 3,000-20,000 pairs.
MIP_WORK_PER_ITERATION = 2.5e-4
MIP_WORK_PER_NODE = 0.005
# The first delta when no pair list is in hand: small sets are cheap, and each step grows it.
FIRST_DELTA = 2.0
# Importing MathOpt, building the model and HiGHS's presolve come before HiGHS looks at its
# clock (0.3-0.5 s on the regional sample's 5,733 pairs): a call with less time left would
# only overrun the limit.
MIP_MIN_SECONDS = 0.5
# A set larger than this is left to the other strategies: HiGHS's proof grows with it.
MIP_PAIRS = 60_000
# The quality's sets, searched with presolve off (its probing took 20 of the 28 s on the
# national sample's 193,448 pairs within 12 points; off, the call took 5.7 s) and rows that
# make the root's bound close (``solver.mip_rows``), may be larger.
QUALITY_MIP_PAIRS = 250_000


@dataclass(frozen=True)
class QualityAnswer:
    chosen: np.ndarray  # allowed-pair indices, keeping every band and levels 1-3
    quality: int
    bound: int  # no pair list keeping levels 1-3 has more quality
    proven: bool


def mip_work(out: MipLevels) -> float:
    """The work a HiGHS call is charged: a function of what it did, not of the clock."""
    return MIP_WORK_PER_ITERATION * out.iterations + MIP_WORK_PER_NODE * out.nodes


def node_limit(budget: Budget) -> int:
    return max(1, int(budget.left() / MIP_WORK_PER_NODE))


def prove_quality(
    inst: Instance,
    relaxation: Relaxation,
    bounds: dict[str, int],
    found: tuple[np.ndarray, int] | None,
    budget: Budget,
    seed: int,
    say: Progress,
) -> QualityAnswer | None:
    """The best quality among pair lists that keep every band and levels 1-3 at ``bounds``
    (which some pair list must reach), proven when the budget allows. ``found`` is a pair
    list of that kind already in hand (allowed-pair indices) and its quality. None when no
    such pair list was found."""
    best = bounds["quality"]
    held = {name: bounds[name] for name in ("priority_matched", "matched", "waiting_days")}
    upper = best  # no pair list has more quality
    delta = float(best - found[1]) if found else FIRST_DELTA
    if delta > FIRST_DELTA and relaxation.pairs_within(delta).sum() > QUALITY_MIP_PAIRS:
        # The pair list in hand is too far below the bound for one set: steps from a small one
        # (the national sample: 201,658 within 2 points, then proven within 12).
        delta = FIRST_DELTA
    everything = np.flatnonzero(relaxation.near_optimal(math.inf).allowed)
    while True:
        near = relaxation.near_optimal(delta)
        pairs = np.flatnonzero(near.allowed)
        whole = len(pairs) == len(everything)
        if (
            len(pairs) > QUALITY_MIP_PAIRS
            or budget.left() <= 0
            or budget.wall_left() < MIP_MIN_SECONDS
        ):
            break
        sub = inst.restricted(pairs)
        if found is not None and np.isin(found[0], pairs).all():
            hint = np.searchsorted(pairs, found[0])
        else:
            hint = warm_start(sub, np.searchsorted(pairs, relaxation.chosen))
        out = solve_levels(
            sub,
            time_limit=budget.wall_left(),
            node_limit=node_limit(budget),
            seed=seed,
            levels=("quality",),
            held=held,
            bounds={**held, "quality": best},
            start=hint,
            # The fixings hold only for pair lists within delta; once the set is every pair,
            # an infeasible MIP must mean that no pair list at all keeps levels 1-3.
            must_match=None if whole else near.must_match,
            presolve=False,
        )
        budget.charge(mip_work(out), "time" in out.limits.values())
        say(f"quality over {len(pairs)} pairs within {delta:g} points of the bound: {_said(out)}")
        # Pair lists outside the set lose more than delta points (there are none when the set
        # holds every pair that can carry a mentee).
        outside = None if whole else best - math.floor(delta) - 1
        if out.status in (MipStatus.OPTIMAL, MipStatus.FEASIBLE):
            level = out.level("quality")
            if found is None or level.value > found[1]:
                found = (pairs[out.chosen], level.value)
            reached = level.value if out.status is MipStatus.OPTIMAL else level.bound
            upper = min(upper, reached if outside is None else max(reached, outside))
            if out.status is not MipStatus.OPTIMAL:
                break
        elif out.status is MipStatus.INFEASIBLE:
            if outside is None:
                break  # no pair list at all keeps levels 1-3 at their bounds
            upper = min(upper, outside)
        else:
            break
        if found is not None and found[1] >= upper:
            break
        # With a pair list in hand, the next set holds it; without, no pair list is near the
        # bound, and a larger step reaches either one or the whole round sooner.
        delta = max(2 * delta, float(best - found[1])) if found else 4 * delta
    if found is None:
        return None
    return QualityAnswer(found[0], found[1], max(upper, found[1]), found[1] >= upper)


def penalty_by_mip(
    inst: Instance,
    pairs: np.ndarray,
    targets: dict[str, int],
    hint: np.ndarray,
    budget: Budget,
    seed: int,
    must_match: np.ndarray | None = None,
) -> PenaltyAnswer | None:
    """The least penalty over the pair lists of ``pairs`` (allowed-pair indices) that keep
    levels 1-4 at ``targets`` or better (and match every mentee of ``must_match``), by the MIP
    from the pair list ``hint``. None when the
    set is too large or no time is left (CP-SAT takes over), or nothing came in time.

    Measured against CP-SAT over the same sets: sparse at regional size, seed 1 (17,550 pairs,
    quality 49 points below the bound): proven in 14 s where CP-SAT stopped at 36 s with 9,162
    against a bound of 7,148; the regional sample (5,733 pairs) 5.8 s against 7 s."""
    if len(pairs) > MIP_PAIRS or budget.wall_left() < MIP_MIN_SECONDS or budget.left() <= 0:
        return None
    out = solve_levels(
        inst.restricted(pairs),
        time_limit=max(0.01, budget.wall_left()),
        node_limit=node_limit(budget),
        seed=seed,
        levels=("penalty",),
        held={name: targets[name] for name in MIP_LEVELS[:4]},
        start=np.searchsorted(pairs, hint),
        must_match=must_match,
    )
    budget.charge(mip_work(out), "time" in out.limits.values())
    if not out.levels:
        return None
    level = out.level("penalty")
    floor = min(level.value, penalty_floor(inst, targets["matched"]))
    return PenaltyAnswer(pairs[out.chosen], level.value, max(level.bound, floor), level.proven)


def _said(out: MipLevels) -> str:
    if out.status is MipStatus.INFEASIBLE:
        return "none"
    if not out.levels:
        return "nothing found in time"
    level = out.level("quality")
    return f"{level.value}" + ("" if level.proven else f" (bound {level.bound})")


def levels_by_mip(
    inst: Instance,
    bounds: dict[str, int],
    start: np.ndarray,
    budget: Budget,
    seed: int,
    say: Progress,
) -> tuple[np.ndarray, list[Level]] | list[str] | None:
    """Every level of a round whose counts fall short of the relaxation's (or with the equity
    limit) by the MIP over every allowed pair: levels 1-4, then the penalty with them held
    (its counters would slow the others). The pair list and the levels reached (fewer when
    the budget ran out); the conflicts when no pair list keeps every rule; None when nothing
    was found in time. ``start`` (allowed-pair indices) is the first hint."""
    if budget.wall_left() < MIP_MIN_SECONDS:
        return None
    first = solve_levels(
        inst,
        time_limit=max(0.01, 0.9 * budget.wall_left()),
        node_limit=node_limit(budget),
        seed=seed,
        levels=MIP_LEVELS[:4],
        bounds=bounds,
        start=start,
    )
    budget.charge(mip_work(first), "time" in first.limits.values())
    if first.status is MipStatus.INFEASIBLE:
        left = budget.wall_left()
        return (explain_infeasible(inst, left) if left > 0 else []) or [
            "No pair list keeps every mentor inside the capacity band."
        ]
    if not first.levels:
        return None
    levels = list(first.levels)
    for level in levels:
        say(f"level {level.name}: {level.value} ({level.proof}, MIP)")
    chosen = first.chosen
    if len(levels) < 4 or budget.left() <= 0 or budget.wall_left() < MIP_MIN_SECONDS:
        return chosen, levels
    penalty = solve_levels(
        inst,
        time_limit=max(0.01, 0.9 * budget.wall_left()),
        node_limit=node_limit(budget),
        seed=seed,
        levels=("penalty",),
        held={level.name: level.value for level in levels},
        start=chosen,
    )
    budget.charge(mip_work(penalty), "time" in penalty.limits.values())
    if penalty.levels:
        level = penalty.level("penalty")
        floor = min(level.value, penalty_floor(inst, levels[1].value))
        # Proven only as the last of levels that all are.
        level = replace(
            level,
            bound=max(level.bound, floor),
            proven=level.proven and all(lv.proven for lv in levels),
        )
        say(f"level penalty: {level.value} ({level.proof}, MIP)")
        return penalty.chosen, [*levels, level]
    return chosen, levels
