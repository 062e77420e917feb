"""The audit log, for administrators."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from service.api.deps import DB, Admin
from service.models import AuditEntry

router = APIRouter(tags=["audit"])


@router.get("/api/audit")
def read_audit(
    db: DB,
    _user: Admin,
    action: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before_id: int | None = None,
) -> list[dict[str, Any]]:
    """Newest first: who did what, when; page back with ``before_id``."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEntry.action == action)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return [
        {
            "id": e.id,
            "at": e.at.isoformat(),
            "user": e.username,
            "action": e.action,
            "entity": e.entity,
            "entity_id": e.entity_id,
            "detail": e.detail,
        }
        for e in db.scalars(query)
    ]
