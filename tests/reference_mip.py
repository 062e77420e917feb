"""A reference MIP of a first run's five levels, for tests only (SCIP through ``pywraplp``).

Written from SPEC section 4 and the independent checks in ``matcher.checks`` (never from
``solver.*``), in plain loops, so that a test can say the solver's answer is the true
lexicographic optimum: one binary x[i, j] per pair that ``pair_allowed`` allows; each mentee
at most one mentor; for each mentor one binary u[i, n] per number n of new mentees that
``violations`` accepts, exactly one of them chosen; locks forced; the equity limit as one row
per group; the levels of ``evaluate`` solved one by one, each held at its optimum for the next.
"""

from __future__ import annotations

from dataclasses import dataclass

from ortools.linear_solver import pywraplp

from matcher.checks import GROUP_ATTRIBUTES, pair_allowed, waiting_days
from matcher.data import Mentor, ProblemData
from matcher.equity import active, groups, slack
from matcher.scoring import pair_parts

LEVELS = ("priority_matched", "matched", "waiting_days", "quality", "penalty")


@dataclass(frozen=True)
class Reference:
    levels: dict[str, int]
    pairs: list[tuple[str, str]]


def allowed_new_counts(problem: ProblemData, mentor: Mentor, most_possible: int) -> list[int]:
    """The numbers of new mentees ``violations`` accepts for this mentor (up to those it can get)."""
    settings = problem.settings
    lo, hi = mentor.band(settings)
    current = mentor.current_mentees
    out = []
    # No new mentees: fine when unused mentors are allowed, when the mentor has no room (or is
    # not active), or when the current mentees already keep the band.
    has_room = mentor.status == "active" and current < hi
    if settings.capacity.allow_unused_mentors or not has_room or lo <= current <= hi:
        out.append(0)
    # Some new mentees: the total must keep the band.
    out += [n for n in range(1, most_possible + 1) if lo <= current + n <= hi]
    return out


def _norm(value: str | None) -> str | None:
    return value.strip().lower() if value is not None and value.strip() else None


def solve_reference(problem: ProblemData, time_limit: float = 60.0) -> Reference | None:
    """The lexicographic optimum of the five levels and its pairs; None when infeasible."""
    assert not problem.previous, "a re-run's 'changes' level is not modelled"
    solver = pywraplp.Solver.CreateSolver("SCIP")
    assert solver is not None, "OR-Tools was built without SCIP"
    solver.SetTimeLimit(int(time_limit * 1000))
    params = pywraplp.MPSolverParameters()
    params.SetDoubleParam(params.RELATIVE_MIP_GAP, 0.0)
    mentors, mentees, settings = problem.mentors, problem.mentees, problem.settings

    x = {}
    for i, mentor in enumerate(mentors):
        for j, mentee in enumerate(mentees):
            if pair_allowed(problem, mentor, mentee):
                x[i, j] = solver.BoolVar(f"x_{i}_{j}")

    # Rule 1: a mentee gets at most one mentor.
    for j in range(len(mentees)):
        solver.Add(solver.Sum([x[i, j] for i in range(len(mentors)) if (i, j) in x]) <= 1)

    # Rule 1: each mentor's number of new mentees is one of the counts the band allows.
    # u[i, n] = 1 when mentor i takes exactly n new mentees; the penalty reads its square.
    u = {}
    for i, mentor in enumerate(mentors):
        new = solver.Sum([x[i, j] for j in range(len(mentees)) if (i, j) in x])
        most_possible = sum(1 for j in range(len(mentees)) if (i, j) in x)
        counts = allowed_new_counts(problem, mentor, most_possible)
        if not counts:
            return None
        for n in counts:
            u[i, n] = solver.BoolVar(f"u_{i}_{n}")
        solver.Add(solver.Sum([u[i, n] for n in counts]) == 1)
        solver.Add(new == solver.Sum([n * u[i, n] for n in counts]))

    # Rule 2: locks are always paired (a lock on a pair the rules forbid cannot hold).
    mentor_at = {m.mentor_id: i for i, m in enumerate(mentors)}
    mentee_at = {e.mentee_id: j for j, e in enumerate(mentees)}
    for lock in problem.locks:
        key = (mentor_at[lock.mentor_id], mentee_at[lock.mentee_id])
        if key not in x:
            return None
        solver.Add(x[key] == 1)

    # Equity: for every group, N * m_g - n_g * M >= -slack(n_g).
    if active(problem):
        everyone = solver.Sum(list(x.values()))
        for group in groups(problem):
            in_group = solver.Sum([v for (_, j), v in x.items() if j in group.members])
            n_g = len(group.members)
            solver.Add(len(mentees) * in_group - n_g * everyone >= -slack(problem, n_g))

    # Levels 1-4, maximised one at a time; each then held at its optimum.
    waited = waiting_days(problem)
    priority = set(settings.rules.priority_cohorts)
    coefficient = {
        "priority_matched": lambda i, j: int(mentees[j].cohort in priority),
        "matched": lambda i, j: 1,
        "waiting_days": lambda i, j: waited[mentees[j].mentee_id],
        "quality": lambda i, j: sum(pair_parts(problem, mentors[i], mentees[j]).values()),
    }
    levels: dict[str, int] = {}

    def optimise(name: str, expr, maximise: bool) -> bool:
        if maximise:
            solver.Maximize(expr)
        else:
            solver.Minimize(expr)
        status = solver.Solve(params)
        if status == pywraplp.Solver.INFEASIBLE:
            return False
        assert status == pywraplp.Solver.OPTIMAL, f"SCIP did not prove level {name}: {status}"
        levels[name] = round(solver.Objective().Value())
        return True

    for name, coeff in coefficient.items():
        expr = solver.Sum([coeff(i, j) * v for (i, j), v in x.items()])
        if not optimise(name, expr, maximise=True):
            return None
        # Integer coefficients: >= optimum - 0.5 holds the level at its optimum exactly.
        solver.Add(expr >= levels[name] - 0.5)

    # Level 5, minimised: balance * sum of squared totals + mix * excess per group + churn.
    w = settings.weights
    balance = solver.Sum([(mentors[i].current_mentees + n) ** 2 * v for (i, n), v in u.items()])
    mix = solver.Sum([])
    for i in range(len(mentors)):
        for attr in GROUP_ATTRIBUTES:
            members: dict[str, list] = {}
            for j in range(len(mentees)):
                value = _norm(getattr(mentees[j], attr))
                if (i, j) in x and value is not None:
                    members.setdefault(value, []).append(x[i, j])
            for value, pair_vars in members.items():
                # excess >= n - 1 and >= 0; minimised, it equals max(0, n - 1).
                excess = solver.NumVar(0, len(pair_vars), f"excess_{i}_{attr}_{value}")
                solver.Add(excess >= solver.Sum(pair_vars) - 1)
                mix += excess
    penalty = w.balance * balance + w.mix * mix  # no previous pairs: no churn
    optimise("penalty", penalty, maximise=False)

    pairs = [
        (mentors[i].mentor_id, mentees[j].mentee_id)
        for (i, j), v in sorted(x.items())
        if v.solution_value() > 0.5
    ]
    return Reference(levels, pairs)
