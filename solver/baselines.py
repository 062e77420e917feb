"""The matching methods people use instead of ours, for the match-quality benchmark.

Every method takes a ``ProblemData`` and returns (mentor_id, mentee_id) pairs, sorted. All of
them use only pairs the hard rules allow (``matcher.rules.allowed_pairs``, so never an
inactive, full or excluded mentor, a conflict of interest, no shared slot or mode, too far, or
the wrong strict gender) and never give a mentor more than ``new_range(settings)[1]`` new
mentees. Unless its docstring says otherwise a method ignores the rest of the specification:
mentors' minimums, priority cohorts, waiting time, locks and the balance / mix / churn penalty.
So their pair lists can break rule 1's lower bound (and leave locks unpaired); ``cpsat``, our
matcher, keeps every rule.

Pair quality is ``matcher.scoring.score_pairs(...).total``: higher is better.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

import numpy as np
from ortools.graph.python import min_cost_flow as ortools_flow

from matcher.data import ProblemData
from matcher.rules import allowed_pairs
from matcher.scoring import score_pairs
from solver.solve import solve

Pairs = list[tuple[str, str]]
FELLOW = "fellow"


class Method(Protocol):
    def __call__(
        self, problem: ProblemData, *, seed: int = 0, time_limit: float = 30.0
    ) -> Pairs: ...


@dataclass(frozen=True)
class _Allowed:
    """Allowed pairs as parallel arrays sorted by (mentor, mentee), with scores and places."""

    mentor: np.ndarray  # int64 mentor index
    mentee: np.ndarray  # int64 mentee index
    score: np.ndarray  # int64 pair score
    places: np.ndarray  # int64 per mentor: most new mentees
    n_mentors: int
    n_mentees: int


def _allowed(problem: ProblemData) -> _Allowed:
    pairs = allowed_pairs(problem)
    score = score_pairs(problem, pairs).total if len(pairs) else np.zeros(0, dtype=np.int64)
    return _Allowed(
        mentor=pairs.mentor.astype(np.int64),
        mentee=pairs.mentee.astype(np.int64),
        score=np.asarray(score, dtype=np.int64),
        places=np.array(
            [m.new_range(problem.settings)[1] for m in problem.mentors], dtype=np.int64
        ),
        n_mentors=len(problem.mentors),
        n_mentees=len(problem.mentees),
    )


def _id_rank(ids: list[str]) -> np.ndarray:
    """Position of each id in sorted order: ties are broken by id, not by file order."""
    rank = np.empty(len(ids), dtype=np.int64)
    rank[np.argsort(np.array(ids, dtype=object), kind="stable")] = np.arange(len(ids))
    return rank


def _by_mentee(a: _Allowed, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mentor of each pair in ``order`` (grouped by mentee) and each mentee's start offset."""
    starts = np.searchsorted(a.mentee[order], np.arange(a.n_mentees + 1))
    return a.mentor[order], starts


def _named(problem: ProblemData, mentor: np.ndarray, mentee: np.ndarray) -> Pairs:
    return sorted(
        (problem.mentors[i].mentor_id, problem.mentees[j].mentee_id)
        for i, j in zip(mentor.tolist(), mentee.tolist(), strict=True)
    )


def random_draw(problem: ProblemData, *, seed: int = 0, time_limit: float = 30.0) -> Pairs:
    """A lottery: mentees in random order, each takes a random allowed mentor with a place.

    Seeded (``numpy.random.default_rng(seed)``): the same seed gives the same pairs.
    Ignores scores, minimums, priority, waiting time, locks and the penalty; ``time_limit``
    is unused.
    """
    a = _allowed(problem)
    rng = np.random.default_rng(seed)
    # Pairs are sorted by mentor, so a stable sort by mentee keeps each list in mentor order.
    mentors, starts = _by_mentee(a, np.argsort(a.mentee, kind="stable"))
    left = a.places.copy()
    chosen: list[tuple[int, int]] = []
    for j in rng.permutation(a.n_mentees).tolist():
        options = mentors[starts[j] : starts[j + 1]]
        free = options[left[options] > 0]
        if free.size:
            i = int(free[rng.integers(free.size)])
            left[i] -= 1
            chosen.append((i, j))
    return _named(problem, *_columns(chosen))


def greedy(problem: ProblemData, *, seed: int = 0, time_limit: float = 30.0) -> Pairs:
    """What a coordinator does by hand: hardest mentee first, each takes its best mentor.

    Repeatedly take the unplaced mentee with the fewest allowed mentors that still have a
    place (recounted as mentors fill; ties: GP Fellows first, then the longest waiting, then
    mentee id) and give them the best-scoring such mentor (ties by mentor id); a mentee with
    none left stays unmatched. Uses the fellow cohort and waiting dates only to break ties;
    ignores minimums, priority settings, locks and the penalty. Deterministic: ``seed`` and
    ``time_limit`` are unused.
    """
    a = _allowed(problem)
    n = a.n_mentees
    mentor_rank = _id_rank([m.mentor_id for m in problem.mentors])
    # Each mentee's mentors, best first.
    mentors, starts = _by_mentee(a, np.lexsort((mentor_rank[a.mentor], -a.score, a.mentee)))
    mentor_starts = np.searchsorted(a.mentor, np.arange(a.n_mentors + 1))
    tie = _tie_rank(problem)
    # One integer per mentee orders (options, tie); taking an option away subtracts n.
    options = np.bincount(a.mentee, minlength=n).astype(np.int64)
    key = options * n + tie
    done = np.zeros(n, dtype=bool)
    placed = np.iinfo(np.int64).max
    left = a.places.copy()
    chosen: list[tuple[int, int]] = []
    for _ in range(n):
        j = int(np.argmin(key))
        done[j] = True
        key[j] = placed
        row = mentors[starts[j] : starts[j + 1]]
        free = row[left[row] > 0]
        if not free.size:
            continue
        i = int(free[0])
        left[i] -= 1
        chosen.append((i, j))
        if left[i] == 0:
            # A full mentor is one option fewer for everyone still waiting who could have had them.
            others = a.mentee[mentor_starts[i] : mentor_starts[i + 1]]
            key[others[~done[others]]] -= n
    return _named(problem, *_columns(chosen))


def _tie_rank(problem: ProblemData) -> np.ndarray:
    """Rank of each mentee by (not a GP Fellow, join date, id); unknown dates wait least."""
    keys = [(m.cohort != FELLOW, m.waiting_since or date.max, m.mentee_id) for m in problem.mentees]
    rank = np.empty(len(keys), dtype=np.int64)
    rank[sorted(range(len(keys)), key=keys.__getitem__)] = np.arange(len(keys))
    return rank


def min_cost_flow(problem: ProblemData, *, seed: int = 0, time_limit: float = 30.0) -> Pairs:
    """Plain assignment with capacities: most mentees matched, then the largest total score.

    One min-cost flow (OR-Tools ``solve_max_flow_with_min_cost``): source -> mentee (1) ->
    mentor (1, cost -score) -> sink (most new mentees). Exact for those two aims; ignores
    minimums, priority, waiting time, locks and the penalty. Deterministic: ``seed`` and
    ``time_limit`` are unused.
    """
    a = _allowed(problem)
    if not len(a.mentor):
        return []
    source, sink = 0, 1
    mentee_node = 2 + np.arange(a.n_mentees, dtype=np.int64)
    mentor_node = 2 + a.n_mentees + np.arange(a.n_mentors, dtype=np.int64)
    n_pairs = len(a.mentor)
    flow = ortools_flow.SimpleMinCostFlow()
    # Pair arcs first, so their flows are the first n_pairs entries.
    flow.add_arcs_with_capacity_and_unit_cost(
        np.concatenate([mentee_node[a.mentee], np.full(a.n_mentees, source), mentor_node]),
        np.concatenate([mentor_node[a.mentor], mentee_node, np.full(a.n_mentors, sink)]),
        np.concatenate([np.ones(n_pairs + a.n_mentees, dtype=np.int64), a.places]),
        np.concatenate([-a.score, np.zeros(a.n_mentees + a.n_mentors, dtype=np.int64)]),
    )
    flow.set_node_supply(source, a.n_mentees)
    flow.set_node_supply(sink, -a.n_mentees)
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow ended with status {status}")
    used = flow.flows(np.arange(n_pairs)) > 0
    return _named(problem, a.mentor[used], a.mentee[used])


def gale_shapley(problem: ProblemData, *, seed: int = 0, time_limit: float = 30.0) -> Pairs:
    """Mentee-proposing deferred acceptance (hospital-resident problem with capacities).

    Preferences are implied by the pair score: each mentee ranks its allowed mentors by score
    (best first, ties by mentor id), each mentor its allowed mentees the same way (ties by
    mentee id) and holds at most its most new mentees. The result is the mentee-optimal
    stable matching for these preferences: no allowed mentor and mentee both prefer each
    other to what they have (a mentor with a free place prefers any allowed mentee to none).
    Ignores minimums, priority, waiting time, locks and the penalty. Deterministic: ``seed``
    and ``time_limit`` are unused.
    """
    a = _allowed(problem)
    if not len(a.mentor):
        return []
    mentor_rank = _id_rank([m.mentor_id for m in problem.mentors])
    mentee_rank = _id_rank([m.mentee_id for m in problem.mentees])
    order = np.lexsort((mentor_rank[a.mentor], -a.score, a.mentee))
    mentor, mentee, score = a.mentor[order], a.mentee[order], a.score[order]
    starts = np.searchsorted(mentee, np.arange(a.n_mentees + 1))
    # How a mentor ranks each pair's mentee, lower is better: score, then mentee id.
    worse = (int(score.max()) - score) * a.n_mentees + mentee_rank[mentee]
    next_ = starts[:-1].copy()
    ends = starts[1:]
    held = np.zeros(0, dtype=np.int64)  # positions (in ``order``) of the pairs mentors hold
    free = np.flatnonzero(next_ < ends)
    # All free mentees propose at once each round; deferred acceptance ends in the same
    # matching whatever the order of proposals, and a round is a few numpy sorts.
    while free.size:
        proposals = next_[free]
        next_[free] += 1
        candidates = np.concatenate([held, proposals])
        candidates = candidates[np.lexsort((worse[candidates], mentor[candidates]))]
        by = mentor[candidates]
        rank = np.arange(len(candidates)) - np.searchsorted(by, by)  # place in the mentor's queue
        keep = rank < a.places[by]
        held = candidates[keep]
        rejected = mentee[candidates[~keep]]
        free = rejected[next_[rejected] < ends[rejected]]
    return _named(problem, mentor[held], mentee[held])


def cpsat(problem: ProblemData, *, seed: int = 0, time_limit: float = 30.0) -> Pairs:
    """Our matcher (``solver.solve.solve``): every hard rule and the whole lexicographic
    objective (priority, matches and waiting, quality, then balance, mix and churn)."""
    result = solve(problem, time_limit=time_limit, seed=seed)
    return sorted((p.mentor_id, p.mentee_id) for p in result.pairs)


def _columns(chosen: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    pairs = np.array(chosen, dtype=np.int64).reshape(-1, 2)
    return pairs[:, 0], pairs[:, 1]


METHODS: dict[str, Method] = {
    "random": random_draw,
    "greedy": greedy,
    "min_cost_flow": min_cost_flow,
    "gale_shapley": gale_shapley,
    "cpsat": cpsat,
}


def run_method(
    name: str, problem: ProblemData, *, seed: int = 0, time_limit: float = 30.0
) -> Pairs:
    """Run the method called ``name`` (a key of ``METHODS``)."""
    try:
        method = METHODS[name]
    except KeyError:
        known = ", ".join(METHODS)
        raise ValueError(f"unknown method {name!r}; known methods: {known}") from None
    return method(problem, seed=seed, time_limit=time_limit)
