"""Builders for tiny matching rounds, and the checks every solver test makes.

``mentor("M1", focus_areas=["leadership"])`` and ``mentee("E1", needs=["leadership"])``
accept lists where the records hold tuples or frozensets; ``problem(...)`` takes pairs as
``(mentor_id, mentee_id)`` tuples and settings as keyword dictionaries per section.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from ortools.linear_solver import pywraplp

from matcher.checks import evaluate, pair_allowed, violations, waiting_days
from matcher.data import Mentee, Mentor, PairRef, ProblemData
from matcher.errors import InputError, Problem
from matcher.readers import read_mentees, read_mentors
from matcher.scoring import pair_parts
from matcher.settings import Settings
from solver.result import Result, Status
from solver.solve import solve

DATA = Path(__file__).resolve().parent / "data"
SOLVER_DATA = DATA / "solver"
TIME_LIMIT = 10.0

_SETS = ("availability", "modes")
_TUPLES = ("focus_areas", "needs", "preferred_mentors", "preferred_mentees")


def _fields(kw: dict[str, Any]) -> dict[str, Any]:
    out = dict(kw)
    for key in _SETS:
        if key in out and not isinstance(out[key], frozenset):
            out[key] = frozenset(out[key])
    for key in _TUPLES:
        if key in out and not isinstance(out[key], tuple):
            out[key] = tuple(out[key])
    if isinstance(out.get("waiting_since"), str):
        out["waiting_since"] = date.fromisoformat(out["waiting_since"])
    return out


def mentor(mentor_id: str, **kw: Any) -> Mentor:
    kw.setdefault("name", f"Dr {mentor_id}")
    return Mentor(mentor_id=mentor_id, **_fields(kw))


def mentee(mentee_id: str, cohort: str = "mid_career", **kw: Any) -> Mentee:
    kw.setdefault("name", f"Dr {mentee_id}")
    return Mentee(mentee_id=mentee_id, cohort=cohort, **_fields(kw))


def _refs(pairs: Iterable[tuple[str, str]]) -> tuple[PairRef, ...]:
    return tuple(PairRef(a, b) for a, b in pairs)


def settings(
    capacity: Mapping[str, Any] | None = None,
    rules: Mapping[str, Any] | None = None,
    weights: Mapping[str, Any] | None = None,
) -> Settings:
    base = Settings()
    return replace(
        base,
        capacity=replace(base.capacity, **(capacity or {})),
        rules=replace(base.rules, **(rules or {})),
        weights=replace(base.weights, **(weights or {})),
    )


def problem(
    mentors: Iterable[Mentor],
    mentees: Iterable[Mentee],
    *,
    exclusions: Iterable[tuple[str, str]] = (),
    locks: Iterable[tuple[str, str]] = (),
    previous: Iterable[tuple[str, str]] = (),
    capacity: Mapping[str, Any] | None = None,
    rules: Mapping[str, Any] | None = None,
    weights: Mapping[str, Any] | None = None,
) -> ProblemData:
    return ProblemData(
        mentors=tuple(mentors),
        mentees=tuple(mentees),
        exclusions=_refs(exclusions),
        locks=_refs(locks),
        previous=_refs(previous),
        settings=settings(capacity, rules, weights),
    )


def run(prob: ProblemData, *, seed: int = 0, time_limit: float = TIME_LIMIT) -> Result:
    """Solve a small round and check the answer before a test looks at it."""
    result = solve(prob, time_limit=time_limit, seed=seed)
    assert_valid(prob, result)
    return result


def pair_set(result: Result) -> set[tuple[str, str]]:
    return {(p.mentor_id, p.mentee_id) for p in result.pairs}


def assert_valid(prob: ProblemData, result: Result) -> None:
    """Every hard rule holds and the reported levels equal the independent recomputation."""
    if result.status is Status.INFEASIBLE:
        assert not result.pairs
        assert result.conflicts, "an INFEASIBLE result must explain itself"
        return
    pairs = [(p.mentor_id, p.mentee_id) for p in result.pairs]
    assert violations(prob, pairs) == []
    expected = evaluate(prob, pairs)
    assert {level.name: level.value for level in result.levels} == expected
    assert result.objective == expected["quality"]
    mentors = {m.mentor_id: m for m in prob.mentors}
    mentees = {m.mentee_id: m for m in prob.mentees}
    for pair in result.pairs:
        assert pair.score == evaluate(prob, [(pair.mentor_id, pair.mentee_id)])["quality"], (
            f"score of {pair.mentor_id}-{pair.mentee_id}"
        )
        assert pair.mentor_id in mentors and pair.mentee_id in mentees
    matched = {p.mentee_id for p in result.pairs}
    assert set(result.unmatched) == set(mentees) - matched
    assert all(result.unmatched.values()), "every unmatched mentee needs a reason"


def reference_levels(prob: ProblemData) -> dict[str, int] | None:
    """All five levels by a MIP written from SPEC section 4 (SCIP), or None when infeasible.

    x[i, j] for every pair that ``matcher.checks`` allows; y[i] = mentor i takes new mentees.
    Levels 1-4 are maximised one by one, each fixed before the next; then the penalty is
    minimised: squared loads through unary load steps of rising cost 2(c + k) - 1, the mix
    through one excess variable per (mentor, attribute, group), churn through kept pairs.
    """
    solver = pywraplp.Solver.CreateSolver("SCIP")
    assert solver is not None, "OR-Tools was built without SCIP"
    st = prob.settings
    x = {}
    for i, m in enumerate(prob.mentors):
        for j, e in enumerate(prob.mentees):
            if pair_allowed(prob, m, e):
                x[i, j] = solver.BoolVar(f"x{i}_{j}")
    for j, _ in enumerate(prob.mentees):
        solver.Add(sum(v for (_, b), v in x.items() if b == j) <= 1)
    loads = []
    for i, m in enumerate(prob.mentors):
        lo, hi = m.band(st)
        load = sum(v for (a, _), v in x.items() if a == i)
        loads.append(load)
        y = solver.BoolVar(f"y{i}")
        solver.Add(load <= max(0, hi - m.current_mentees) * y)
        solver.Add(load >= max(0, lo - m.current_mentees) * y)
        room = m.is_active and m.current_mentees < hi
        if not st.capacity.allow_unused_mentors and room and m.current_mentees < lo:
            solver.Add(y == 1)
    index = {m.mentor_id: i for i, m in enumerate(prob.mentors)}
    jndex = {e.mentee_id: j for j, e in enumerate(prob.mentees)}
    for lock in prob.locks:
        key = index[lock.mentor_id], jndex[lock.mentee_id]
        if key not in x:
            return None
        solver.Add(x[key] == 1)
    waited = waiting_days(prob)
    priority = set(st.rules.priority_cohorts)

    def quality(i: int, j: int) -> int:
        return sum(pair_parts(prob, prob.mentors[i], prob.mentees[j]).values())

    coeffs: dict[str, Callable[[int, int], int]] = {
        "priority_matched": lambda i, j: int(prob.mentees[j].cohort in priority),
        "matched": lambda i, j: 1,
        "waiting_days": lambda i, j: waited[prob.mentees[j].mentee_id],
        "quality": quality,
    }
    levels: dict[str, int] = {}
    for name, coeff in coeffs.items():
        expr = sum(coeff(i, j) * v for (i, j), v in x.items())
        solver.Maximize(expr)
        status = solver.Solve()
        if status == pywraplp.Solver.INFEASIBLE:
            return None
        assert status == pywraplp.Solver.OPTIMAL
        levels[name] = round(solver.Objective().Value())
        solver.Add(expr >= levels[name])

    w = st.weights
    penalty: Any = w.balance * sum(m.current_mentees**2 for m in prob.mentors)
    for i, m in enumerate(prob.mentors):
        steps = [solver.BoolVar(f"z{i}_{k}") for k in range(sum(1 for a, _ in x if a == i))]
        solver.Add(sum(steps) == loads[i])
        c = m.current_mentees
        penalty += w.balance * sum((2 * (c + k) - 1) * z for k, z in enumerate(steps, 1))
        for attr in ("practice_code", "pcn", "cohort"):
            groups: dict[str, list[Any]] = {}
            for (a, j), v in x.items():
                value = getattr(prob.mentees[j], attr)
                if a == i and value and value.strip():
                    groups.setdefault(value.strip().lower(), []).append(v)
            for members in groups.values():
                excess = solver.NumVar(0, len(members), "")
                solver.Add(excess >= sum(members) - 1)
                penalty += w.mix * excess
    kept = [x[key] for p in prob.previous if (key := (index[p.mentor_id], jndex[p.mentee_id])) in x]
    penalty += w.churn * (len(prob.previous) - sum(kept))
    solver.Minimize(penalty)
    assert solver.Solve() == pywraplp.Solver.OPTIMAL
    levels["penalty"] = round(solver.Objective().Value())
    return levels


# --- reading spreadsheets ---------------------------------------------------------------------


def write(path: Path, header: str, *rows: str) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def problems_of(read: Callable[[], object]) -> tuple[Problem, ...]:
    with pytest.raises(InputError) as caught:
        read()
    return caught.value.problems


def mentor_cell(tmp_path: Path, column: str, value: str) -> tuple[Problem, ...]:
    """Problems of a mentors file whose only row has ``value`` in ``column``."""
    path = tmp_path / "mentors.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["mentor_id", "name", column], ["M1", "Ann", value]])
    return problems_of(lambda: read_mentors(path, Settings()))


def mentee_cell(tmp_path: Path, column: str, value: str) -> tuple[Problem, ...]:
    path = tmp_path / "mentees.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        rows = [["mentee_id", "name", "cohort", column], ["E1", "Bo", "fellow", value]]
        csv.writer(handle).writerows(rows)
    return problems_of(lambda: read_mentees(path, Settings()))


def one(problems: tuple[Problem, ...], file: str, row: int | None, column: str) -> str:
    """Check there is exactly one problem, at file/row/column; return its message."""
    (problem,) = problems
    assert (problem.file, problem.row, problem.column) == (file, row, column)
    return problem.message
