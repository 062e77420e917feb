"""The audit log: who changed what, and when. Details carry ids and counts, never personal data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

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


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to show: each field set narrows the log; ``since`` and ``until`` are
    whole days (UTC), both included."""

    action: str = ""
    username: str = ""
    entity: str = ""
    entity_id: str = ""
    since: date | None = None
    until: date | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.action:
            out.append(AuditEntry.action == self.action)
        if self.username:
            out.append(AuditEntry.username == self.username)
        if self.entity:
            out.append(AuditEntry.entity == self.entity)
        if self.entity_id:
            out.append(AuditEntry.entity_id == self.entity_id)
        if self.since is not None:
            out.append(AuditEntry.at >= datetime.combine(self.since, time()))
        if self.until is not None:
            out.append(AuditEntry.at < datetime.combine(self.until + timedelta(days=1), time()))
        return out


@dataclass(frozen=True)
class AuditChoices:
    """The values present in the log, for a page's filters to offer."""

    actions: list[str]
    usernames: list[str]
    entities: list[str]


def count(session: Session, found: AuditFilter) -> int:
    """How many entries ``found`` selects."""
    query = select(func.count()).select_from(AuditEntry).where(*found.conditions())
    return session.scalar(query) or 0


def entries(session: Session, found: AuditFilter, start: int, size: int) -> list[AuditEntry]:
    """Entries ``start`` to ``start + size`` of those ``found`` selects, newest first."""
    query = (
        select(AuditEntry)
        .where(*found.conditions())
        .order_by(AuditEntry.id.desc())
        .offset(start)
        .limit(size)
    )
    return list(session.scalars(query))


def choices(session: Session) -> AuditChoices:
    """The actions, user names and record types the log holds, sorted."""

    def distinct(column: InstrumentedAttribute[str]) -> list[str]:
        return list(session.scalars(select(column).distinct().order_by(column)))

    return AuditChoices(
        distinct(AuditEntry.action), distinct(AuditEntry.username), distinct(AuditEntry.entity)
    )


def detail_line(detail: dict[str, Any]) -> str:
    """An entry's details as ``key value; key value``: ids, counts, codes and lists of them
    (whatever else a detail might hold is shown as its kind, never its content)."""

    def shown(value: Any) -> str:
        if value is None or isinstance(value, bool | int | float | str):
            return _short(str(value))
        if isinstance(value, list | tuple) and all(
            isinstance(v, bool | int | float | str) for v in value
        ):
            return ", ".join(_short(str(v)) for v in value) or "none"
        return f"({type(value).__name__})"

    return "; ".join(f"{key} {shown(value)}" for key, value in sorted(detail.items()))


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
