"""Searching records by part of an id or a name, and counting what a query finds, in the
database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, false, func, or_, select
from sqlalchemy.orm import Session


def like_pattern(text: str) -> str:
    """``%text%`` for LIKE, lower case, with LIKE's own characters taken literally."""
    escaped = text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contains(text: str, *columns: Any) -> ColumnElement[bool]:
    """True where any of ``columns`` holds ``text`` (any case)."""
    if not columns:
        return false()
    pattern = like_pattern(text)
    return or_(*(func.lower(column).like(pattern, escape="\\") for column in columns))


def count(session: Session, query: Select[*tuple[Any, ...]]) -> int:
    """How many rows ``query`` finds."""
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0
