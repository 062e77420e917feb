"""Explanations in layers: cheap checks before solving, clashes named with CP-SAT assumptions,
and a reason for every mentee left unmatched."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from matcher.rules import RULE_CODES, RULE_PHRASES
from solver.instance import Instance, positions_by


@dataclass(frozen=True)
class Diagnosis:
    """What can be told before solving."""

    mentees: int
    priority_mentees: int
    active_mentors: int
    places: int  # new places that active mentors can offer
    allowed_pairs: int
    without_mentor: tuple[tuple[str, str], ...]  # (mentee_id, why)
    clashes: tuple[str, ...]  # locks that break a rule or a capacity
    notes: tuple[str, ...]

    def summary(self) -> list[str]:
        lines = [
            f"{self.mentees} mentees ({self.priority_mentees} priority) for {self.places} places "
            f"with {self.active_mentors} active mentors; {self.allowed_pairs} allowed pairs.",
        ]
        if self.places < self.mentees:
            lines.append(
                f"Demand exceeds supply: at least {self.mentees - self.places} mentees cannot be matched."
            )
        if self.without_mentor:
            lines.append(f"{len(self.without_mentor)} mentees have no allowed mentor at all.")
        lines += list(self.notes)
        return lines


def removed_phrase(inst: Instance, mentee: int) -> str:
    counts = inst.pairs.removed_counts(mentee)
    parts = [
        f"{n} {RULE_PHRASES[code]}"
        for code, n in sorted(counts.items(), key=lambda kv: RULE_CODES.index(kv[0]))
    ]
    return f"no allowed mentor: of {inst.n_mentors} mentors, " + ", ".join(parts)


def diagnose(inst: Instance) -> Diagnosis:
    problem = inst.problem
    has_pair = np.zeros(inst.n_mentees, dtype=bool)
    has_pair[inst.pairs.mentee] = True
    active = np.array([m.is_active for m in problem.mentors], dtype=bool)
    without = tuple(
        (problem.mentees[j].mentee_id, removed_phrase(inst, j))
        for j in np.flatnonzero(~has_pair).tolist()
    )
    notes = []
    for mentor in problem.mentors:
        hi = mentor.band(problem.settings)[1]
        if mentor.current_mentees > hi:
            notes.append(
                f"Mentor {mentor.mentor_id} already has {mentor.current_mentees} mentees, above the maximum of {hi}."
            )
    return Diagnosis(
        mentees=inst.n_mentees,
        priority_mentees=int(inst.priority.sum()),
        active_mentors=int(active.sum()),
        places=int(inst.most[active].sum()),
        allowed_pairs=len(inst.pairs),
        without_mentor=without,
        clashes=tuple(lock_clashes(inst)),
        notes=tuple(notes),
    )


def lock_clashes(inst: Instance) -> list[str]:
    """Locks that cannot hold: on a forbidden pair, a mentee locked twice, a mentor over capacity."""
    problem = inst.problem
    mentor_index, mentee_index = problem.mentor_index, problem.mentee_index
    clashes = []
    by_mentee: dict[str, list[str]] = defaultdict(list)
    by_mentor: dict[str, list[str]] = defaultdict(list)
    for lock in dict.fromkeys((ref.mentor_id, ref.mentee_id) for ref in problem.locks):
        mentor_id, mentee_id = lock
        by_mentee[mentee_id].append(mentor_id)
        by_mentor[mentor_id].append(mentee_id)
        code = int(inst.pairs.blocked_by[mentor_index[mentor_id], mentee_index[mentee_id]])
        if code >= 0:
            rule = RULE_CODES[code]
            clashes.append(
                f"Lock {mentor_id}-{mentee_id} breaks the rule '{rule}': the mentor is {RULE_PHRASES[rule]}."
            )
    for mentee_id, mentors in by_mentee.items():
        if len(mentors) > 1:
            clashes.append(
                f"Mentee {mentee_id} is locked to {len(mentors)} mentors ({', '.join(mentors)}): a mentee gets at most one."
            )
    for mentor_id, mentees in by_mentor.items():
        i = mentor_index[mentor_id]
        if len(mentees) > inst.most[i]:
            mentor = problem.mentors[i]
            clashes.append(
                f"Mentor {mentor_id} is locked to {len(mentees)} mentees but has room for {int(inst.most[i])} more "
                f"(current {mentor.current_mentees}, maximum {mentor.band(problem.settings)[1]})."
            )
    return clashes


def explain_infeasible(inst: Instance, time_limit: float = 10.0) -> list[str]:
    """Name the locks and mentor minimums that cannot all hold, with CP-SAT assumptions."""
    model = cp_model.CpModel()
    pairs = inst.pairs
    x = [model.new_bool_var("") for _ in range(len(pairs))]
    for members in positions_by(pairs.mentee, inst.n_mentees):
        if len(members) > 1:
            model.add_at_most_one(x[k] for k in members)
    reasons: dict[int, str] = {}
    problem = inst.problem
    for i, members in enumerate(positions_by(pairs.mentor, inst.n_mentors)):
        load = sum(x[k] for k in members)
        model.add(load <= int(inst.most[i]))
        if inst.must_use[i] and inst.least[i] > 0:
            a = model.new_bool_var("")
            model.add(load >= int(inst.least[i])).only_enforce_if(a)
            mentor = problem.mentors[i]
            why = (
                "it has a lock"
                if inst.locked[members].any()
                else "the scheme does not allow unused mentors"
            )
            reasons[a.index] = (
                f"mentor {mentor.mentor_id} must take at least {int(inst.least[i])} new mentees ({why}) "
                f"but only {len(members)} are allowed for them"
            )
            model.add_assumption(a)
    for k in np.flatnonzero(inst.locked).tolist():
        a = model.new_bool_var("")
        model.add(x[k] == 1).only_enforce_if(a)
        reasons[a.index] = (
            f"lock {problem.mentors[pairs.mentor[k]].mentor_id}-{problem.mentees[pairs.mentee[k]].mentee_id}"
        )
        model.add_assumption(a)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = 1
    # Enforced linear constraints enter the LP only at level 2; without them a pigeonhole of
    # minimums is not proven in reasonable time.
    solver.parameters.linearization_level = 2
    if solver.solve(model) != cp_model.INFEASIBLE:
        return []
    core = solver.sufficient_assumptions_for_infeasibility()
    return [
        "These cannot all hold together: "
        + "; ".join(reasons[a] for a in core if a in reasons)
        + "."
    ]


def unmatched_reasons(inst: Instance, chosen: np.ndarray) -> dict[int, str]:
    """Why each unmatched mentee was left out, by mentee index."""
    problem = inst.problem
    pairs = inst.pairs
    load = np.bincount(pairs.mentor[chosen], minlength=inst.n_mentors)
    matched = np.zeros(inst.n_mentees, dtype=bool)
    matched[pairs.mentee[chosen]] = True
    reasons = {}
    for j, members in enumerate(positions_by(pairs.mentee, inst.n_mentees)):
        if matched[j]:
            continue
        if len(members) == 0:
            reasons[j] = removed_phrase(inst, j)
            continue
        mentors = pairs.mentor[members]
        full = mentors[load[mentors] >= inst.most[mentors]]
        unused = mentors[(load[mentors] == 0) & (inst.most[mentors] > 0)]
        parts = []
        if len(full):
            names = ", ".join(problem.mentors[i].mentor_id for i in full[:5]) + (
                ", ..." if len(full) > 5 else ""
            )
            parts.append(
                f"{len(full)} allowed mentor(s) full with mentees of higher priority, longer wait or better fit ({names})"
            )
        if len(unused):
            parts.append(
                f"{len(unused)} allowed mentor(s) unused this round: too few mentees to reach their minimum"
            )
        others = len(members) - len(full) - len(unused)
        if others > 0:
            parts.append(
                f"{others} allowed mentor(s) with room were not chosen before the time limit"
            )
        reasons[j] = "; ".join(parts)
    return reasons
