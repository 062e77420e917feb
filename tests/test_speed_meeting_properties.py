"""Property-based tests of speed-meeting rotations on random small events.

Each event mixes needs, availability, modes, practices, coordinates, paused and full mentors,
strict gender wishes and exclusions, so that some pairs are forbidden. Whatever the
scheduler returns is checked against ``matcher.checks.pair_allowed`` (written from the SPEC,
not from ``matcher.rules``) and against small MIPs (OR-Tools SCIP) for the number of
meetings and how evenly they are shared among mentees.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from helpers import mentee, mentor, problem
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from ortools.linear_solver import pywraplp

from matcher.checks import pair_allowed
from matcher.data import ProblemData
from solver.speed_meeting import Schedule, schedule

SLOTS = ("mon_am", "tue_pm", "wed_eve", "sat_am")
MODES = ("virtual", "face_to_face")
PRACTICES = (None, "A81001", "B82002", "C83003")
AREAS = ("leadership", "wellbeing", "research", "partnership")
GENDERS = (None, "female", "male")
HYPOTHESIS = hyp_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def events(draw: st.DrawFn) -> tuple[ProblemData, int, int]:
    """A random event: (people, rounds, per_table)."""

    def person() -> dict[str, Any]:
        near = draw(st.booleans())
        return {
            "practice_code": draw(st.sampled_from(PRACTICES)),
            "availability": draw(st.sets(st.sampled_from(SLOTS), max_size=2)),
            "modes": draw(st.sets(st.sampled_from(MODES), min_size=1)),
            # Within about 40 km: some face-to-face-only pairs are too far apart.
            "latitude": round(draw(st.floats(51.8, 52.2)), 3) if near else None,
            "longitude": round(draw(st.floats(-1.3, -0.8)), 3) if near else None,
        }

    mentor_ids = [f"M{i}" for i in range(1, draw(st.integers(1, 8)) + 1)]
    mentee_ids = [f"E{j}" for j in range(1, draw(st.integers(1, 20)) + 1)]
    mentors = [
        mentor(
            mentor_id,
            focus_areas=draw(st.lists(st.sampled_from(AREAS), max_size=2, unique=True)),
            gender=draw(st.sampled_from(GENDERS)),
            status=draw(st.sampled_from(("active",) * 5 + ("paused",))),
            # 8 is the scheme's maximum: such a mentor is full.
            current_mentees=draw(st.sampled_from((0,) * 5 + (8,))),
            **person(),
        )
        for mentor_id in mentor_ids
    ]
    mentees = []
    for mentee_id in mentee_ids:
        wish = draw(st.sampled_from(GENDERS))
        mentees.append(
            mentee(
                mentee_id,
                needs=draw(st.lists(st.sampled_from(AREAS), max_size=3, unique=True)),
                mentor_gender=wish,
                mentor_gender_strict=wish is not None and draw(st.booleans()),
                max_distance_km=draw(st.none() | st.sampled_from([10.0, 25.0])),
                **person(),
            )
        )
    every_pair = [(a, b) for a in mentor_ids for b in mentee_ids]
    exclusions = draw(st.lists(st.sampled_from(every_pair), max_size=6, unique=True))
    prob = problem(mentors, mentees, exclusions=exclusions)
    return prob, draw(st.integers(1, 5)), draw(st.integers(1, 3))


def _may_meet(prob: ProblemData) -> list[tuple[int, int]]:
    """(mentor index, mentee index) of the pairs that may meet.

    The hard rules of ``matcher.checks``, and a mentor with room for a new mentee: the
    scheduler, like matching, leaves out mentors already at their maximum.
    """
    st_ = prob.settings
    return [
        (i, j)
        for i, m in enumerate(prob.mentors)
        if m.current_mentees < m.band(st_)[1]
        for j, e in enumerate(prob.mentees)
        if pair_allowed(prob, m, e)
    ]


class _Reference:
    """Small MIPs (SCIP) over the pairs that may meet, optimised one aim after another.

    x[i, j] = mentor i meets mentee j; a mentee meets at most ``rounds`` mentors, a mentor at
    most ``per_table x rounds`` mentees. Each optimum is fixed before the next is sought.
    """

    def __init__(self, prob: ProblemData, rounds: int, per_table: int) -> None:
        solver = pywraplp.Solver.CreateSolver("SCIP")
        assert solver is not None
        self.solver = solver
        x = {(i, j): solver.BoolVar(f"x{i}_{j}") for i, j in _may_meet(prob)}
        self.per_mentee = [
            solver.Sum([v for (_, b), v in x.items() if b == j]) for j in range(len(prob.mentees))
        ]
        self.per_mentor = [
            solver.Sum([v for (a, _), v in x.items() if a == i]) for i in range(len(prob.mentors))
        ]
        for count in self.per_mentee:
            solver.Add(count <= rounds)
        for count in self.per_mentor:
            solver.Add(count <= per_table * rounds)
        self.total = solver.Sum(list(x.values()))
        self.cap = per_table * rounds

    def _best(self, objective: Any, *, maximise: bool) -> int:
        if maximise:
            self.solver.Maximize(objective)
        else:
            self.solver.Minimize(objective)
        assert self.solver.Solve() == pywraplp.Solver.OPTIMAL
        value = round(self.solver.Objective().Value())
        self.solver.Add(objective == value)
        return value

    def meetings(self) -> int:
        return self._best(self.total, maximise=True)

    def spread(self, counts: list[Any]) -> tuple[int, int]:
        """The largest possible least of ``counts``, then (with it fixed) the smallest most."""
        least = self.solver.IntVar(0, self.cap, "")
        most = self.solver.IntVar(0, self.cap, "")
        for count in counts:
            self.solver.Add(count >= least)
            self.solver.Add(count <= most)
        return self._best(least, maximise=True), self._best(most, maximise=False)


def _counts(prob: ProblemData, plan: Schedule) -> tuple[list[int], list[int]]:
    """Meetings per mentee and per mentor, in file order."""
    mentee_counts = Counter(m.mentee_id for m in plan.meetings)
    mentor_counts = Counter(m.mentor_id for m in plan.meetings)
    return (
        [mentee_counts[e.mentee_id] for e in prob.mentees],
        [mentor_counts[m.mentor_id] for m in prob.mentors],
    )


@HYPOTHESIS
@given(events())
def test_every_meeting_keeps_the_rules(event: tuple[ProblemData, int, int]) -> None:
    prob, rounds, per_table = event
    plan = schedule(prob, rounds=rounds, per_table=per_table)
    mentors = {m.mentor_id: m for m in prob.mentors}
    mentees = {e.mentee_id: e for e in prob.mentees}
    pairs = [(m.mentor_id, m.mentee_id) for m in plan.meetings]
    assert len(pairs) == len(set(pairs)), "someone met the same person twice"
    assert max(Counter((m.round, m.mentee_id) for m in plan.meetings).values(), default=0) <= 1
    assert max(Counter((m.round, m.table) for m in plan.meetings).values(), default=0) <= per_table
    assert max(Counter((m.round, m.mentor_id) for m in plan.meetings).values(), default=0) <= (
        per_table
    )
    for m in plan.meetings:
        assert 1 <= m.round <= rounds
        assert plan.tables[m.mentor_id] == m.table
        assert pair_allowed(prob, mentors[m.mentor_id], mentees[m.mentee_id]), (
            f"{m.mentor_id}-{m.mentee_id} meet but the rules forbid it"
        )
    busy = {(m.round, m.mentor_id) for m in plan.meetings}
    busy |= {(m.round, m.mentee_id) for m in plan.meetings}
    everyone = [*mentors, *mentees]
    free = [(r, p) for r in range(1, rounds + 1) for p in everyone if (r, p) not in busy]
    assert sorted(plan.breaks) == sorted(free)
    assert len(plan.starts) == rounds


@HYPOTHESIS
@given(events())
def test_meetings_are_as_many_and_as_even_as_an_independent_mip(
    event: tuple[ProblemData, int, int],
) -> None:
    prob, rounds, per_table = event
    plan = schedule(prob, rounds=rounds, per_table=per_table)
    reference = _Reference(prob, rounds, per_table)
    meetings = reference.meetings()
    counts, _ = _counts(prob, plan)
    assert len(plan.meetings) == meetings
    assert (min(counts), max(counts)) == reference.spread(reference.per_mentee)
    assert plan.stats["meetings"] == meetings
    assert (plan.stats["min_meetings_per_mentee"], plan.stats["max_meetings_per_mentee"]) == (
        min(counts),
        max(counts),
    )
    assert len(plan.meetings) <= plan.stats["degree_bound"] <= plan.seats_bound


@HYPOTHESIS
@given(events())
def test_with_the_mentees_counts_fixed_mentor_loads_are_as_even_as_possible(
    event: tuple[ProblemData, int, int],
) -> None:
    # Mentor loads come after the mentees' evenness: fix each mentee's number of meetings to
    # the schedule's (the most even shares, checked above) and ask the MIP for the loads.
    prob, rounds, per_table = event
    plan = schedule(prob, rounds=rounds, per_table=per_table)
    counts, loads = _counts(prob, plan)
    reference = _Reference(prob, rounds, per_table)
    for count, wanted in zip(reference.per_mentee, counts, strict=True):
        reference.solver.Add(count == wanted)
    assert (min(loads), max(loads)) == reference.spread(reference.per_mentor)
