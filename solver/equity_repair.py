"""A start that keeps the equity limit, for CP-SAT to improve.

The flow relaxation ignores the limit, and from an infeasible hint CP-SAT can spend its
whole time looking for a first solution on a large round. Swapping mentees is a cheap way
in: give a matched mentee's place to an unmatched member of a group that is too far
behind. A swap keeps every mentor's load (so capacity bands hold) and the number matched,
and it never gives a GP Fellow's place to someone who is not one.
"""

from __future__ import annotations

import numpy as np

from matcher import equity
from solver.instance import Instance, positions_by

MAX_SWAPS_PER_MENTEE = 1


def repair(inst: Instance, chosen: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Indices of allowed pairs, within ``candidates``, as close to ``chosen`` as found that
    keep the equity limit; ``chosen`` itself when no repair is needed or none is found."""
    problem = inst.problem
    groups = equity.groups(problem)
    if not groups:
        return chosen
    n = inst.n_mentees
    member = np.zeros((len(groups), n), dtype=bool)
    for g, group in enumerate(groups):
        member[g, list(group.members)] = True
    size = member.sum(axis=1)
    slack = np.array([equity.slack(problem, int(s)) for s in size])
    pairs = inst.pairs
    in_candidates = np.zeros(len(pairs), dtype=bool)
    in_candidates[candidates] = True
    by_mentee = positions_by(pairs.mentee, n)
    mentor_of = np.full(n, -1, dtype=np.int64)  # pair index of each matched mentee
    mentor_of[pairs.mentee[chosen]] = chosen
    swapped = np.zeros(n, dtype=np.int64)

    def behind() -> np.ndarray:
        matched = mentor_of >= 0
        m_total = int(matched.sum())
        m_group = (member & matched).sum(axis=1)
        return n * m_group - size * m_total + slack  # < 0: the group is too far behind

    for _ in range(n):
        margin = behind()
        if (margin >= 0).all():
            return np.sort(mentor_of[mentor_of >= 0])
        g = int(np.argmin(margin))
        move = _best_swap(inst, g, member, margin, mentor_of, by_mentee, in_candidates, swapped)
        if move is None:
            break
        new_pair, old_mentee = move
        new_mentee = int(pairs.mentee[new_pair])
        mentor_of[new_mentee] = new_pair
        mentor_of[old_mentee] = -1
        swapped[old_mentee] += 1
    return chosen


def _best_swap(
    inst: Instance,
    g: int,
    member: np.ndarray,
    margin: np.ndarray,
    mentor_of: np.ndarray,
    by_mentee: list[np.ndarray],
    in_candidates: np.ndarray,
    swapped: np.ndarray,
) -> tuple[int, int] | None:
    """(new pair, mentee who gives up the place), or None; prefers losing the least score."""
    pairs, n = inst.pairs, inst.n_mentees
    occupant: dict[int, list[int]] = {}
    for k in np.flatnonzero(mentor_of >= 0).tolist():
        occupant.setdefault(int(pairs.mentor[mentor_of[k]]), []).append(k)
    best: tuple[int, int, int] | None = None
    for j in np.flatnonzero(member[g] & (mentor_of < 0)).tolist():
        for p in by_mentee[j].tolist():
            if not in_candidates[p] or inst.locked[p]:
                continue
            for k in occupant.get(int(pairs.mentor[p]), []):
                if member[g, k] or swapped[k] >= MAX_SWAPS_PER_MENTEE:
                    continue
                if inst.priority[k] and not inst.priority[j]:
                    continue
                if inst.locked[mentor_of[k]]:
                    continue
                # k's groups that j is not in lose a matched member: n off their margin.
                if (margin[member[:, k] & ~member[:, j]] < n).any():
                    continue
                loss = int(inst.score[mentor_of[k]] - inst.score[p])
                if best is None or loss < best[0]:
                    best = (loss, p, k)
    return None if best is None else (best[1], best[2])
