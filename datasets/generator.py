"""Realistic synthetic mentoring schemes, fully determined by a seed.

A region has a few towns; practices (ODS-like codes) sit around the towns and are grouped into
PCNs of 5-7 neighbouring practices. Mentors and mentees are clinicians of the same practices, so
same-practice conflicts of interest occur as they would in a real scheme. Needs follow the
mentee's cohort, availability leans to weekday sessions, and the spare capacity of the active
mentors is fitted to a chosen multiple of the number of mentees.

All randomness comes from one ``numpy.random.default_rng(seed)`` and dates are relative to a
fixed reference date, so the same arguments always give the same files.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from numpy.random import Generator

from matcher.data import Mentee, Mentor, PairRef, ProblemData
from matcher.settings import Settings
from matcher.vocab import COHORTS, FOCUS_AREAS, SLOTS
from matcher.writers import write_mentees, write_mentors, write_pairs

Array = np.ndarray

REFERENCE_DATE = date(2026, 9, 1)
SAMPLES_ROOT = Path(__file__).resolve().parent / "samples"


@dataclass(frozen=True)
class SampleSpec:
    """A shipped sample: its sizes and seed."""

    n_mentors: int
    n_mentees: int
    seed: int
    description: str


SAMPLES: dict[str, SampleSpec] = {
    "lmc": SampleSpec(30, 200, 1, "one LMC's quarterly round"),
    "regional": SampleSpec(150, 1000, 2, "a training hub covering several PCNs"),
    "national": SampleSpec(600, 4000, 3, "a national-scale register, for benchmarks"),
}

COHORT_MIX: dict[str, float] = dict(
    zip(COHORTS, (0.40, 0.15, 0.10, 0.08, 0.08, 0.08, 0.06, 0.05), strict=True)
)

# Needs a cohort typically brings (the guidance's reasons for each cohort being in the scheme).
COHORT_NEEDS: dict[str, tuple[str, ...]] = {
    "fellow": ("career_planning", "clinical_development", "wellbeing"),
    "mid_career": ("career_progression", "portfolio_career", "leadership", "medical_education"),
    "new_partner": ("partnership", "leadership"),
    "retention_scheme": ("wellbeing", "portfolio_career", "career_planning"),
    "locum_to_salaried": ("career_planning", "clinical_development", "quality_improvement"),
    "returner": ("returning_to_practice", "clinical_development", "wellbeing"),
    "international_induction": ("international_graduates", "clinical_development"),
    "other": (),
}

# How often mentors offer each focus area (relative, in FOCUS_AREAS order); IMG mentors offer
# support to international graduates four times as often.
MENTOR_FOCUS_WEIGHT: dict[str, float] = dict(
    zip(FOCUS_AREAS, (4, 5, 3, 3, 3, 3, 4, 2, 1.5, 4, 2, 1), strict=True)
)
MENTOR_FOCUS_WEIGHT_IMG = {**MENTOR_FOCUS_WEIGHT, "international_graduates": 6.0}
# Weekday sessions are the usual time for mentoring; evenings less so, weekends rarely.
SLOT_WEIGHT: dict[str, float] = {
    s: (1.0 if s[:3] in ("sat", "sun") else 6.0) * (0.5 if s.endswith("eve") else 1.0)
    for s in SLOTS
}

ETHNICITIES = (
    "White",
    "Asian or Asian British",
    "Black, Black British, Caribbean or African",
    "Mixed or multiple ethnic groups",
    "Other ethnic group",
)
# Rough GP workforce shares; the remainder is left blank (not stated).
ETHNICITY_P = (0.56, 0.27, 0.05, 0.03, 0.04)
ETHNICITY_P_IMG = (0.12, 0.50, 0.20, 0.03, 0.10)
COMPASS = ("East", "North", "West", "South")
EXCLUSION_REASONS = ("educational supervisor", "line manager", "appraiser", "family member")

# Fictional people: a first and a family name (after the "/") combined at random.
_NAMES = (
    "Aisha Alex Amara Amir Anna Ben Chidi Chloe Daniel Deepa Eleanor Emeka Farah Fiona George "
    "Hannah Imran Isla Jack James Kavita Kwame Laura Leila Liam Maya Mohammed Naomi Nia Oliver "
    "Omar Priya Rachel Ravi Rhys Ruth Sam Sana Sophie Tariq Tom Usha Yusuf Zara Zoe / Adeyemi "
    "Ahmed Ali Allen Baker Bennett Chen Clarke Das Davies Edwards Evans Fraser Green Gupta Hall "
    "Hughes Hussain Iqbal Jones Kaur Khan Lewis Mensah Moore Morgan Nair Okafor Owusu Patel Price "
    "Rahman Reid Roberts Shah Singh Taylor Thomas Turner Walker Ward Wilson Wright Young"
)
FIRST_NAMES, LAST_NAMES = (tuple(part.split()) for part in _NAMES.split("/"))


def generate(
    n_mentors: int,
    n_mentees: int,
    *,
    seed: int,
    settings: Settings | None = None,
    supply_ratio: float = 1.05,
    exclusion_rate: float = 0.01,
    preference_rate: float = 0.15,
    reference_date: date = REFERENCE_DATE,
) -> ProblemData:
    """A synthetic scheme of ``n_mentors`` mentors and ``n_mentees`` mentees.

    ``supply_ratio`` is the wanted spare capacity of the active mentors (their maximum minus
    current mentees) per mentee; it is met as closely as the scheme's maximum allows.
    ``exclusion_rate`` and ``preference_rate`` are the shares of mentees with an exclusion and
    with preferred mentors. Waiting dates fall within 18 months before ``reference_date``.
    """
    if n_mentors < 1 or n_mentees < 1:
        raise ValueError("n_mentors and n_mentees must each be at least 1")
    if supply_ratio <= 0:
        raise ValueError(f"supply_ratio must be positive, got {supply_ratio}")
    for name, rate in (("exclusion_rate", exclusion_rate), ("preference_rate", preference_rate)):
        if not 0 <= rate <= 1:
            raise ValueError(f"{name} must be between 0 and 1, got {rate}")
    settings = settings or Settings()
    rng = np.random.default_rng(seed)
    region = _Region(rng, n_mentors + n_mentees)
    mentors = _mentors(rng, region, n_mentors, settings, round(supply_ratio * n_mentees))
    mentees = _mentees(rng, region, n_mentees, mentors, preference_rate, reference_date)
    exclusions = _exclusions(rng, mentors, mentees, exclusion_rate)
    return ProblemData(tuple(mentors), tuple(mentees), exclusions=exclusions, settings=settings)


def write_dataset(problem: ProblemData, out_dir: str | Path) -> list[Path]:
    """Write mentors.csv, mentees.csv and exclusions.csv in the input format; return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "mentors.csv", out / "mentees.csv", out / "exclusions.csv"]
    write_mentors(paths[0], problem.mentors)
    write_mentees(paths[1], problem.mentees)
    write_pairs(paths[2], problem.exclusions, "exclusions")
    return paths


def sample_dir(name: str) -> Path:
    """Folder of a shipped sample (``datasets/samples/<name>/``)."""
    if name not in SAMPLES:
        raise ValueError(f"unknown sample {name!r} (expected one of {', '.join(SAMPLES)})")
    return SAMPLES_ROOT / name


class _Region:
    """Towns, practices and PCNs of one region, and where each practice is."""

    def __init__(self, rng: Generator, n_people: int) -> None:
        # About one practice per 8-10 clinicians who take part in the scheme.
        n_practices = max(1, round(n_people / 9))
        n_towns = int(np.clip(round(n_practices / 12), 3, 8))
        self.centre = (float(rng.uniform(51.3, 52.7)), float(rng.uniform(-1.8, -0.2)))
        angle = rng.uniform(0, 2 * np.pi, n_towns)
        radius = rng.uniform(0, 30, n_towns)
        towns = np.column_stack([radius * np.sin(angle), radius * np.cos(angle)])  # km east, north
        town_of = rng.choice(n_towns, size=n_practices, p=_normalise(rng.gamma(2.0, 1.0, n_towns)))
        km = towns[town_of] + rng.normal(0, 4, (n_practices, 2))
        # PCNs are neighbouring practices: order by town, then by bearing from the town centre.
        bearing = np.arctan2(*(km - towns[town_of]).T)
        order = np.lexsort((bearing, town_of))
        letter = str(rng.choice(list("ABCDEFGHJKLMNPY")))
        areas = rng.choice(np.arange(10, 100), size=n_towns, replace=False)
        seq = np.zeros(n_towns, dtype=int)
        self.codes = [""] * n_practices
        for p in order:
            t = int(town_of[p])
            seq[t] += 1
            self.codes[p] = f"{letter}{int(areas[t])}{int(seq[t]):03d}"  # unique, if long past 999
        self.pcns = [""] * n_practices
        per_direction: dict[str, int] = {}
        start = 0
        while start < n_practices:
            members = order[start : start + int(rng.integers(5, 8))]
            start += len(members)
            east, north = km[members].mean(axis=0)
            quarter = round(math.atan2(north, east) / (math.pi / 2)) % 4
            direction = "Central" if math.hypot(east, north) < 8 else COMPASS[quarter]
            per_direction[direction] = per_direction.get(direction, 0) + 1
            for p in members:
                self.pcns[p] = f"PCN-{direction}-{per_direction[direction]:02d}"
        self.km = km
        self.weight = _normalise(rng.gamma(2.0, 1.0, n_practices))  # practice sizes

    def place(self, rng: Generator, n: int) -> tuple[Array, list[list[float]]]:
        """Practices of ``n`` clinicians and where each one lives (a few km from the practice)."""
        practice = rng.choice(len(self.codes), size=n, p=self.weight)
        km = self.km[practice] + rng.normal(0, 2, (n, 2))
        lat0, lon0 = self.centre
        lat = lat0 + km[:, 1] / 111.0
        lon = lon0 + km[:, 0] / (111.0 * math.cos(math.radians(lat0)))
        return practice, np.round(np.column_stack([lat, lon]), 4).tolist()


def _mentors(
    rng: Generator, region: _Region, n: int, settings: Settings, target: int
) -> list[Mentor]:
    practice, coords = region.place(rng, n)
    gender, ethnicity, img = _demographics(rng, n, img_rate=0.15)
    scheme_min, scheme_max = settings.capacity.min, settings.capacity.max
    status = rng.choice(np.array(["active", "paused", "withdrawn"]), size=n, p=[0.9, 0.07, 0.03])
    # 0 stands for "no personal maximum"; a personal 6 only makes sense inside the scheme's band.
    cap = np.where((rng.random(n) < 0.2) & (scheme_min <= 6 < scheme_max), 6, 0)
    hi = np.where(cap > 0, cap, scheme_max)
    current = np.where((status == "active") & (rng.random(n) < 0.3), rng.integers(1, 5, n), 0)
    current = np.minimum(current, np.maximum(hi - 1, 0))
    _fit_supply(rng, status, cap, current, scheme_max, target)
    gmc = rng.choice(9_000_000, size=n, replace=False) + 1_000_000  # unique 7-digit numbers
    emails: dict[str, int] = {}
    mentors = []
    for i in range(n):
        first, last = str(rng.choice(FIRST_NAMES)), str(rng.choice(LAST_NAMES))
        local = f"{first}.{last}".lower()
        emails[local] = emails.get(local, 0) + 1
        weights = MENTOR_FOCUS_WEIGHT_IMG if img[i] else MENTOR_FOCUS_WEIGHT
        mentors.append(
            Mentor(
                mentor_id=f"MR{i + 1:04d}",
                name=f"Dr {first} {last}",
                email=f"{local}{emails[local] if emails[local] > 1 else ''}@nhs.example",
                gmc_number=str(int(gmc[i])),
                practice_code=region.codes[practice[i]],
                pcn=region.pcns[practice[i]],
                capacity_max=int(cap[i]) or None,
                current_mentees=int(current[i]),
                focus_areas=_weighted_sample(rng, weights, int(rng.integers(1, 5))),
                availability=_availability(rng),
                modes=_modes(rng, mentee=False)[0],
                latitude=coords[i][0],
                longitude=coords[i][1],
                gender=gender[i],
                ethnicity=ethnicity[i],
                img=img[i],
                years_post_cct=int(rng.integers(5, 31)),
                clinical_sessions_per_week=int(rng.integers(3, 9)),
                status=str(status[i]),
            )
        )
    return mentors


def _fit_supply(
    rng: Generator, status: Array, cap: Array, current: Array, scheme_max: int, target: int
) -> None:
    """Bring the active mentors' spare places near ``target`` by changing the arrays in place."""
    active = status == "active"
    hi = np.where(cap > 0, cap, scheme_max)
    gap = int(((hi - current) * active).sum()) - target
    if gap > 0:
        # Too much room: give mentors more current mentees (at most 4, keeping one place free) ...
        room = np.where(active, np.clip(np.minimum(4, hi - 1) - current, 0, None), 0)
        tokens = np.repeat(np.arange(len(room)), room)
        k = min(gap, tokens.size)
        np.add.at(current, rng.choice(tokens, size=k, replace=False), 1)
        gap -= k
        # ... then pause whole mentors, as long as that does not overshoot.
        for i in rng.permutation(np.flatnonzero(active)):
            spare = int(hi[i] - current[i])
            if 0 < spare <= gap:
                status[i], gap = "paused", gap - spare
    else:
        # Too little: in random order, end a current mentoring, lift a personal maximum or bring
        # a mentor back, so that each kind of variety survives in part.
        moves = [(0, int(i)) for i in np.repeat(np.arange(len(current)), current * active)]
        moves += [(1, int(i)) for i in np.flatnonzero(active & (cap > 0))]
        moves += [(2, int(i)) for i in np.flatnonzero(~active)]
        for m in rng.permutation(len(moves)):
            if gap >= 0:
                break
            kind, i = moves[m]
            gap += (1, scheme_max - int(cap[i]), int(hi[i] - current[i]))[kind]
            if kind == 0:
                current[i] -= 1
            elif kind == 1:
                cap[i] = 0
            else:
                status[i] = "active"


def _mentees(
    rng: Generator, region: _Region, n: int, mentors: Sequence[Mentor], pref_rate: float, day: date
) -> list[Mentee]:
    practice, coords = region.place(rng, n)
    cohorts = _cohorts(rng, n)
    # International induction GPs (6%) are all IMGs: 20% of the others make ~25% in all.
    gender, ethnicity, img = _demographics(rng, n, img_rate=0.2)
    pool = _Pool(mentors)
    emails: dict[str, int] = {}
    mentees = []
    for j, cohort in enumerate(cohorts):
        img[j] = True if cohort == "international_induction" else img[j]
        # Locums and returners often have no practice of their own yet.
        no_practice = cohort in ("locum_to_salaried", "returner") and rng.random() < 0.4
        weights = {a: 10.0 if a in COHORT_NEEDS[cohort] else 1.0 for a in FOCUS_AREAS}
        needs = _weighted_sample(rng, weights, int(rng.integers(1, 4)))
        mode, max_km = _modes(rng, mentee=True)
        first, last = str(rng.choice(FIRST_NAMES)), str(rng.choice(LAST_NAMES))
        wish = ("female" if rng.random() < 0.7 else "male") if rng.random() < 0.10 else None
        strict = wish is not None and bool(rng.random() < 0.25)
        code = None if no_practice else region.codes[practice[j]]
        local = f"{first}.{last}".lower()
        emails[local] = emails.get(local, 0) + 1
        mentees.append(
            Mentee(
                mentee_id=f"ME{j + 1:04d}",
                name=f"Dr {first} {last}",
                cohort=cohort,
                email=f"{local}{emails[local] if emails[local] > 1 else ''}@gp.example",
                practice_code=code,
                pcn=None if no_practice else region.pcns[practice[j]],
                needs=needs,
                availability=_availability(rng),
                modes=mode,
                latitude=coords[j][0],
                longitude=coords[j][1],
                max_distance_km=max_km,
                mentor_gender=wish,
                mentor_gender_strict=strict,
                same_ethnicity=bool(ethnicity[j] and rng.random() < 0.08),
                same_img=bool(img[j] and rng.random() < 0.30),
                preferred_mentors=pool.liked(rng, needs, code, pref_rate),
                waiting_since=day - timedelta(days=int(rng.integers(0, 548))),
                gender=gender[j],
                ethnicity=ethnicity[j],
                img=img[j],
            )
        )
    return mentees


def _cohorts(rng: Generator, n: int) -> list[str]:
    """Cohorts in the target mix (largest remainders), in random order."""
    shares = np.array([COHORT_MIX[c] for c in COHORTS]) * n
    counts = np.floor(shares).astype(int)
    counts[np.argsort(-(shares - counts), kind="stable")[: n - counts.sum()]] += 1
    labels = np.repeat(np.arange(len(COHORTS)), counts)
    return [COHORTS[k] for k in rng.permutation(labels)]


class _Pool:
    """The active mentors as mentees meet them at a speed-meeting, as arrays for fast weights."""

    def __init__(self, mentors: Sequence[Mentor]) -> None:
        self.active = [m for m in mentors if m.is_active]
        table = [[a in m.focus_areas for a in FOCUS_AREAS] for m in self.active]
        self.offers = np.array(table, dtype=float).reshape(len(self.active), len(FOCUS_AREAS))
        self.places = np.array([m.practice_code for m in self.active], dtype=object)

    def liked(
        self, rng: Generator, needs: Sequence[str], practice: str | None, rate: float
    ) -> tuple[str, ...]:
        """Mentors a mentee liked: mostly ones sharing needs, never from their own practice."""
        if not self.active or rng.random() >= rate:
            return ()
        shared = self.offers[:, [FOCUS_AREAS.index(a) for a in needs]].sum(axis=1)
        weights = np.where(self.places == practice, 0.0, 1.0 + 3.0 * shared)
        k = min(int(rng.integers(1, 4)), int(np.count_nonzero(weights)))
        if k == 0:
            return ()
        picks = rng.choice(len(weights), size=k, replace=False, p=_normalise(weights))
        return tuple(self.active[int(i)].mentor_id for i in picks)


def _exclusions(
    rng: Generator, mentors: Sequence[Mentor], mentees: Sequence[Mentee], rate: float
) -> tuple[PairRef, ...]:
    """Known conflicts (supervisor, manager, ...), mostly with a mentor of the mentee's PCN."""
    k = round(rate * len(mentees))
    exclusions = []
    for j in sorted(int(x) for x in rng.choice(len(mentees), size=k, replace=False)):
        mentee = mentees[j]
        near = [m for m in mentors if mentee.pcn and m.pcn == mentee.pcn]
        pool = near if near and rng.random() < 0.8 else list(mentors)
        mentor = pool[int(rng.integers(len(pool)))]
        reason = EXCLUSION_REASONS[int(rng.integers(len(EXCLUSION_REASONS)))]
        exclusions.append(PairRef(mentor.mentor_id, mentee.mentee_id, reason))
    return tuple(exclusions)


def _demographics(
    rng: Generator, n: int, img_rate: float
) -> tuple[list[str | None], list[str | None], list[bool | None]]:
    """Gender, ethnicity (2021 census groups) and IMG, each sometimes not stated."""
    g = rng.choice(
        np.array(["female", "male", "non-binary", ""]), size=n, p=[0.56, 0.40, 0.005, 0.035]
    )
    img_draw = rng.random(n)
    img: list[bool | None] = [None if r > 0.96 else bool(r < img_rate) for r in img_draw]
    ethnicity: list[str | None] = []
    for i in range(n):
        p = np.array(ETHNICITY_P_IMG if img[i] else ETHNICITY_P)
        k = int(rng.choice(len(ETHNICITIES) + 1, p=[*p, 1 - p.sum()]))
        ethnicity.append(ETHNICITIES[k] if k < len(ETHNICITIES) else None)
    return [str(x) or None for x in g], ethnicity, img


def _availability(rng: Generator) -> frozenset[str]:
    """A quarter say nothing (= any time); the rest give 3-8 slots, mostly weekday sessions."""
    any_time = rng.random() < 0.25
    slots = () if any_time else _weighted_sample(rng, SLOT_WEIGHT, int(rng.integers(3, 9)))
    return frozenset(slots)


def _modes(rng: Generator, mentee: bool) -> tuple[frozenset[str], float | None]:
    """Mostly virtual; a quarter also in person; a few in person only (within 10-40 km)."""
    r = rng.random()
    if r < 0.67:
        return frozenset({"virtual"}), None
    if r < 0.92:
        return frozenset({"virtual", "face_to_face"}), None
    return frozenset({"face_to_face"}), float(rng.integers(10, 41)) if mentee else None


def _weighted_sample(rng: Generator, weights: dict[str, float], k: int) -> tuple[str, ...]:
    """``k`` distinct keys by weight, in draw order (Gumbel top-k: the same law as drawing one
    at a time without replacement, in one vectorised step)."""
    keys = list(weights)
    score = np.log(np.fromiter(weights.values(), dtype=float)) + rng.gumbel(size=len(keys))
    return tuple(keys[int(i)] for i in np.argsort(-score, kind="stable")[:k])


def _normalise(weights: Array) -> Array:
    weights = np.asarray(weights, dtype=float)
    return weights / weights.sum()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m datasets.generator", description=__doc__)
    parser.add_argument(
        "--samples", action="store_true", required=True, help="(re)write the shipped samples"
    )
    parser.parse_args(argv)
    for name, spec in SAMPLES.items():
        problem = generate(spec.n_mentors, spec.n_mentees, seed=spec.seed)
        for path in write_dataset(problem, sample_dir(name)):
            print(f"{name}/{path.name}: {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
