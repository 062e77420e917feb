"""An independent MIP of recruitment planning, for tests only (SCIP through ``pywraplp``).

Written from SPEC section 4 and ``matcher.checks`` (never from ``solver.*``), in plain loops:
every profile is copied ``copies`` times as a mentor of its own (current mentees 0, active);
x[i, j] per pair that ``pair_allowed`` allows; each mentee at most one mentor, each target
mentee exactly one; a current mentor takes nothing or keeps the band (``used`` y[i], forced
where the scheme allows no unused mentor); a copy is hired (h) or not, and if hired keeps the
band; copies of a profile are hired in order. Minimise the copies hired.
"""

from __future__ import annotations

from dataclasses import replace

from ortools.linear_solver import pywraplp

from matcher.checks import pair_allowed
from matcher.data import Mentor, ProblemData


def fewest_new_mentors(
    problem: ProblemData,
    profiles: list[Mentor],
    target: set[str],
    copies: int | None = None,
    time_limit: float = 60.0,
) -> int | None:
    """The fewest copies of ``profiles`` with which every ``target`` mentee can be matched
    (``copies`` of each at most, by default one per target mentee); None when none do."""
    copies = len(target) if copies is None else copies
    hired = [
        replace(p, mentor_id=f"REF-{k}-{c}", current_mentees=0, status="active")
        for k, p in enumerate(profiles)
        for c in range(copies)
    ]
    extended = replace(problem, mentors=problem.mentors + tuple(hired), files=())
    settings = extended.settings
    solver = pywraplp.Solver.CreateSolver("SCIP")
    assert solver is not None, "OR-Tools was built without SCIP"
    solver.SetTimeLimit(int(time_limit * 1000))
    mentors, mentees = extended.mentors, extended.mentees
    x = {
        (i, j): solver.BoolVar(f"x_{i}_{j}")
        for i, m in enumerate(mentors)
        for j, e in enumerate(mentees)
        if pair_allowed(extended, m, e)
    }
    for j, e in enumerate(mentees):
        mine = [v for (_, b), v in x.items() if b == j]
        if e.mentee_id in target:
            if not mine:
                return None
            solver.Add(solver.Sum(mine) == 1)
        elif mine:
            solver.Add(solver.Sum(mine) <= 1)
    n_current = len(problem.mentors)
    h = []
    for i, m in enumerate(mentors):
        lo, hi = m.band(settings)
        load = solver.Sum([v for (a, _), v in x.items() if a == i])
        used = solver.BoolVar(f"y_{i}")
        solver.Add(load <= max(0, hi - m.current_mentees) * used)
        solver.Add(load >= max(0, lo - m.current_mentees) * used)
        room = m.is_active and m.current_mentees < hi
        if i < n_current:
            if not settings.capacity.allow_unused_mentors and room and m.current_mentees < lo:
                solver.Add(used == 1)
        else:
            h.append(used)
    for k in range(len(profiles)):
        for c in range(copies - 1):
            solver.Add(h[k * copies + c] >= h[k * copies + c + 1])
    solver.Minimize(solver.Sum(h))
    status = solver.Solve()
    if status == pywraplp.Solver.INFEASIBLE:
        return None
    assert status == pywraplp.Solver.OPTIMAL, f"SCIP ended with status {status}"
    return round(solver.Objective().Value())
