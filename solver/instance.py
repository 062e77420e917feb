"""The matching problem as arrays: allowed pairs, their scores, per-person data for the levels."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from matcher.data import ProblemData
from matcher.rules import AllowedPairs, allowed_pairs, category_codes
from matcher.scoring import PairScores, score_pairs
from solver.result import Pair


@dataclass(frozen=True)
class Instance:
    problem: ProblemData
    pairs: AllowedPairs
    scores: PairScores
    score: np.ndarray  # int64 per allowed pair
    priority: np.ndarray  # bool per mentee
    wait: np.ndarray  # int64 days waited per mentee (0 when unknown)
    least: np.ndarray  # int64 per mentor: fewest new mentees when used
    most: np.ndarray  # int64 per mentor: most new mentees
    current: np.ndarray  # int64 per mentor
    must_use: np.ndarray  # bool per mentor: locked, or the scheme forbids unused mentors
    locked: np.ndarray  # bool per allowed pair
    previous: np.ndarray  # bool per allowed pair
    groups: dict[str, np.ndarray]  # int code per mentee (-1 unknown) for practice, pcn, cohort

    @property
    def n_mentors(self) -> int:
        return len(self.problem.mentors)

    @property
    def n_mentees(self) -> int:
        return len(self.problem.mentees)

    def pair_index(self, mentor: np.ndarray, mentee: np.ndarray) -> np.ndarray:
        """Index into the allowed pairs of each (mentor, mentee), or -1 when not allowed."""
        keys = self.pairs.mentor.astype(np.int64) * self.n_mentees + self.pairs.mentee
        wanted = np.asarray(mentor, dtype=np.int64) * self.n_mentees + np.asarray(mentee)
        if len(keys) == 0:
            return np.full(len(wanted), -1, dtype=np.int64)
        pos = np.searchsorted(keys, wanted).clip(max=len(keys) - 1)
        return np.where(keys[pos] == wanted, pos, -1)

    def result_pairs(self, chosen: np.ndarray) -> tuple[Pair, ...]:
        """The pairs ``chosen`` (pair indices) by mentor and mentee id, as results give them."""
        mentors, mentees = self.problem.mentors, self.problem.mentees
        out = [
            Pair(
                mentors[self.pairs.mentor[k]].mentor_id,
                mentees[self.pairs.mentee[k]].mentee_id,
                int(self.score[k]),
            )
            for k in chosen.tolist()
        ]
        return tuple(sorted(out, key=lambda p: (p.mentor_id, p.mentee_id)))

    def restricted(self, candidates: np.ndarray) -> Instance:
        """The same instance with only the candidate pairs allowed; pair indices become
        positions in ``candidates``."""
        if len(candidates) == len(self.pairs):
            return self
        pairs = self.pairs
        sub = replace(
            pairs,
            mentor=pairs.mentor[candidates],
            mentee=pairs.mentee[candidates],
            shared_slots=pairs.shared_slots[candidates],
            shared_modes=pairs.shared_modes[candidates],
            distance_km=pairs.distance_km[candidates],
        )
        return replace(
            self,
            pairs=sub,
            score=self.score[candidates],
            locked=self.locked[candidates],
            previous=self.previous[candidates],
        )


def waiting_days(problem: ProblemData) -> np.ndarray:
    """Days each mentee has waited, counted back from the latest join date in the round."""
    dates = [m.waiting_since for m in problem.mentees]
    known = [d for d in dates if d is not None]
    if not known:
        return np.zeros(len(dates), dtype=np.int64)
    latest = max(known)
    return np.array([0 if d is None else (latest - d).days for d in dates], dtype=np.int64)


def build_instance(problem: ProblemData) -> Instance:
    pairs = allowed_pairs(problem)
    scores = score_pairs(problem, pairs)
    settings = problem.settings
    ranges = np.array([m.new_range(settings) for m in problem.mentors], dtype=np.int64).reshape(
        -1, 2
    )
    base = Instance(
        problem=problem,
        pairs=pairs,
        scores=scores,
        score=scores.total,
        priority=np.array([problem.is_priority(m) for m in problem.mentees], dtype=bool),
        wait=waiting_days(problem),
        least=ranges[:, 0],
        most=ranges[:, 1],
        current=np.array([m.current_mentees for m in problem.mentors], dtype=np.int64),
        must_use=np.zeros(len(problem.mentors), dtype=bool),
        locked=np.zeros(len(pairs), dtype=bool),
        previous=np.zeros(len(pairs), dtype=bool),
        groups={
            "practice": category_codes([m.practice_code for m in problem.mentees]),
            "pcn": category_codes([m.pcn for m in problem.mentees]),
            "cohort": category_codes([m.cohort for m in problem.mentees]),
        },
    )
    mentor_index, mentee_index = problem.mentor_index, problem.mentee_index

    def mark(refs: tuple) -> np.ndarray:
        flags = np.zeros(len(pairs), dtype=bool)
        if refs:
            idx = base.pair_index(
                np.array([mentor_index[r.mentor_id] for r in refs]),
                np.array([mentee_index[r.mentee_id] for r in refs]),
            )
            flags[idx[idx >= 0]] = True
        return flags

    locked = mark(problem.locks)
    must_use = np.zeros(len(problem.mentors), dtype=bool)
    must_use[pairs.mentor[locked]] = True
    if not settings.capacity.allow_unused_mentors:
        must_use |= np.array([m.is_active for m in problem.mentors], dtype=bool) & (base.most > 0)
    return Instance(
        **{
            **base.__dict__,
            "locked": locked,
            "previous": mark(problem.previous),
            "must_use": must_use,
        }
    )


def positions_by(keys: np.ndarray, n: int) -> list[np.ndarray]:
    """Positions in ``keys`` of each key 0..n-1 (keys need not be sorted)."""
    order = np.argsort(keys, kind="stable")
    bounds = np.searchsorted(keys[order], np.arange(n + 1))
    return [order[bounds[k] : bounds[k + 1]] for k in range(n)]
