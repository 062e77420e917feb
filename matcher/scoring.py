"""Pair quality (objective level 3) as named, explainable parts.

Two implementations of the same definition: ``score_pairs`` works on all allowed pairs at once
for the solver; ``pair_parts`` scores one pair in plain Python and is what the objective is
recomputed from, so tests can check the solver against an independent calculation.

Parts (points are scheme settings, ``[weights]``):
- needs: each of the mentee's needs the mentor lists as a focus area, weighted by its position
  in the mentee's list;
- preference: the mentor's position in the mentee's ``preferred_mentors``;
- mutual: the mentor also chose the mentee (speed-meeting choices);
- gender / ethnicity / img: a soft wish of the mentee that the mentor meets;
- travel: minus points for a face-to-face-only pair, growing linearly with the distance up
  to the mentee's maximum.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from matcher.data import Mentee, Mentor, ProblemData
from matcher.geo import haversine_km
from matcher.rules import MODE_BITS, AllowedPairs, category_codes
from matcher.vocab import FACE_TO_FACE, VIRTUAL

PARTS: tuple[str, ...] = ("needs", "preference", "mutual", "gender", "ethnicity", "img", "travel")
# The parts as they may be shown to anyone (analysts too): the soft gender, ethnicity and IMG
# wishes are one ``diversity`` number, so a pair's parts never say which wish a mentor met.
DIVERSITY_PARTS: tuple[str, ...] = ("gender", "ethnicity", "img")
NEUTRAL_PARTS: tuple[str, ...] = ("needs", "preference", "mutual", "diversity", "travel")
# How a page names each neutral part (analysts read them too: no word of what a wish was about).
NEUTRAL_PART_WORDS: dict[str, str] = {
    "needs": "needs",
    "preference": "preference",
    "mutual": "mutual choice",
    "diversity": "wishes",
    "travel": "travel",
}


@dataclass(frozen=True)
class PairScores:
    """Score parts for each allowed pair, aligned with ``AllowedPairs``."""

    parts: dict[str, np.ndarray]

    @property
    def total(self) -> np.ndarray:
        return np.sum(np.stack([self.parts[p] for p in PARTS]), axis=0).astype(np.int64)


def _position_points(points: tuple[int, ...], position: int) -> int:
    return points[min(position, len(points) - 1)]


def _same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and a.strip().lower() == b.strip().lower()  # type: ignore[union-attr]


def _travel_points(problem: ProblemData, mentee: Mentee, distance_km: float) -> int:
    max_km = mentee.max_distance_km or problem.settings.rules.default_max_distance_km
    return -round(problem.settings.weights.travel * (min(distance_km, max_km) / max_km))


def pair_parts(problem: ProblemData, mentor: Mentor, mentee: Mentee) -> dict[str, int]:
    """Score parts of one pair, computed directly from the records."""
    w = problem.settings.weights
    focus = set(mentor.focus_areas)
    needs = sum(
        _position_points(w.needs, k) for k, need in enumerate(mentee.needs) if need in focus
    )
    preference = 0
    if mentor.mentor_id in mentee.preferred_mentors:
        preference = _position_points(
            w.preference, mentee.preferred_mentors.index(mentor.mentor_id)
        )
    mutual = w.mutual if preference and mentee.mentee_id in mentor.preferred_mentees else 0
    gender = w.gender if _same(mentee.mentor_gender, mentor.gender) else 0
    ethnicity = (
        w.ethnicity if mentee.same_ethnicity and _same(mentee.ethnicity, mentor.ethnicity) else 0
    )
    img = w.img if mentee.same_img and mentee.img is not None and mentee.img == mentor.img else 0
    travel = 0
    distance = pair_distance_km(mentor, mentee)
    if _only_face_to_face(mentor, mentee) and distance is not None:
        travel = _travel_points(problem, mentee, distance)
    return dict(
        zip(PARTS, (needs, preference, mutual, gender, ethnicity, img, travel), strict=True)
    )


def neutral_parts(parts: Mapping[str, int]) -> dict[str, int]:
    """``pair_parts`` keyed by ``NEUTRAL_PARTS``: the diversity wishes summed, the total kept."""
    diversity = sum(int(parts[p]) for p in DIVERSITY_PARTS)
    return {p: diversity if p == "diversity" else int(parts[p]) for p in NEUTRAL_PARTS}


def parts_line(parts: Mapping[str, int]) -> str:
    """The parts that scored, signed: "needs +6, preference +2, travel −1"; "no points"."""
    scored = [
        f"{NEUTRAL_PART_WORDS.get(part, part)} {points:+d}".replace("-", "−")
        for part, points in parts.items()
        if points
    ]
    return ", ".join(scored) or "no points"


def pair_distance_km(mentor: Mentor, mentee: Mentee) -> float | None:
    if None in (mentor.latitude, mentor.longitude, mentee.latitude, mentee.longitude):
        return None
    return float(
        haversine_km(
            np.float64(mentor.latitude),
            np.float64(mentor.longitude),
            np.float64(mentee.latitude),
            np.float64(mentee.longitude),
        )
    )


def shared_modes(mentor: Mentor, mentee: Mentee) -> set[str]:
    return set(mentor.modes or {VIRTUAL}) & set(mentee.modes or {VIRTUAL})


def _only_face_to_face(mentor: Mentor, mentee: Mentee) -> bool:
    return shared_modes(mentor, mentee) == {FACE_TO_FACE}


def score_pairs(problem: ProblemData, pairs: AllowedPairs) -> PairScores:
    """Score parts of every allowed pair at once."""
    w = problem.settings.weights
    mi, ej = pairs.mentor, pairs.mentee
    n_mentors, n_mentees = len(problem.mentors), len(problem.mentees)
    areas = {a: k for k, a in enumerate(sorted(problem.settings.focus_areas))}

    focus = np.zeros((n_mentors, len(areas)), dtype=np.int32)
    for i, mentor in enumerate(problem.mentors):
        focus[i, [areas[a] for a in mentor.focus_areas]] = 1
    need_points = np.zeros((n_mentees, len(areas)), dtype=np.int32)
    for j, mentee in enumerate(problem.mentees):
        for k, need in enumerate(mentee.needs):
            need_points[j, areas[need]] = _position_points(w.needs, k)
    needs = np.einsum("ka,ka->k", focus[mi], need_points[ej])

    mentor_index = problem.mentor_index
    preference_m = np.zeros((n_mentors, n_mentees), dtype=np.int32)
    chosen_by_mentor = np.zeros((n_mentors, n_mentees), dtype=bool)
    mentee_index = problem.mentee_index
    for j, mentee in enumerate(problem.mentees):
        for k, mentor_id in enumerate(mentee.preferred_mentors):
            preference_m[mentor_index[mentor_id], j] = _position_points(w.preference, k)
    for i, mentor in enumerate(problem.mentors):
        for mentee_id in mentor.preferred_mentees:
            if mentee_id in mentee_index:
                chosen_by_mentor[i, mentee_index[mentee_id]] = True
    preference = preference_m[mi, ej]
    mutual = np.where((preference > 0) & chosen_by_mentor[mi, ej], w.mutual, 0)

    genders: dict[str, int] = {}
    mentor_gender = category_codes([m.gender for m in problem.mentors], genders)[mi]
    wanted = category_codes([e.mentor_gender for e in problem.mentees], genders)[ej]
    gender = np.where((wanted >= 0) & (wanted == mentor_gender), w.gender, 0)

    ethnic: dict[str, int] = {}
    mentor_eth = category_codes([m.ethnicity for m in problem.mentors], ethnic)[mi]
    mentee_eth = category_codes([e.ethnicity for e in problem.mentees], ethnic)[ej]
    wants_eth = np.array([e.same_ethnicity for e in problem.mentees], dtype=bool)[ej]
    ethnicity = np.where(wants_eth & (mentee_eth >= 0) & (mentee_eth == mentor_eth), w.ethnicity, 0)

    def img_codes(people: tuple[Mentor, ...] | tuple[Mentee, ...]) -> np.ndarray:
        return np.array([-1 if p.img is None else int(p.img) for p in people])

    mentee_img = img_codes(problem.mentees)[ej]
    wants_img = np.array([e.same_img for e in problem.mentees], dtype=bool)[ej]
    img = np.where(
        wants_img & (mentee_img >= 0) & (mentee_img == img_codes(problem.mentors)[mi]), w.img, 0
    )

    max_km = np.array(
        [
            e.max_distance_km or problem.settings.rules.default_max_distance_km
            for e in problem.mentees
        ]
    )[ej]
    f2f_only = (pairs.shared_modes == MODE_BITS[FACE_TO_FACE]) & ~np.isnan(pairs.distance_km)
    ratio = np.minimum(np.nan_to_num(pairs.distance_km), max_km) / max_km
    # np.round rounds half to even like Python's round(), so both implementations agree.
    travel = np.where(f2f_only, -np.round(w.travel * ratio), 0)

    parts = dict(
        zip(PARTS, (needs, preference, mutual, gender, ethnicity, img, travel), strict=True)
    )
    return PairScores({k: np.asarray(v, dtype=np.int64) for k, v in parts.items()})
