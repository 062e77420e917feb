"""Levels 1-4 of a first run as a mixed-integer programme, solved with HiGHS through MathOpt.

Variables: x[k] in {0, 1} per allowed pair k; y[i] in {0, 1} per mentor that may stay unused
below a positive minimum (the same mentors that get a ``used`` variable in ``solver.model``).
Constraints:

- a mentee has at most one mentor: sum over the mentee's pairs of x <= 1;
- a mentor with a ``used`` variable takes y * least <= new mentees <= y * most; any other
  mentor takes least <= new mentees <= most (its band of new mentees, ``Instance.least`` /
  ``Instance.most``; a mentor that must be used keeps its minimum);
- a locked pair has x = 1;
- with the equity limit, no group's match rate more than the limit below the whole (the same
  rows as ``solver.model``).

The levels priority_matched, matched, waiting_days and quality are maximised one after another;
each is then held at the value found (at least that value) while the next is maximised. A level
is proven when HiGHS closes its gap, which with integer coefficients means the best bound,
rounded down, equals the value. The penalty level (squared loads and group mix) is not here:
it is quadratic, and CP-SAT minimises it over the pairs the relaxation's reduced costs leave
once levels 1-4 are known (``solver.strategies``).

HiGHS offers no deterministic work units through MathOpt; its one deterministic limit is the
count of branch-and-bound nodes (``node_limit``, per level). Every level also gets the wall
time left of ``time_limit``, a safety net reported in ``MipLevels.limits``. With one thread and
a fixed seed HiGHS gives the same answer whenever the wall time does not end a level.

MathOpt is imported inside ``solve_levels``: ``matcher match`` imports the solver package and
must not load it at start-up.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from typing import TYPE_CHECKING, Any

import numpy as np

from matcher import equity
from solver.instance import Instance
from solver.result import Level, Pair

if TYPE_CHECKING:
    from ortools.math_opt import model_pb2

# Levels this module proves, in order; each is maximised.
MIP_LEVELS: tuple[str, ...] = ("priority_matched", "matched", "waiting_days", "quality")
# Objective values are whole numbers: a gap below one point is a proof.
ABSOLUTE_GAP = 0.5
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

    def level(self, name: str) -> Level:
        return next(level for level in self.levels if level.name == name)


@dataclass(frozen=True)
class _Rows:
    """Linear rows in coordinate form: row index, variable index, coefficient."""

    row: np.ndarray
    col: np.ndarray
    coef: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def level_coefficients(inst: Instance) -> dict[str, np.ndarray]:
    """Each level's coefficient per allowed pair, as in ``solver.model.MatchingModel``."""
    mentee = inst.pairs.mentee
    return {
        "priority_matched": inst.priority[mentee].astype(np.float64),
        "matched": np.ones(len(inst.pairs), dtype=np.float64),
        "waiting_days": inst.wait[mentee].astype(np.float64),
        "quality": inst.score.astype(np.float64),
    }


def _rows(inst: Instance, used: np.ndarray) -> _Rows:
    """Every constraint row, built in bulk. ``used`` holds the mentors with a y variable;
    y of the m-th such mentor is variable ``n_pairs + m``."""
    pairs = inst.pairs
    n_pairs = len(pairs)
    k = np.arange(n_pairs)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    lower: list[np.ndarray] = []
    upper: list[np.ndarray] = []
    n_rows = 0

    def add(row: np.ndarray, col: np.ndarray, coef: np.ndarray, lo: np.ndarray, hi: np.ndarray):
        nonlocal n_rows
        parts.append((row + n_rows, col, coef))
        lower.append(lo.astype(np.float64))
        upper.append(hi.astype(np.float64))
        n_rows += len(lo)

    # A mentee has at most one mentor (rows for mentees with two or more pairs).
    counts = np.bincount(pairs.mentee, minlength=inst.n_mentees)
    several = np.flatnonzero(counts > 1)
    row_of = np.full(inst.n_mentees, -1)
    row_of[several] = np.arange(len(several))
    on = row_of[pairs.mentee] >= 0
    add(
        row_of[pairs.mentee[on]],
        k[on],
        np.ones(int(on.sum())),
        np.full(len(several), -np.inf),
        np.ones(len(several)),
    )

    # Bands of mentors without a y variable: least <= sum x <= most.
    fixed = np.setdiff1d(np.arange(inst.n_mentors), used)
    row_of = np.full(inst.n_mentors, -1)
    row_of[fixed] = np.arange(len(fixed))
    on = row_of[pairs.mentor] >= 0
    add(
        row_of[pairs.mentor[on]], k[on], np.ones(int(on.sum())), inst.least[fixed], inst.most[fixed]
    )

    # Mentors with y: sum x - most * y <= 0 and sum x - least * y >= 0.
    y = n_pairs + np.arange(len(used))
    row_of = np.full(inst.n_mentors, -1)
    row_of[used] = np.arange(len(used))
    on = row_of[pairs.mentor] >= 0
    rows, cols = row_of[pairs.mentor[on]], k[on]
    ones = np.ones(len(rows))
    for bound, lo, hi in (
        (inst.most[used], np.full(len(used), -np.inf), np.zeros(len(used))),
        (inst.least[used], np.zeros(len(used)), np.full(len(used), np.inf)),
    ):
        add(
            np.concatenate([rows, np.arange(len(used))]),
            np.concatenate([cols, y]),
            np.concatenate([ones, -bound.astype(np.float64)]),
            lo,
            hi,
        )

    if equity.active(inst.problem):
        n = inst.n_mentees
        for group in equity.groups(inst.problem):
            n_g = len(group.members)
            member = np.zeros(n, dtype=bool)
            member[list(group.members)] = True
            coef = np.where(member[pairs.mentee], n - n_g, -n_g).astype(np.float64)
            add(
                np.zeros(n_pairs, dtype=np.int64),
                k,
                coef,
                np.array([-equity.slack(inst.problem, n_g)]),
                np.array([np.inf]),
            )

    row = np.concatenate([p[0] for p in parts]).astype(np.int64)
    col = np.concatenate([p[1] for p in parts]).astype(np.int64)
    coef = np.concatenate([p[2] for p in parts]).astype(np.float64)
    keep = coef != 0
    order = np.lexsort((col[keep], row[keep]))  # MathOpt wants row-major order
    return _Rows(
        row[keep][order],
        col[keep][order],
        coef[keep][order],
        np.concatenate(lower),
        np.concatenate(upper),
    )


def _proto(inst: Instance, used: np.ndarray) -> model_pb2.ModelProto:
    from ortools.math_opt import model_pb2

    n_vars = len(inst.pairs) + len(used)
    proto = model_pb2.ModelProto(name="matching levels 1-4")
    variables = proto.variables
    variables.ids.extend(range(n_vars))
    variables.lower_bounds.extend(np.where(inst.locked, 1.0, 0.0).tolist() + [0.0] * len(used))
    variables.upper_bounds.extend([1.0] * n_vars)
    variables.integers.extend([True] * n_vars)
    rows = _rows(inst, used)
    constraints = proto.linear_constraints
    constraints.ids.extend(range(len(rows.lower)))
    constraints.lower_bounds.extend(rows.lower.tolist())
    constraints.upper_bounds.extend(rows.upper.tolist())
    matrix = proto.linear_constraint_matrix
    matrix.row_ids.extend(rows.row.tolist())
    matrix.column_ids.extend(rows.col.tolist())
    matrix.coefficients.extend(rows.coef.tolist())
    return proto


def _hold(proto: model_pb2.ModelProto, coef: np.ndarray, at_least: int) -> None:
    """Add the row coef . x >= at_least (a level held at its value)."""
    row = len(proto.linear_constraints.ids)
    nonzero = np.flatnonzero(coef)
    proto.linear_constraints.ids.append(row)
    proto.linear_constraints.lower_bounds.append(float(at_least))
    proto.linear_constraints.upper_bounds.append(math.inf)
    matrix = proto.linear_constraint_matrix
    matrix.row_ids.extend([row] * len(nonzero))
    matrix.column_ids.extend(nonzero.tolist())
    matrix.coefficients.extend(coef[nonzero].tolist())


def _objective(proto: model_pb2.ModelProto, coef: np.ndarray) -> None:
    nonzero = np.flatnonzero(coef)
    objective = proto.objective
    objective.Clear()
    objective.maximize = True
    objective.linear_coefficients.ids.extend(nonzero.tolist())
    objective.linear_coefficients.values.extend(coef[nonzero].tolist())


def solve_levels(
    inst: Instance,
    *,
    time_limit: float = 60.0,
    node_limit: int | None = None,
    seed: int = 0,
    levels: tuple[str, ...] = MIP_LEVELS,
    bounds: dict[str, int] | None = None,
    start: np.ndarray | None = None,
) -> MipLevels:
    """Maximise ``levels`` (a prefix of ``MIP_LEVELS``) one after another over every allowed
    pair of ``inst``, within ``time_limit`` seconds of wall time for the whole call.

    ``node_limit`` caps HiGHS's branch-and-bound nodes per level: a deterministic limit (the
    same round, seed and limit give the same pairs), with ``time_limit`` as the safety net.
    ``bounds`` are known upper bounds of some levels (the flow relaxation's levels 1-3): when
    the pair list in hand (``start``, then each level's answer) keeps every constraint and
    reaches a level's bound, that level is proven with no HiGHS call, and a bound caps the one
    HiGHS reports. ``start`` (allowed-pair indices, need not keep the bands) is handed to HiGHS
    as a hint for the first level searched; later levels get the pair list of the level
    before.

    A level not proven in time is held at the value found, and the next levels are searched
    among pair lists that keep it (their bounds then hold only for that value, and they are
    not proven); once the time is spent the remaining levels are not searched (they are absent
    from the result). ``MipLevels.limits`` names, per level, the limit that ended its search.
    """
    if time_limit <= 0:
        raise ValueError("time_limit must be positive")
    if node_limit is not None and node_limit <= 0:
        raise ValueError("node_limit must be positive")
    if levels != MIP_LEVELS[: len(levels)] or not levels:
        raise ValueError(f"levels must be a non-empty prefix of {MIP_LEVELS}, not {levels}")
    unknown = set(bounds or {}) - set(MIP_LEVELS)
    if unknown:
        raise ValueError(f"bounds for levels this MIP does not solve: {sorted(unknown)}")
    from ortools.math_opt.python import mathopt

    started = time.perf_counter()
    deadline = started + time_limit
    seconds: dict[str, float] = {}
    limits: dict[str, str] = {}
    used = np.flatnonzero((inst.least > 0) & ~inst.must_use)
    proto = _proto(inst, used)
    n_pairs = len(inst.pairs)
    seconds["build"] = round(time.perf_counter() - started, 3)
    if _hopeless(inst):
        seconds["total"] = seconds["build"]
        return MipLevels(MipStatus.INFEASIBLE, np.zeros(0, np.int64), (), (), seconds)

    coefficients = level_coefficients(inst)
    found: list[Level] = []
    chosen: np.ndarray | None = None
    hint: Any = None
    if start is not None:
        hint = np.zeros(n_pairs + len(used))
        hint[start] = 1.0
        load = np.bincount(inst.pairs.mentor[start], minlength=inst.n_mentors)
        hint[n_pairs:] = load[used] > 0
    for name in levels:
        remaining = deadline - time.perf_counter()
        if remaining <= 0 and chosen is not None:
            break
        coef = coefficients[name]
        bound_known = (bounds or {}).get(name)
        if hint is not None and bound_known is not None:
            in_hand = np.flatnonzero(hint[:n_pairs] > 0.5)
            value = round(float(coef[in_hand].sum()))
            if value == bound_known and _keeps_rules(inst, in_hand):
                # The pair list in hand reaches the known bound: nothing to search.
                chosen = in_hand
                seconds[name] = 0.0
                found.append(Level(name, value, value, all(lv.proven for lv in found)))
                _hold(proto, coef, value)
                continue
        _objective(proto, coef)
        model = mathopt.Model.from_model_proto(proto)
        variables = list(model.variables())
        params = mathopt.SolveParameters(
            time_limit=timedelta(seconds=max(remaining, 0.01)),
            random_seed=seed,
            relative_gap_tolerance=0.0,
            absolute_gap_tolerance=ABSOLUTE_GAP,
            node_limit=node_limit,
        )
        model_params = None
        if hint is not None:
            model_params = mathopt.ModelSolveParameters(
                solution_hints=[
                    mathopt.SolutionHint(
                        variable_values={v: float(hint[i]) for i, v in enumerate(variables)}
                    )
                ]
            )
        t = time.perf_counter()
        result = mathopt.solve(
            model, mathopt.SolverType.HIGHS, params=params, model_params=model_params
        )
        seconds[name] = round(time.perf_counter() - t, 3)
        reason = result.termination.reason
        if result.termination.limit == mathopt.Limit.TIME:
            limits[name] = "time"
        elif result.termination.limit == mathopt.Limit.NODE:
            limits[name] = "nodes"
        if reason == mathopt.TerminationReason.INFEASIBLE:
            seconds["total"] = round(time.perf_counter() - started, 3)
            return MipLevels(MipStatus.INFEASIBLE, np.zeros(0, np.int64), (), (), seconds)
        if not result.has_primal_feasible_solution():
            if chosen is None:
                seconds["total"] = round(time.perf_counter() - started, 3)
                return MipLevels(MipStatus.UNKNOWN, np.zeros(0, np.int64), (), (), seconds, limits)
            break  # keep the pair list of the level before
        values = result.variable_values()
        x = np.array([values[v] for v in variables]) > 0.5
        hint = x.astype(np.float64)
        chosen = np.flatnonzero(x[:n_pairs])
        value = round(float(coef[chosen].sum()))
        bound = math.floor(result.termination.objective_bounds.dual_bound + INTEGRALITY)
        if bound_known is not None:
            bound = min(bound, bound_known)
        bound = max(bound, value)
        earlier = all(level.proven for level in found)
        proven = earlier and (reason == mathopt.TerminationReason.OPTIMAL or bound == value)
        found.append(Level(name, value, value if proven else bound, proven))
        _hold(proto, coef, value)

    assert chosen is not None
    # The pair list's own values of every level reached (a later level may raise an earlier
    # one that was not proven).
    final = []
    for level in found:
        value = round(float(coefficients[level.name][chosen].sum()))
        bound = max(level.bound, value)
        final.append(Level(level.name, value, bound, level.proven and value == bound))
    seconds["total"] = round(time.perf_counter() - started, 3)
    complete = len(final) == len(levels) and all(level.proven for level in final)
    return MipLevels(
        MipStatus.OPTIMAL if complete else MipStatus.FEASIBLE,
        chosen,
        _pairs(inst, chosen),
        tuple(final),
        seconds,
        limits,
    )


def _keeps_rules(inst: Instance, chosen: np.ndarray) -> bool:
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


def _pairs(inst: Instance, chosen: np.ndarray) -> tuple[Pair, ...]:
    problem = inst.problem
    out = [
        Pair(
            problem.mentors[inst.pairs.mentor[k]].mentor_id,
            problem.mentees[inst.pairs.mentee[k]].mentee_id,
            int(inst.score[k]),
        )
        for k in chosen.tolist()
    ]
    return tuple(sorted(out, key=lambda p: (p.mentor_id, p.mentee_id)))


__all__ = ["MIP_LEVELS", "MipLevels", "MipStatus", "level_coefficients", "solve_levels"]
