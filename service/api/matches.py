"""Matches: list them, and move them through their lifecycle."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from service import matches
from service.api.deps import DB, ReportReaders, Staff

router = APIRouter(tags=["matches"])


class StatusChange(BaseModel):
    status: Literal["registered", "ended"]
    reason: str | None = Field(default=None, max_length=500)


@router.get("/api/matches")
def list_matches(
    db: DB,
    user: ReportReaders,
    status: Literal["confirmed", "registered", "ended"] | None = None,
    mentor_id: str | None = None,
    round_id: int | None = None,
) -> list[dict[str, Any]]:
    """Matches, filtered by status, mentor or round; analysts see ids, never names."""
    found = matches.list_matches(db, status=status, mentor_id=mentor_id, round_id=round_id)
    return matches.match_views(db, found, named=user.role != "analyst")


@router.get("/api/matches/{match_id}")
def get_match(match_id: int, db: DB, user: ReportReaders) -> dict[str, Any]:
    found = [matches.get_match(db, match_id)]
    return matches.match_views(db, found, named=user.role != "analyst")[0]


@router.patch("/api/matches/{match_id}")
def change_status(match_id: int, body: StatusChange, db: DB, user: Staff) -> dict[str, Any]:
    """``registered`` once the first meeting is held; ``ended`` with a reason."""
    match = matches.change_status(db, user, match_id, body.status, body.reason)
    db.commit()
    return matches.match_views(db, [match], named=True)[0]
