"""Background jobs: status and progress."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from service.api.deps import DB, CurrentUser
from service.errors import NotFound
from service.jobs import job_view
from service.models import Job

router = APIRouter(tags=["jobs"])


@router.get("/api/jobs/{job_id}")
def get_job(job_id: str, db: DB, _user: CurrentUser) -> dict[str, Any]:
    """``status`` is queued, running, done or failed; ``progress`` runs from 0 to 1."""
    job = db.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job with id {job_id!r}")
    return job_view(job)
