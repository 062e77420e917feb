"""API tokens: list, create (for yourself) and revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from service import accounts
from service.api.deps import DB, CurrentUser, Settings
from service.api.schemas import (
    LINE,
    MAX_INT,
    SIGNED_IN,
    Body,
    Flag,
    PathId,
    QueryId,
    Timestamp,
    errors,
)
from service.errors import Invalid
from service.models import ApiToken

router = APIRouter(tags=["tokens"], responses=SIGNED_IN)
Label = Annotated[str, Field(max_length=64, description="to tell tokens apart"), LINE]


class TokenCreate(Body):
    model_config = ConfigDict(extra="forbid", strict=True)

    label: Label = ""
    # The schema's bound is the setting's most; the setting itself (90 unless set) is
    # checked by the handler.
    days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="life in days; at most (and by default) MATCHER_TOKEN_DAYS",
    )


class TokenPublic(BaseModel):
    id: int
    user_id: int
    label: str
    created_at: Timestamp
    last_used_at: Timestamp | None
    expires_at: Timestamp
    revoked_at: Timestamp | None
    status: accounts.TokenStatus

    @classmethod
    def of(cls, row: ApiToken) -> TokenPublic:
        return cls(
            id=row.id,
            user_id=row.user_id,
            label=row.label,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            status=accounts.token_status(row),
        )


class TokenIssued(TokenPublic):
    token: str = Field(description="send as 'Authorization: Bearer TOKEN'; shown only once")


@router.get("/api/tokens", responses=errors(404))
def list_tokens(
    db: DB,
    user: CurrentUser,
    user_id: Annotated[QueryId, Query(description="another user's (admins only)")] = None,
    include_ended: Annotated[Flag, Query(description="also expired and revoked ones")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> list[TokenPublic]:
    """Your tokens, newest first (never the tokens themselves: only their hashes are kept)."""
    if user_id is not None and user_id != user.id:
        if user.role != "admin":
            raise HTTPException(403, "only admins may list another user's tokens")
        accounts.get_user(db, user_id)
    owner = user.id if user_id is None else user_id
    rows = accounts.tokens_of(db, owner, ended=include_ended, limit=limit, offset=offset)
    return [TokenPublic.of(row) for row in rows]


@router.post("/api/tokens", status_code=201)
def create_token(
    db: DB, user: CurrentUser, settings: Settings, body: TokenCreate | None = None
) -> TokenIssued:
    """A new token for yourself; the answer is the only time it is shown."""
    body = body or TokenCreate()
    days = body.days or settings.token_days
    if days > settings.token_days:
        raise Invalid(f"a token may last at most {settings.token_days} days (MATCHER_TOKEN_DAYS)")
    row, token = accounts.new_token(db, user, user, days, body.label)
    db.commit()
    return TokenIssued(**TokenPublic.of(row).model_dump(), token=token)


@router.delete("/api/tokens/{token_id}", responses=errors(404))
def revoke_token(token_id: PathId, db: DB, user: CurrentUser) -> TokenPublic:
    """Revoke one of your tokens (admins: anyone's) at once; revoking twice changes nothing."""
    row = accounts.revoke_token(db, user, token_id)
    db.commit()
    return TokenPublic.of(row)
