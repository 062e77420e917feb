"""Recruitment planning: the fewest new mentors with whom every target mentee can be matched.

**Profiles.** A new mentor is a *profile*: what the hard rules and the pair score read of a
mentor, and nothing of who they are. Always its focus areas, weekly slots, modes and personal
capacity band (capacity_max, capacity_min); its PCN where the scheme forbids same-PCN pairs or
the profile meets face to face (then the PCN names its area); its place, to two decimals of a
degree (about a kilometre: an area, not an address), where it meets face to face; its gender
where some mentee's wish for a mentor's gender is strict (a hard rule), and then asked of a
new mentor only when one of the mentees they would take has such a wish. A current mentor's
practice is their own, not their kind, so a profile drawn from the register has none: the plan
names the practices each new mentor must not work in. A profiles file is taken as written,
practice included (the scheme asks for someone from that practice). Identical profiles are one.

**Target.** ``fellows`` (the fellow cohort), ``priority`` (the settings' priority cohorts, as
the solver's first level) or ``all``. A target mentee whom no current mentor and no profile
may take (the first hard rule that removes each is counted), or only mentors and profiles who
could never reach their minimum of mentees, is *unreachable*: reported with the reason, and the
plan is for the others.

**Copies.** A profile may be recruited several times: at most floor(A / lo) copies, A the
mentees the rules allow it and lo its minimum, as each copy needs lo of its own. Without the
equity limit also at most the target mentees it may take: a plan with a copy that takes no
target mentee stays a plan without it. Neither bound cuts off a fewest plan.

**Steps** (``solver.recruit_steps``: min-cost flows, and the MIP of ``solver.recruit_model``
where they leave a gap), each within what is left of the time limit:

1. *before*: the most target mentees the current mentors can take at once; when that is all of
   them, no one is needed: zero, proven;
2. *fewest*: every reachable target mentee matched, the fewest new mentors. A relaxation bounds
   it from below; a plan that meets the bound is proven (``optimal``), else the MIP searches
   and either proves its answer or stops at the time limit with a plan and the best bound
   (``feasible``). Among equally few plans it looks first for new mentors whose focus areas
   fit their mentees' needs;
3. *pairs*: with those new mentors, the most mentees matched in all, then the best total pair
   score. The count does not hang on it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import Enum

import numpy as np

from matcher import equity
from matcher.data import Mentor, ProblemData
from matcher.rules import RULE_CODES, RULE_PHRASES
from matcher.scoring import pair_parts
from solver.budget import Progress
from solver.diagnose import count
from solver.instance import Instance, build_instance
from solver.recruit_model import StepStatus
from solver.recruit_steps import Count, before, best_pairs, fewest, prepare
from solver.result import Pair

TARGETS: tuple[str, ...] = ("fellows", "priority", "all")
FELLOW = "fellow"
# Degrees kept of a profile's place: two decimals, about a kilometre.
PLACE_DECIMALS = 2


class PlanStatus(Enum):
    OPTIMAL = "optimal"  # the number of new mentors is proven the fewest
    FEASIBLE = "feasible"  # a plan, with a bound on the fewest: the time limit ended the proof
    INFEASIBLE = "infeasible"  # no plan keeps every rule, whoever is recruited
    UNKNOWN = "unknown"  # the time limit came before any plan

    @property
    def advice(self) -> str:
        return {
            PlanStatus.OPTIMAL: "The number of new mentors is proven the fewest that meet the "
            "target.",
            PlanStatus.FEASIBLE: "The time limit ended the search: the plan meets the target, "
            "and no plan needs fewer new mentors than the bound. Allow more time "
            "(--time-limit) to close the gap.",
            PlanStatus.INFEASIBLE: "No plan keeps every rule, whoever is recruited: see the "
            "conflicts, and run `matcher validate` on the files.",
            PlanStatus.UNKNOWN: "The time limit came before any plan was found: allow more "
            "time (--time-limit).",
        }[self]


@dataclass(frozen=True)
class Profile:
    """A kind of mentor to recruit: ``mentor`` holds what the rules read (its id names the
    profile); ``origins`` are the ids of the rows it was drawn from."""

    mentor: Mentor
    origins: tuple[str, ...]


@dataclass(frozen=True)
class NewMentor:
    """A suggested mentor: a mentor row to fill in with a real person, and their mentees."""

    mentor: Mentor
    profile: Profile
    mentees: tuple[str, ...]


@dataclass(frozen=True)
class Unreachable:
    mentee_id: str
    cohort: str
    reason: str


@dataclass(frozen=True)
class RecruitPlan:
    status: PlanStatus
    target: str
    targets: int  # target mentees in the round
    unreachable: tuple[Unreachable, ...]
    before: int | None  # reachable target mentees the current mentors can take at once
    before_bound: int | None  # the most they could take (= before when proven)
    recruits: tuple[NewMentor, ...]
    bound: int | None  # no plan needs fewer new mentors than this
    pairs: tuple[Pair, ...]  # the plan's pairs, current and new mentors
    pairs_proven: bool  # step 3 proven: with these new mentors, no pair list matches better
    profiles: tuple[Profile, ...]
    seconds: float
    timings: dict[str, float]
    conflicts: tuple[str, ...] = ()

    @property
    def reachable(self) -> int:
        return self.targets - len(self.unreachable)

    @property
    def after(self) -> int | None:
        """Target mentees matched with the plan's new mentors (None without a plan)."""
        return self.reachable if self.status in (PlanStatus.OPTIMAL, PlanStatus.FEASIBLE) else None


def target_mask(problem: ProblemData, target: str) -> np.ndarray:
    """Bool per mentee: in the ``target`` (one of ``TARGETS``)."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r} (expected one of {', '.join(TARGETS)})")
    mentees = problem.mentees
    if target == "fellows":
        return np.array([m.cohort == FELLOW for m in mentees], dtype=bool)
    if target == "priority":
        return np.array([problem.is_priority(m) for m in mentees], dtype=bool)
    return np.ones(len(mentees), dtype=bool)


def profiles_of(
    mentors: Iterable[Mentor], problem: ProblemData, *, from_register: bool
) -> tuple[Profile, ...]:
    """The distinct profiles of ``mentors``: the active ones of the register
    (``from_register``), or every row of a profiles file. Ids are given by ``plan_recruitment``."""
    rules = problem.settings.rules
    strict_gender = any(m.mentor_gender_strict and m.mentor_gender for m in problem.mentees)
    found: dict[tuple, tuple[Mentor, list[str]]] = {}
    for mentor in mentors:
        if from_register and not mentor.is_active:
            continue
        kind = _kind(mentor, rules.forbid_same_pcn, strict_gender, keep_practice=not from_register)
        key = (frozenset(kind.focus_areas), *(getattr(kind, f) for f in _KEY_FIELDS))
        found.setdefault(key, (kind, []))[1].append(mentor.mentor_id)
    return tuple(Profile(kind, tuple(origins)) for kind, origins in found.values())


_KEY_FIELDS = (
    "availability",
    "modes",
    "capacity_max",
    "capacity_min",
    "pcn",
    "practice_code",
    "latitude",
    "longitude",
    "postcode",
    "gender",
)


def _kind(mentor: Mentor, same_pcn: bool, gender: bool, keep_practice: bool) -> Mentor:
    face_to_face = "face_to_face" in mentor.modes
    placed = face_to_face and mentor.latitude is not None and mentor.longitude is not None
    return Mentor(
        mentor_id=mentor.mentor_id,
        name="",
        practice_code=mentor.practice_code if keep_practice else None,
        pcn=mentor.pcn if same_pcn or face_to_face else None,
        capacity_max=mentor.capacity_max,
        capacity_min=mentor.capacity_min,
        focus_areas=mentor.focus_areas,
        availability=mentor.availability,
        modes=mentor.modes,
        latitude=round(mentor.latitude, PLACE_DECIMALS) if placed else None,  # type: ignore[arg-type]
        longitude=round(mentor.longitude, PLACE_DECIMALS) if placed else None,  # type: ignore[arg-type]
        # A postcode the scheme's lookup did not place is kept, so the rules refuse it alike.
        postcode=mentor.postcode if face_to_face and not placed else None,
        gender=mentor.gender if gender else None,
        source=mentor.source,
    )


def fresh_ids(prefix: str, n: int, taken: set[str]) -> list[str]:
    """``n`` ids PREFIX-01, PREFIX-02, ... (wider past 99), none in ``taken``: the prefix
    gains a number (NEW2-01) until none is."""
    width = max(2, len(str(n)))
    for attempt in range(1, len(taken) + 2):
        head = prefix if attempt == 1 else f"{prefix}{attempt}"
        ids = [f"{head}-{k:0{width}d}" for k in range(1, n + 1)]
        if not taken.intersection(ids):
            return ids
    raise AssertionError("unreachable: some prefix is always free")


def plan_recruitment(
    problem: ProblemData,
    profiles: tuple[Profile, ...],
    target: str,
    *,
    time_limit: float = 60.0,
    seed: int = 0,
    progress: Progress | None = None,
) -> RecruitPlan:
    """The fewest new mentors, each one of ``profiles``, that let every reachable ``target``
    mentee be matched under the round's rules, within ``time_limit`` seconds."""
    if time_limit <= 0:
        raise ValueError("time_limit must be positive")
    started = time.perf_counter()
    say = progress or (lambda message: None)
    ids = fresh_ids("PROFILE", len(profiles), {m.mentor_id for m in problem.mentors})
    profiles = tuple(
        replace(p, mentor=replace(p.mentor, mentor_id=i))
        for p, i in zip(profiles, ids, strict=True)
    )
    n_current = len(problem.mentors)
    extended = replace(problem, mentors=problem.mentors + tuple(p.mentor for p in profiles))
    inst = build_instance(replace(extended, files=()))
    wanted = target_mask(problem, target)
    r = prepare(inst, n_current, wanted, seed, started + time_limit)
    unreachable = tuple(
        Unreachable(
            problem.mentees[j].mentee_id,
            problem.mentees[j].cohort,
            _why(inst, n_current, r.usable, j),
        )
        for j in np.flatnonzero(wanted & ~r.goal).tolist()
    )
    r.timings["build"] = round(time.perf_counter() - started, 3)
    say(
        f"{count(int(wanted.sum()), 'target mentee')} ({len(unreachable)} unreachable), "
        f"{count(len(profiles), 'profile')}, {count(len(r.kept), 'pair')} allowed"
    )
    parts = _Parts(
        problem, inst, n_current, profiles, target, int(wanted.sum()), unreachable, started
    )
    now = before(r)
    say(f"reachable target mentees the current mentors can take: {_counted(now)}")
    if now.value == int(r.goal.sum()):
        chosen = now.chosen if now.chosen is not None else np.zeros(0, np.int64)
        pairs, pairs_proven = best_pairs(r, chosen, np.zeros(len(r.copies), np.int64))
        return parts.plan(PlanStatus.OPTIMAL, now, 0, pairs, None, pairs_proven, r.timings)
    least = fewest(r)
    if least.chosen is None or least.copies is None:
        status = PlanStatus(least.status.value)
        return parts.plan(status, now, least.bound, None, None, False, r.timings)
    status = PlanStatus.OPTIMAL if least.status is StepStatus.OPTIMAL else PlanStatus.FEASIBLE
    if not least.copies.any():  # step 2's plan shows what step 1 could not prove
        reached = int(r.goal.sum())
        now = replace(least, status=StepStatus.OPTIMAL, value=reached, bound=reached)
    say(f"new mentors needed: {_counted(least)}")
    pairs, pairs_proven = best_pairs(r, least.chosen, least.copies)
    return parts.plan(status, now, least.bound, pairs, least.copies, pairs_proven, r.timings)


def _counted(step: Count) -> str:
    if step.value is None:
        return f"none known ({step.status.value})"
    if step.status is StepStatus.OPTIMAL:
        return f"{step.value} (proven)"
    return f"{step.value} (bound {step.bound})"


def _why(inst: Instance, n_current: int, usable: np.ndarray, mentee: int) -> str:
    """Why no current mentor and no profile can take this mentee, rule by rule."""
    column = inst.pairs.blocked_by[:, mentee]
    parts = []
    for rows, noun in (
        (slice(0, n_current), "current mentor"),
        (slice(n_current, None), "profile"),
    ):
        blocked = column[rows]
        counts = np.bincount(blocked[blocked >= 0], minlength=len(RULE_CODES)).tolist()
        said = [f"{n} {RULE_PHRASES[c]}" for c, n in zip(RULE_CODES, counts, strict=True) if n]
        stuck = int(((blocked < 0) & ~usable[rows]).sum())
        if stuck:
            said.append(f"{stuck} who could never reach their minimum of mentees")
        parts.append(f"of {count(len(blocked), noun)}, " + ", ".join(said))
    return "no current mentor or candidate profile can take them: " + "; ".join(parts)


@dataclass(frozen=True)
class _Parts:
    """What every outcome of ``plan_recruitment`` shares, and how a solution becomes a plan."""

    problem: ProblemData
    inst: Instance
    n_current: int
    profiles: tuple[Profile, ...]
    target: str
    targets: int
    unreachable: tuple[Unreachable, ...]
    started: float  # a time.perf_counter() reading

    def plan(
        self,
        status: PlanStatus,
        now: Count,
        bound: int | None,
        chosen: np.ndarray | None,
        copies: np.ndarray | None,
        pairs_proven: bool,
        timings: dict[str, float],
    ) -> RecruitPlan:
        recruits: tuple[NewMentor, ...] = ()
        pairs: tuple[Pair, ...] = ()
        if chosen is not None:
            taken = np.zeros(len(self.profiles), np.int64) if copies is None else copies
            recruits, pairs = self._decode(chosen, taken)
        seconds = round(time.perf_counter() - self.started, 3)
        return RecruitPlan(
            status=status,
            target=self.target,
            targets=self.targets,
            unreachable=self.unreachable,
            before=now.value,
            before_bound=now.bound,
            recruits=recruits,
            bound=bound,
            pairs=pairs,
            pairs_proven=pairs_proven,
            profiles=self.profiles,
            seconds=seconds,
            timings={**timings, "total": seconds},
            conflicts=self._conflicts() if status is PlanStatus.INFEASIBLE else (),
        )

    def _decode(
        self, chosen: np.ndarray, copies: np.ndarray
    ) -> tuple[tuple[NewMentor, ...], tuple[Pair, ...]]:
        """Deal each profile's mentees to its copies in turn: sizes differ by one at most,
        so each copy stays within the band (``solver.recruit_model``)."""
        inst, n_current = self.inst, self.n_current
        mentees, mentors = self.problem.mentees, self.problem.mentors
        taken_ids = {m.mentor_id for m in mentors}
        ids = iter(fresh_ids("NEW", int(copies.sum()), taken_ids))
        row = inst.pairs.mentor[chosen]
        pairs = [
            Pair(mentors[i].mentor_id, mentees[j].mentee_id, int(s))
            for i, j, s in zip(
                row[row < n_current].tolist(),
                inst.pairs.mentee[chosen][row < n_current].tolist(),
                inst.score[chosen][row < n_current].tolist(),
                strict=True,
            )
        ]
        recruits = []
        for p, n in enumerate(copies.tolist()):
            own = chosen[row == n_current + p]
            for c in range(n):
                share = own[c::n]
                takes = [mentees[j] for j in inst.pairs.mentee[share].tolist()]
                names = tuple(m.mentee_id for m in takes)
                # A gender is asked of a new mentor only when one of their mentees requires it.
                wished = any(m.mentor_gender_strict and m.mentor_gender for m in takes)
                mentor = replace(
                    self.profiles[p].mentor,
                    mentor_id=next(ids),
                    gender=self.profiles[p].mentor.gender if wished else None,
                    source=None,
                )
                recruits.append(NewMentor(mentor, self.profiles[p], names))
                # Scored as the new mentor's row reads (its gender may differ from the profile's).
                scores = [sum(pair_parts(self.problem, mentor, m).values()) for m in takes]
                pairs += [Pair(mentor.mentor_id, m, s) for m, s in zip(names, scores, strict=True)]
        ordered = sorted(pairs, key=lambda q: (q.mentor_id, q.mentee_id))
        return tuple(recruits), tuple(ordered)

    def _conflicts(self) -> tuple[str, ...]:
        inst = self.inst
        allowed = np.bincount(inst.pairs.mentor, minlength=inst.n_mentors)
        stuck = [
            f"current mentor {self.problem.mentors[i].mentor_id} must be used (the scheme does "
            f"not allow unused mentors) but only {count(int(allowed[i]), 'mentee')} may be "
            f"paired with them, fewer than their minimum of {int(inst.least[i])}"
            for i in range(self.n_current)
            if inst.must_use[i] and allowed[i] < inst.least[i]
        ]
        rules = (
            "the capacity bands and the equity limit"
            if equity.active(self.problem)
            else ("the capacity bands")
        )
        return tuple(stuck) or (
            "even with every candidate profile recruited as often as it could be used, "
            f"{rules} cannot all hold",
        )
