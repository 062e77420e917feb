"""One entry point: ``solve(problem, ...) -> Result``.

1. Build the allowed pairs and their scores (vectorised).
2. Diagnose (reported through ``progress``); a lock clash ends here, INFEASIBLE, with the
   rules and people named.
3. Solve the flow relaxation over all allowed pairs: bounds for levels 1-3.
4. Choose candidate pairs (all of them for small rounds; each mentee's best few, each
   mentor's best few and the relaxation's pairs for large ones), then a warm start that
   respects mentors' minimums where the flow can.
5. Optimise the levels in order with CP-SAT. A level whose warm-start value already meets the
   relaxation bound is proven without search and simply fixed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from ortools.sat.python import cp_model

from matcher.data import ProblemData
from solver.branch import branch_and_bound
from solver.diagnose import diagnose, explain_infeasible, unmatched_reasons
from solver.flow import Fixing, Relaxation, relax, warm_start
from solver.instance import Instance, build_instance
from solver.model import MatchingModel
from solver.result import LEVEL_MAXIMIZE, LEVEL_NAMES, Level, Pair, Result, Status

Progress = Callable[[str], None]

# Up to this many allowed pairs, every allowed pair is a variable and CP-SAT's proofs are global.
FULL_MODEL_PAIRS = 400_000
CANDIDATES_PER_MENTEE = 12
CANDIDATES_PER_MENTOR = 24


def solve(
    problem: ProblemData,
    *,
    time_limit: float = 30.0,
    seed: int = 0,
    num_workers: int | None = None,
    progress: Progress | None = None,
    full_model_pairs: int = FULL_MODEL_PAIRS,
) -> Result:
    """Find the lexicographically best pair list that keeps every hard rule."""
    if time_limit <= 0:
        raise ValueError("time_limit must be positive")
    started = time.perf_counter()
    say = progress or (lambda message: None)
    workers = num_workers or min(8, os.cpu_count() or 1)
    timings: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        timings[name] = round(now - since, 3)
        return now

    inst = build_instance(problem)
    t = lap("build", started)
    diagnosis = diagnose(inst)
    for line in diagnosis.summary():
        say(line)
    if diagnosis.clashes:
        return _infeasible(inst, list(diagnosis.clashes), started, timings)

    relaxation = relax(inst)
    t = lap("relaxation", t)
    bounds = {
        "priority_matched": relaxation.priority_matched,
        "matched": relaxation.matched,
        "waiting_days": relaxation.waiting_days,
        "quality": relaxation.quality,
    }
    say(
        f"bound: {relaxation.matched} of {inst.n_mentees} mentees can be matched ({relaxation.priority_matched} priority)"
    )

    deadline = started + time_limit
    outcome = _solve_on_face(inst, relaxation, bounds, deadline, seed, workers, say)
    full = len(inst.pairs) <= full_model_pairs
    candidates = np.arange(len(inst.pairs)) if full else _candidates(inst, relaxation.chosen)
    if outcome is None:
        say(
            "the bounds cannot all be met with mentors' minimums: branching on which mentors are used"
        )
        outcome = _solve_by_branching(
            inst, relaxation, bounds, candidates, full, deadline, seed, workers, say
        )
    if outcome is None:
        say(
            "no pair list keeps the bounds of levels 1-2 and waiting days: searching level by level"
        )
        outcome = _solve_by_levels(
            inst, relaxation, bounds, candidates, full, deadline, seed, workers, say
        )
    t = lap("search", t)
    if isinstance(outcome, list):
        return _infeasible(inst, outcome, started, timings)
    chosen, levels, n_candidates = outcome
    status = Status.OPTIMAL if all(level.proven for level in levels) else Status.FEASIBLE
    return Result(
        status=status,
        pairs=_pairs(inst, chosen),
        levels=tuple(levels),
        seconds=round(time.perf_counter() - started, 3),
        timings=timings,
        candidate_pairs=n_candidates,
        allowed_pairs=len(inst.pairs),
        unmatched={
            problem.mentees[j].mentee_id: why for j, why in unmatched_reasons(inst, chosen).items()
        },
    )


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
    deadline: float,
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
    result = model.optimise("penalty", False, start, deadline - time.perf_counter(), seed, workers)
    if result.values is None:
        if keeps_bands:
            # No time to improve: the hint itself is the answer, its penalty unproven.
            return PenaltyAnswer(hint, model.levels["penalty"].value(start), 0, False)
        return PenaltyAnswer(None, None, 0, False)
    for name, target in targets.items():
        if model.levels[name].value(result.values) != target:
            raise AssertionError(f"penalty search left the {name} level at another value")
    proven = result.status == cp_model.OPTIMAL
    value = int(result.value or 0)
    return PenaltyAnswer(
        candidates[model.chosen(result.values)],
        value,
        value if proven else int(result.bound or 0),
        proven,
    )


def _solve_on_face(
    inst: Instance,
    relaxation: Relaxation,
    bounds: dict[str, int],
    deadline: float,
    seed: int,
    workers: int,
    say: Progress,
) -> Outcome | None:
    """Meet every bound of levels 1-3 using only pairs of the relaxation's optimal face.

    Every pair list that meets the bounds lies on that face, so when this succeeds levels 1-3
    are proven optimal and the penalty level is optimised over all of their optima. None when
    the bounds cannot all be met (mentors' minimums bite) or no answer came in time.
    """
    face = relaxation.near_optimal(0)
    on_face = np.flatnonzero(face.allowed)
    say(f"optimal face of the relaxation: {len(on_face)} of {len(inst.pairs)} pairs")
    hint = warm_start(_restricted(inst, on_face), np.searchsorted(on_face, relaxation.chosen))
    answer = _penalty_within(inst, face, bounds, on_face[hint], deadline, seed, workers, hold=False)
    if answer.chosen is None or answer.value is None:
        return None
    levels = [Level(name, bound, bound, True) for name, bound in bounds.items()]
    levels.append(Level("penalty", answer.value, answer.bound, answer.proven))
    say(f"level penalty: {answer.value} ({'proven' if answer.proven else f'bound {answer.bound}'})")
    return answer.chosen, levels, len(on_face)


def _solve_by_branching(
    inst: Instance,
    relaxation: Relaxation,
    bounds: dict[str, int],
    candidates: np.ndarray,
    full: bool,
    deadline: float,
    seed: int,
    workers: int,
    say: Progress,
) -> Outcome | None:
    """Branch on which mentors are used (see ``solver.branch``) for the best quality, then
    minimise the penalty over every pair list that reaches it. None when no pair list keeps the
    relaxation's levels 1-2 and waiting days (or none was found in time)."""
    sub = _restricted(inst, candidates)
    root = relaxation if full else relax(sub)
    if any(
        getattr(root, name) != bounds[name]
        for name in ("priority_matched", "matched", "waiting_days")
    ):
        return None
    remaining = deadline - time.perf_counter()
    search = branch_and_bound(sub, root, time.perf_counter() + 0.7 * remaining)
    leaf = search.best
    if leaf is None:
        say(
            "no pair list keeps the bounds of levels 1-2 and waiting days"
            if search.exhausted
            else f"no pair list inside every band found by branching in time ({search.nodes} nodes)"
        )
        return None
    # Proven over all allowed pairs only when the search saw them all, or met the global bound.
    proven = search.proven and (full or leaf.quality == bounds["quality"])
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
            inst, near, targets, hint, deadline, seed, workers, hold=True, keeps_bands=True
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
            deadline,
            seed,
            workers,
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


def _solve_by_levels(
    inst: Instance,
    relaxation: Relaxation,
    bounds: dict[str, int],
    candidates: np.ndarray,
    full: bool,
    deadline: float,
    seed: int,
    workers: int,
    say: Progress,
) -> Outcome:
    """Optimise the levels one by one with CP-SAT over the candidate pairs."""
    # Positions within the candidates; the relaxation's pairs are always among them.
    position = warm_start(
        _restricted(inst, candidates), np.searchsorted(candidates, relaxation.chosen)
    )
    model = MatchingModel(inst, candidates)
    say(f"model: {len(candidates)} candidate pairs of {len(inst.pairs)} allowed")
    values = model.complete(position)
    feasible_start = _keeps_bands(inst, candidates[position])
    levels: list[Level] = []
    earlier_proven = True
    for name in LEVEL_NAMES:
        maximize = LEVEL_MAXIMIZE[name]
        value = model.levels[name].value(values)
        bound = bounds.get(name)
        if feasible_start and earlier_proven and bound is not None and value == bound:
            proven = True
        else:
            remaining = deadline - time.perf_counter()
            share = remaining if name == "penalty" else remaining * 0.6
            say(f"level {name}: searching (up to {share:.1f} s)")
            outcome = model.optimise(
                name, maximize, values, share, seed, workers, bound if earlier_proven else None
            )
            if outcome.values is None:
                if outcome.status == cp_model.INFEASIBLE or not feasible_start:
                    return explain_infeasible(inst) or [
                        "No pair list keeps every mentor inside the capacity band within the time limit."
                    ]
                proven = False
                bound = value if bound is None else bound
            else:
                values, value = outcome.values, int(outcome.value or 0)
                feasible_start = True
                solved_proof = outcome.status == cp_model.OPTIMAL and full and earlier_proven
                if bound is None or not earlier_proven:
                    bound = outcome.bound if full else None
                proven = solved_proof or (earlier_proven and bound is not None and value == bound)
                if proven:
                    bound = value
        if bound is None:
            bound = value
        levels.append(Level(name, value, int(bound), proven))
        earlier_proven = earlier_proven and proven
        model.fix(name, value, maximize)
        say(f"level {name}: {value} ({'proven' if proven else f'bound {bound}'})")
    return candidates[model.chosen(values)], levels, len(candidates)


def _pairs(inst: Instance, chosen: np.ndarray) -> tuple[Pair, ...]:
    problem = inst.problem
    out = []
    for k in chosen.tolist():
        mentor = problem.mentors[inst.pairs.mentor[k]]
        mentee = problem.mentees[inst.pairs.mentee[k]]
        out.append(Pair(mentor.mentor_id, mentee.mentee_id, int(inst.score[k])))
    return tuple(sorted(out, key=lambda p: (p.mentor_id, p.mentee_id)))


def _keeps_bands(inst: Instance, chosen: np.ndarray) -> bool:
    load = np.bincount(inst.pairs.mentor[chosen], minlength=inst.n_mentors)
    under = ((load > 0) | inst.must_use) & (load < inst.least)
    return not under.any() and not (load > inst.most).any()


def _candidates(inst: Instance, relaxed: np.ndarray) -> np.ndarray:
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


def _restricted(inst: Instance, candidates: np.ndarray) -> Instance:
    """The same instance with only the candidate pairs allowed (for the warm start)."""
    if len(candidates) == len(inst.pairs):
        return inst
    pairs = inst.pairs
    sub = replace(
        pairs,
        mentor=pairs.mentor[candidates],
        mentee=pairs.mentee[candidates],
        shared_slots=pairs.shared_slots[candidates],
        shared_modes=pairs.shared_modes[candidates],
        distance_km=pairs.distance_km[candidates],
    )
    return replace(
        inst,
        pairs=sub,
        score=inst.score[candidates],
        locked=inst.locked[candidates],
        previous=inst.previous[candidates],
    )


def _infeasible(
    inst: Instance, conflicts: list[str], started: float, timings: dict[str, float]
) -> Result:
    return Result(
        status=Status.INFEASIBLE,
        pairs=(),
        levels=(),
        seconds=round(time.perf_counter() - started, 3),
        timings=timings,
        conflicts=tuple(conflicts),
        allowed_pairs=len(inst.pairs),
    )
