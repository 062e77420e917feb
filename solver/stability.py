"""A re-run: fewest changes from the last proposals, after who is matched and before quality.

The order on a re-run (``result.RERUN_LEVEL_NAMES``) and why:

1. most priority mentees, 2. most mentees, and the days they waited: who gets a mentor comes
   first, as in a first run (SPEC section 4, levels 1-2). A mentee's place is never traded
   for stability: when matching one more mentee, or one who waited longer, needs more pairs to
   change, they change.
3. fewest changes: previous pairs not kept. Staff have read, and often discussed, the last
   proposals; forbidding or pinning one pair should move as few of the others as it can. Put
   after quality (as the penalty's churn term is), a forbid lets the solver re-shuffle many
   pairs for a point of quality, which nobody reviewing a round wants.
4. then the best quality among the pair lists with that fewest changes, 5. then the penalty
   (balance and mix; its churn term no longer decides anything once the changes are fixed).

SPEC section 4 lists the fewest changes in its last level, with balance and mix; the issue
on re-runs ("a re-run uses the last proposals so changes stay few ... unless a better count of
matched mentees needs more") moves them up to here, and no further: above them stay the hard
rules and the levels that say who gets a mentor.

Without previous pairs this module does nothing: a first run is solved exactly as before.

How: every strategy of ``solver.strategies`` optimises levels 1-3 of the first-run order,
the third being the total pair score. On a re-run each pair that keeps a previous pair gets
``weight`` points on top of its score, ``weight`` being more than any two pair lists with the
same number of mentees can differ in quality. So one more kept pair outweighs any quality, and
among equal kept pairs quality decides: the third level of the search is levels 3-4 above in
one number, which the flow relaxation, its reduced costs and CP-SAT handle as they handle
quality. ``Stability.split`` turns that number back into the two levels.

The weight grows with the square of the round's size; should the flow's costs no longer fit
its integers (rounds far above the national sample's 4,000 mentees), the weight is 0: the
search keeps the first-run order, with changes priced only in the penalty, and the changes
level is reported unproven.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from solver.flow import MAX_SAFE_COST
from solver.instance import Instance
from solver.result import Level


@dataclass(frozen=True)
class Stability:
    """How the previous pairs enter the search's quality level, and how to take them out."""

    n_previous: int  # previous pairs named, allowed now or not
    kept: np.ndarray  # int64 per allowed pair: how many previous pairs it keeps (0 or 1 mostly)
    weight: int  # points per kept previous pair: more than any quality difference; 0 = unweighed
    lowest: int  # the lowest pair score

    def instance(self, inst: Instance) -> Instance:
        """``inst`` with ``weight`` points per kept previous pair added to each pair's score."""
        return replace(inst, score=inst.score + self.weight * self.kept)

    def changes(self, chosen: np.ndarray) -> int:
        """Previous pairs that a pair list (allowed-pair indices) does not keep."""
        return self.n_previous - int(self.kept[chosen].sum())

    def split(
        self, inst: Instance, chosen: np.ndarray, level: Level, earlier_proven: bool
    ) -> tuple[Level, Level]:
        """The search's quality level (weighted kept pairs plus quality) as the levels
        ``changes`` and ``quality``.

        With m mentees matched, every pair list's quality lies in [m * lowest, m * lowest +
        weight - 1], so ``value - m * lowest`` is ``weight * kept + (quality - m * lowest)``
        with the second term below ``weight``: integer division parts them. The same holds for
        a bound on the weighted value: it bounds the kept pairs by its quotient, and the quality
        of pair lists that keep as many as ``chosen`` by what is left. The changes are proven
        when that quotient is reached and the levels before are proven.
        """
        kept = int(self.kept[chosen].sum())
        quality = int(inst.score[chosen].sum())
        if level.value != self.weight * kept + quality:
            raise AssertionError("the search's quality level is not weight x kept + quality")
        changes = self.changes(chosen)
        if self.weight == 0:
            # The search did not weigh the previous pairs: no bound on the changes but none.
            return Level("changes", changes, 0, changes == 0), level
        floor = len(chosen) * self.lowest
        kept_bound = min(max(kept, (level.bound - floor) // self.weight), self.n_previous)
        quality_bound = max(quality, level.bound - self.weight * kept)
        return (
            Level(
                "changes",
                changes,
                self.n_previous - kept_bound,
                level.proven or (earlier_proven and kept_bound == kept),
            ),
            Level("quality", quality, quality_bound, level.proven),
        )

    def levels(self, inst: Instance, chosen: np.ndarray, levels: list[Level]) -> list[Level]:
        """The search's levels with its quality level split (see ``split``)."""
        out: list[Level] = []
        for level in levels:
            if level.name == "quality":
                out += self.split(inst, chosen, level, all(lv.proven for lv in out))
            else:
                out.append(level)
        return out


def stability(inst: Instance) -> Stability | None:
    """The stability level of a re-run, or None on a first run (no previous pairs)."""
    problem = inst.problem
    if not problem.previous:
        return None
    mentor_index, mentee_index = problem.mentor_index, problem.mentee_index
    index = inst.pair_index(
        np.array([mentor_index[ref.mentor_id] for ref in problem.previous]),
        np.array([mentee_index[ref.mentee_id] for ref in problem.previous]),
    )
    kept = np.bincount(index[index >= 0], minlength=len(inst.pairs)).astype(np.int64)
    if len(inst.pairs) == 0:
        return Stability(len(problem.previous), kept, 1, 0)
    lowest, highest = int(inst.score.min()), int(inst.score.max())
    # At most this many mentees are matched, each pair within [lowest, highest] points.
    most_matched = len(np.unique(inst.pairs.mentee))
    weight = (highest - lowest) * most_matched + 1
    # The flow's largest cost, as ``flow.relax`` scales it: waiting days above the weighted
    # scores' range, times the node count.
    span = highest - lowest + weight * int(kept.max())
    largest = (
        int(inst.wait.max(initial=0))
        * (span * most_matched + 1)
        * (inst.n_mentees + inst.n_mentors + 5)
    )
    if largest > MAX_SAFE_COST:
        weight = 0
    return Stability(len(problem.previous), kept, weight, lowest)
