"""What a solve returns: a status you can trust, the levels of the objective, and the pairs."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Status(Enum):
    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"

    @property
    def advice(self) -> str:
        return {
            Status.OPTIMAL: "Every level of the objective is proven optimal.",
            Status.FEASIBLE: "The time limit ended the search: the pairs keep every rule; the gap says how far "
            "from the best bound they may be. Allow more time (--time-limit) to close it.",
            Status.INFEASIBLE: "The rules cannot all hold; the explanation names the rules and people that clash. "
            "Remove or change a lock, an exclusion or a setting and run again.",
        }[self]


# The lexicographic objective of a first run, in order (SPEC section 4): who is matched
# (priority mentees, all mentees, then the days they waited), then pair quality, then the
# balance / mix penalty.
LEVEL_NAMES: tuple[str, ...] = ("priority_matched", "matched", "waiting_days", "quality", "penalty")
# A re-run (previous pairs given) puts the fewest changes from them between who is matched and
# pair quality: staff have reviewed the last proposals, so a forbid or a pin should move few
# other pairs, but never at the cost of a mentee's place (see ``solver.stability``).
RERUN_LEVEL_NAMES: tuple[str, ...] = (
    "priority_matched",
    "matched",
    "waiting_days",
    "changes",
    "quality",
    "penalty",
)
# `maximize` is False for the levels that count what is lost: changes and the penalty.
LEVEL_MAXIMIZE: dict[str, bool] = {
    name: name not in ("changes", "penalty") for name in RERUN_LEVEL_NAMES
}


WALL_LIMIT_MESSAGE = (
    "The wall-clock limit ended the search before its work limit did: "
    "this answer may differ from run to run."
)


@dataclass(frozen=True)
class Level:
    """One level of the objective: the value reached, the best bound known, and whether proven."""

    name: str
    value: int
    bound: int
    proven: bool

    @property
    def gap(self) -> float:
        return abs(self.bound - self.value) / max(1, abs(self.bound))

    @property
    def proof(self) -> str:
        """How far it is proven, in the words of the progress lines."""
        return "proven" if self.proven else f"bound {self.bound}"


@dataclass(frozen=True)
class Pair:
    mentor_id: str
    mentee_id: str
    score: int


@dataclass(frozen=True)
class Result:
    status: Status
    pairs: tuple[Pair, ...]
    levels: tuple[Level, ...]
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    # For INFEASIBLE: one sentence per clash, naming the rules and people.
    conflicts: tuple[str, ...] = ()
    candidate_pairs: int = 0
    allowed_pairs: int = 0
    # Why each unmatched mentee was left out, by mentee_id.
    unmatched: dict[str, str] = field(default_factory=dict)
    # The search stops on a work limit counted in deterministic units, so the same input,
    # settings and seed give the same pairs; True when the wall-clock limit (a safety net on a
    # slow or busy machine) stopped it first, and the pairs may differ from run to run.
    wall_limit_fired: bool = False

    def level(self, name: str) -> Level:
        return next(level for level in self.levels if level.name == name)

    @property
    def objective(self) -> int:
        """The total quality of the pairs (level 3): the headline number."""
        return self.level("quality").value if self.levels else 0

    @property
    def best_bound(self) -> int:
        return self.level("quality").bound if self.levels else 0

    @property
    def gap(self) -> float:
        """Relative gap of the first level that is not proven optimal (all but the penalty),
        else 0."""
        for level in self.levels:
            if level.name != "penalty" and not level.proven:
                return level.gap
        return 0.0
