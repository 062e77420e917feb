"""The audit log: who changed what, and when. Details carry ids and counts, never personal data."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from service.models import AuditEntry, User


def record(
    session: Session,
    user: User | None,
    action: str,
    entity: str,
    entity_id: object = None,
    **detail: Any,
) -> None:
    """Add an audit entry in the caller's transaction, so it commits (or not) with the change."""
    session.add(
        AuditEntry(
            user_id=user.id if user else None,
            username=user.name if user else "system",
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            detail=detail,
        )
    )
