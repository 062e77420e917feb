"""Analysts' measures of a pair list: validity, coverage, quality, stability, balance, equity.

Every measure takes the problem and a list of ``(mentor_id, mentee_id)`` pairs and works for
any list, including one that breaks the hard rules (a baseline's, say), so that the solver and
its baselines are measured on one scale. A pair naming an id the problem does not know raises
ValueError, except in ``valid`` and ``violation_count``, which count it as a violation.

Pair score = the sum of ``matcher.scoring.pair_parts``. A mentee paired more than once (an
invalid list) counts as matched once, with the best score of their pairs.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np

from matcher.checks import violations
from matcher.data import Mentee, ProblemData
from matcher.rules import AllowedPairs, allowed_pairs
from matcher.scoring import pair_parts, score_pairs

Pairs = Sequence[tuple[str, str]]
Preferences = Literal["score", "stated"]

FELLOW = "fellow"
EQUITY_ATTRIBUTES: tuple[str, ...] = ("gender", "ethnicity", "img", "cohort")
MIX_ATTRIBUTES: dict[str, str] = {
    "mix_practice": "practice_code",
    "mix_pcn": "pcn",
    "mix_cohort": "cohort",
}
# Stated preferences: an unlisted partner ranks below every listed one (and all unlisted tie).
_UNLISTED = -1e9


def _indices(problem: ProblemData, pairs: Pairs) -> list[tuple[int, int]]:
    """(mentor index, mentee index) of each pair, in list order."""
    mentor_index, mentee_index = problem.mentor_index, problem.mentee_index
    out = []
    for mentor_id, mentee_id in pairs:
        if mentor_id not in mentor_index:
            raise ValueError(f"unknown mentor {mentor_id!r} in pair {mentor_id}-{mentee_id}")
        if mentee_id not in mentee_index:
            raise ValueError(f"unknown mentee {mentee_id!r} in pair {mentor_id}-{mentee_id}")
        out.append((mentor_index[mentor_id], mentee_index[mentee_id]))
    return out


def _scores(problem: ProblemData, idx: list[tuple[int, int]]) -> list[int]:
    return [
        sum(pair_parts(problem, problem.mentors[i], problem.mentees[j]).values()) for i, j in idx
    ]


def _best_score_per_mentee(problem: ProblemData, idx: list[tuple[int, int]]) -> dict[int, int]:
    best: dict[int, int] = {}
    for (_, j), score in zip(idx, _scores(problem, idx), strict=True):
        best[j] = max(score, best.get(j, score))
    return best


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)


# --- validity and coverage --------------------------------------------------------------------


def valid(problem: ProblemData, pairs: Pairs) -> bool:
    """True when the list keeps every hard rule (``matcher.checks.violations`` is empty)."""
    return not violations(problem, pairs)


def violation_count(problem: ProblemData, pairs: Pairs) -> int:
    """Number of hard-rule breaches, one per sentence of ``matcher.checks.violations``."""
    return len(violations(problem, pairs))


def matched_counts(problem: ProblemData, pairs: Pairs) -> dict[str, int]:
    """Mentees, fellows and priority mentees (scheme setting): how many, how many matched."""
    matched = {j for _, j in _indices(problem, pairs)}
    mentees = problem.mentees
    fellows = [j for j, e in enumerate(mentees) if e.cohort == FELLOW]
    priority = [j for j, e in enumerate(mentees) if problem.is_priority(e)]
    return {
        "mentees": len(mentees),
        "matched": len(matched),
        "fellows": len(fellows),
        "fellows_matched": sum(1 for j in fellows if j in matched),
        "priority": len(priority),
        "priority_matched": sum(1 for j in priority if j in matched),
    }


# --- quality ----------------------------------------------------------------------------------


def score_stats(problem: ProblemData, pairs: Pairs) -> dict[str, float | None]:
    """Mean, population standard deviation and total of the pair scores (None when no pairs)."""
    scores = np.array(_scores(problem, _indices(problem, pairs)), dtype=np.float64)
    if not len(scores):
        return {"mean_score": None, "score_std": None, "total_score": 0}
    return {
        "mean_score": float(scores.mean()),
        "score_std": float(scores.std()),
        "total_score": int(scores.sum()),
    }


def preferences_met(problem: ProblemData, pairs: Pairs) -> dict[str, float | None]:
    """Among mentees who stated ``preferred_mentors``: how many, and the shares matched to
    their first choice and to one of their first three (unmatched ones count as not met;
    shares None when nobody stated a preference)."""
    mentors_of: dict[int, set[str]] = defaultdict(set)
    for i, j in _indices(problem, pairs):
        mentors_of[j].add(problem.mentors[i].mentor_id)
    stated = [(j, e) for j, e in enumerate(problem.mentees) if e.preferred_mentors]
    if not stated:
        return {"stated": 0, "first_choice_share": None, "top3_share": None}
    first = sum(1 for j, e in stated if e.preferred_mentors[0] in mentors_of[j])
    top3 = sum(1 for j, e in stated if mentors_of[j] & set(e.preferred_mentors[:3]))
    return {
        "stated": len(stated),
        "first_choice_share": first / len(stated),
        "top3_share": top3 / len(stated),
    }


# --- stability --------------------------------------------------------------------------------


def blocking_pairs(problem: ProblemData, pairs: Pairs, preferences: Preferences = "score") -> int:
    """Number of blocking pairs: (mentor, mentee) who would both rather be together.

    A pair (m, e) blocks when all of these hold:
    - the hard rules allow it: ``matcher.checks.pair_allowed``, and m can take new mentees at
      all (``new_range(settings)[1] > 0``; capacity is a hard rule too) - the pairs of
      ``matcher.rules.allowed_pairs``;
    - m and e are not paired in the list;
    - e would rather have m: e is unmatched, or strictly prefers m to their mentor (to the
      best of them, if paired more than once);
    - m would take e: m has a free place (fewer of this list's new mentees than
      ``new_range(settings)[1]``; current mentees are already counted in the range), or m
      strictly prefers e to one of their new mentees (the worst of them).

    Preferences: ``"score"`` - both sides rank by pair score, equal scores are no preference;
    ``"stated"`` - e ranks mentors by position in ``preferred_mentors``, m ranks mentees by
    position in ``preferred_mentees``; listed rank above unlisted, unlisted ones tie.
    """
    idx = _indices(problem, pairs)
    return _blocking(problem, idx, allowed_pairs(problem), preferences)


def _blocking(
    problem: ProblemData,
    idx: list[tuple[int, int]],
    allowed: AllowedPairs,
    preferences: Preferences,
) -> int:
    n_mentors, n_mentees = len(problem.mentors), len(problem.mentees)
    mi, ej = allowed.mentor.astype(np.int64), allowed.mentee.astype(np.int64)
    # Each side's value of a partner (higher = preferred), over the allowed pairs and for
    # the listed pairs, which may be forbidden and so missing from ``allowed``.
    if preferences == "score":
        mentee_value = mentor_value = score_pairs(problem, allowed).total.astype(np.float64)
        listed = np.array(_scores(problem, idx), dtype=np.float64)
        listed_mentee_value = listed_mentor_value = listed
    elif preferences == "stated":
        by_mentee, by_mentor = _stated_values(problem)
        mentee_value, mentor_value = by_mentee[mi, ej], by_mentor[mi, ej]
        rows = np.array([i for i, _ in idx], dtype=np.int64)
        cols = np.array([j for _, j in idx], dtype=np.int64)
        listed_mentee_value, listed_mentor_value = by_mentee[rows, cols], by_mentor[rows, cols]
    else:
        raise ValueError(f"preferences must be 'score' or 'stated', got {preferences!r}")

    # What a partner must beat: -inf for an unmatched mentee or a mentor with a free place.
    mentee_bar = np.full(n_mentees, -np.inf)
    new = np.zeros(n_mentors, dtype=np.int64)
    worst_new = np.full(n_mentors, np.inf)
    for (i, j), v_e, v_m in zip(idx, listed_mentee_value, listed_mentor_value, strict=True):
        mentee_bar[j] = max(mentee_bar[j], v_e)
        new[i] += 1
        worst_new[i] = min(worst_new[i], v_m)
    most = np.array([m.new_range(problem.settings)[1] for m in problem.mentors], dtype=np.int64)
    mentor_bar = np.where(new < most, -np.inf, worst_new)

    codes = mi * n_mentees + ej
    together = np.isin(codes, np.array([i * n_mentees + j for i, j in idx], dtype=np.int64))
    blocks = (mentee_value > mentee_bar[ej]) & (mentor_value > mentor_bar[mi]) & ~together
    return int(np.count_nonzero(blocks))


def _stated_values(problem: ProblemData) -> tuple[np.ndarray, np.ndarray]:
    """(mentor x mentee) values of stated preferences: minus the position in the list."""
    shape = (len(problem.mentors), len(problem.mentees))
    mentor_index, mentee_index = problem.mentor_index, problem.mentee_index
    by_mentee = np.full(shape, _UNLISTED)
    by_mentor = np.full(shape, _UNLISTED)
    for j, mentee in enumerate(problem.mentees):
        # Reversed, so that an id listed twice keeps its first (best) position.
        for k in reversed(range(len(mentee.preferred_mentors))):
            by_mentee[mentor_index[mentee.preferred_mentors[k]], j] = -k
    for i, mentor in enumerate(problem.mentors):
        for k in reversed(range(len(mentor.preferred_mentees))):
            # Mentor choices are not cross-checked by ProblemData: ignore unknown ids.
            j = mentee_index.get(mentor.preferred_mentees[k], -1)
            if j >= 0:
                by_mentor[i, j] = -k
    return by_mentee, by_mentor


# --- balance and mix --------------------------------------------------------------------------


def load_spread(problem: ProblemData, pairs: Pairs) -> dict[str, float | None]:
    """Population std and max - min of load (current + this list's new mentees) over the
    active mentors who can take new mentees; None when there are none."""
    new = Counter(i for i, _ in _indices(problem, pairs))
    loads = np.array(
        [
            m.current_mentees + new[i]
            for i, m in enumerate(problem.mentors)
            if m.is_active and m.new_range(problem.settings)[1] > 0
        ],
        dtype=np.float64,
    )
    if not len(loads):
        return {"load_std": None, "load_max_min_gap": None}
    return {"load_std": float(loads.std()), "load_max_min_gap": float(loads.max() - loads.min())}


def _norm(value: str | None) -> str | None:
    """Case- and space-insensitive form of a free-text value; None when missing or blank."""
    if value is None or not value.strip():
        return None
    return value.strip().lower()


def mix(problem: ProblemData, pairs: Pairs) -> dict[str, float | None]:
    """How far mentors' groups are dominated by one practice, PCN or cohort.

    For each mentor with at least 2 new mentees: the largest number of them sharing one value
    divided by the number of new mentees (missing values share nothing, so they count in the
    denominator only). Reported as the mean over those mentors, None when there are none:
    1.0 means every such group is all one value.
    """
    groups: dict[int, list[int]] = defaultdict(list)
    for i, j in _indices(problem, pairs):
        groups[i].append(j)
    groups = {i: js for i, js in groups.items() if len(js) >= 2}
    out: dict[str, float | None] = {}
    for key, attribute in MIX_ATTRIBUTES.items():
        shares = []
        for js in groups.values():
            values = Counter(_norm(getattr(problem.mentees[j], attribute)) for j in js)
            values.pop(None, None)
            shares.append(max(values.values(), default=0) / len(js))
        out[key] = float(np.mean(shares)) if shares else None
    return out


# --- equity -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EquityRow:
    """Match rate and mean score of one group against all mentees.

    ``rate_gap`` = overall rate - group rate, ``score_gap`` = overall mean score - group mean
    score (means over matched mentees): positive when the group does worse.
    """

    attribute: str
    group: str
    size: int
    matched: int
    match_rate: float
    mean_score: float | None
    rate_gap: float
    score_gap: float | None

    @property
    def label(self) -> str:
        return f"{self.attribute}={self.group}"


_MENTEE_FIELDS = frozenset(f.name for f in fields(Mentee))


def _group_value(mentee: Mentee, attribute: str) -> str | None:
    value = getattr(mentee, attribute)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or not str(value).strip():
        return None
    return str(value).strip()


def equity(
    problem: ProblemData,
    pairs: Pairs,
    attributes: Sequence[str] = EQUITY_ATTRIBUTES,
    min_group: int = 5,
) -> list[EquityRow]:
    """One row per (attribute, group value), in attribute order then by group.

    Values are grouped ignoring case and surrounding spaces (labelled with their first
    spelling). Mentees with no value for an attribute are in no group of it, and groups of
    fewer than ``min_group`` mentees are left out (too small to read a rate from, and to keep
    people unidentifiable); both still count in the overall rate and score.
    """
    unknown = [a for a in attributes if a not in _MENTEE_FIELDS]
    if unknown:
        raise ValueError(f"unknown mentee attribute(s): {', '.join(unknown)}")
    best = _best_score_per_mentee(problem, _indices(problem, pairs))
    n = len(problem.mentees)
    if not n:
        return []
    overall_rate = len(best) / n
    overall_score = float(np.mean(list(best.values()))) if best else None
    rows = []
    for attribute in attributes:
        labels: dict[str, str] = {}
        members: dict[str, list[int]] = defaultdict(list)
        for j, mentee in enumerate(problem.mentees):
            value = _group_value(mentee, attribute)
            if value is not None:
                key = value.lower()
                labels.setdefault(key, value)
                members[key].append(j)
        for key in sorted(members):
            js = members[key]
            if len(js) < min_group:
                continue
            scores = [best[j] for j in js if j in best]
            rate = len(scores) / len(js)
            mean = float(np.mean(scores)) if scores else None
            rows.append(
                EquityRow(
                    attribute=attribute,
                    group=labels[key],
                    size=len(js),
                    matched=len(scores),
                    match_rate=rate,
                    mean_score=mean,
                    rate_gap=overall_rate - rate,
                    score_gap=None
                    if mean is None or overall_score is None
                    else overall_score - mean,
                )
            )
    return rows


def equity_gap(
    problem: ProblemData,
    pairs: Pairs,
    attributes: Sequence[str] = EQUITY_ATTRIBUTES,
    min_group: int = 5,
) -> tuple[float, str | None]:
    """The largest ``rate_gap`` of ``equity``, and its group as ``attribute=value`` (the first
    in row order on a tie; None when no group does worse than the whole); (0.0, None) when no
    group is reported."""
    rows = equity(problem, pairs, attributes, min_group)
    if not rows:
        return 0.0, None
    worst = max(rows, key=lambda row: row.rate_gap)
    return worst.rate_gap, worst.label if worst.rate_gap > 0 else None


# --- re-runs ----------------------------------------------------------------------------------


def churn(problem: ProblemData, pairs: Pairs) -> float | None:
    """Share of the previous pairs that the list does not keep; None without previous pairs."""
    chosen = {
        (problem.mentors[i].mentor_id, problem.mentees[j].mentee_id)
        for i, j in _indices(problem, pairs)
    }
    if not problem.previous:
        return None
    dropped = sum(1 for p in problem.previous if (p.mentor_id, p.mentee_id) not in chosen)
    return dropped / len(problem.previous)


# --- everything at once -----------------------------------------------------------------------


def summary(problem: ProblemData, pairs: Pairs, *, seconds: float | None = None) -> dict[str, Any]:
    """Every measure above in one flat dict (shares and spreads to 3 decimals, None where a
    measure is undefined); ``seconds`` is the caller's solve time, passed through."""
    idx = _indices(problem, pairs)  # unknown ids fail here, before the slower measures
    found = violations(problem, pairs)
    allowed = allowed_pairs(problem)
    stats = score_stats(problem, pairs)
    prefs = preferences_met(problem, pairs)
    gap, gap_group = equity_gap(problem, pairs)
    return {
        "valid": not found,
        "violations": len(found),
        **matched_counts(problem, pairs),
        "mean_score": _round(stats["mean_score"], 2),
        "score_std": _round(stats["score_std"], 2),
        "total_score": stats["total_score"],
        "preferences_stated": prefs["stated"],
        "first_choice_share": _round(prefs["first_choice_share"]),
        "top3_share": _round(prefs["top3_share"]),
        "blocking_pairs": _blocking(problem, idx, allowed, "score"),
        "blocking_pairs_stated": _blocking(problem, idx, allowed, "stated"),
        **{k: _round(v) for k, v in load_spread(problem, pairs).items()},
        **{k: _round(v) for k, v in mix(problem, pairs).items()},
        "equity_gap": _round(gap),
        "equity_gap_group": gap_group,
        "churn": _round(churn(problem, pairs)),
        "seconds": _round(seconds),
    }
