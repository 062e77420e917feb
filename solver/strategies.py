"""How a round is searched, once the flow relaxation is known (see ``solver.solve``).

Three strategies, tried in order:

1. the relaxation's optimal face (its bounds met exactly): levels 1-3 proven at once, the
   penalty by CP-SAT over the face's pairs;
2. mentors' minimums bite (the face holds no pair list inside every band): quality proven by a
   MIP over the pairs near the bound (``solver.mip_search``), or, when the candidates are not
   every allowed pair, by branching on which mentors are used; the penalty by the MIP (CP-SAT
   for larger sets) over the pairs that the reduced costs of the root and of the branching's
   frontier leave;
3. the counts of levels 1-2 themselves fall short, or the equity limit applies: every level by
   the MIP over every allowed pair (``solver.mip``), with CP-SAT level by level for what it
   leaves (and for rounds too large for it).

Each returns the pairs and the levels, a list of conflicts when the rules cannot all hold, or
None to hand over to the next.

How far each search goes is decided by a work budget (``solver.budget.Budget``) counted in
CP-SAT's deterministic time, never by the clock, so the same round, settings and seed give
the same pairs on every run even when the budget ends the search. The wall-clock deadline is
kept as a safety net; when it ends a search first, the budget remembers it and the result
says so. HiGHS has no deterministic time: its calls are limited by nodes and charged what
they did (``solver.mip_search.mip_work``), and only the safety net bounds their wall time.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from matcher import equity
from matcher.equity import shortfalls
from solver import cpsat
from solver.branch import branch_and_bound
from solver.budget import Budget, Outcome, Round
from solver.diagnose import explain_infeasible
from solver.equity_repair import repair
from solver.flow import relax, warm_start
from solver.instance import Instance
from solver.mip import keeps_rules
from solver.mip_rows import level_value
from solver.mip_search import levels_by_mip, penalty_by_mip, prove_quality
from solver.model import LevelSolve, MatchingModel
from solver.penalty import PenaltyAnswer, penalty_floor, penalty_within
from solver.result import LEVEL_MAXIMIZE, LEVEL_NAMES, Level

# Up to this many allowed pairs, every allowed pair is a variable and CP-SAT's proofs are global.
FULL_MODEL_PAIRS = 400_000
CANDIDATES_PER_MENTEE = 12
CANDIDATES_PER_MENTOR = 24
# Up to this many pairs, levels 1-4 of a round whose counts fall short of the relaxation's (or
# with the equity limit) go to the MIP: measured on sparse and equity rounds at regional size
# (19,085 pairs), HiGHS proves all four in 4-7 s where CP-SAT left three unproven at 60 s.
MIP_LEVEL_PAIRS = 100_000
# Branching on used mentors before the MIP: its first dive finds a pair list inside every band
# within a few dozen nodes (oversupply at mid size: 30-40 nodes, 0.4 units; the regional
# sample: proven in 14 nodes, 0.4 units), whose gap then keeps the MIP's set small. Longer
# branching only delays the MIP: with 10% of a 60 s budget (2.7 units) the oversupply rounds
# at mid and regional size took 11.9-37.0 s on 5 of 8 where 0.2% took 2.1-10.2 s.
BRANCHING_WORK = 0.5
BRANCHING_SHARE = 0.3
# With a MIP to follow, branching stops this many nodes after its first leaf: the leaf's gap is
# what the MIP needs, and the best-first nodes after it rarely close it (oversupply at mid
# size: a leaf of 19,517 at node 20 against a bound of 19,522, the same after 42 nodes; the
# MIP proves it in 0.1 s). On 24 oversupply, sparse and dense rounds at mid and regional size,
# twice each: 8.8-9.2 s at mid size against 10.1-10.9 s, regional size the same (29-31 s).
AFTER_LEAF = 4


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
    answer = penalty_within(
        inst, face, bounds, on_face[hint], r.budget, r.seed, r.workers, hold=False
    )
    if answer.chosen is None or answer.value is None:
        return None
    levels = [Level(name, bound, bound, True) for name, bound in bounds.items()]
    levels.append(Level("penalty", answer.value, answer.bound, answer.proven))
    say(f"level penalty: {answer.value} ({'proven' if answer.proven else f'bound {answer.bound}'})")
    return answer.chosen, levels, len(on_face)


def solve_by_branching(r: Round) -> Outcome | None:
    """The best quality under mentors' minimums, keeping the relaxation's levels 1-3: proven by a
    MIP over the pairs near the bound (``solver.mip_search``) when the candidates are every
    allowed pair, else by branching on which mentors are used (``solver.branch``). Then
    minimise the penalty over every pair list that reaches it: over the pairs that both the
    root's reduced costs and those of the branching's frontier leave (``Search.reaching``;
    sparse at regional size, seed 1: 1,603 pairs where the root alone leaves 17,550, and the
    penalty MIP took 0.15 s instead of 1.8 s). None when no pair list keeps the relaxation's
    levels 1-3 (or none was found in time)."""
    inst, relaxation, bounds, candidates, say = r.inst, r.relaxation, r.bounds, r.candidates, r.say
    sub = inst.restricted(candidates)
    root = relaxation if r.full else relax(sub)
    if any(
        getattr(root, name) != bounds[name]
        for name in ("priority_matched", "matched", "waiting_days")
    ):
        return None
    budget = r.budget
    # A MIP follows, and branching gets a short search; over the candidates, a longer one
    # when the MIP does not prove the quality.
    work = min(BRANCHING_SHARE * budget.left(), BRANCHING_WORK)
    # The safety net leaves the later searches some of the wall time too.
    search = branch_and_bound(
        sub,
        root,
        work,
        time.perf_counter() + 0.9 * budget.wall_left(),
        after_leaf=AFTER_LEAF,
        reaching=r.full,
    )
    budget.charge(search.work, search.wall_stopped)
    leaf = search.best
    if leaf is None and search.exhausted:
        say("no pair list keeps the bounds of levels 1-2 and waiting days")
        return None
    # Proven over all allowed pairs only when the search saw them all, or met the global bound.
    proven = leaf is not None and search.proven and (r.full or leaf.quality == bounds["quality"])
    found = None if leaf is None else (candidates[leaf.chosen], leaf.quality)
    upper = bounds["quality"]
    if leaf is not None:
        say(
            f"level quality: {leaf.quality} after {search.nodes} nodes ({'proven' if proven else f'bound {upper}'})"
        )
    if not proven:
        by_mip = prove_quality(inst, relaxation, bounds, found, budget, r.seed, say)
        if by_mip is not None:
            found, upper, proven = (by_mip.chosen, by_mip.quality), by_mip.bound, by_mip.proven
    if not proven and not r.full:
        longer = branch_and_bound(
            sub, root, 0.7 * budget.left(), time.perf_counter() + 0.9 * budget.wall_left()
        )
        budget.charge(longer.work, longer.wall_stopped)
        if longer.best is not None and (found is None or longer.best.quality > found[1]):
            leaf = longer.best
            found = (candidates[leaf.chosen], leaf.quality)
            proven = leaf.quality >= upper
            say(f"level quality: {leaf.quality} after {longer.nodes} nodes of the candidates")
    if found is None:
        say(f"no pair list inside every band found within the limit ({search.nodes} nodes)")
        return None
    hint, quality = found
    targets = {**bounds, "quality": quality}
    # Every pair list of this quality loses at most `gap` points against the relaxation, so the
    # reduced costs of the relaxation over all pairs confine them (see `near_optimal`).
    near = relaxation.near_optimal(bounds["quality"] - quality)
    by_mip_penalty = None
    if r.full:
        # The branching's open nodes and leaves bound their regions more tightly than the root
        # (their set holds for the best leaf's quality, so for this one too).
        within = near.allowed if search.reaching is None else near.allowed & search.reaching
        reaching = np.flatnonzero(within)
        say(
            f"pairs a pair list of quality {quality} may use: {len(reaching)} "
            f"(the relaxation's reduced costs alone leave {int(near.allowed.sum())})"
        )
        by_mip_penalty = penalty_by_mip(
            inst, reaching, targets, hint, budget, r.seed, near.must_match
        )
    if by_mip_penalty is not None:
        answer = by_mip_penalty
        searched = len(reaching)
    elif near.allowed.sum() <= FULL_MODEL_PAIRS:
        answer = penalty_within(
            inst, near, targets, hint, budget, r.seed, r.workers, hold=True, keeps_bands=True
        )
        searched = int(near.allowed.sum())
    elif leaf is not None and leaf.quality == quality:
        # Too many pairs for one model: the penalty is minimised over the leaf's own optima.
        answer = penalty_within(
            sub,
            leaf.near_optimal(0),
            targets,
            leaf.chosen,
            budget,
            r.seed,
            r.workers,
            hold=False,
            keeps_bands=True,
        )
        answer = replace(
            answer, chosen=None if answer.chosen is None else candidates[answer.chosen]
        )
        searched = int(leaf.near_optimal(0).allowed.sum())
    else:
        # Too many pairs, and the quality found by the MIP is not a leaf's: its pairs stand.
        value = level_value(inst, "penalty", hint)
        floor = min(value, penalty_floor(inst, bounds["matched"]))
        answer, searched = PenaltyAnswer(hint, value, floor, False), 0
    assert answer.chosen is not None and answer.value is not None
    levels = [
        Level(name, bounds[name], bounds[name], True)
        for name in ("priority_matched", "matched", "waiting_days")
    ]
    levels.append(Level("quality", quality, quality if proven else upper, proven))
    # The penalty is proven for the lexicographic optimum only once quality is; its bound holds
    # for every pair list of this quality or more, the optimum's among them.
    levels.append(Level("penalty", answer.value, answer.bound, answer.proven and proven))
    say(
        f"level penalty: {answer.value} over {searched} pairs ({'proven' if answer.proven else 'not proven'})"
    )
    model = MatchingModel(inst, answer.chosen)
    return (
        answer.chosen,
        _as_chosen(model, levels, model.complete(np.arange(len(answer.chosen)))),
        searched,
    )


# Building the CP-SAT model over the candidates, before any search: 1.6 s for 114,649 pairs
# (regional size with the equity limit) on these machines.
MODEL_SECONDS_PER_PAIR = 1.5e-5
# The share of the budget (work and wall time) the round without its equity limit may use
# before the MIP searches with it.
WITHOUT_EQUITY_SHARE = 0.3


def solve_without_equity_first(r: Round) -> Outcome | None:
    """Solve the round as if it had no equity limit (the face, then branching, then the MIP
    level by level when it takes the round); when every
    level of that answer is proven and its pairs keep the limit, no pair list that keeps the
    limit can do better, at any level. None otherwise (then the MIP searches with the limit).

    On the shape family the limit of 0.05 binds on 5 of 12 rounds at LMC and mid size and on
    none of the 4 at regional size, where the MIP with the limit took 38-70 s and the round
    without it 1.7-38 s."""
    problem = r.inst.problem
    rules = replace(problem.settings.rules, equity_max_gap=1.0)
    free = replace(problem, settings=replace(problem.settings, rules=rules))
    parent = r.budget
    budget = Budget(
        WITHOUT_EQUITY_SHARE * parent.left(),
        time.perf_counter() + WITHOUT_EQUITY_SHARE * parent.wall_left(),
    )
    relaxed = replace(r, inst=replace(r.inst, problem=free), budget=budget)
    outcome = solve_on_face(relaxed) or solve_by_branching(relaxed)
    if outcome is None and r.full and len(r.candidates) <= MIP_LEVEL_PAIRS:
        # Counts short of the flow's: the MIP's levels, without the limit's rows (the regional
        # equity round of seed 4: 4.7 s, where the MIP with them took 10.7 s to the same pairs).
        outcome = solve_by_levels(relaxed)
    parent.charge(budget.spent, budget.wall_stopped)
    if outcome is None or isinstance(outcome, list):
        return None
    chosen, levels, _ = outcome
    matched = {problem.mentees[j].mentee_id for j in r.inst.pairs.mentee[chosen]}
    # Levels 1-4 proven without the limit are the best with it too; the penalty's bound, over
    # more pair lists, holds as well. A penalty left unproven stands: a search with the limit
    # from the start would first have to find levels 1-4 again (the regional equity round
    # at 1 unit of work ended one fellow short that way).
    if all(level.proven for level in levels[:4]) and not shortfalls(problem, matched):
        r.say("the best pair list without the equity limit keeps it")
        return outcome
    r.say("the best pair list without the equity limit does not keep it (or is not proven)")
    return None


def solve_by_levels(r: Round) -> Outcome:
    """Optimise the levels one by one over the candidate pairs: levels 1-4 with a MIP
    (``solver.mip``) when the candidates are every allowed pair and not too many, the penalty
    (and any level the MIP left) with CP-SAT."""
    inst, relaxation, bounds, candidates, say = r.inst, r.relaxation, r.bounds, r.candidates, r.say
    # Positions within the candidates; the relaxation's pairs are always among them.
    position = warm_start(
        inst.restricted(candidates), np.searchsorted(candidates, relaxation.chosen)
    )
    if equity.active(inst.problem):
        start = repair(inst, candidates[position], candidates)
        position = np.searchsorted(candidates, start)
    levels: list[Level] = []
    budget = r.budget
    no_time = budget.wall_left() < MODEL_SECONDS_PER_PAIR * len(candidates)
    if (budget.left() <= 0 or no_time) and keeps_rules(inst, candidates[position]):
        # Nothing left to search with, and the start keeps every rule: it stands, unsearched,
        # rather than a model over every candidate built past the limit.
        budget.charge(0.0, budget.left() > 0)
        say("no time left to search: the start stands")
        return candidates[position], unsearched(inst, candidates[position], bounds), len(candidates)
    chosen_by_mip = None
    if r.full and len(candidates) <= MIP_LEVEL_PAIRS:
        by_mip = levels_by_mip(inst, bounds, candidates[position], budget, r.seed, say)
        if isinstance(by_mip, list):
            return by_mip
        if by_mip is not None:
            chosen_by_mip, levels = by_mip
            if len(levels) == len(LEVEL_NAMES):
                return chosen_by_mip, levels, len(candidates)
    model = MatchingModel(inst, candidates)
    say(f"model: {len(candidates)} candidate pairs of {len(inst.pairs)} allowed")
    values = model.complete(position)
    feasible_start = keeps_rules(inst, candidates[position])
    if chosen_by_mip is not None:
        # The MIP's levels stand (held at their values); CP-SAT searches the rest.
        values = model.complete(chosen_by_mip)
        feasible_start = True
        for level in levels:
            model.fix(level.name, level.value, LEVEL_MAXIMIZE[level.name])
    earlier_proven = all(level.proven for level in levels)
    # The relaxation bounds a level only while every earlier level keeps the relaxation's
    # value: with fewer waiting days, say, more quality may be possible (the equity limit at
    # LMC size, seed 1: waiting days proven at 47,363 against the relaxation's 47,423, whose
    # quality of 3,637 was then passed by 3,650).
    on_relaxation = all(bounds.get(level.name) == level.value for level in levels)
    for name in LEVEL_NAMES[len(levels) :]:
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
                    bound = None if name == "penalty" else value
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
        if name == "penalty" and not proven:
            # CP-SAT's own bound may be far below (0 when it had no time): the floor holds too.
            floor = min(value, penalty_floor(inst, levels[1].value))
            bound = floor if bound is None else max(bound, floor)
        if bound is None:
            bound = value
        levels.append(Level(name, value, int(bound), proven))
        earlier_proven = earlier_proven and proven
        on_relaxation = on_relaxation and bounds.get(name) == value
        model.fix(name, value, maximize)
        say(f"level {name}: {value} ({levels[-1].proof})")
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


def unsearched(inst: Instance, chosen: np.ndarray, bounds: dict[str, int]) -> list[Level]:
    """The levels of a pair list no search improved: the relaxation's bounds while every
    earlier level meets its own, then the value itself (the penalty: its floor)."""
    levels: list[Level] = []
    on_bounds = True
    for name in LEVEL_NAMES:
        value = level_value(inst, name, chosen)
        bound = bounds.get(name) if on_bounds else None
        if name == "penalty":
            bound = min(value, penalty_floor(inst, levels[1].value))
        proven = bound == value and all(level.proven for level in levels)
        levels.append(Level(name, value, value if bound is None else int(bound), proven))
        on_bounds = on_bounds and bound == value
    return levels


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
