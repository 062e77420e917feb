"""One entry point: ``solve(problem, ...) -> Result``.

1. Build the allowed pairs and their scores (vectorised).
2. Diagnose (reported through ``progress``); a lock clash ends here, INFEASIBLE, with the
   rules and people named.
3. Solve the flow relaxation over all allowed pairs: bounds for levels 1-3 and, through its
   reduced costs, which pairs any pair list near those bounds can use.
4. Search (``solver.strategies``): the relaxation's optimal face; else (mentors' minimums
   bite) a MIP for the quality over the pairs near the bound; else every level by the MIP,
   and CP-SAT level by level for what it leaves. Above ``FULL_MODEL_PAIRS`` allowed pairs the
   last two work on each mentee's and mentor's best pairs plus the relaxation's, by branching
   on used mentors and by CP-SAT.

On a re-run (previous pairs given) steps 3-4 work on scores that weigh each kept previous pair
above any quality (``solver.stability``): fewest changes come right after who is matched, and
the result reports them as a level of their own.

``time_limit`` bounds the whole call, from building the pairs to the returned ``Result``: the
search stops early enough to leave its last steps (see ``finish_reserve``) their time.

How far the search goes is decided by a work limit in deterministic units (CP-SAT's
deterministic time; see ``work_budget``), not by the clock, so the same problem, limit and
seed give the same pairs on every run even when the limit ends the search. The wall-clock
limit stays as a safety net; if it ends the search first, ``Result.wall_limit_fired`` says so.
"""

from __future__ import annotations

import os
import time

import numpy as np

from matcher import equity
from matcher.data import ProblemData
from solver.budget import Budget, Progress, Round
from solver.diagnose import diagnose, unmatched_reasons
from solver.flow import relax
from solver.instance import Instance, build_instance
from solver.result import WALL_LIMIT_MESSAGE, Result, Status
from solver.stability import stability
from solver.strategies import (
    FULL_MODEL_PAIRS,
    candidate_pairs,
    solve_by_branching,
    solve_by_levels,
    solve_on_face,
    solve_without_equity_first,
)


def solve(
    problem: ProblemData,
    *,
    time_limit: float = 30.0,
    seed: int = 0,
    num_workers: int | None = None,
    progress: Progress | None = None,
    full_model_pairs: int = FULL_MODEL_PAIRS,
    work_limit: float | None = None,
) -> Result:
    """Find the lexicographically best pair list that keeps every hard rule, within
    ``time_limit`` seconds of wall time for the whole call.

    The search itself stops after ``work_limit`` units of deterministic work, by default
    ``work_budget(time_limit, ...)``: what decides the answer, run after run. A caller whose
    ``time_limit`` is what is left of a longer one (the command, after reading the files)
    passes the work limit of the whole, so that reading time does not change the answer."""
    if time_limit <= 0:
        raise ValueError("time_limit must be positive")
    if work_limit is not None and work_limit <= 0:
        raise ValueError("work_limit must be positive")
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

    keep = stability(inst)
    if keep is not None and keep.weight == 0:
        say("the round is too large to weigh changes above quality: they only add to the penalty")
    # The search's view of the round: on a re-run its quality level counts kept pairs first.
    search = inst if keep is None else keep.instance(inst)
    relaxation = relax(search)
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

    full = len(inst.pairs) <= full_model_pairs
    round_ = Round(
        inst=search,
        relaxation=relaxation,
        bounds=bounds,
        candidates=np.arange(len(inst.pairs))
        if full
        else candidate_pairs(search, relaxation.chosen),
        full=full,
        budget=Budget(
            work=work_budget(time_limit, len(inst.pairs)) if work_limit is None else work_limit,
            deadline=started + time_limit - finish_reserve(len(inst.pairs), time_limit),
        ),
        seed=seed,
        workers=workers,
        say=say,
    )
    if equity.active(problem):
        # The flow knows nothing of the equity limit: first the round without it, whose best
        # pair list, when it keeps the limit, is the best of those that do.
        outcome = solve_without_equity_first(round_)
    else:
        outcome = solve_on_face(round_)
        if outcome is None:
            say(
                "the bounds cannot all be met with mentors' minimums: branching on which mentors are used"
            )
            outcome = solve_by_branching(round_)
    if outcome is None:
        say("searching level by level")
        outcome = solve_by_levels(round_)
    t = lap("search", t)
    if isinstance(outcome, list):
        if round_.budget.wall_stopped:
            say(WALL_LIMIT_MESSAGE)
        return _infeasible(inst, outcome, started, timings, round_.budget.wall_stopped)
    chosen, levels, n_candidates = outcome
    if keep is not None:
        levels = keep.levels(inst, chosen, levels)
        say(f"changes from the previous pairs: {keep.changes(chosen)} of {keep.n_previous}")
    status = Status.OPTIMAL if all(level.proven for level in levels) else Status.FEASIBLE
    wall_limit_fired = round_.budget.wall_stopped
    if wall_limit_fired:
        say(WALL_LIMIT_MESSAGE)
    say(f"work: {round_.budget.spent:.2f} of {round_.budget.work:.2f} units")
    return Result(
        status=status,
        pairs=inst.result_pairs(chosen),
        levels=tuple(levels),
        seconds=round(time.perf_counter() - started, 3),
        timings=timings,
        candidate_pairs=n_candidates,
        allowed_pairs=len(inst.pairs),
        unmatched={
            problem.mentees[j].mentee_id: why for j, why in unmatched_reasons(inst, chosen).items()
        },
        wall_limit_fired=wall_limit_fired,
    )


# Once the search's deadline passes, a search that ends by levels still builds its model over
# the candidate pairs and CP-SAT stops within a moment; then the pairs and the reasons for the
# unmatched are read out. Measured on the national sample (1.8 million allowed pairs, 2 cores):
# 1.0 to 1.5 s, about 1 s per million allowed pairs.
FINISH_SECONDS_PER_PAIR = 1e-6
FINISH_SECONDS_MIN = 0.05


def finish_reserve(allowed_pairs: int, time_limit: float) -> float:
    """Seconds the search leaves, before the time limit, for the steps that follow it; at most
    a quarter of the limit, so a short limit still leaves the search most of it."""
    reserve = FINISH_SECONDS_MIN + FINISH_SECONDS_PER_PAIR * allowed_pairs
    return min(reserve, 0.25 * time_limit)


# Units of deterministic work per second of the search's wall time. Measured on these machines
# (2 cores, shared) on the shape family: one CP-SAT worker did 0.66-0.73 units a second on the
# equity rounds at LMC and mid size, two interleaved workers 0.6-1.1; the branching's nodes are
# counted at about 0.6 units a second (``solver.branch.node_work``); the national sample's
# penalty search over 17,909 pairs did 0.42. At 0.45 units a second the national sample at a
# 30 s limit ends on its work about a second before its wall-clock deadline.
WORK_PER_SECOND = 0.45
# Before the search: the pairs, the checks and the flow relaxation; an estimate of 1 s per
# million allowed pairs, like ``FINISH_SECONDS_PER_PAIR`` after it.
START_SECONDS_PER_PAIR = 1e-6


def work_budget(time_limit: float, allowed_pairs: int) -> float:
    """The work a search of ``time_limit`` seconds is given: the seconds left after the steps
    before and after it, at ``WORK_PER_SECOND``. A function of the limit and the round alone,
    never of the clock, so every run of the same round and limit does the same work."""
    start = START_SECONDS_PER_PAIR * allowed_pairs
    seconds = time_limit - finish_reserve(allowed_pairs, time_limit) - start
    return WORK_PER_SECOND * max(0.1 * time_limit, seconds)


def _infeasible(
    inst: Instance,
    conflicts: list[str],
    started: float,
    timings: dict[str, float],
    wall_limit_fired: bool = False,
) -> Result:
    return Result(
        status=Status.INFEASIBLE,
        pairs=(),
        levels=(),
        seconds=round(time.perf_counter() - started, 3),
        timings=timings,
        conflicts=tuple(conflicts),
        allowed_pairs=len(inst.pairs),
        wall_limit_fired=wall_limit_fired,
    )
