"""Analysts' plans on a round: recruitment (the fewest new mentors for a target) and the
round under several settings; started as background jobs, read back with their answer."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from service import plans
from service.api.deps import DB, ReportReaders
from service.api.schemas import SIGNED_IN, Body, JsonObject, PathId, Pattern, Timestamp, errors
from service.errors import Invalid
from service.models import Job, Plan

router = APIRouter(tags=["plans"], responses=SIGNED_IN)
ScenarioName = Annotated[
    str,
    Field(min_length=1, max_length=40),
    Pattern(r"^[A-Za-z0-9_-]+$", "a scenario's name is letters, digits, - and _"),
]


class ScenarioIn(Body):
    name: ScenarioName
    settings: JsonObject = Field(
        default_factory=dict,
        description='Changes to the scheme settings, as in a settings TOML file (e.g. {"capacity": {"max": 6}})',
    )


class RecruitCreate(Body):
    """The fewest new mentors that let every ``target`` mentee of the round be matched."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["recruit"]
    target: Literal["fellows", "priority", "all"] = Field(description="Who must all be matched")
    time_limit: float = Field(default=30.0, gt=0, le=600, allow_inf_nan=False)


class CompareCreate(Body):
    """The round under each scenario's settings, compared with the first."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["compare"]
    scenarios: list[ScenarioIn] = Field(
        min_length=1,
        max_length=plans.MOST_SCENARIOS,
        description="The scenarios, each with a name of its own; the first is the base",
    )
    time_limit: float = Field(
        default=30.0, gt=0, le=600, allow_inf_nan=False, description="Seconds per scenario"
    )


PlanCreate = Annotated[RecruitCreate | CompareCreate, Field(discriminator="kind")]


class PlanPublic(BaseModel):
    """A plan, its job's state and, once done, its answer: ids and figures only."""

    id: int
    kind: Literal["recruit", "compare"]
    round_id: int
    params: dict[str, Any] = Field(description="What was asked: target or scenarios, time limit")
    job_id: str
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    progress: float = Field(ge=0, le=1)
    message: str
    created_at: Timestamp
    result: dict[str, Any] | None = Field(
        description="recruit: status, new_mentors, bound, recruits (profiles and mentee ids), "
        "unreachable, cost_per_year_gbp; compare: rows, one per scenario, with differences"
    )

    @classmethod
    def of(cls, plan: Plan, job: Job | None) -> PlanPublic:
        return cls(
            id=plan.id,
            kind=plan.kind,  # type: ignore[arg-type]
            round_id=plan.round_id,
            params=plan.params,
            job_id=plan.job_id,
            status=job.status if job is not None else "failed",  # type: ignore[arg-type]
            progress=job.progress if job is not None else 0.0,
            message=_message(job),
            created_at=plan.created_at,
            result=plan.result,
        )


def _message(job: Job | None) -> str:
    if job is None:
        return "its job is gone"
    # A failure's words can quote the records: analysts read the outcome only.
    return job.message if job.status != "failed" else "the plan failed: staff can see why"


@router.post("/api/rounds/{round_id}/plans", status_code=202, responses=errors(404))
def start_plan(
    request: Request, round_id: PathId, body: PlanCreate, db: DB, user: ReportReaders
) -> PlanPublic:
    """Start a plan of the round as a background job (poll ``GET /api/plans/{id}``)."""
    settings = request.app.state.settings
    params: dict[str, Any] = {"time_limit": min(body.time_limit, settings.max_time_limit)}
    if isinstance(body, RecruitCreate):
        params["target"] = body.target
    else:
        names = [s.name for s in body.scenarios]
        if len(set(names)) != len(names):
            raise Invalid("each scenario needs a name of its own")
        params["scenarios"] = [s.model_dump() for s in body.scenarios]
    runner = request.app.state.jobs
    plan = plans.start_plan(db, user, round_id, body.kind, params, runner, settings.postcode_lookup)
    db.commit()
    runner.dispatch(plan.job_id, body.kind, round_id)
    return PlanPublic.of(*plans.get_plan(db, plan.id))


@router.get("/api/plans")
def list_plans(db: DB, _user: ReportReaders) -> list[PlanPublic]:
    """The newest 100 plans first."""
    return [PlanPublic.of(plan, job) for plan, job in plans.list_plans(db)]


@router.get("/api/plans/{plan_id}", responses=errors(404))
def get_plan(plan_id: PathId, db: DB, _user: ReportReaders) -> PlanPublic:
    return PlanPublic.of(*plans.get_plan(db, plan_id))
