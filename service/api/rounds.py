"""Matching rounds: create, rename, delete, run in the background, read proposals, pin or
forbid, approve and undo an approval."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from service import approval, round_inputs, round_runs, rounds
from service.api.deps import DB, RoundReaders, Settings, Staff
from service.api.schemas import (
    LINES,
    SIGNED_IN,
    Body,
    JsonObject,
    Name,
    PathId,
    PersonId,
    Timestamp,
    errors,
)
from service.outbox import MailSetup

router = APIRouter(tags=["rounds"], responses=SIGNED_IN)


class RoundCreate(Body):
    name: Name
    settings: JsonObject = Field(
        default_factory=dict,
        description="Changes to the scheme settings, as in a settings TOML file "
        '(e.g. {"capacity": {"max": 6}})',
    )
    time_limit: float | None = Field(default=None, gt=0, le=3600, allow_inf_nan=False)
    mentee_ids: list[PersonId] | None = Field(
        default=None, description="The mentees of this round; omitted: everyone not matched"
    )


class RoundUpdate(Body):
    name: Name


class PairCreate(Body):
    kind: Literal["pin", "forbid"]
    mentor_id: PersonId
    mentee_id: PersonId
    reason: Annotated[str, Field(max_length=500), LINES] = ""


class RoundPublic(BaseModel):
    id: int
    name: str
    status: Literal["draft", "proposed", "approved"]
    settings: dict[str, Any]
    time_limit: float
    mentee_ids: list[str] | None
    runs: int
    active_job: str | None = Field(description="The job solving the round now, if any")
    summary: dict[str, Any] | None = Field(
        description="The last run's summary: status, levels, counts, advice"
    )
    created_at: Timestamp
    approved_at: Timestamp | None


class RunStarted(BaseModel):
    job_id: str
    round_id: int
    status: Literal["queued", "running", "done", "failed"]


class ProposalPublic(BaseModel):
    """A proposed pair. Analysts get no names and no reasons (they may name a diversity wish)."""

    mentor_id: str
    mentee_id: str
    cohort: str
    score: int
    score_parts: dict[str, int] | None = Field(
        default=None, description="The score in parts, adding up to ``score``"
    )
    reasons: str | None = None
    mentor_name: str | None = None
    mentee_name: str | None = None


class UnmatchedPublic(BaseModel):
    mentee_id: str
    cohort: str
    reason: str
    mentee_name: str | None = None


class PairPublic(BaseModel):
    id: int
    kind: Literal["pin", "forbid"]
    mentor_id: str
    mentee_id: str
    reason: str | None = None


class Approved(BaseModel):
    round_id: int
    status: Literal["approved"]
    matches: int = Field(description="Matches confirmed")
    introductions: int = Field(
        ge=0, description="Introduction e-mails queued (two a match, to those with an address)"
    )
    without_address: list[str] = Field(
        description="Ids of the matched people with no e-mail address: introduce them yourself"
    )


class Unapproved(BaseModel):
    round_id: int
    status: Literal["proposed"]
    matches_removed: int = Field(description="Confirmed matches deleted with the approval")


def _named(role: str) -> bool:
    return role != "analyst"


@router.get("/api/rounds")
def list_rounds(db: DB, user: RoundReaders) -> list[RoundPublic]:
    """Every round, newest first."""
    return [
        RoundPublic.model_validate(rounds.round_view(r, named=_named(user.role)))
        for r in rounds.all_rounds(db)
    ]


@router.post("/api/rounds", status_code=201, responses=errors(400, 404))
def create_round(body: RoundCreate, db: DB, user: Staff, settings: Settings) -> RoundPublic:
    """A new round in draft; 422 if its settings are wrong or its time limit is above the
    scheme's most (``MATCHER_MAX_TIME_LIMIT``), 404 for unknown mentee ids."""
    round_ = rounds.create_round(
        db,
        user,
        body.name,
        body.settings,
        body.time_limit or min(settings.default_time_limit, settings.max_time_limit),
        body.mentee_ids,
        settings.max_time_limit,
    )
    db.commit()
    return RoundPublic.model_validate(rounds.round_view(round_))


@router.get("/api/rounds/{round_id}", responses=errors(404))
def get_round(round_id: PathId, db: DB, user: RoundReaders) -> RoundPublic:
    """The round, with its last run's summary (status, levels, counts)."""
    round_ = rounds.get_round(db, round_id)
    return RoundPublic.model_validate(rounds.round_view(round_, named=_named(user.role)))


@router.patch("/api/rounds/{round_id}", responses=errors(404))
def rename_round(round_id: PathId, body: RoundUpdate, db: DB, user: Staff) -> RoundPublic:
    """A new name for the round, in any state."""
    round_ = rounds.rename_round(db, user, round_id, body.name)
    db.commit()
    return RoundPublic.model_validate(rounds.round_view(round_))


@router.delete("/api/rounds/{round_id}", status_code=204, responses=errors(404, 409))
def delete_round(round_id: PathId, db: DB, user: Staff) -> None:
    """Delete the round with its proposals, pins and forbids; 409 once approved (undo the
    approval first) or while it is running."""
    rounds.delete_round(db, user, round_id)
    db.commit()


@router.post("/api/rounds/{round_id}/run", status_code=202, responses=errors(404, 409))
def run_round(round_id: PathId, request: Request, db: DB, user: Staff) -> RunStarted:
    """Start solving in the background; poll ``GET /api/jobs/{job_id}``.

    409 while the round is running or once it is approved."""
    state = request.app.state
    job = round_runs.run_in_background(
        db, user, round_id, state.jobs, state.settings.max_time_limit
    )
    return RunStarted.model_validate({"job_id": job.id, "round_id": round_id, "status": job.status})


@router.get(
    "/api/rounds/{round_id}/proposals", responses=errors(404), response_model_exclude_unset=True
)
def get_proposals(round_id: PathId, db: DB, user: RoundReaders) -> list[ProposalPublic]:
    """The last run's pairs with score and reasons; analysts see ids, never names."""
    rounds.get_round(db, round_id)
    return [
        ProposalPublic.model_validate(p)
        for p in rounds.proposals(db, round_id, named=_named(user.role))
    ]


@router.get(
    "/api/rounds/{round_id}/unmatched", responses=errors(404), response_model_exclude_unset=True
)
def get_unmatched(round_id: PathId, db: DB, user: RoundReaders) -> list[UnmatchedPublic]:
    """Mentees the last run left waiting, each with the reason."""
    round_ = rounds.get_round(db, round_id)
    return [
        UnmatchedPublic.model_validate(u)
        for u in rounds.unmatched(db, round_, named=_named(user.role))
    ]


@router.get(
    "/api/rounds/{round_id}/pairs", responses=errors(404), response_model_exclude_unset=True
)
def list_pairs(round_id: PathId, db: DB, user: RoundReaders) -> list[PairPublic]:
    """The round's pins and forbids."""
    rounds.get_round(db, round_id)
    return [
        PairPublic.model_validate(rounds.pair_view(p, named=_named(user.role)))
        for p in round_inputs.round_pairs(db, round_id)
    ]


@router.post("/api/rounds/{round_id}/pairs", status_code=201, responses=errors(400, 404, 409))
def add_pair(
    round_id: PathId, body: PairCreate, db: DB, user: Staff, settings: Settings
) -> PairPublic:
    """Pin a pair (the next run must make it) or forbid it (the next run must not). A pin
    that breaks a hard rule under the round's settings (travel distance included, with the
    server's postcode lookup) or pins a mentee twice is refused (409) with the reason."""
    pair = rounds.add_pair(
        db,
        user,
        round_id,
        body.kind,
        body.mentor_id,
        body.mentee_id,
        body.reason,
        postcode_lookup=settings.postcode_lookup,
    )
    db.commit()
    return PairPublic.model_validate(rounds.pair_view(pair))


@router.delete(
    "/api/rounds/{round_id}/pairs/{pair_id}", status_code=204, responses=errors(404, 409)
)
def remove_pair(round_id: PathId, pair_id: PathId, db: DB, user: Staff) -> None:
    """Remove a pin or forbid."""
    rounds.remove_pair(db, user, round_id, pair_id)
    db.commit()


@router.post("/api/rounds/{round_id}/approve", responses=errors(404, 409))
def approve(round_id: PathId, request: Request, db: DB, user: Staff) -> Approved:
    """Turn the proposals into confirmed matches (409 if already approved or running), and
    queue each pair's introduction e-mails."""
    done = approval.approve(db, user, round_id, MailSetup.from_settings(request.app.state.settings))
    db.commit()
    return Approved(
        round_id=round_id,
        status="approved",
        matches=len(done.matches),
        introductions=done.introductions.queued,
        without_address=done.introductions.without_address,
    )


@router.post("/api/rounds/{round_id}/unapprove", responses=errors(404, 409))
def unapprove(round_id: PathId, db: DB, user: Staff) -> Unapproved:
    """Undo the approval: its matches are deleted and the round is proposed again.

    409 if the round is not approved, or once one of its matches is registered or ended or
    has a mentoring session logged (``match_ids`` names them)."""
    removed = approval.unapprove(db, user, round_id)
    db.commit()
    return Unapproved(round_id=round_id, status="proposed", matches_removed=removed)
