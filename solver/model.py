"""The CP-SAT model over candidate pairs, filled in bulk straight into the model proto.

Variables: one boolean per candidate pair; per mentor a `used` boolean where the scheme lets a
mentor stay unused below its minimum; for the penalty level, unary load counters (so the
square of a load is linear) and per-group excess counters (mix). Each objective level is a
linear expression; levels are optimised in order, each fixed before the next.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from matcher import equity
from solver import cpsat
from solver.flow import Fixing
from solver.instance import Instance, positions_by

# The least deterministic time a CP-SAT call is given: enough to load the model and its hint.
MIN_WORK = 0.01
# Tasks per synchronised batch when several workers interleave (fixed, so that the search does
# not depend on the number of workers).
INTERLEAVE_BATCH = 6
# A call that ran this share of its wall-clock limit is taken as stopped by it.
WALL_SHARE_STOPPED = 0.95
# What a CP-SAT call costs before its search, per model variable, in work units (copying the
# model and presolve take wall time its deterministic time undercounts): measured on these
# machines at about 1.9 s a call for the regional equity round's 114,649-pair model, that is
# 0.95 units at the 0.5 units a second ``solver.solve.WORK_PER_SECOND`` assumes.
SETUP_WORK_PER_VARIABLE = 7.5e-6
# Work units per unit of deterministic time: interleaved workers did 0.41 units of
# deterministic time a second on that round where one worker does 0.66-0.73 on smaller ones.
INTERLEAVED_WORK_PER_DTIME = 1.25
# Larger models do less deterministic time a second still, about in proportion to their size:
# the national sample's penalty model (193,448 pairs) did 0.27 a second where that round's
# did 0.41. Above this many variables the work per unit grows with the model.
INTERLEAVED_REFERENCE_VARIABLES = 120_000


@dataclass(frozen=True)
class Linear:
    """sum(coeffs * values[vars]) + constant."""

    vars: np.ndarray
    coeffs: np.ndarray
    constant: int = 0

    def value(self, values: np.ndarray) -> int:
        return int(np.dot(self.coeffs, values[self.vars])) + self.constant


@dataclass(frozen=True)
class LevelSolve:
    status: Any  # a cpsat.Status
    value: int | None
    bound: int | None
    values: np.ndarray | None  # all model variables
    work: float = 0.0  # CP-SAT's deterministic time spent
    wall_stopped: bool = False  # the wall-clock safety net, not the work limit, ended it


class _StopAtBound(cpsat.SolutionCallback):
    def __init__(self, expr: Linear, bound: int, maximize: bool):
        super().__init__()
        self._expr, self._bound, self._maximize = expr, bound, maximize
        self.reached = False

    def on_solution(self) -> None:
        value = self.objective_value
        if (value >= self._bound) if self._maximize else (value <= self._bound):
            self.reached = True
            self.stop_search()


class MatchingModel:
    """CP-SAT model of one round over the given candidate pairs (indices of allowed pairs)."""

    def __init__(self, inst: Instance, candidates: np.ndarray):
        self.inst = inst
        self.candidates = candidates
        self._proto = cpsat.CpModelProto()
        self._n_vars = 0
        # The most a CP-SAT call on this model has run past its time limit (copying the model
        # and presolve come before it looks at the clock): time a later call cannot save.
        self.overrun = 0.0
        weights = inst.problem.settings.weights
        pairs = inst.pairs
        mentor = pairs.mentor[candidates]
        mentee = pairs.mentee[candidates]
        self.mentor, self.mentee = mentor, mentee
        n = len(candidates)
        locked = inst.locked[candidates]
        self.x = self._new_vars(np.where(locked, 1, 0), np.ones(n, dtype=np.int64))

        # A mentee has at most one mentor.
        order = np.argsort(mentee, kind="stable")
        starts = (
            np.flatnonzero(np.r_[True, mentee[order][1:] != mentee[order][:-1]])
            if n
            else np.zeros(0, int)
        )
        for group in np.split(order, starts[1:]) if n else []:
            if len(group) > 1:
                self._proto.constraints.add().at_most_one.literals.extend(self.x[group].tolist())

        # Mentor loads stay inside the band, or at zero when the mentor may be left unused.
        self.mentor_pairs = positions_by(mentor, inst.n_mentors)
        self.used: dict[int, int] = {}
        for i, members in enumerate(self.mentor_pairs):
            xs = self.x[members].tolist()
            least, most = int(inst.least[i]), int(inst.most[i])
            if len(members) == 0:
                if inst.must_use[i] and least > 0:
                    # A mentor that must be used but has no candidate: the round is infeasible.
                    self._linear([], [], least, most)
                continue
            if least > 0 and not inst.must_use[i]:
                y = int(self._new_vars(np.zeros(1, np.int64), np.ones(1, np.int64))[0])
                self.used[i] = y
                self._linear([*xs, y], [1] * len(xs) + [-most], -(2**40), 0)
                self._linear([*xs, y], [1] * len(xs) + [-least], 0, 2**40)
            else:
                self._linear(xs, [1] * len(xs), least, most)

        matched_prio = inst.priority[mentee].astype(np.int64)
        ones = np.ones(n, dtype=np.int64)
        self.levels: dict[str, Linear] = {
            "priority_matched": Linear(self.x, matched_prio),
            "matched": Linear(self.x, ones),
            "waiting_days": Linear(self.x, inst.wait[mentee]),
            "quality": Linear(self.x, inst.score[candidates]),
        }
        self.levels["penalty"] = self._penalty(weights.balance, weights.mix, weights.churn)
        if equity.active(inst.problem):
            self._equity()

    def _equity(self) -> None:
        """No group's match rate more than the limit below the whole (``matcher.equity``)."""
        problem = self.inst.problem
        n = self.inst.n_mentees
        for group in equity.groups(problem):
            n_g = len(group.members)
            member = np.zeros(n, dtype=bool)
            member[list(group.members)] = True
            coeffs = np.where(member[self.mentee], n - n_g, -n_g)
            self._linear(self.x.tolist(), coeffs.tolist(), -equity.slack(problem, n_g), 2**40)

    # --- building blocks -------------------------------------------------------------------
    def _new_vars(self, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
        first = self._n_vars
        variables = self._proto.variables
        for lo, hi in zip(lower.tolist(), upper.tolist(), strict=True):
            variables.add().domain.extend([lo, hi])
        self._n_vars += len(lower)
        return np.arange(first, self._n_vars, dtype=np.int64)

    def _linear(self, variables: list[int], coeffs: list[int], lo: int, hi: int) -> None:
        linear = self._proto.constraints.add().linear
        linear.vars.extend(variables)
        linear.coeffs.extend(coeffs)
        linear.domain.extend([lo, hi])

    def _penalty(self, w_balance: int, w_mix: int, w_churn: int) -> Linear:
        inst = self.inst
        parts_vars: list[np.ndarray] = []
        parts_coeffs: list[np.ndarray] = []
        constant = int(w_balance * np.sum(inst.current**2))
        self.load_units: dict[int, np.ndarray] = {}
        self.excess: list[tuple[int, np.ndarray]] = []
        if w_balance:
            # (c + load)^2 = c^2 + sum over k <= load of (2(c + k) - 1): unary load counters
            # with increasing costs, filled in order.
            for i, members in enumerate(self.mentor_pairs):
                most = min(int(inst.most[i]), len(members))
                if most == 0:
                    continue
                z = self._new_vars(np.zeros(most, np.int64), np.ones(most, np.int64))
                self.load_units[i] = z
                self._linear(
                    self.x[members].tolist() + z.tolist(), [1] * len(members) + [-1] * most, 0, 0
                )
                for a, b in zip(z[:-1].tolist(), z[1:].tolist(), strict=True):
                    self._linear([a, b], [1, -1], 0, 1)
                k = np.arange(1, most + 1)
                parts_vars.append(z)
                parts_coeffs.append(w_balance * (2 * (inst.current[i] + k) - 1))
        if w_mix:
            for codes in inst.groups.values():
                for members in self.mentor_pairs:
                    group = codes[self.mentee[members]]
                    known = group >= 0
                    values, counts = np.unique(group[known], return_counts=True)
                    for g in values[counts > 1].tolist():
                        same = members[known][group[known] == g]
                        e = self._new_vars(np.zeros(1, np.int64), np.array([len(same) - 1]))
                        self._linear(
                            self.x[same].tolist() + e.tolist(), [1] * len(same) + [-1], -(2**40), 1
                        )
                        self.excess.append((int(e[0]), same))
                        parts_vars.append(e)
                        parts_coeffs.append(np.array([w_mix]))
        if w_churn:
            n_previous = len(inst.problem.previous)
            constant += w_churn * n_previous
            prev = np.flatnonzero(inst.previous[self.candidates])
            parts_vars.append(self.x[prev])
            parts_coeffs.append(np.full(len(prev), -w_churn))
        if not parts_vars:
            return Linear(np.zeros(0, np.int64), np.zeros(0, np.int64), constant)
        return Linear(
            np.concatenate(parts_vars), np.concatenate(parts_coeffs).astype(np.int64), constant
        )

    def restrict(self, fixing: Fixing) -> None:
        """Add the reduced-cost fixings of a relaxation (see ``flow.Relaxation.near_optimal``)."""
        candidates, inst = self.candidates, self.inst
        for k in np.flatnonzero(fixing.forced[candidates]).tolist():
            self._linear([int(self.x[k])], [1], 1, 1)
        for j, members in enumerate(positions_by(self.mentee, inst.n_mentees)):
            if fixing.must_match[j] or fixing.never_match[j]:
                target = int(fixing.must_match[j])
                self._linear(self.x[members].tolist(), [1] * len(members), target, target)
        locked = inst.locked[candidates]
        for i, members in enumerate(self.mentor_pairs):
            new = self.x[members[~locked[members]]].tolist()
            lo, hi = int(fixing.lower[i]), int(fixing.capacity[i])
            if fixing.full[i]:
                lo = hi
            elif fixing.idle[i]:
                hi = lo
            if lo > 0 or hi < len(new):
                self._linear(new, [1] * len(new), lo, hi)

    def setup_work(self) -> float:
        """The work a CP-SAT call on this model is counted before its search."""
        return SETUP_WORK_PER_VARIABLE * self._n_vars

    # --- solutions -------------------------------------------------------------------------
    def complete(self, chosen: np.ndarray) -> np.ndarray:
        """All model variables for a choice of candidate positions (aux variables at their best)."""
        values = np.zeros(self._n_vars, dtype=np.int64)
        values[self.x[chosen]] = 1
        load = np.bincount(self.mentor[chosen], minlength=self.inst.n_mentors)
        for i, y in self.used.items():
            values[y] = int(load[i] > 0)
        for i, z in self.load_units.items():
            values[z[: load[i]]] = 1
        for e, same in self.excess:
            values[e] = max(0, int(values[self.x[same]].sum()) - 1)
        return values

    def chosen(self, values: np.ndarray) -> np.ndarray:
        return np.flatnonzero(values[self.x] > 0)

    def fix(self, level: str, value: int, maximize: bool) -> None:
        expr = self.levels[level]
        target = value - expr.constant
        lo, hi = (target, 2**62) if maximize else (-(2**62), target)
        self._linear(expr.vars.tolist(), expr.coeffs.tolist(), lo, hi)

    def optimise(
        self,
        level: str,
        maximize: bool,
        hint: np.ndarray,
        work_limit: float,
        wall_limit: float,
        seed: int,
        workers: int,
        known_bound: int | None = None,
    ) -> LevelSolve:
        """Optimise one level from a hint; stop early once ``known_bound`` (a bound proven
        elsewhere, e.g. by the flow relaxation) is reached.

        The search stops after ``work_limit`` units of CP-SAT's deterministic time, so the same
        model, hint and seed give the same answer on every run. ``wall_limit`` seconds (for the
        whole call: CP-SAT is given it less the ``overrun`` seen on this model so far) is only a
        safety net; when it ends the search first, ``wall_stopped`` says so."""
        expr = self.levels[level]
        objective = self._proto.objective
        objective.vars.clear()
        objective.coeffs.clear()
        sign = -1 if maximize else 1
        objective.vars.extend(expr.vars.tolist())
        objective.coeffs.extend((sign * expr.coeffs).tolist())
        objective.offset = float(sign * expr.constant)
        objective.scaling_factor = float(sign)
        hint_proto = self._proto.solution_hint
        hint_proto.vars.clear()
        hint_proto.values.clear()
        hint_proto.vars.extend(range(self._n_vars))
        hint_proto.values.extend(hint.tolist())

        parameters = cpsat.SatParameters()
        # Small models single-threaded, the equity limit's too: on the shape family's equity
        # rounds (LMC and mid size) one worker proves every level in 0.8-12 s where two
        # unsynchronised workers proved none in 20 s. Larger models use every worker,
        # interleaved in batches, so that the search is the same on every run.
        rate = 1.0
        if self._n_vars < 20_000 or workers == 1:
            parameters.num_workers = 1
        else:
            parameters.num_workers = workers
            parameters.interleave_search = True
            parameters.interleave_batch_size = INTERLEAVE_BATCH
            rate = INTERLEAVED_WORK_PER_DTIME * max(
                1.0, self._n_vars / INTERLEAVED_REFERENCE_VARIABLES
            )
        setup = self.setup_work()
        parameters.max_deterministic_time = max(MIN_WORK, (work_limit - setup) / rate)
        parameters.max_time_in_seconds = max(0.05, wall_limit - self.overrun)
        parameters.random_seed = seed
        # Cuts on the enforced band and excess constraints: without them the LP bound of the
        # penalty stays far below its optimum and proofs do not finish.
        parameters.linearization_level = 2
        callback = _StopAtBound(expr, known_bound, maximize) if known_bound is not None else None
        started = time.perf_counter()
        response = cpsat.solve(self._proto, parameters, callback)
        self.overrun = max(
            self.overrun, time.perf_counter() - started - parameters.max_time_in_seconds
        )
        status = response.status
        reached = callback is not None and callback.reached
        # Stopped by a limit, and not by the work limit: the wall clock's safety net fired.
        # Interleaved workers finish a batch before they look at the work limit, so a call
        # can pass it and still be stopped by the clock: reaching the wall limit counts too.
        wall_stopped = (
            status in (cpsat.FEASIBLE, cpsat.UNKNOWN)
            and not reached
            and (
                response.deterministic_time < parameters.max_deterministic_time
                or response.wall_time >= WALL_SHARE_STOPPED * parameters.max_time_in_seconds
            )
        )
        work = setup + rate * float(response.deterministic_time)
        if reached and status == cpsat.FEASIBLE:
            status = cpsat.OPTIMAL
        if status not in (cpsat.OPTIMAL, cpsat.FEASIBLE):
            return LevelSolve(status, None, None, None, work, wall_stopped)
        values = np.array(response.solution, dtype=np.int64)
        bound = round(response.best_objective_bound)
        return LevelSolve(status, expr.value(values), bound, values, work, wall_stopped)
