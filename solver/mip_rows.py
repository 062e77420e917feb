"""The MIP of ``solver.mip`` as a MathOpt model proto, built in bulk.

Variables, in this order: x[k] in {0, 1} per allowed pair; y[i] in {0, 1} per mentor that may
stay unused below a positive minimum (the mentors that get a ``used`` variable in
``solver.model``); for the penalty level, u[i, t] in [0, 1] per unit t of a mentor's new load
and e in [0, n - 1] per mentor and group value that two or more of its possible mentees share.

Rows:

- a mentee has at most one mentor: sum over the mentee's pairs of x <= 1;
- a mentor with y takes y * least <= new mentees <= y * most, and x <= y for each of its
  pairs; any other mentor takes least <= new mentees <= most (``Instance.least`` /
  ``Instance.most``);
- a locked pair has x = 1 (its lower bound);
- with the equity limit, no group's match rate more than the limit below the whole (the rows
  of ``solver.model``);
- the penalty's counters: sum of a mentor's x = sum of its u; and, per shared group value,
  sum of those mentees' x - e <= 1.

The penalty is linear in the counters: the t-th unit of a mentor with c current mentees costs
balance * (2(c + t) - 1), so (c + load)^2 is the cheapest way to fill ``load`` units, and each
excess e costs ``mix``. The costs rise with t, so the LP fills units in order with no ordering
rows (which CP-SAT needs); at an optimum the counters are exact, and elsewhere they count at
least the pairs' penalty, which ``level_value`` recomputes from the pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from matcher import equity
from solver.instance import Instance, positions_by
from solver.result import LEVEL_MAXIMIZE

if TYPE_CHECKING:
    from ortools.math_opt import model_pb2


@dataclass(frozen=True)
class MipModel:
    proto: model_pb2.ModelProto
    n_pairs: int
    used: np.ndarray  # mentors with a y variable; y of the m-th is variable n_pairs + m
    objectives: dict[str, np.ndarray]  # each level's coefficient per variable
    penalty_constant: int
    units: list[tuple[int, int, int]]  # (mentor, first u variable, how many)
    excess: list[tuple[int, np.ndarray]]  # (e variable, the pairs sharing its group value)

    def values(self, inst: Instance, chosen: np.ndarray) -> np.ndarray:
        """Every variable's value for the pair list ``chosen``: a complete hint for HiGHS."""
        values = np.zeros(len(self.objectives["matched"]))
        values[chosen] = 1.0
        load = np.bincount(inst.pairs.mentor[chosen], minlength=inst.n_mentors)
        values[self.n_pairs : self.n_pairs + len(self.used)] = load[self.used] > 0
        for mentor, first, count in self.units:
            values[first : first + min(count, int(load[mentor]))] = 1.0
        for variable, same in self.excess:
            values[variable] = max(0.0, values[same].sum() - 1.0)
        return values


class Rows:
    """Linear rows in coordinate form, gathered part by part, then written into a MathOpt
    model (the matching MIP here, the recruitment model in ``solver.recruit_model``)."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.lower: list[np.ndarray] = []
        self.upper: list[np.ndarray] = []
        self.n = 0

    def add(
        self,
        row: np.ndarray,
        col: np.ndarray,
        coef: np.ndarray,
        lo: float | np.ndarray,
        hi: float | np.ndarray,
        count: int | None = None,
    ) -> int:
        """Add ``count`` rows (by default as many as ``lo`` has bounds; ``row`` numbers them
        from 0): the first one's index."""
        first = self.n
        count = len(np.atleast_1d(lo)) if count is None else count
        self.parts.append(
            (
                np.asarray(row, np.int64) + first,
                np.asarray(col, np.int64),
                np.asarray(coef, np.float64),
            )
        )
        self.lower.append(np.broadcast_to(np.asarray(lo, np.float64), (count,)))
        self.upper.append(np.broadcast_to(np.asarray(hi, np.float64), (count,)))
        self.n += count
        return first

    def write(self, proto: Any) -> None:
        """The rows as ``proto``'s linear constraints and matrix (zeros left out, in the
        row-major order MathOpt wants)."""
        row, col, coef = (np.concatenate([p[i] for p in self.parts]) for i in range(3))
        keep = coef != 0
        order = np.lexsort((col[keep], row[keep]))
        constraints = proto.linear_constraints
        constraints.ids.extend(range(self.n))
        constraints.lower_bounds.extend(np.concatenate(self.lower).tolist())
        constraints.upper_bounds.extend(np.concatenate(self.upper).tolist())
        matrix = proto.linear_constraint_matrix
        matrix.row_ids.extend(row[keep][order].tolist())
        matrix.column_ids.extend(col[keep][order].tolist())
        matrix.coefficients.extend(coef[keep][order].tolist())


def build(inst: Instance, penalty: bool = True) -> MipModel:
    """The MIP of ``inst``; its penalty's counters only when ``penalty`` (they slow the other
    levels' searches, and the penalty's objective is then left at zero)."""
    from ortools.math_opt import model_pb2

    pairs = inst.pairs
    n_pairs = len(pairs)
    k = np.arange(n_pairs)
    rows = Rows()
    used = np.flatnonzero((inst.least > 0) & ~inst.must_use)

    # A mentee has at most one mentor (rows for mentees with two or more pairs).
    several = np.flatnonzero(np.bincount(pairs.mentee, minlength=inst.n_mentees) > 1)
    row_of = np.full(inst.n_mentees, -1)
    row_of[several] = np.arange(len(several))
    on = row_of[pairs.mentee] >= 0
    rows.add(
        row_of[pairs.mentee[on]],
        k[on],
        np.ones(int(on.sum())),
        -np.inf * np.ones(len(several)),
        np.ones(len(several)),
    )

    # Bands of mentors without a y variable: least <= sum x <= most.
    fixed = np.setdiff1d(np.arange(inst.n_mentors), used)
    row_of = np.full(inst.n_mentors, -1)
    row_of[fixed] = np.arange(len(fixed))
    on = row_of[pairs.mentor] >= 0
    rows.add(
        row_of[pairs.mentor[on]], k[on], np.ones(int(on.sum())), inst.least[fixed], inst.most[fixed]
    )

    # Mentors with y: sum x - most * y <= 0 and sum x - least * y >= 0.
    y = n_pairs + np.arange(len(used))
    row_of = np.full(inst.n_mentors, -1)
    row_of[used] = np.arange(len(used))
    on = row_of[pairs.mentor] >= 0
    for bound, lo, hi in (
        (inst.most[used], -np.inf, 0.0),
        (inst.least[used], 0.0, np.inf),
    ):
        rows.add(
            np.concatenate([row_of[pairs.mentor[on]], np.arange(len(used))]),
            np.concatenate([k[on], y]),
            np.concatenate([np.ones(int(on.sum())), -bound]),
            np.full(len(used), lo),
            np.full(len(used), hi),
        )

    # And x <= y for each of their pairs: the same pair lists, and a relaxation far closer to
    # them. On the national sample's pairs within 12 points of the quality bound (193,448),
    # the root LP's bound with these rows is the optimum, 201,658. Measured with and without:
    # the national pairs within 2 points, 9.2 s against 13.9 s; sparse regional seed 4, every
    # level, 4.9 s against 9.2 s; 24 oversupply, sparse and equity rounds, 51.5 s against 62.4 s.
    n_on = int(on.sum())
    if n_on:
        rows.add(
            np.r_[np.arange(n_on), np.arange(n_on)],
            np.r_[k[on], y[row_of[pairs.mentor[on]]]],
            np.r_[np.ones(n_on), -np.ones(n_on)],
            np.full(n_on, -np.inf),
            np.zeros(n_on),
        )
    if equity.active(inst.problem):
        n = inst.n_mentees
        for group in equity.groups(inst.problem):
            n_g = len(group.members)
            member = np.zeros(n, dtype=bool)
            member[list(group.members)] = True
            coef = np.where(member[pairs.mentee], n - n_g, -n_g)
            rows.add(np.zeros(n_pairs, np.int64), k, coef, -equity.slack(inst.problem, n_g), np.inf)

    n_vars = n_pairs + len(used)
    costs: list[np.ndarray] = []
    upper: list[np.ndarray] = []
    units: list[tuple[int, int, int]] = []
    excess: list[tuple[int, np.ndarray]] = []
    weights = inst.problem.settings.weights
    by_mentor = positions_by(pairs.mentor, inst.n_mentors)
    if penalty and weights.balance:
        for i, members in enumerate(by_mentor):
            most = min(int(inst.most[i]), len(members))
            if most == 0:
                continue
            rows.add(
                np.zeros(len(members) + most, np.int64),
                np.concatenate([members, n_vars + np.arange(most)]),
                np.r_[np.ones(len(members)), -np.ones(most)],
                0.0,
                0.0,
            )
            costs.append(weights.balance * (2 * (inst.current[i] + np.arange(1, most + 1)) - 1))
            upper.append(np.ones(most))
            units.append((i, n_vars, most))
            n_vars += most
    if penalty and weights.mix:
        for codes in inst.groups.values():
            for members in by_mentor:
                group = codes[pairs.mentee[members]]
                values, counts = np.unique(group[group >= 0], return_counts=True)
                for g in values[counts > 1].tolist():
                    same = members[group == g]
                    rows.add(
                        np.zeros(len(same) + 1, np.int64),
                        np.r_[same, n_vars],
                        np.r_[np.ones(len(same)), -1.0],
                        -np.inf,
                        1.0,
                    )
                    costs.append(np.array([weights.mix]))
                    upper.append(np.array([len(same) - 1.0]))
                    excess.append((n_vars, same))
                    n_vars += 1

    mentee = pairs.mentee
    per_pair = {
        "priority_matched": inst.priority[mentee].astype(np.float64),
        "matched": np.ones(n_pairs),
        "waiting_days": inst.wait[mentee].astype(np.float64),
        "quality": inst.score.astype(np.float64),
    }
    objectives = {name: np.r_[coef, np.zeros(n_vars - n_pairs)] for name, coef in per_pair.items()}
    cost = np.zeros(n_vars)
    counters = np.concatenate(costs) if costs else np.zeros(0)
    cost[n_pairs + len(used) :] = counters
    if penalty:
        cost[:n_pairs] -= weights.churn * inst.previous
    objectives["penalty"] = cost

    proto = model_pb2.ModelProto(name="matching levels")
    variables = proto.variables
    variables.ids.extend(range(n_vars))
    variables.lower_bounds.extend(
        np.where(inst.locked, 1.0, 0.0).tolist() + [0.0] * (n_vars - n_pairs)
    )
    bounds_up = np.concatenate([np.ones(n_pairs + len(used)), *upper]) if upper else np.ones(n_vars)
    variables.upper_bounds.extend(bounds_up.tolist())
    variables.integers.extend(
        [True] * (n_pairs + len(used)) + [False] * (n_vars - n_pairs - len(used))
    )
    rows.write(proto)
    constant = int(weights.balance * np.sum(inst.current**2)) + weights.churn * len(
        inst.problem.previous
    )
    return MipModel(proto, n_pairs, used, objectives, constant, units, excess)


def level_value(inst: Instance, name: str, chosen: np.ndarray) -> int:
    """A level's value for the pair list ``chosen`` (allowed-pair indices), from the pairs."""
    pairs = inst.pairs
    if name == "priority_matched":
        return int(inst.priority[pairs.mentee[chosen]].sum())
    if name == "matched":
        return len(chosen)
    if name == "waiting_days":
        return int(inst.wait[pairs.mentee[chosen]].sum())
    if name == "quality":
        return int(inst.score[chosen].sum())
    weights = inst.problem.settings.weights
    load = inst.current + np.bincount(pairs.mentor[chosen], minlength=inst.n_mentors)
    mix = 0
    for codes in inst.groups.values():
        group = codes[pairs.mentee[chosen]]
        known = group >= 0
        _, counts = np.unique(
            np.c_[pairs.mentor[chosen][known], group[known]], axis=0, return_counts=True
        )
        mix += int(np.maximum(counts - 1, 0).sum())
    churn = len(inst.problem.previous) - int(inst.previous[chosen].sum())
    return int(weights.balance * np.sum(load**2) + weights.mix * mix + weights.churn * churn)


def hold(proto: model_pb2.ModelProto, coef: np.ndarray, value: float, maximize: bool) -> None:
    """Add the row coef . vars >= value (maximised levels) or <= value (the penalty)."""
    row = len(proto.linear_constraints.ids)
    nonzero = np.flatnonzero(coef)
    proto.linear_constraints.ids.append(row)
    proto.linear_constraints.lower_bounds.append(float(value) if maximize else -math.inf)
    proto.linear_constraints.upper_bounds.append(math.inf if maximize else float(value))
    matrix = proto.linear_constraint_matrix
    matrix.row_ids.extend([row] * len(nonzero))
    matrix.column_ids.extend(nonzero.tolist())
    matrix.coefficients.extend(coef[nonzero].tolist())


COUNTS = ("priority_matched", "matched", "waiting_days")


def hold_levels(
    inst: Instance,
    model: MipModel,
    held: dict[str, int],
    must_match: np.ndarray | None = None,
) -> None:
    """Hold each level of ``held`` at its value or better, with levels 1-3 held per mentee
    where a mentee is known to be matched.

    A mentee is known to be matched when ``must_match`` says so (every pair list the caller
    searches matches it, e.g. ``Fixing.must_match``), and every mentee with a pair is when
    ``matched`` is held at their number (every priority mentee when ``priority_matched`` is
    held at theirs). Such a mentee's row becomes an equality (or its one pair is fixed at 1).
    Levels 1-3 count the same for every pair of a mentee, so the known mentees' share of each
    is a constant, and its row needs only the other mentees' pairs (none, once the constant
    reaches the value). Dense rows slow HiGHS's relaxation: the regional sample's penalty level
    took 4.1 s with them and 0.4 s without."""
    pairs = inst.pairs
    pairs_of = np.bincount(pairs.mentee, minlength=inst.n_mentees)
    has_pair = pairs_of > 0
    known = has_pair & (False if must_match is None else must_match)
    if held.get("matched", -1) >= int(has_pair.sum()):
        known = has_pair.copy()
    elif held.get("priority_matched", -1) >= int((has_pair & inst.priority).sum()):
        known |= has_pair & inst.priority
    several = pairs_of > 1
    mentee_rows = np.cumsum(several) - 1  # the mentee rows come first, in mentee order
    lower = model.proto.linear_constraints.lower_bounds
    for j in np.flatnonzero(known & several).tolist():
        lower[int(mentee_rows[j])] = 1.0
    bounds = model.proto.variables.lower_bounds
    for k in np.flatnonzero((known & ~several)[pairs.mentee]).tolist():
        bounds[k] = 1.0
    on_known = known[pairs.mentee]
    for name, value in held.items():
        coef = model.objectives[name]
        if name not in COUNTS:
            offset = model.penalty_constant if name == "penalty" else 0  # the row has no constant
            hold(model.proto, coef, value - offset, LEVEL_MAXIMIZE[name])
            continue
        per_mentee = np.zeros(inst.n_mentees)
        per_mentee[pairs.mentee] = coef[: model.n_pairs]
        constant = float(per_mentee[known].sum())
        if value <= constant:
            continue
        rest = coef.copy()
        rest[: model.n_pairs][on_known] = 0.0
        hold(model.proto, rest, value - constant, True)


def set_objective(proto: model_pb2.ModelProto, coef: np.ndarray, maximize: bool) -> None:
    nonzero = np.flatnonzero(coef)
    objective = proto.objective
    objective.Clear()
    objective.maximize = maximize
    objective.linear_coefficients.ids.extend(nonzero.tolist())
    objective.linear_coefficients.values.extend(coef[nonzero].tolist())
