"""Independent verification of a pair list against SPEC section 4, in plain Python.

Written from the specification, not from ``matcher.rules`` or the solver, so that tests can
check one against the other: ``violations`` lists every hard rule a pair list breaks, one
sentence per breach naming the rule and the people; ``evaluate`` recomputes the levels of the
lexicographic objective from the records.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable

from matcher.data import Mentee, Mentor, ProblemData
from matcher.equity import shortfalls
from matcher.scoring import pair_parts

VIRTUAL, FACE_TO_FACE = "virtual", "face_to_face"
EARTH_RADIUS_KM = 6371.0088
GROUP_ATTRIBUTES: tuple[str, ...] = ("practice_code", "pcn", "cohort")


def _norm(value: str | None) -> str | None:
    """Case- and space-insensitive form of a free-text value; None when unknown."""
    if value is None or not value.strip():
        return None
    return value.strip().lower()


def _modes(person: Mentor | Mentee) -> set[str]:
    return set(person.modes) or {VIRTUAL}


def distance_km(mentor: Mentor, mentee: Mentee) -> float | None:
    """Great-circle distance, None when a coordinate is missing."""
    coords = (mentor.latitude, mentor.longitude, mentee.latitude, mentee.longitude)
    if any(c is None for c in coords):
        return None
    lat1, lon1, lat2, lon2 = (math.radians(float(c)) for c in coords)  # type: ignore[arg-type]
    a = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, max(0.0, a))))


def pair_breaks(problem: ProblemData, mentor: Mentor, mentee: Mentee) -> list[str]:
    """The hard rules (2-6) that pairing this mentor with this mentee breaks, as sentences.

    Rule 1 (one mentor each, capacity band) and locks concern the whole list: see
    ``violations``.
    """
    rules = problem.settings.rules
    pair = f"{mentor.mentor_id}-{mentee.mentee_id}"
    out = []
    if mentor.status != "active":
        out.append(
            f"rule 2 (active mentors only): pair {pair} uses mentor {mentor.mentor_id}, "
            f"who is {mentor.status}"
        )
    if any(
        (e.mentor_id, e.mentee_id) == (mentor.mentor_id, mentee.mentee_id)
        for e in problem.exclusions
    ):
        out.append(f"rule 2 (exclusions): pair {pair} is in the exclusions")
    if rules.forbid_same_practice:
        practice = _norm(mentor.practice_code)
        if practice is not None and practice == _norm(mentee.practice_code):
            out.append(
                f"rule 3 (conflict of interest): pair {pair} is in the same practice "
                f"({mentor.practice_code})"
            )
    if rules.forbid_same_pcn:
        pcn = _norm(mentor.pcn)
        if pcn is not None and pcn == _norm(mentee.pcn):
            out.append(
                f"rule 3 (conflict of interest): pair {pair} is in the same PCN ({mentor.pcn})"
            )
    if (
        mentor.availability
        and mentee.availability
        and not (mentor.availability & mentee.availability)
    ):
        out.append(f"rule 4 (availability): pair {pair} has no shared weekly slot")
    common = _modes(mentor) & _modes(mentee)
    if not common:
        out.append(f"rule 5 (mode): pair {pair} has no shared meeting mode")
    elif common == {FACE_TO_FACE}:
        km = distance_km(mentor, mentee)
        limit = mentee.max_distance_km
        if limit is None:
            limit = rules.default_max_distance_km
        if km is not None and km > limit:
            out.append(
                f"rule 5 (distance): face-to-face-only pair {pair} is {km:.1f} km apart, "
                f"more than {limit:g} km"
            )
    wanted = _norm(mentee.mentor_gender)
    if mentee.mentor_gender_strict and wanted is not None and _norm(mentor.gender) != wanted:
        out.append(
            f"rule 6 (strict gender): mentee {mentee.mentee_id} requires a "
            f"{mentee.mentor_gender} mentor, {mentor.mentor_id} is not"
        )
    return out


def pair_allowed(problem: ProblemData, mentor: Mentor, mentee: Mentee) -> bool:
    return not pair_breaks(problem, mentor, mentee)


def violations(problem: ProblemData, pairs: Iterable[tuple[str, str]]) -> list[str]:
    """One sentence per hard rule the pair list breaks; empty when it keeps them all."""
    pairs = list(pairs)
    mentors = {m.mentor_id: m for m in problem.mentors}
    mentees = {m.mentee_id: m for m in problem.mentees}
    settings = problem.settings
    out: list[str] = []

    for mentor_id, mentee_id in pairs:
        if mentor_id not in mentors:
            out.append(f"unknown mentor {mentor_id} in pair {mentor_id}-{mentee_id}")
        if mentee_id not in mentees:
            out.append(f"unknown mentee {mentee_id} in pair {mentor_id}-{mentee_id}")
    known = [(a, b) for a, b in pairs if a in mentors and b in mentees]

    mentors_of: dict[str, list[str]] = defaultdict(list)
    for mentor_id, mentee_id in known:
        mentors_of[mentee_id].append(mentor_id)
    for mentee_id, ids in mentors_of.items():
        if len(ids) > 1:
            out.append(
                f"rule 1 (one mentor each): mentee {mentee_id} is paired "
                f"{len(ids)} times ({', '.join(ids)})"
            )

    new = Counter(mentor_id for mentor_id, _ in known)
    allow_unused = settings.capacity.allow_unused_mentors
    for mentor in problem.mentors:
        lo, hi = mentor.band(settings)
        n_new = new.get(mentor.mentor_id, 0)
        total = mentor.current_mentees + n_new
        if n_new == 0:
            has_room = mentor.status == "active" and mentor.current_mentees < hi
            if allow_unused or not has_room or lo <= total <= hi:
                continue
            out.append(
                f"rule 1 (capacity band): mentor {mentor.mentor_id} is left with "
                f"{total} mentees, below the minimum of {lo}, and the scheme does not "
                f"allow unused mentors"
            )
        elif not lo <= total <= hi:
            out.append(
                f"rule 1 (capacity band): mentor {mentor.mentor_id} would have {total} "
                f"mentees ({mentor.current_mentees} current + {n_new} new), outside "
                f"the band {lo}-{hi}"
            )

    for mentor_id, mentee_id in known:
        out += pair_breaks(problem, mentors[mentor_id], mentees[mentee_id])

    chosen = set(known)
    for lock in problem.locks:
        if (lock.mentor_id, lock.mentee_id) not in chosen:
            out.append(
                f"rule 2 (locks): locked pair {lock.mentor_id}-{lock.mentee_id} is not paired"
            )
    out += [f"equity limit: {s}" for s in shortfalls(problem, {b for _, b in known})]
    return out


def waiting_days(problem: ProblemData) -> dict[str, int]:
    """Days each mentee has waited up to the latest join date of the round (0 when unknown)."""
    known = [m.waiting_since for m in problem.mentees if m.waiting_since is not None]
    if not known:
        return {m.mentee_id: 0 for m in problem.mentees}
    latest = max(known)
    return {
        m.mentee_id: 0 if m.waiting_since is None else (latest - m.waiting_since).days
        for m in problem.mentees
    }


def evaluate(problem: ProblemData, pairs: Iterable[tuple[str, str]]) -> dict[str, int]:
    """The levels of the objective (SPEC section 4) recomputed from the records; with previous
    pairs (a re-run) also ``changes``, the previous pairs not kept."""
    pairs = list(pairs)
    mentors = {m.mentor_id: m for m in problem.mentors}
    mentees = {m.mentee_id: m for m in problem.mentees}
    settings = problem.settings
    w = settings.weights
    matched = {mentee_id for _, mentee_id in pairs}
    waited = waiting_days(problem)
    priority = set(settings.rules.priority_cohorts)

    quality = sum(sum(pair_parts(problem, mentors[a], mentees[b]).values()) for a, b in pairs)

    new = Counter(mentor_id for mentor_id, _ in pairs)
    balance = sum((m.current_mentees + new.get(m.mentor_id, 0)) ** 2 for m in problem.mentors)
    groups: Counter[tuple[str, str, str]] = Counter()
    for mentor_id, mentee_id in pairs:
        for attr in GROUP_ATTRIBUTES:
            value = _norm(getattr(mentees[mentee_id], attr))
            if value is not None:
                groups[(mentor_id, attr, value)] += 1
    mix = sum(max(0, n - 1) for n in groups.values())
    chosen = set(pairs)
    churn = sum(1 for p in problem.previous if (p.mentor_id, p.mentee_id) not in chosen)

    levels = {
        "priority_matched": sum(1 for j in matched if mentees[j].cohort in priority),
        "matched": len(matched),
        "waiting_days": sum(waited[j] for j in matched),
        "quality": quality,
        "penalty": w.balance * balance + w.mix * mix + w.churn * churn,
    }
    if problem.previous:
        # A re-run's own level, between who is matched and quality: previous pairs not kept.
        levels["changes"] = churn
    return levels
