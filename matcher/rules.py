"""Hard rules (SPEC section 4): which mentor-mentee pairs are allowed at all.

Computed for every mentor x mentee at once with numpy. Each forbidden pair is attributed to
the first rule, in the order of ``RULES``, that forbids it, so a diagnosis can say how many
mentors each rule removed for a mentee. Locks are not applied here: a lock on a forbidden pair
is a clash reported by the diagnosis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matcher.data import Mentee, Mentor, ProblemData, person_problem
from matcher.errors import InputError
from matcher.geo import haversine_km
from matcher.vocab import FACE_TO_FACE, VIRTUAL, slot_mask

# (code, phrase used in explanations). A phrase describes the mentors the rule removes for a
# mentee, so that "4 mentors <phrase>" and "of 30 mentors, 4 <phrase>" read as plain English.
RULES: tuple[tuple[str, str], ...] = (
    ("inactive", "not active"),
    ("full", "already at capacity"),
    ("excluded", "excluded (e.g. supervisor or line manager)"),
    ("same_practice", "in the same practice"),
    ("same_pcn", "in the same PCN"),
    ("availability", "with no shared weekly slot"),
    ("mode", "with no shared meeting mode"),
    ("distance", "too far away to meet face to face"),
    ("gender", "not of the gender the mentee requires"),
)
RULE_CODES: tuple[str, ...] = tuple(code for code, _ in RULES)
RULE_PHRASES: dict[str, str] = dict(RULES)
ALLOWED = -1
MODE_BITS = {VIRTUAL: 1, FACE_TO_FACE: 2}


@dataclass(frozen=True)
class PersonArrays:
    """Per-person columns used by the vectorised rules and scores."""

    practice: np.ndarray  # int codes, -1 = unknown
    pcn: np.ndarray
    slots: np.ndarray  # int64 bit masks; empty availability = every slot
    modes: np.ndarray  # bit masks over MODE_BITS
    lat: np.ndarray  # NaN = unknown
    lon: np.ndarray


@dataclass(frozen=True)
class AllowedPairs:
    """The allowed pairs of a problem, as parallel arrays sorted by (mentor, mentee)."""

    mentor: np.ndarray  # int32 mentor index
    mentee: np.ndarray  # int32 mentee index
    shared_slots: np.ndarray  # int64 mask of common slots
    shared_modes: np.ndarray  # int8 mask of common modes
    distance_km: np.ndarray  # NaN when a coordinate is missing
    blocked_by: np.ndarray  # int8 (n_mentors, n_mentees): index into RULES, or ALLOWED

    def __len__(self) -> int:
        return len(self.mentor)

    def removed_counts(self, mentee: int) -> dict[str, int]:
        """How many mentors each rule removed for one mentee (first failing rule only)."""
        column = self.blocked_by[:, mentee]
        counts = np.bincount(column[column >= 0], minlength=len(RULES))
        return {code: int(n) for code, n in zip(RULE_CODES, counts, strict=True) if n}


def category_codes(values: list[str | None], table: dict[str, int] | None = None) -> np.ndarray:
    """Integer code per value, equal for values equal up to case and spaces; -1 when missing.

    Pass the same ``table`` to code two lists on one scale (e.g. mentors' and mentees' practices).
    """
    table = {} if table is None else table
    return np.array(
        [table.setdefault(v.strip().upper(), len(table)) if v else -1 for v in values],
        dtype=np.int64,
    )


def _mode_mask(modes: frozenset[str]) -> int:
    return sum(MODE_BITS[m] for m in modes) if modes else MODE_BITS[VIRTUAL]


def person_arrays(
    people: tuple[Mentor, ...] | tuple[Mentee, ...], practices: dict[str, int], pcns: dict[str, int]
) -> PersonArrays:
    def coord(value: float | None) -> float:
        return np.nan if value is None else value

    return PersonArrays(
        practice=category_codes([p.practice_code for p in people], practices),
        pcn=category_codes([p.pcn for p in people], pcns),
        slots=np.array([slot_mask(p.availability) for p in people], dtype=np.int64),
        modes=np.array([_mode_mask(p.modes) for p in people], dtype=np.int8),
        lat=np.array([coord(p.latitude) for p in people], dtype=np.float64),
        lon=np.array([coord(p.longitude) for p in people], dtype=np.float64),
    )


def _refuse_unplaced_postcodes(problem: ProblemData, needs_distance: np.ndarray) -> None:
    """A face-to-face-only pair that the other rules allow needs its distance (rule 5).

    A postcode becomes a place only through the scheme's lookup, never by a guess; a pair
    whose distance hangs on a postcode with no place stops the round, naming the people.
    """

    def unplaced(people: tuple[Mentor, ...] | tuple[Mentee, ...]) -> np.ndarray:
        return np.array([p.postcode is not None and p.latitude is None for p in people], bool)

    mentors, mentees = unplaced(problem.mentors), unplaced(problem.mentees)
    if not (mentors.any() or mentees.any()):
        return
    stuck = needs_distance & (mentors[:, None] | mentees[None, :])
    people: list[Mentor | Mentee] = [
        problem.mentors[i] for i in np.flatnonzero(stuck.any(axis=1) & mentors)
    ]
    people += [problem.mentees[j] for j in np.flatnonzero(stuck.any(axis=0) & mentees)]
    if people:
        raise InputError(
            person_problem(
                person.source,
                "postcode",
                person.postcode or "",
                "a face-to-face-only pair needs this distance, but no postcode lookup turns "
                "the postcode into a place: name a CSV of postcode, latitude, longitude (such "
                "as an ONS Postcode Directory extract) as postcode_lookup under [locations] "
                "in the settings (in the service: MATCHER_POSTCODE_LOOKUP), or give latitude "
                "and longitude",
            )
            for person in people
        )


def allowed_pairs(problem: ProblemData) -> AllowedPairs:
    """Apply every hard rule to every pair; return the allowed ones and why the others fail."""
    settings = problem.settings
    n_mentors, n_mentees = len(problem.mentors), len(problem.mentees)
    practices: dict[str, int] = {}
    pcns: dict[str, int] = {}
    mr = person_arrays(problem.mentors, practices, pcns)
    me = person_arrays(problem.mentees, practices, pcns)

    blocked = np.full((n_mentors, n_mentees), ALLOWED, dtype=np.int8)

    def block(rule: str, mask: np.ndarray) -> None:
        # Keep the first rule that fails: only overwrite pairs still allowed.
        code = RULE_CODES.index(rule)
        blocked[(blocked == ALLOWED) & mask] = code

    active = np.array([m.is_active for m in problem.mentors], dtype=bool)
    block("inactive", ~active[:, None] & np.ones((1, n_mentees), dtype=bool))
    room = np.array([m.new_range(settings)[1] > 0 for m in problem.mentors], dtype=bool)
    block("full", ~room[:, None] & np.ones((1, n_mentees), dtype=bool))

    excluded = np.zeros((n_mentors, n_mentees), dtype=bool)
    mentor_index, mentee_index = problem.mentor_index, problem.mentee_index
    for ref in problem.exclusions:
        excluded[mentor_index[ref.mentor_id], mentee_index[ref.mentee_id]] = True
    block("excluded", excluded)

    if settings.rules.forbid_same_practice:
        block(
            "same_practice",
            (mr.practice[:, None] == me.practice[None, :]) & (mr.practice[:, None] >= 0),
        )
    if settings.rules.forbid_same_pcn:
        block("same_pcn", (mr.pcn[:, None] == me.pcn[None, :]) & (mr.pcn[:, None] >= 0))

    shared_slots = mr.slots[:, None] & me.slots[None, :]
    block("availability", shared_slots == 0)
    shared_modes = mr.modes[:, None] & me.modes[None, :]
    block("mode", shared_modes == 0)

    distance = haversine_km(mr.lat[:, None], mr.lon[:, None], me.lat[None, :], me.lon[None, :])
    max_km = np.array(
        [
            settings.rules.default_max_distance_km
            if e.max_distance_km is None
            else e.max_distance_km
            for e in problem.mentees
        ]
    )
    f2f_only = shared_modes == MODE_BITS[FACE_TO_FACE]
    _refuse_unplaced_postcodes(problem, f2f_only & (blocked == ALLOWED))
    # Unknown distance (no location given at all) is not held against the pair, as empty
    # availability is not; a postcode given but not placed stops the round above.
    block("distance", f2f_only & (distance > max_km[None, :]))

    genders: dict[str, int] = {}
    mentor_gender = category_codes([m.gender for m in problem.mentors], genders)
    wanted = category_codes(
        [e.mentor_gender if e.mentor_gender_strict else None for e in problem.mentees], genders
    )
    strict = wanted >= 0
    if strict.any():
        block("gender", strict[None, :] & (mentor_gender[:, None] != wanted[None, :]))

    mentor, mentee = np.nonzero(blocked == ALLOWED)
    return AllowedPairs(
        mentor=mentor.astype(np.int32),
        mentee=mentee.astype(np.int32),
        shared_slots=shared_slots[mentor, mentee],
        shared_modes=shared_modes[mentor, mentee],
        distance_km=distance[mentor, mentee],
        blocked_by=blocked,
    )
