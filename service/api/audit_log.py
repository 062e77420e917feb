"""The audit log, for administrators."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from service.api.deps import DB, Admin
from service.api.schemas import LINE, SIGNED_IN, QueryId, Timestamp
from service.models import AuditEntry

router = APIRouter(tags=["audit"], responses=SIGNED_IN)


class AuditPublic(BaseModel):
    id: int
    at: Timestamp
    user: str = Field(description="The user's name then ('system' for the service itself)")
    action: str = Field(description="What was done, e.g. rounds.approve")
    entity: str
    entity_id: str | None
    detail: dict[str, Any] = Field(description="Figures and ids; never free text")


@router.get("/api/audit")
def read_audit(
    db: DB,
    _user: Admin,
    action: Annotated[
        Annotated[str, Field(min_length=1, max_length=64), LINE] | None,
        Query(description="Only this action, e.g. rounds.approve"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before_id: QueryId = None,
) -> list[AuditPublic]:
    """Newest first: who did what, when; page back with ``before_id``."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEntry.action == action)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return [
        AuditPublic(
            id=e.id,
            at=e.at,
            user=e.username,
            action=e.action,
            entity=e.entity,
            entity_id=e.entity_id,
            detail=e.detail,
        )
        for e in db.scalars(query)
    ]
