"""What every strategy of the search works from (see ``solver.strategies``): the round, the
relaxation's bounds, the candidate pairs and the work budget."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from solver.flow import Relaxation
from solver.instance import Instance
from solver.result import Level

Progress = Callable[[str], None]


class Budget:
    """The search's limits: ``work`` units of deterministic time (CP-SAT's own, and the
    branching's nodes counted in the same units) decide how far every search goes; the
    ``deadline`` (a ``time.perf_counter()`` reading) is only a safety net, and ``wall_stopped``
    records that it ended a search first."""

    def __init__(self, work: float, deadline: float):
        self.work = work
        self.deadline = deadline
        self.spent = 0.0
        self.wall_stopped = False

    def left(self) -> float:
        return self.work - self.spent

    def wall_left(self) -> float:
        return self.deadline - time.perf_counter()

    def charge(self, work: float, wall_stopped: bool) -> None:
        self.spent += work
        self.wall_stopped = self.wall_stopped or wall_stopped


@dataclass(frozen=True)
class Round:
    """What every strategy works from."""

    inst: Instance
    relaxation: Relaxation
    bounds: dict[str, int]  # the relaxation's values of levels 1-3
    candidates: np.ndarray  # allowed pairs the branching and level search may use
    full: bool  # the candidates are every allowed pair
    budget: Budget
    seed: int
    workers: int
    say: Progress


# The pairs (allowed-pair indices), the levels and the pairs searched; or the conflicts.
Outcome = tuple[np.ndarray, list[Level], int] | list[str]
