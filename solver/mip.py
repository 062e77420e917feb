"""The levels of a first run as a mixed-integer programme, solved with HiGHS through MathOpt.

The model (``solver.mip_rows``): a 0/1 variable per allowed pair, a used-or-not variable per
mentor that may stay unused below its minimum, and the penalty's counters (units of each
mentor's load with rising costs, so squares are linear; excess mentees of one group value per
mentor). The levels are optimised one after another, each then held at the value found (at
least that value) while the next is optimised. A level is proven when HiGHS closes its gap,
which with integer coefficients means the best bound, rounded towards the value, equals it.

HiGHS offers no deterministic work units through MathOpt; its one deterministic limit is the
count of branch-and-bound nodes (``node_limit``, per level). Every level also gets the wall
time left of ``time_limit``, a safety net reported in ``MipLevels.limits``. With a fixed seed
HiGHS gives the same answer whenever the wall time does not end a level.

MathOpt is imported inside ``solve_levels``: ``matcher match`` imports the solver package and
must not load it at start-up.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum

import numpy as np

from matcher import equity
from solver.instance import Instance
from solver.mip_rows import MipModel, build, hold_levels, level_value, set_objective
from solver.result import LEVEL_MAXIMIZE, LEVEL_NAMES, Level, Pair

# Levels this module proves, in order.
MIP_LEVELS: tuple[str, ...] = LEVEL_NAMES
# Every pair list has whole-number levels, recomputed from its pairs: a gap below one point
# is a proof, and HiGHS may stop there.
ABSOLUTE_GAP = 0.999
INTEGRALITY = 1e-6


class MipStatus(Enum):
    OPTIMAL = "optimal"  # every level proven
    FEASIBLE = "feasible"  # a pair list keeping every rule, some level not proven
    INFEASIBLE = "infeasible"  # no pair list keeps every rule
    UNKNOWN = "unknown"  # the time limit ended the first level before any pair list


@dataclass(frozen=True)
class MipLevels:
    """What ``solve_levels`` returns."""

    status: MipStatus
    chosen: np.ndarray  # allowed-pair indices of the pair list (empty unless a list was found)
    pairs: tuple[Pair, ...]
    levels: tuple[Level, ...]  # the levels reached, in order (fewer when time ran out)
    seconds: dict[str, float]  # "build", then each level's HiGHS call, then "total"
    limits: dict[str, str] = field(default_factory=dict)  # level -> "time" or "nodes"
    nodes: int = 0  # HiGHS's branch-and-bound nodes, over every level searched
    iterations: int = 0  # HiGHS's simplex iterations, over every level searched

    def level(self, name: str) -> Level:
        return next(level for level in self.levels if level.name == name)


def solve_levels(
    inst: Instance,
    *,
    time_limit: float = 60.0,
    node_limit: int | None = None,
    seed: int = 0,
    levels: tuple[str, ...] = MIP_LEVELS,
    bounds: dict[str, int] | None = None,
    start: np.ndarray | None = None,
    held: dict[str, int] | None = None,
    must_match: np.ndarray | None = None,
    presolve: bool = True,
) -> MipLevels:
    """Optimise ``levels`` (a run of ``MIP_LEVELS``) one after another over every allowed
    pair of ``inst``, within ``time_limit`` seconds of wall time for the whole call.

    ``held`` gives the values of the levels before ``levels[0]`` (each held at that value or
    better); they are not searched, and the levels searched are proven as if they had been.
    ``must_match`` (bool per mentee) marks mentees that every pair list searched for matches
    (``Fixing.must_match`` of the pairs given): they are held matched, which lets levels 1-3
    be held by sparse rows (``solver.mip_rows.hold_levels``).
    ``presolve=False`` turns HiGHS's presolve off: on the sets near the quality bound its
    probing takes most of the time (see ``solver.mip_search``).
    ``node_limit`` caps HiGHS's branch-and-bound nodes per level: a deterministic limit (the
    same round, seed and limit give the same pairs), with ``time_limit`` as the safety net.
    ``bounds`` are known upper bounds of some of levels 1-4 (the flow relaxation's levels
    1-3), each valid while the levels before it keep their known bounds: when the pair list in
    hand (``start``, then each level's answer) keeps every constraint and reaches a level's
    bound, that level is proven with no HiGHS call, and a bound caps the one HiGHS reports.
    ``start`` (allowed-pair indices, need not keep the bands) is handed to HiGHS as a hint
    for the first level searched; later levels get the pair list of the level before.

    A level not proven in time is held at the value found, and the next levels are searched
    among pair lists that keep it (their bounds then hold only for that value, and they are
    not proven); once the time is spent the remaining levels are not searched (they are absent
    from the result). ``MipLevels.limits`` names, per level, the limit that ended its search.
    """
    if time_limit <= 0:
        raise ValueError("time_limit must be positive")
    if node_limit is not None and node_limit <= 0:
        raise ValueError("node_limit must be positive")
    held = held or {}
    first = len(held)
    if set(held) != set(MIP_LEVELS[:first]) or levels != MIP_LEVELS[first : first + len(levels)]:
        raise ValueError(
            f"levels {levels} held {sorted(held)}: held levels and searched levels must be "
            f"consecutive runs of {MIP_LEVELS}, the held ones first"
        )
    if not levels:
        raise ValueError("no level to search")
    unknown = set(bounds or {}) - set(MIP_LEVELS[:4])
    if unknown:
        raise ValueError(f"known bounds only for levels 1-4, not {sorted(unknown)}")
    started = time.perf_counter()
    from ortools.math_opt.python import mathopt  # about 0.5 s the first time: in the limit
    from ortools.math_opt.solvers import highs_pb2

    highs_options = highs_pb2.HighsOptionsProto()
    if not presolve:
        highs_options.string_options["presolve"] = "off"
    deadline = started + time_limit
    seconds: dict[str, float] = {}
    limits: dict[str, str] = {}
    model = build(inst, penalty="penalty" in levels)
    proto = model.proto
    seconds["build"] = round(time.perf_counter() - started, 3)
    nodes = iterations = 0
    if _hopeless(inst):
        seconds["total"] = seconds["build"]
        return MipLevels(MipStatus.INFEASIBLE, np.zeros(0, np.int64), (), (), seconds)

    hold_levels(inst, model, held, must_match)
    found: list[Level] = []
    chosen: np.ndarray | None = None
    hint = None if start is None else model.values(inst, start)
    for name in levels:
        remaining = deadline - time.perf_counter()
        if remaining <= 0 and chosen is not None:
            break
        maximize = LEVEL_MAXIMIZE[name]
        coef = model.objectives[name]
        # A known bound holds for the values of the earlier levels it was computed with: once
        # an earlier level falls short of its own, more of this level may be possible.
        reached = {**held, **{level.name: level.value for level in found}}
        on_bounds = all((bounds or {}).get(level) == value for level, value in reached.items())
        bound_known = (bounds or {}).get(name) if on_bounds else None
        if hint is not None and bound_known is not None:
            in_hand = np.flatnonzero(hint[: model.n_pairs] > 0.5)
            value = level_value(inst, name, in_hand)
            if value == bound_known and keeps_rules(inst, in_hand):
                # The pair list in hand reaches the known bound: nothing to search.
                chosen = in_hand
                seconds[name] = 0.0
                found.append(Level(name, value, value, all(lv.proven for lv in found)))
                hold_levels(inst, model, {name: value}, must_match)
                continue
        set_objective(proto, coef, maximize)
        mip = mathopt.Model.from_model_proto(proto)
        variables = list(mip.variables())
        params = mathopt.SolveParameters(
            time_limit=timedelta(seconds=max(remaining, 0.01)),
            random_seed=seed,
            relative_gap_tolerance=0.0,
            absolute_gap_tolerance=ABSOLUTE_GAP,
            node_limit=node_limit,
            highs=highs_options,
        )
        model_params = None
        if hint is not None:
            # HiGHS refuses a hint outside a variable's bounds (a mentee that must be matched).
            hint = np.clip(hint, proto.variables.lower_bounds, proto.variables.upper_bounds)
            model_params = mathopt.ModelSolveParameters(
                solution_hints=[
                    mathopt.SolutionHint(
                        variable_values={v: float(hint[i]) for i, v in enumerate(variables)}
                    )
                ]
            )
        t = time.perf_counter()
        result = mathopt.solve(
            mip, mathopt.SolverType.HIGHS, params=params, model_params=model_params
        )
        seconds[name] = round(time.perf_counter() - t, 3)
        nodes += int(result.solve_stats.node_count)
        iterations += int(result.solve_stats.simplex_iterations)
        reason = result.termination.reason
        if result.termination.limit == mathopt.Limit.TIME:
            limits[name] = "time"
        elif result.termination.limit == mathopt.Limit.NODE:
            limits[name] = "nodes"
        if reason == mathopt.TerminationReason.INFEASIBLE or (
            chosen is None and not result.has_primal_feasible_solution()
        ):
            seconds["total"] = round(time.perf_counter() - started, 3)
            status = (
                MipStatus.INFEASIBLE
                if reason == mathopt.TerminationReason.INFEASIBLE
                else MipStatus.UNKNOWN
            )
            empty = np.zeros(0, np.int64)
            return MipLevels(status, empty, (), (), seconds, limits, nodes, iterations)
        if not result.has_primal_feasible_solution():
            break  # keep the pair list of the level before
        values = result.variable_values()
        solution = np.array([values[v] for v in variables])
        chosen = np.flatnonzero(solution[: model.n_pairs] > 0.5)
        hint = model.values(inst, chosen)
        value = level_value(inst, name, chosen)
        dual = result.termination.objective_bounds.dual_bound
        if not math.isfinite(dual):  # stopped before the root's relaxation was solved
            dual = _trivial_bound(model, coef, maximize)
        if maximize:
            bound = math.floor(dual + INTEGRALITY)
            if bound_known is not None:
                bound = min(bound, bound_known)
            bound = max(bound, value)
        else:
            bound = min(math.ceil(dual - INTEGRALITY) + model.penalty_constant, value)
        earlier = all(level.proven for level in found)
        proven = earlier and (reason == mathopt.TerminationReason.OPTIMAL or bound == value)
        found.append(Level(name, value, value if proven else bound, proven))
        hold_levels(inst, model, {name: value}, must_match)

    assert chosen is not None
    # The pair list's own values of every level reached (a later level may improve an earlier
    # one that was not proven).
    final = []
    for level in found:
        value = level_value(inst, level.name, chosen)
        maximize = LEVEL_MAXIMIZE[level.name]
        bound = max(level.bound, value) if maximize else min(level.bound, value)
        final.append(Level(level.name, value, bound, level.proven and value == bound))
    seconds["total"] = round(time.perf_counter() - started, 3)
    complete = len(final) == len(levels) and all(level.proven for level in final)
    return MipLevels(
        MipStatus.OPTIMAL if complete else MipStatus.FEASIBLE,
        chosen,
        inst.result_pairs(chosen),
        tuple(final),
        seconds,
        limits,
        nodes,
        iterations,
    )


def _trivial_bound(model: MipModel, coef: np.ndarray, maximize: bool) -> float:
    """A bound no pair list passes, from the objective alone: the sum of its positive
    coefficients on the pairs (a maximised level), or no penalty beyond the constant."""
    if not maximize:
        return 0.0
    return float(np.maximum(coef[: model.n_pairs], 0).sum())


def keeps_rules(inst: Instance, chosen: np.ndarray) -> bool:
    """Whether a pair list keeps every constraint of the MIP (held levels aside)."""
    pairs = inst.pairs
    if np.bincount(pairs.mentee[chosen], minlength=inst.n_mentees).max(initial=0) > 1:
        return False
    if inst.locked[chosen].sum() != inst.locked.sum():
        return False
    load = np.bincount(pairs.mentor[chosen], minlength=inst.n_mentors)
    if np.any(load > inst.most) or np.any(((load > 0) | inst.must_use) & (load < inst.least)):
        return False
    if equity.active(inst.problem):
        return not equity.shortfalls(
            inst.problem, {inst.problem.mentees[j].mentee_id for j in pairs.mentee[chosen]}
        )
    return True


def _hopeless(inst: Instance) -> bool:
    """A mentor that must reach a positive minimum but has no allowed pair."""
    n_pairs = np.bincount(inst.pairs.mentor, minlength=inst.n_mentors)
    return bool(np.any(inst.must_use & (inst.least > 0) & (n_pairs < inst.least)))


__all__ = ["MIP_LEVELS", "MipLevels", "MipStatus", "keeps_rules", "solve_levels"]
