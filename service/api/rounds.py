"""Matching rounds: create, run in the background, read proposals, pin or forbid, approve."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from service import approval, round_inputs, rounds
from service.api.deps import DB, RoundReaders, Settings, Staff

router = APIRouter(tags=["rounds"])
PersonId = Annotated[str, Field(min_length=1, max_length=64)]


class RoundCreate(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="Changes to the scheme settings, as in a settings TOML file "
        '(e.g. {"capacity": {"max": 6}})',
    )
    time_limit: float | None = Field(default=None, gt=0, le=3600)
    mentee_ids: list[PersonId] | None = Field(
        default=None, description="The mentees of this round; omitted: everyone not matched"
    )


class PairCreate(BaseModel):
    kind: Literal["pin", "forbid"]
    mentor_id: PersonId
    mentee_id: PersonId
    reason: str = Field(default="", max_length=500)


@router.get("/api/rounds")
def list_rounds(db: DB, _user: RoundReaders) -> list[dict[str, Any]]:
    """Every round, newest first."""
    return [rounds.round_view(r) for r in rounds.all_rounds(db)]


@router.post("/api/rounds", status_code=201)
def create_round(body: RoundCreate, db: DB, user: Staff, settings: Settings) -> dict[str, Any]:
    """A new round in draft; 422 if its settings are wrong, 404 for unknown mentee ids."""
    round_ = rounds.create_round(
        db,
        user,
        body.name,
        body.settings,
        body.time_limit or settings.default_time_limit,
        body.mentee_ids,
    )
    db.commit()
    return rounds.round_view(round_)


@router.get("/api/rounds/{round_id}")
def get_round(round_id: int, db: DB, _user: RoundReaders) -> dict[str, Any]:
    """The round, with its last run's summary (status, levels, counts)."""
    return rounds.round_view(rounds.get_round(db, round_id))


@router.post("/api/rounds/{round_id}/run", status_code=202)
def run_round(round_id: int, request: Request, db: DB, user: Staff) -> dict[str, Any]:
    """Start solving in the background; poll ``GET /api/jobs/{job_id}``."""
    state = request.app.state
    job = rounds.run_in_background(
        db, user, round_id, state.jobs, state.sessions, state.settings.postcode_lookup
    )
    return {"job_id": job.id, "round_id": round_id, "status": job.status}


@router.get("/api/rounds/{round_id}/proposals")
def get_proposals(round_id: int, db: DB, user: RoundReaders) -> list[dict[str, Any]]:
    """The last run's pairs with score and reasons; analysts see ids, never names."""
    rounds.get_round(db, round_id)
    return rounds.proposals(db, round_id, named=user.role != "analyst")


@router.get("/api/rounds/{round_id}/unmatched")
def get_unmatched(round_id: int, db: DB, user: RoundReaders) -> list[dict[str, Any]]:
    """Mentees the last run left waiting, each with the reason."""
    return rounds.unmatched(db, rounds.get_round(db, round_id), named=user.role != "analyst")


@router.get("/api/rounds/{round_id}/pairs")
def list_pairs(round_id: int, db: DB, _user: RoundReaders) -> list[dict[str, Any]]:
    """The round's pins and forbids."""
    rounds.get_round(db, round_id)
    return [rounds.pair_view(p) for p in round_inputs.round_pairs(db, round_id)]


@router.post("/api/rounds/{round_id}/pairs", status_code=201)
def add_pair(round_id: int, body: PairCreate, db: DB, user: Staff) -> dict[str, Any]:
    """Pin a pair (the next run must make it) or forbid it (the next run must not)."""
    pair = rounds.add_pair(
        db, user, round_id, body.kind, body.mentor_id, body.mentee_id, body.reason
    )
    db.commit()
    return rounds.pair_view(pair)


@router.delete("/api/rounds/{round_id}/pairs/{pair_id}", status_code=204)
def remove_pair(round_id: int, pair_id: int, db: DB, user: Staff) -> None:
    """Remove a pin or forbid."""
    rounds.remove_pair(db, user, round_id, pair_id)
    db.commit()


@router.post("/api/rounds/{round_id}/approve")
def approve(round_id: int, db: DB, user: Staff) -> dict[str, Any]:
    """Turn the proposals into confirmed matches (409 if already approved or running)."""
    matches = approval.approve(db, user, round_id)
    db.commit()
    return {"round_id": round_id, "status": "approved", "matches": len(matches)}
