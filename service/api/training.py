"""Mentors' training records: add, list, record completion and qualification."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from service import training
from service.api.deps import DB, Settings, Staff
from service.api.schemas import (
    MAX_INT,
    SIGNED_IN,
    STRIPPED,
    Body,
    Day,
    PathId,
    PersonIdQuery,
    Timestamp,
    TypedPersonId,
    errors,
)
from service.config import ServiceSettings
from service.models import TrainingRecord, User

router = APIRouter(tags=["training"], responses=SIGNED_IN)

Text = Annotated[str, Field(min_length=1, max_length=255), STRIPPED]


class TrainingCreate(Body):
    model_config = ConfigDict(extra="forbid", strict=True)

    mentor_id: TypedPersonId
    course: Text
    qualification: Text | None = None
    started_on: Day
    completed_on: Day | None = None
    # The upper bound is the scheme's setting, checked with the mentor's other records.
    reimbursed_sessions: Annotated[int, Field(ge=0, le=MAX_INT)] = 0


class TrainingUpdate(Body):
    """Only the fields sent change; null clears one. Sessions cannot be changed here."""

    # An empty body changes nothing: refused (``training.update``), and the schema says so.
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"minProperties": 1})

    completed_on: Day | None = None
    qualification: Text | None = None


class TrainingPublic(BaseModel):
    id: int
    mentor_id: str
    course: str
    qualification: str | None
    started_on: date
    completed_on: date | None
    reimbursed_sessions: int
    created_at: Timestamp


def store(
    db: Session, user: User, body: TrainingCreate, settings: ServiceSettings
) -> TrainingRecord:
    """The record as sent (the API's body or the page's form), checked and stored."""
    return training.create(
        db,
        user,
        mentor_id=body.mentor_id,
        course=body.course,
        qualification=body.qualification,
        started_on=body.started_on,
        completed_on=body.completed_on,
        reimbursed_sessions=body.reimbursed_sessions,
        sessions_max=settings.training_sessions_max,
    )


@router.post("/api/training", status_code=201, responses=errors(400, 404))
def create_training(
    body: TrainingCreate, db: DB, user: Staff, settings: Settings
) -> TrainingPublic:
    """Record a mentor's training; reimbursed sessions are capped per mentor across records.

    404 for an unknown mentor; 422 past the cap or with the dates out of order."""
    record = store(db, user, body, settings)
    db.commit()
    return TrainingPublic.model_validate(training.public(record))


@router.get("/api/training", responses=errors(404))
def list_training(db: DB, _user: Staff, mentor_id: PersonIdQuery = None) -> list[TrainingPublic]:
    """Training records, oldest first; of one mentor with ``mentor_id`` (404 if unknown)."""
    return [
        TrainingPublic.model_validate(training.public(r)) for r in training.listing(db, mentor_id)
    ]


@router.patch("/api/training/{record_id}", responses=errors(400, 404))
def update_training(record_id: PathId, body: TrainingUpdate, db: DB, user: Staff) -> TrainingPublic:
    """Set or clear the completion date and the qualification."""
    changes = body.model_dump(include=body.model_fields_set)
    record = training.update(db, user, record_id, changes)
    db.commit()
    return TrainingPublic.model_validate(training.public(record))
