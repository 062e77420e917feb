"""Background jobs: status and progress."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from service.api.deps import DB, CurrentUser, Staff
from service.api.schemas import LINE, SIGNED_IN, Timestamp, errors
from service.errors import NotFound
from service.job_records import job_view, queue_position, request_cancel
from service.models import Job

router = APIRouter(tags=["jobs"], responses=SIGNED_IN)
JobId = Annotated[str, Path(min_length=1, max_length=36, description="A job's id (a UUID)"), LINE]


class JobPublic(BaseModel):
    job_id: str
    kind: str = Field(description="What the job does, e.g. round")
    round_id: int | None
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    queue_position: int | None = Field(
        ge=1, description="For a queued job, its place in the queue (1: next to start)"
    )
    attempts: int = Field(
        ge=0, description="Times a worker has started it (a lost worker's job runs again)"
    )
    time_limit: float | None = Field(
        description="Seconds the run may take: the round's, cut to the scheme's most"
    )
    progress: float = Field(ge=0, le=1)
    message: str = Field(description="The latest progress line, or the outcome")
    error: str | None
    created_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None


@router.get("/api/jobs/{job_id}", responses=errors(404))
def get_job(job_id: JobId, db: DB, user: CurrentUser) -> JobPublic:
    """``status`` is queued, running, done, failed or cancelled; a queued job has its
    ``queue_position``; ``progress`` runs from 0 to 1; a failure's ``error`` is withheld from
    analysts."""
    job = db.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job with id {job_id!r}")
    view = job_view(job, named=user.role != "analyst", position=queue_position(db, job))
    return JobPublic.model_validate(view)


@router.post("/api/jobs/{job_id}/cancel", responses=errors(404, 409))
def cancel_job(job_id: JobId, db: DB, user: Staff) -> JobPublic:
    """Stop a job: a queued one is cancelled at once, a running one within a few seconds (poll
    ``GET /api/jobs/{job_id}`` for ``cancelled``); its round stays as before the run. 409 when
    the job has already ended."""
    job = request_cancel(db, user, job_id)
    db.commit()
    return JobPublic.model_validate(job_view(job))
