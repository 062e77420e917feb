"""Explanations in layers: cheap checks before solving, clashes named with CP-SAT assumptions,
and a reason for every mentee left unmatched.

Every sentence is for the staff who run a round, in the pages' words: a lock is a *pinned
pair*, a rule is said by what it means for the two people ("they share no meeting mode"),
and counts agree with their nouns ("1 mentee has", "2 mentees have").
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from matcher.rules import RULE_CODES, RULE_PHRASES
from solver.instance import Instance, positions_by

# How the sentence for a pinned pair that breaks a hard rule begins (``pin_breaks_rule``).
PINNED_PAIR = "The pinned pair "

# Why a pinned pair breaks each hard rule of ``matcher.rules.RULES``, said of the two people.
PIN_REASONS: dict[str, str] = {
    "inactive": "the mentor is not active",
    "full": "the mentor already has as many mentees as they can take",
    "excluded": "they are excluded from being paired (e.g. supervisor or line manager)",
    "same_practice": "they work in the same practice",
    "same_pcn": "they work in the same PCN, which the scheme does not allow",
    "availability": "they share no weekly slot",
    "mode": "they share no meeting mode",
    "distance": "they meet only face to face and live further apart than the mentee travels",
    "gender": "the mentor is not of the gender the mentee requires",
}


def count(n: int, noun: str) -> str:
    """``count(1, "mentee")`` is "1 mentee", ``count(2, "mentee")`` "2 mentees"."""
    return f"{n} {noun if n == 1 else noun + 's'}"


def pin_breaks_rule(mentor_id: str, mentee_id: str, rule: str) -> str:
    """The sentence for a pinned pair that a hard rule forbids."""
    return f"{PINNED_PAIR}{mentor_id} and {mentee_id} cannot be kept: {PIN_REASONS[rule]}."


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
            f"{count(self.mentees, 'mentee')} ({self.priority_mentees} of them priority) for "
            f"{count(self.places, 'place')} with {count(self.active_mentors, 'active mentor')}; "
            f"{count(self.allowed_pairs, 'pair')} allowed.",
        ]
        if self.places < self.mentees:
            short = self.mentees - self.places
            lines.append(
                f"There are more mentees than places: at least {count(short, 'mentee')} "
                f"cannot be matched."
            )
        if self.without_mentor:
            n = len(self.without_mentor)
            lines.append(
                f"{count(n, 'mentee')} {'has' if n == 1 else 'have'} no allowed mentor at all."
            )
        lines += list(self.notes)
        return lines


def removed_phrase(inst: Instance, mentee: int) -> str:
    counts = inst.pairs.removed_counts(mentee)
    parts = [
        f"{n} {RULE_PHRASES[code]}"
        for code, n in sorted(counts.items(), key=lambda kv: RULE_CODES.index(kv[0]))
    ]
    return f"no allowed mentor: of {count(inst.n_mentors, 'mentor')}, " + ", ".join(parts)


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
                f"Mentor {mentor.mentor_id} already has {count(mentor.current_mentees, 'mentee')}, "
                f"more than the maximum of {hi}."
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
    """Pinned pairs (locks) that cannot hold: on a forbidden pair, a mentee pinned to two
    mentors, a mentor pinned to more mentees than they have room for."""
    problem = inst.problem
    mentor_index, mentee_index = problem.mentor_index, problem.mentee_index
    clashes = []
    by_mentee: dict[str, list[str]] = defaultdict(list)
    by_mentor: dict[str, list[str]] = defaultdict(list)
    for lock in dict.fromkeys((ref.mentor_id, ref.mentee_id) for ref in problem.locks):
        mentor_id, mentee_id = lock
        by_mentee[mentee_id].append(mentor_id)
        code = int(inst.pairs.blocked_by[mentor_index[mentor_id], mentee_index[mentee_id]])
        if code >= 0:
            clashes.append(pin_breaks_rule(mentor_id, mentee_id, RULE_CODES[code]))
        else:
            # Only pins the rules allow count against the room: the others are said above.
            by_mentor[mentor_id].append(mentee_id)
    for mentee_id, mentors in by_mentee.items():
        if len(mentors) > 1:
            clashes.append(
                f"Mentee {mentee_id} is pinned to {len(mentors)} mentors ({', '.join(mentors)}), "
                "but a mentee can have only one mentor."
            )
    for mentor_id, mentees in by_mentor.items():
        i = mentor_index[mentor_id]
        room = int(inst.most[i])
        if len(mentees) > room:
            current = problem.mentors[i].current_mentees
            most = problem.mentors[i].band(problem.settings)[1]
            if current:
                space = f"room for only {room} more" if room else "no room for more"
                why = f"they already have {count(current, 'mentee')} and the maximum is {most}"
            else:
                space, why = f"room for only {room}", f"the maximum is {most}"
            clashes.append(
                f"Mentor {mentor_id} has {count(len(mentees), 'pinned mentee')} but {space}: {why}."
            )
    return clashes


def explain_infeasible(inst: Instance, time_limit: float = 10.0) -> list[str]:
    """Name the pinned pairs and mentor minimums that cannot all hold, with CP-SAT assumptions.

    Within ``time_limit`` seconds; none named (an empty list) when that is not enough.
    """
    # cp_model's builder (and the pandas it loads) only for a round that needs explaining.
    from ortools.sat.python import cp_model

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
                "they have a pinned pair"
                if inst.locked[members].any()
                else "the scheme does not allow unused mentors"
            )
            allowed = len(members)
            reasons[a.index] = (
                f"mentor {mentor.mentor_id} must take at least "
                f"{count(int(inst.least[i]), 'new mentee')} ({why}), but "
                + (
                    "no mentee is allowed with them"
                    if allowed == 0
                    else f"only {count(allowed, 'mentee')} "
                    + ("is" if allowed == 1 else "are")
                    + " allowed with them"
                )
            )
            model.add_assumption(a)
    for k in np.flatnonzero(inst.locked).tolist():
        a = model.new_bool_var("")
        model.add(x[k] == 1).only_enforce_if(a)
        mentor_id = problem.mentors[pairs.mentor[k]].mentor_id
        reasons[a.index] = (
            f"the pinned pair {mentor_id} and {problem.mentees[pairs.mentee[k]].mentee_id}"
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
    named = [reasons[a] for a in solver.sufficient_assumptions_for_infeasibility() if a in reasons]
    if not named:
        return ["No pair list keeps every mentor inside the capacity band."]
    if len(named) == 1:
        (alone,) = named
        if alone.startswith("the pinned pair"):
            alone += " cannot be kept: no pair list with it keeps every mentor inside the band"
        return [alone[0].upper() + alone[1:] + "."]
    return ["These cannot all hold at once: " + "; ".join(named) + "."]


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
                f"{count(len(full), 'allowed mentor')} {'is' if len(full) == 1 else 'are'} full "
                f"with mentees of higher priority, longer wait or better fit ({names})"
            )
        if len(unused):
            parts.append(
                f"{count(len(unused), 'allowed mentor')} {'is' if len(unused) == 1 else 'are'} "
                "unused this round: too few mentees to reach their minimum"
            )
        others = len(members) - len(full) - len(unused)
        if others > 0:
            parts.append(
                f"{count(others, 'allowed mentor')} with room "
                f"{'was' if others == 1 else 'were'} not chosen before the time limit"
            )
        reasons[j] = "; ".join(parts)
    return reasons
