"""Planning on the Reports pages (admin, matcher, analyst): start a recruitment plan or a
comparison of settings on a round, follow its job, read its answer (ids and figures only)."""

from __future__ import annotations

import tomllib
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from service import plans, rounds
from service.api.deps import DB
from service.errors import Invalid
from service.roles import REPORT_READERS
from service.web.deps import Csrf, CurrentViewer, Viewer, render

router = APIRouter(include_in_schema=False)
SCENARIO_FIELDS = 4  # scenario boxes on the form
Text = Annotated[str, Form(max_length=4000)]
Line = Annotated[str, Form(max_length=40)]
TARGET_WORDS = {
    "fellows": "every GP Fellow",
    "priority": "every priority mentee",
    "all": "every mentee",
}


@router.get("/reports/plans")
def plans_page(request: Request, db: DB, viewer: CurrentViewer) -> Response:
    viewer.require(REPORT_READERS)
    return _page(request, db, viewer)


@router.post("/reports/plans")
def start_plan(
    request: Request,
    db: DB,
    viewer: CurrentViewer,
    kind: Annotated[str, Form(max_length=10)],
    round_id: Annotated[int, Form(ge=1)],
    csrf_token: Csrf = "",
    target: Line = "",
    time_limit: Annotated[float, Form(gt=0, le=600)] = 30.0,
    name: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    settings: Annotated[list[str], Form()] = [],  # noqa: B006
) -> Response:
    """Start the plan as a job and go to its page; a bad form comes back with the reason."""
    viewer.require(REPORT_READERS)
    viewer.check_form(csrf_token)
    app = request.app.state
    try:
        params = _params(kind, target, time_limit, name, settings, app.settings.max_time_limit)
        plan = plans.start_plan(
            db, viewer.user, round_id, kind, params, app.jobs, app.settings.postcode_lookup
        )
    except Invalid as exc:
        db.rollback()
        typed = {"kind": kind, "target": target, "names": name, "settings": settings}
        return _page(request, db, viewer, error=exc.message, typed=typed, status_code=422)
    db.commit()
    app.jobs.dispatch(plan.job_id, kind, round_id)
    return RedirectResponse(f"/reports/plans/{plan.id}", status_code=303)


@router.get("/reports/plans/{plan_id}")
def plan_page(request: Request, plan_id: int, db: DB, viewer: CurrentViewer) -> Response:
    viewer.require(REPORT_READERS)
    plan, job = plans.get_plan(db, plan_id)
    running = job is not None and job.status in ("queued", "running")
    return render(
        request,
        "plan.html",
        viewer,
        plan=plan,
        job=job,
        running=running,
        target_words=TARGET_WORDS,
        failed_reason=job.error if job is not None and viewer.named else None,
    )


@router.get("/reports/plans/{plan_id}/progress")
def plan_progress(plan_id: int, db: DB, viewer: CurrentViewer) -> dict[str, Any]:
    """How far the plan's job has got, for static/progress.js."""
    viewer.require(REPORT_READERS)
    _plan, job = plans.get_plan(db, plan_id)
    return {
        "running": job is not None and job.status in ("queued", "running"),
        "progress": job.progress if job else None,
        "message": job.message if job else "",
    }


def _params(
    kind: str,
    target: str,
    time_limit: float,
    names: list[str],
    texts: list[str],
    most: float,
) -> dict[str, Any]:
    params: dict[str, Any] = {"time_limit": min(time_limit, most)}
    if kind == "recruit":
        if target not in plans.TARGETS:
            raise Invalid(
                "choose who must all be matched: the fellows, the priority mentees or every mentee"
            )
        return params | {"target": target}
    if kind != "compare":
        raise Invalid("choose a recruitment plan or a comparison")
    scenarios = []
    for name, text in zip(names, texts, strict=False):
        if not name.strip() and not text.strip():
            continue
        label = name.strip()
        if not label.replace("-", "").replace("_", "").isalnum() or len(label) > 40:
            raise Invalid(f"“{label}”: a scenario's name is letters, digits, - and _")
        try:
            mapping = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise Invalid(f"scenario {label}: its settings are not TOML ({exc})") from None
        scenarios.append({"name": label, "settings": mapping})
    if not scenarios:
        raise Invalid("give at least one scenario: a name, and its settings (empty: the scheme's)")
    if len({s["name"] for s in scenarios}) != len(scenarios):
        raise Invalid("each scenario needs a name of its own")
    return params | {"scenarios": scenarios}


def _page(
    request: Request,
    db: DB,
    viewer: Viewer,
    *,
    error: str = "",
    typed: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "plans.html",
        viewer,
        status_code=status_code,
        plans=plans.list_plans(db),
        rounds=rounds.rounds_page(db, 0, 100),
        targets=TARGET_WORDS,
        error=error,
        typed=typed or {},
        boxes=range(SCENARIO_FIELDS),
    )
