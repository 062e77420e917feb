"""Mentors' training records: add, list, record completion and qualification."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from service import training
from service.api.deps import DB, Settings, Staff

router = APIRouter(tags=["training"])

Text = Annotated[str, Field(min_length=1, max_length=255)]


class TrainingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    mentor_id: Annotated[str, Field(min_length=1, max_length=64)]
    course: Text
    qualification: Text | None = None
    started_on: date
    completed_on: date | None = None
    # The upper bound is the scheme's setting, checked with the mentor's other records.
    reimbursed_sessions: Annotated[int, Field(ge=0)] = 0


class TrainingUpdate(BaseModel):
    """Only the fields sent change; null clears one. Sessions cannot be changed here."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    completed_on: date | None = None
    qualification: Text | None = None


class TrainingPublic(BaseModel):
    id: int
    mentor_id: str
    course: str
    qualification: str | None
    started_on: date
    completed_on: date | None
    reimbursed_sessions: int
    created_at: datetime


@router.post("/api/training", status_code=201)
def create_training(
    body: TrainingCreate, db: DB, user: Staff, settings: Settings
) -> TrainingPublic:
    """Record a mentor's training; reimbursed sessions are capped per mentor across records."""
    record = training.create(
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
    db.commit()
    return TrainingPublic.model_validate(training.public(record))


@router.get("/api/training")
def list_training(
    db: DB,
    _user: Staff,
    mentor_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> list[TrainingPublic]:
    """Training records, oldest first; of one mentor with ``mentor_id`` (404 if unknown)."""
    return [
        TrainingPublic.model_validate(training.public(r)) for r in training.listing(db, mentor_id)
    ]


@router.patch("/api/training/{record_id}")
def update_training(record_id: int, body: TrainingUpdate, db: DB, user: Staff) -> TrainingPublic:
    """Set or clear the completion date and the qualification."""
    changes = body.model_dump(include=body.model_fields_set)
    record = training.update(db, user, record_id, changes)
    db.commit()
    return TrainingPublic.model_validate(training.public(record))
