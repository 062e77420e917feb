"""A job's record for its readers and the staff who stop it: its view, its place in the
queue, and cancelling it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from service import audit
from service.db import utcnow
from service.errors import Conflict, NotFound
from service.models import Job, Round, User


def request_cancel(session: Session, user: User, job_id: str) -> Job:
    """Cancel a queued job at once (its round freed) or ask a running one to stop (its
    worker stops it within a few seconds and frees the round), in the audit log; 409 for a
    finished job. The caller commits."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job with id {job_id!r}")
    queued = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "queued")
        .values(status="cancelled", finished_at=utcnow(), message="cancelled before it started")
    )
    if queued.rowcount:  # type: ignore[attr-defined]
        session.execute(update(Round).where(Round.active_job == job_id).values(active_job=None))
    else:
        running = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "running")
            .values(cancel_requested=True, message="stopping on request")
        )
        if not running.rowcount:  # type: ignore[attr-defined]
            raise Conflict(f"job {job_id} has already ended ({job.status})")
    session.flush()
    session.refresh(job)
    audit.record(session, user, "jobs.cancel", "job", job_id, status=job.status)
    return job


ERROR_FOR_ANALYSTS = "ask a matching officer why"


def queue_position(session: Session, job: Job) -> int | None:
    """For a queued job, its place in the queue (1: next to start); None otherwise."""
    if job.status != "queued":
        return None
    earlier = or_(
        Job.created_at < job.created_at, and_(Job.created_at == job.created_at, Job.id < job.id)
    )
    ahead = session.scalar(
        select(func.count()).select_from(Job).where(Job.status == "queued", earlier)
    )
    return int(ahead or 0) + 1


def job_view(job: Job, *, named: bool = True, position: int | None = None) -> dict[str, Any]:
    """The job for its readers; ``named=False`` (analysts): a failure's words withheld, as
    they can quote the records that failed. ``position``: its place in the queue."""
    return {
        "queue_position": position,
        "job_id": job.id,
        "kind": job.kind,
        "round_id": job.round_id,
        "status": job.status,
        "attempts": job.attempts,
        "time_limit": job.time_limit,
        "progress": job.progress,
        "message": job.message,
        "error": job.error if named or not job.error else ERROR_FOR_ANALYSTS,
        "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }
