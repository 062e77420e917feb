"""A family of generated rounds shaped to stress the solver in different ways.

Each shape is a function ``(size, seed) -> ProblemData`` built on ``datasets.generator``: it
calls ``generate`` and, where the generator has no parameter for the shape, transforms the
generated round with ``dataclasses.replace`` (the records stay validated). The round's
settings travel in ``ProblemData.settings`` (a narrow band, the same-PCN rule, the equity
limit). Every random choice comes from the seed, so the same shape, size and seed always give
the same round.

A size names the mentors and mentees of an ordinary round; a shape that is about their ratio
(oversupply, heavy loads) keeps one of the two and sets the other, as its description says.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.random import Generator

from datasets.generator import SAMPLES, SLOT_WEIGHT, generate
from matcher.data import Mentee, Mentor, PairRef, ProblemData
from matcher.rules import ALLOWED, allowed_pairs
from matcher.settings import CapacitySettings, RuleSettings, Settings
from matcher.vocab import FACE_TO_FACE, SLOTS

# Places per mentee in the oversupply shape, and mentees per mentor there: 120 mentors with
# room for 600 places and 400 mentees at mid size.
OVERSUPPLY_RATIO = 1.5
OVERSUPPLY_MENTEES_PER_MENTOR = 10 / 3
UNDERSUPPLY_RATIO = 0.7
# Slots per person: sparse 1-2 (nobody "any time"), dense 12-21 of the week's 21.
SPARSE_SLOTS = (1, 2)
DENSE_SLOTS = (12, len(SLOTS))
NARROW_BAND = (4, 6)
LOCKED_SHARE = 0.15
# Heavy loads: twice the size's mentors, each carrying 2 to max-1 current mentees, then moved
# one by one (never below 1) until the places left cover the mentees 1.05 times.
HEAVY_MENTOR_FACTOR = 2
HEAVY_SUPPLY = 1.05
# Face-to-face-only areas: this share of the PCNs, everyone in them meeting in person only,
# mentees within 10-25 km.
F2F_PCN_SHARE = 0.4
F2F_MAX_KM = (10, 25)
EQUITY_GAP = 0.05


@dataclass(frozen=True)
class Size:
    name: str
    n_mentors: int
    n_mentees: int


SIZES: dict[str, Size] = {
    "lmc": Size("lmc", SAMPLES["lmc"].n_mentors, SAMPLES["lmc"].n_mentees),
    "mid": Size("mid", 120, 500),
    "regional": Size("regional", SAMPLES["regional"].n_mentors, SAMPLES["regional"].n_mentees),
}


@dataclass(frozen=True)
class Shape:
    name: str
    description: str
    build: Callable[[Size, int], ProblemData]

    def __call__(self, size: Size, seed: int) -> ProblemData:
        return self.build(size, seed)


def _rng(seed: int, shape: str) -> Generator:
    """The shape's own random stream, apart from the generator's (same seed, other draws)."""
    return np.random.default_rng([seed, sum(map(ord, shape)), 13])


def _slots(rng: Generator, k: int, among: frozenset[str]) -> frozenset[str]:
    """``k`` slots drawn by the generator's weekday-leaning weights, from ``among`` first."""
    names = [s for s in SLOTS if s in among] or list(SLOTS)
    if k > len(names):
        names = list(SLOTS)
    weights = np.array([SLOT_WEIGHT[s] for s in names])
    picks = rng.choice(len(names), size=k, replace=False, p=weights / weights.sum())
    return frozenset(names[int(i)] for i in picks)


def _with_availability(problem: ProblemData, rng: Generator, low: int, high: int) -> ProblemData:
    """Everyone given ``low``-``high`` slots, kept within their own slots where they have them."""

    def redraw(person: Mentor | Mentee) -> frozenset[str]:
        return _slots(rng, int(rng.integers(low, high + 1)), person.availability)

    return replace(
        problem,
        mentors=tuple(replace(m, availability=redraw(m)) for m in problem.mentors),
        mentees=tuple(replace(m, availability=redraw(m)) for m in problem.mentees),
    )


def oversupply(size: Size, seed: int) -> ProblemData:
    """More places than mentees (1.5 per mentee) and fewer mentees than usual per mentor
    (10/3): mentors' minimums bite."""
    n_mentees = round(size.n_mentors * OVERSUPPLY_MENTEES_PER_MENTOR)
    return generate(size.n_mentors, n_mentees, seed=seed, supply_ratio=OVERSUPPLY_RATIO)


def undersupply(size: Size, seed: int) -> ProblemData:
    """Places for 70% of the mentees: who is left out decides the round."""
    return generate(size.n_mentors, size.n_mentees, seed=seed, supply_ratio=UNDERSUPPLY_RATIO)


def sparse(size: Size, seed: int) -> ProblemData:
    """Everyone free in one or two weekly slots only: few allowed pairs per person."""
    problem = generate(size.n_mentors, size.n_mentees, seed=seed)
    return _with_availability(problem, _rng(seed, "sparse"), *SPARSE_SLOTS)


def dense(size: Size, seed: int) -> ProblemData:
    """Everyone free in 12 to 21 of the 21 weekly slots: nearly every pair allowed."""
    problem = generate(size.n_mentors, size.n_mentees, seed=seed)
    return _with_availability(problem, _rng(seed, "dense"), *DENSE_SLOTS)


def narrow_band_pcn(size: Size, seed: int) -> ProblemData:
    """Each mentor takes 4 to 6 mentees in all, and never one of their own PCN."""
    settings = Settings(
        capacity=CapacitySettings(min=NARROW_BAND[0], max=NARROW_BAND[1]),
        rules=RuleSettings(forbid_same_pcn=True),
    )
    return generate(size.n_mentors, size.n_mentees, seed=seed, settings=settings)


def many_locks(size: Size, seed: int) -> ProblemData:
    """15% of the mentees pinned by staff to a mentor the hard rules allow, never more pins
    on a mentor than their places."""
    problem = generate(size.n_mentors, size.n_mentees, seed=seed)
    rng = _rng(seed, "many_locks")
    allowed = allowed_pairs(problem).blocked_by == ALLOWED
    room = np.array([m.new_range(problem.settings)[1] for m in problem.mentors])
    locks = []
    for j in rng.permutation(len(problem.mentees))[: round(LOCKED_SHARE * len(problem.mentees))]:
        free = np.flatnonzero(allowed[:, j] & (room > 0))
        if free.size == 0:
            continue
        i = int(rng.choice(free))
        room[i] -= 1
        locks.append(
            PairRef(problem.mentors[i].mentor_id, problem.mentees[j].mentee_id, "pinned by staff")
        )
    locks.sort(key=lambda ref: (ref.mentor_id, ref.mentee_id))
    return replace(problem, locks=tuple(locks))


def heavy_loads(size: Size, seed: int) -> ProblemData:
    """Twice the mentors, each already carrying 1 to max-1 current mentees (about 4.5 on
    average), so the places left (1.05 per mentee) are spread thin over many mentors."""
    n_mentors = HEAVY_MENTOR_FACTOR * size.n_mentors
    # A generous supply keeps the generator from adding current mentees; they are set below.
    problem = generate(n_mentors, size.n_mentees, seed=seed, supply_ratio=3.0)
    rng = _rng(seed, "heavy_loads")
    settings = problem.settings
    active = np.array([m.is_active for m in problem.mentors])
    hi = np.array([m.band(settings)[1] for m in problem.mentors])
    current = np.where(active, rng.integers(2, np.maximum(hi, 3)), 0)
    current = np.minimum(current, hi - 1)
    # Places left, one mentee at a time on random mentors, brought to the target.
    gap = int((hi - current)[active].sum()) - round(HEAVY_SUPPLY * size.n_mentees)
    movable = np.where(active, (hi - 1 - current) if gap > 0 else (current - 1), 0)
    tokens = np.repeat(np.arange(len(current)), np.maximum(movable, 0))
    picks = rng.choice(tokens, size=min(abs(gap), tokens.size), replace=False)
    np.add.at(current, picks, 1 if gap > 0 else -1)
    mentors = tuple(
        replace(m, current_mentees=int(c)) for m, c in zip(problem.mentors, current, strict=True)
    )
    return replace(problem, mentors=mentors)


def f2f_heavy(size: Size, seed: int) -> ProblemData:
    """Two in five PCNs meet face to face only: everyone there, mentors and mentees, meets in
    person only, the mentees within 10-25 km."""
    problem = generate(size.n_mentors, size.n_mentees, seed=seed)
    rng = _rng(seed, "f2f_heavy")
    people: list[Mentor | Mentee] = [*problem.mentors, *problem.mentees]
    pcns = sorted({p.pcn for p in people if p.pcn})
    k = max(1, round(F2F_PCN_SHARE * len(pcns)))
    chosen = {pcns[int(i)] for i in rng.choice(len(pcns), size=k, replace=False)}
    only = frozenset({FACE_TO_FACE})
    mentors = tuple(replace(m, modes=only) if m.pcn in chosen else m for m in problem.mentors)
    mentees = tuple(
        replace(
            m, modes=only, max_distance_km=float(rng.integers(F2F_MAX_KM[0], F2F_MAX_KM[1] + 1))
        )
        if m.pcn in chosen
        else m
        for m in problem.mentees
    )
    return replace(problem, mentors=mentors, mentees=mentees)


def equity_limit(size: Size, seed: int) -> ProblemData:
    """Sparse availability (many left out) under the equity limit: no group's match rate more
    than 5 points behind the round's."""
    problem = sparse(size, seed)
    rules = replace(problem.settings.rules, equity_max_gap=EQUITY_GAP)
    return replace(problem, settings=replace(problem.settings, rules=rules))


SHAPES: dict[str, Shape] = {
    f.__name__: Shape(f.__name__, " ".join((f.__doc__ or "").split()), f)
    for f in (
        oversupply,
        undersupply,
        sparse,
        dense,
        narrow_band_pcn,
        many_locks,
        heavy_loads,
        f2f_heavy,
        equity_limit,
    )
}


def pick(names: Sequence[str], table: dict[str, Shape] | dict[str, Size], kind: str) -> list:
    """The entries of ``table`` named, in order; an unknown name is an error."""
    unknown = [n for n in names if n not in table]
    if unknown:
        raise ValueError(
            f"unknown {kind} {', '.join(map(repr, unknown))} (expected one of {', '.join(table)})"
        )
    return [table[n] for n in names]
