"""The recruitment model: a mixed-integer programme solved with HiGHS through MathOpt, built in
bulk as a model proto (as ``solver.mip_rows`` builds the matching MIP).

It settles the two counting steps of ``solver.recruit`` where the flows of
``solver.recruit_steps`` leave a gap (a mentor's minimum or the equity limit bites), each a
HiGHS call:

1. *before*: new mentors held at zero, the most target mentees the current mentors can take;
2. *fewest*: every target mentee matched, the fewest new mentors.

Variables, in this order: x[k] in {0, 1} per kept pair, to a current mentor or to a candidate
profile (for a profile: the mentee goes to *some* copy of it); n[p] whole, 0 to ``copies[p]``,
the copies of profile p recruited; y[i] in {0, 1} per current mentor who may stay unused below
a positive minimum. Copies of a profile are identical, so they need no variables of their own:
T mentees can go to n copies, each within the band [lo, hi], exactly when lo n <= T <= hi n
(deal them out in turn). The model stays as small as one mentor per profile, with no
symmetric copies to tell apart.

Rows: a mentee has at most one mentor (exactly one for a target mentee in step 2); a
current mentor's new mentees within [least, most] (``Instance.least``, ``most``,
``must_use``: the solver's own reading of the band), or y least <= load <= y most and x <= y
per pair; a profile's lo n <= load <= hi n and x <= n per pair (the per-pair rows tighten the
relaxation, as in ``solver.mip_rows``); the equity limit's rows.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import TYPE_CHECKING

import numpy as np

from matcher import equity
from solver.instance import Instance
from solver.mip_rows import Rows

if TYPE_CHECKING:
    from ortools.math_opt import model_pb2

# Objectives are whole numbers: a gap below one is a proof.
ABSOLUTE_GAP = 0.999
INTEGRALITY = 1e-6


class StepStatus(Enum):
    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    UNKNOWN = "unknown"  # the time limit came before any solution


@dataclass(frozen=True)
class Step:
    """One HiGHS call: its status, objective value and bound, and the model's values."""

    status: StepStatus
    value: int | None
    bound: int | None
    values: np.ndarray | None
    seconds: float

    @property
    def found(self) -> bool:
        return self.values is not None


class RecruitModel:
    """The recruitment model over ``inst`` (the round with one mentor row per profile after
    the ``n_current`` current mentors), the allowed pairs ``kept`` (indices) and at most
    ``copies[p]`` copies of profile p."""

    def __init__(self, inst: Instance, n_current: int, kept: np.ndarray, copies: np.ndarray):
        from ortools.math_opt import model_pb2

        self.inst, self.n_current, self.kept = inst, n_current, kept
        mentor, mentee = inst.pairs.mentor[kept], inst.pairs.mentee[kept]
        self.mentor, self.mentee = mentor, mentee
        n_pairs, n_profiles = len(kept), len(copies)
        self.copies = n_pairs + np.arange(n_profiles)
        is_current = np.arange(inst.n_mentors) < n_current
        used = np.flatnonzero(is_current & (inst.least > 0) & ~inst.must_use)
        self.used = used
        self.n_vars = n_pairs + n_profiles + len(used)
        y_of = np.full(inst.n_mentors, -1)
        y_of[used] = n_pairs + n_profiles + np.arange(len(used))
        k = np.arange(n_pairs)
        rows = Rows()

        # A mentee has at most one mentor: row j for mentee j.
        self._mentee_row = rows.add(mentee, k, np.ones(n_pairs), 0.0, 1.0, inst.n_mentees)
        # Current mentors without y: least <= load <= most (row i for mentor i; none for
        # profiles and mentors with y: their rows stay empty and their bounds wide).
        plain = is_current & (y_of < 0)
        on = plain[mentor]
        lo = np.where(plain, inst.least, -np.inf)
        hi = np.where(plain, inst.most, np.inf)
        rows.add(mentor[on], k[on], np.ones(int(on.sum())), lo, hi, inst.n_mentors)
        # Mentors with y, and profiles with n: load - most * v <= 0 and load - least * v >= 0.
        var_of = y_of.copy()
        var_of[n_current:] = self.copies
        gated = var_of >= 0
        on = gated[mentor]
        for size, lo_row, hi_row in ((inst.most, -np.inf, 0.0), (inst.least, 0.0, np.inf)):
            rows.add(
                np.r_[mentor[on], np.flatnonzero(gated)],
                np.r_[k[on], var_of[gated]],
                np.r_[np.ones(int(on.sum())), -size[gated]],
                np.where(gated, lo_row, -np.inf),
                np.where(gated, hi_row, np.inf),
                inst.n_mentors,
            )
        # x <= y, x <= n for each of their pairs.
        n_on = int(on.sum())
        rows.add(
            np.r_[np.arange(n_on), np.arange(n_on)],
            np.r_[k[on], var_of[mentor[on]]],
            np.r_[np.ones(n_on), -np.ones(n_on)],
            -np.inf,
            0.0,
            n_on,
        )
        if equity.active(inst.problem):
            n = inst.n_mentees
            for group in equity.groups(inst.problem):
                n_g = len(group.members)
                member = np.zeros(n, dtype=bool)
                member[list(group.members)] = True
                coef = np.where(member[mentee], n - n_g, -n_g)
                rows.add(np.zeros(n_pairs), k, coef, -equity.slack(inst.problem, n_g), np.inf, 1)

        proto = model_pb2.ModelProto(name="recruitment")
        variables = proto.variables
        variables.ids.extend(range(self.n_vars))
        variables.lower_bounds.extend([0.0] * self.n_vars)
        self._upper = np.r_[np.ones(n_pairs), copies.astype(np.float64), np.ones(len(used))]
        variables.upper_bounds.extend(self._upper.tolist())
        variables.integers.extend([True] * self.n_vars)
        rows.write(proto)
        self._proto: model_pb2.ModelProto = proto

    # --- the two counting steps ------------------------------------------------------------
    def most_targets_now(
        self, target: np.ndarray, hint: np.ndarray | None, seconds: float, seed: int
    ) -> Step:
        """Step 1: no new mentor; the most ``target`` mentees matched."""
        upper = self._proto.variables.upper_bounds
        for var in self.copies.tolist():
            upper[var] = 0.0
        weights = target[self.mentee].astype(np.float64)
        step = self._solve(self._pairs(weights), True, hint, seconds, seed)
        for var in self.copies.tolist():
            upper[var] = float(self._upper[var])
        return step

    def require(self, target: np.ndarray) -> None:
        """Every ``target`` mentee matched from now on."""
        lower = self._proto.linear_constraints.lower_bounds
        for j in np.flatnonzero(target).tolist():
            lower[self._mentee_row + j] = 1.0

    def fewest_recruits(
        self, least: int, hint: np.ndarray | None, seconds: float, seed: int
    ) -> Step:
        """Step 2 (after ``require``): the fewest copies, at least ``least`` (a bound proven
        before)."""
        self._hold_copies(least, math.inf)
        coef = np.zeros(self.n_vars)
        coef[self.copies] = 1.0
        return self._solve(coef, False, hint, seconds, seed)

    def values(self, chosen: np.ndarray, copies: np.ndarray) -> np.ndarray:
        """Every variable's value for a plan (allowed-pair indices, copies per profile): a
        hint for HiGHS."""
        values = np.zeros(self.n_vars)
        values[np.searchsorted(self.kept, chosen)] = 1.0
        values[self.copies] = copies
        load = np.bincount(self.inst.pairs.mentor[chosen], minlength=self.inst.n_mentors)
        values[len(self.kept) + len(self.copies) :] = load[self.used] > 0
        return values

    # --- reading a solution ----------------------------------------------------------------
    def chosen(self, values: np.ndarray) -> np.ndarray:
        """Indices (into the instance's allowed pairs) of the pairs a solution makes."""
        return self.kept[values[: len(self.kept)] > 0.5]

    def recruited(self, values: np.ndarray) -> np.ndarray:
        """Copies recruited per profile."""
        return np.rint(values[self.copies]).astype(np.int64)

    # --- building blocks -------------------------------------------------------------------
    def _pairs(self, per_pair: np.ndarray) -> np.ndarray:
        coef = np.zeros(self.n_vars)
        coef[: len(self.kept)] = per_pair
        return coef

    def _hold_copies(self, lo: float, hi: float) -> None:
        constraints = self._proto.linear_constraints
        row = len(constraints.ids)
        constraints.ids.append(row)
        constraints.lower_bounds.append(lo)
        constraints.upper_bounds.append(hi)
        matrix = self._proto.linear_constraint_matrix
        matrix.row_ids.extend([row] * len(self.copies))
        matrix.column_ids.extend(self.copies.tolist())
        matrix.coefficients.extend([1.0] * len(self.copies))

    def _solve(
        self, coef: np.ndarray, maximize: bool, hint: np.ndarray | None, seconds: float, seed: int
    ) -> Step:
        from ortools.math_opt.python import mathopt

        started = time.perf_counter()
        objective = self._proto.objective
        objective.Clear()
        objective.maximize = maximize
        nonzero = np.flatnonzero(coef)
        objective.linear_coefficients.ids.extend(nonzero.tolist())
        objective.linear_coefficients.values.extend(coef[nonzero].tolist())
        model = mathopt.Model.from_model_proto(self._proto)
        variables = list(model.variables())
        params = mathopt.SolveParameters(
            time_limit=timedelta(seconds=max(seconds, 0.05)),
            random_seed=seed,
            relative_gap_tolerance=0.0,
            absolute_gap_tolerance=ABSOLUTE_GAP,
        )
        model_params = None
        if hint is not None:
            variables_bounds = self._proto.variables
            hint = np.clip(hint, variables_bounds.lower_bounds, variables_bounds.upper_bounds)
            model_params = mathopt.ModelSolveParameters(
                solution_hints=[
                    mathopt.SolutionHint(dict(zip(variables, hint.tolist(), strict=True)))
                ]
            )
        result = mathopt.solve(
            model, mathopt.SolverType.HIGHS, params=params, model_params=model_params
        )
        took = round(time.perf_counter() - started, 3)
        reason = result.termination.reason
        dual = result.termination.objective_bounds.dual_bound
        bound = None
        if math.isfinite(dual):
            bound = math.floor(dual + INTEGRALITY) if maximize else math.ceil(dual - INTEGRALITY)
        # Every variable is bounded, so "infeasible or unbounded" is infeasible.
        if reason in (
            mathopt.TerminationReason.INFEASIBLE,
            mathopt.TerminationReason.INFEASIBLE_OR_UNBOUNDED,
        ):
            return Step(StepStatus.INFEASIBLE, None, None, None, took)
        if not result.has_primal_feasible_solution():
            return Step(StepStatus.UNKNOWN, None, bound, None, took)
        values = np.rint(np.array(result.variable_values(variables), dtype=np.float64))
        value = round(float(np.dot(coef, values)))
        optimal = reason == mathopt.TerminationReason.OPTIMAL or bound == value
        if bound is not None:
            bound = max(bound, value) if maximize else min(bound, value)
        status = StepStatus.OPTIMAL if optimal else StepStatus.FEASIBLE
        return Step(status, value, value if optimal else bound, values, took)
