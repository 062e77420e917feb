"""Analysts' plans on a round: the fewest new mentors for a target (``recruit``), or the
round under several settings (``compare``), each run as a job in a child process, its answer
kept with the plan (ids and figures only, as analysts see everything).

A plan reads the round's mentees and the register as a run of the round does
(``round_inputs.build_problem``), a compare scenario with its own settings; it never changes
the round, so it needs no hold on it and runs beside the round's own runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from matcher.errors import InputError
from service import audit
from service.db import transaction
from service.errors import Invalid, NotFound
from service.jobs import JobCancelled, JobKind, JobReporter, JobRunner, Work
from service.models import Job, Plan, User
from service.plan_work import compare_plan, recruit_plan
from service.round_inputs import build_problem, round_settings
from service.rounds import get_round
from service.solving import SolveCancelled, call_in_child

KINDS = ("recruit", "compare")
TARGETS = ("fellows", "priority", "all")
MOST_SCENARIOS = 6


def check_scenarios(scenarios: list[dict[str, Any]], postcode_lookup: str = "") -> None:
    """Each scenario's settings read as a round's would be (``InputError`` naming it)."""
    for scenario in scenarios:
        try:
            round_settings(scenario["settings"], postcode_lookup)
        except InputError as exc:
            raise Invalid(f"scenario {scenario['name']}: {exc.problems[0].message}") from None


def start_plan(
    session: Session,
    user: User,
    round_id: int,
    kind: str,
    params: dict[str, Any],
    runner: JobRunner,
    postcode_lookup: str = "",
) -> Plan:
    """Queue a plan of the round (the caller commits, then ``runner.dispatch``es the job)."""
    round_ = get_round(session, round_id)
    if kind == "compare":
        check_scenarios(params["scenarios"], postcode_lookup)
    job = runner.new_job(session, kind, user, round_.id)
    job.time_limit = params["time_limit"] * len(params.get("scenarios") or [None])
    plan = Plan(kind=kind, round_id=round_.id, params=params, job_id=job.id, created_by=user.id)
    session.add(plan)
    session.flush()
    audit.record(session, user, f"plans.{kind}", "plan", plan.id, round_id=round_id, job_id=job.id)
    return plan


def get_plan(session: Session, plan_id: int) -> tuple[Plan, Job | None]:
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFound(f"no plan with id {plan_id}")
    return plan, session.get(Job, plan.job_id)


def list_plans(session: Session, limit: int = 100) -> list[tuple[Plan, Job | None]]:
    """The newest plans first, each with its job."""
    rows = session.execute(
        select(Plan, Job)
        .outerjoin(Job, Job.id == Plan.job_id)
        .order_by(Plan.id.desc())
        .limit(limit)
    )
    return [(plan, job) for plan, job in rows.all()]


def plan_kind(sessions: sessionmaker[Session], kind: str, postcode_lookup: str = "") -> JobKind:
    """Plans of ``kind``, as a kind of job for ``JobRunner``."""

    def make(job_id: str, round_id: int | None) -> tuple[Work, Callable[[], None]]:
        return _plan_work(sessions, job_id, postcode_lookup), lambda: None

    return make


def _plan_work(sessions: sessionmaker[Session], job_id: str, postcode_lookup: str) -> Work:
    def work(reporter: JobReporter) -> str:
        started = time.monotonic()
        with transaction(sessions) as session:
            plan = session.scalars(select(Plan).where(Plan.job_id == job_id)).one()
            round_ = get_round(session, plan.round_id)
            params = dict(plan.params)
            if plan.kind == "compare":
                scenarios = params["scenarios"]
                problems = [
                    build_problem(session, round_, postcode_lookup, s["settings"])[0]
                    for s in scenarios
                ]
                call: tuple[Callable[..., Any], tuple[Any, ...]] = (
                    compare_plan,
                    (problems, [s["name"] for s in scenarios], params["time_limit"], 0),
                )
                total = params["time_limit"] * len(scenarios)
            else:
                problem, _inputs = build_problem(session, round_, postcode_lookup)
                call = (recruit_plan, (problem, params["target"], params["time_limit"], 0))
                total = params["time_limit"]
            plan_id, kind = plan.id, plan.kind
        reporter.progress(0.01, "planning", force=True)

        def on_progress(line: str) -> None:
            reporter.progress((time.monotonic() - started) / total * 0.95, line)

        try:
            answer = call_in_child(
                call[0],
                call[1],
                time_limit=total,
                on_progress=on_progress,
                started=started,
                cancelled=reporter.cancelled,
            )
        except SolveCancelled:
            raise JobCancelled() from None
        with transaction(sessions) as session:
            stored = session.get_one(Plan, plan_id)
            stored.result = answer
            audit.record(session, None, "plans.done", "plan", plan_id, job_id=job_id)
        return _said(kind, answer)

    return work


def _said(kind: str, answer: dict[str, Any]) -> str:
    if kind == "compare":
        return f"{len(answer['rows'])} scenarios compared"
    return f"{answer['status']}: {answer['new_mentors']} new mentor(s) for the {answer['target']}"
