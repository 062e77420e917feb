"""Write a round's results: pairs.csv, unmatched.csv and result.json, all or nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matcher.data import ProblemData
from matcher.explain import pair_reason
from matcher.outputs import write_together
from matcher.safe_write import safe_cell, write_csv
from solver.result import Result, Status

PAIR_COLUMNS = (
    "mentor_id",
    "mentor_name",
    "mentee_id",
    "mentee_name",
    "cohort",
    "score",
    "reasons",
)
UNMATCHED_COLUMNS = ("mentee_id", "mentee_name", "cohort", "reason")


@dataclass(frozen=True)
class RoundReport:
    """The rows of the outputs, ready to write or serve."""

    pairs: list[dict[str, Any]]
    unmatched: list[dict[str, Any]]
    summary: dict[str, Any]


# Building and writing the report of a round, measured on the national sample (4,000 mentees,
# 2 cores): 0.4 s, about 0.1 ms a mentee; reserved at half as much again, for a loaded machine.
REPORT_SECONDS_PER_MENTEE = 1.5e-4
REPORT_SECONDS_MIN = 0.05


def report_seconds(problem: ProblemData) -> float:
    """Seconds to keep, out of a time limit, for ``build_report`` and ``write_report``."""
    return REPORT_SECONDS_MIN + REPORT_SECONDS_PER_MENTEE * len(problem.mentees)


# The solver's share of a limit never falls below this, even when reading took it all: a
# round must still come out with a pair list that keeps every rule.
MIN_SOLVE_SECONDS = 0.1


def solve_seconds(time_limit: float, elapsed: float, problem: ProblemData) -> float:
    """The solver's share of a ``time_limit`` for reading, solving and reporting a round,
    ``elapsed`` seconds after the clock started: what is left less ``report_seconds`` (at
    most a quarter of the limit), and never below ``MIN_SOLVE_SECONDS``."""
    reporting = min(report_seconds(problem), 0.25 * time_limit)
    return max(MIN_SOLVE_SECONDS, time_limit - elapsed - reporting)


def work_limit(time_limit: float, problem: ProblemData) -> float:
    """The search's work for a whole ``time_limit`` (``solver.solve.work_budget``), from the
    limit and the round's size alone (mentors × mentees for its allowed pairs, at most), so
    that how long reading took never changes the answer."""
    from solver.solve import work_budget

    pairs = len(problem.mentors) * len(problem.mentees)
    return work_budget(solve_seconds(time_limit, 0.0, problem), pairs)


def build_report(problem: ProblemData, result: Result) -> RoundReport:
    mentors = {m.mentor_id: m for m in problem.mentors}
    mentees = {m.mentee_id: m for m in problem.mentees}
    pairs = []
    for pair in result.pairs:
        mentor, mentee = mentors[pair.mentor_id], mentees[pair.mentee_id]
        pairs.append(
            {
                "mentor_id": mentor.mentor_id,
                "mentor_name": mentor.name,
                "mentee_id": mentee.mentee_id,
                "mentee_name": mentee.name,
                "cohort": mentee.cohort,
                "score": pair.score,
                "reasons": pair_reason(problem, mentor, mentee),
            }
        )
    matched = {p.mentee_id for p in result.pairs}
    # An infeasible round matches nobody: each mentee is told why, not left blank.
    nobody = (
        "no pair list keeps every rule in this round: " + "; ".join(result.conflicts)
        if result.status is Status.INFEASIBLE
        else ""
    )
    unmatched = [
        {
            "mentee_id": m.mentee_id,
            "mentee_name": m.name,
            "cohort": m.cohort,
            "reason": result.unmatched.get(m.mentee_id, nobody),
        }
        for m in problem.mentees
        if m.mentee_id not in matched
    ]
    priority = [m for m in problem.mentees if problem.is_priority(m)]
    fellows = [m for m in problem.mentees if m.cohort == "fellow"]
    summary = {
        "status": result.status.value,
        "objective": result.objective,
        "best_bound": result.best_bound,
        "gap": round(result.gap, 6),
        "seconds": result.seconds,
        "mentees": len(problem.mentees),
        "mentees_matched": len(matched),
        "fellows": len(fellows),
        "fellows_matched": sum(1 for m in fellows if m.mentee_id in matched),
        "priority_mentees": len(priority),
        "priority_matched": sum(1 for m in priority if m.mentee_id in matched),
        "mentors_used": len({p.mentor_id for p in result.pairs}),
        "levels": [
            {"name": lv.name, "value": lv.value, "bound": lv.bound, "proven": lv.proven}
            for lv in result.levels
        ],
        "allowed_pairs": result.allowed_pairs,
        "candidate_pairs": result.candidate_pairs,
        "timings": result.timings,
        "conflicts": list(result.conflicts),
        "advice": result.status.advice,
        # The search stops on a work budget, so the same input and seed give the same pairs;
        # true when the clock (a safety net on a slow or busy machine) stopped it first.
        "wall_limit_fired": result.wall_limit_fired,
        "input_notes": [note.as_row() for note in problem.notes],
    }
    return RoundReport(pairs, unmatched, summary)


def write_report(report: RoundReport, out_dir: str | Path) -> list[Path]:
    """Write the three files into ``out_dir``; on failure no file of this round is left."""
    document = {
        **report.summary,
        "pairs": _safe(report.pairs),
        "unmatched": _safe(report.unmatched),
    }
    return write_together(
        out_dir,
        {
            "pairs.csv": lambda path: write_csv(path, PAIR_COLUMNS, report.pairs),
            "unmatched.csv": lambda path: write_csv(path, UNMATCHED_COLUMNS, report.unmatched),
            "result.json": lambda path: path.write_text(
                json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            ),
        },
    )


def _safe(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """JSON exports too are often pasted into spreadsheets: neutralise formula-like text."""
    return [
        {k: v if isinstance(v, int | float) else safe_cell(v) for k, v in row.items()}
        for row in rows
    ]
