"""The work of the analysts' plans, run in a child process (``service.solving.call_in_child``):
each function takes the plan's problem data and asks, reports progress through
``progress`` and answers with ids and figures only (what ``plans.result`` keeps).

Imported by the web process only for the names of these functions: the solver and the
planning modules are imported inside them, in the child.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from matcher.data import ProblemData
from matcher.settings import Settings


def compare_plan(
    problems: list[ProblemData],
    names: list[str],
    time_limit: float,
    seed: int,
    *,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    """``matcher compare`` over the round: one row of figures per scenario, with the
    differences from the first (``matcher.compare.table_rows``)."""
    from matcher.compare import Scenario, run_all, table_rows

    scenarios = [
        Scenario(name, Path(f"{name}.toml"), problem.settings)
        for name, problem in zip(names, problems, strict=True)
    ]
    outcomes = run_all(
        scenarios,
        problems,
        [0.0] * len(problems),
        time_limit=time_limit,
        seed=seed,
        say=progress,
    )
    rows = [{k: v for k, v in row.items() if k != "settings"} for row in table_rows(outcomes)]
    return {"rows": rows}


def recruit_plan(
    problem: ProblemData,
    target: str,
    time_limit: float,
    seed: int,
    *,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    """``matcher recruit`` over the round, from the current mentors' profiles."""
    from solver.recruit import plan_recruitment, profiles_of

    profiles = profiles_of(problem.mentors, problem, from_register=True)
    plan = plan_recruitment(
        problem, profiles, target, time_limit=time_limit, seed=seed, progress=progress
    )
    return recruit_answer(plan, problem.settings)


def recruit_answer(plan: Any, settings: Settings) -> dict[str, Any]:
    """A recruitment plan as ids and figures: each new mentor's profile (no person), the
    mentees it would take, what the target comes to, the proof, and the yearly cost."""
    from matcher.recruit_report import yearly_cost

    recruits = [
        {
            "id": new.mentor.mentor_id,
            "focus_areas": sorted(new.mentor.focus_areas),
            "availability": sorted(new.mentor.availability),
            "modes": sorted(new.mentor.modes),
            "capacity_max": new.mentor.capacity_max,
            "pcn": new.mentor.pcn,
            "mentees": list(new.mentees),
        }
        for new in plan.recruits
    ]
    return {
        "status": plan.status.value,
        "advice": plan.status.advice,
        "target": plan.target,
        "targets": plan.targets,
        "reachable": plan.reachable,
        "before": plan.before,
        "after": plan.after,
        "new_mentors": len(plan.recruits),
        "bound": plan.bound,
        "recruits": recruits,
        "unreachable": [
            {"mentee_id": u.mentee_id, "cohort": u.cohort, "reason": u.reason}
            for u in plan.unreachable
        ],
        "cost_per_year_gbp": yearly_cost(len(plan.recruits), settings),
        "seconds": round(plan.seconds, 1),
        "conflicts": list(plan.conflicts),
    }
