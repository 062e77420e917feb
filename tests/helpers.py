"""Builders for tiny matching rounds, and the checks every solver test makes.

``mentor("M1", focus_areas=["leadership"])`` and ``mentee("E1", needs=["leadership"])``
accept lists where the records hold tuples or frozensets; ``problem(...)`` takes pairs as
``(mentor_id, mentee_id)`` tuples and settings as keyword dictionaries per section.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from matcher.checks import evaluate, violations
from matcher.data import Mentee, Mentor, PairRef, ProblemData
from matcher.readers import load_problem
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


def load_solver_data(mentees_file: str = "mentees.csv", **files: str) -> ProblemData:
    """A round from ``tests/data/solver``: mentors.csv, the given mentees file, other files."""
    paths = {kind: SOLVER_DATA / name for kind, name in files.items()}
    return load_problem(SOLVER_DATA / "mentors.csv", SOLVER_DATA / mentees_file, **paths)


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
