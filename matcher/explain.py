"""Short human sentences for why a pair was proposed."""

from __future__ import annotations

from matcher.data import Mentee, Mentor, ProblemData
from matcher.scoring import pair_distance_km, pair_parts, shared_modes
from matcher.vocab import FACE_TO_FACE, SLOTS, VIRTUAL

MAX_SLOTS_SHOWN = 3


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def pair_reason(problem: ProblemData, mentor: Mentor, mentee: Mentee) -> str:
    """E.g. "shares needs: leadership, partnership; both free tue_pm; virtual"."""
    parts = pair_parts(problem, mentor, mentee)
    bits = []
    shared = [need for need in mentee.needs if need in mentor.focus_areas]
    bits.append("shares needs: " + ", ".join(shared) if shared else "no shared needs")

    if not mentor.availability and not mentee.availability:
        bits.append("both free any time")
    else:
        common = [
            s
            for s in SLOTS
            if (not mentor.availability or s in mentor.availability)
            and (not mentee.availability or s in mentee.availability)
        ]
        more = f" and {len(common) - MAX_SLOTS_SHOWN} more" if len(common) > MAX_SLOTS_SHOWN else ""
        bits.append("both free " + ", ".join(common[:MAX_SLOTS_SHOWN]) + more)

    modes = shared_modes(mentor, mentee)
    if modes == {VIRTUAL}:
        bits.append("virtual")
    else:
        distance = pair_distance_km(mentor, mentee)
        where = "distance unknown" if distance is None else f"{distance:.0f} km"
        bits.append(
            f"face to face ({where})"
            if modes == {FACE_TO_FACE}
            else f"virtual or face to face ({where})"
        )

    if parts["preference"]:
        rank = ordinal(mentee.preferred_mentors.index(mentor.mentor_id) + 1)
        if parts["mutual"]:
            bits.append(f"mutual {rank} choice at the speed-meeting")
        else:
            bits.append(f"mentee's {rank} choice")
    if parts["gender"]:
        bits.append("mentor gender as wished")
    if parts["ethnicity"]:
        bits.append("shared ethnicity as wished")
    if parts["img"]:
        bits.append("shared IMG background as wished")
    return "; ".join(bits)
