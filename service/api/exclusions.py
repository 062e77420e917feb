"""Standing conflicts of interest: import, list, remove."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from service import exclusions
from service.api.deps import DB, Settings, Staff
from service.api.people import (
    IMPORT_ERRORS,
    DryRun,
    ImportPublic,
    import_public,
    upload_body,
    uploaded_file,
)
from service.api.schemas import SIGNED_IN, Flag, PathId, errors
from service.db import commit_or_retry

router = APIRouter(tags=["exclusions"], responses=SIGNED_IN)


class ExclusionPublic(BaseModel):
    """A pair no round may make (a conflict of interest)."""

    id: int
    mentor_id: str
    mentee_id: str
    reason: str | None = None


@router.post(
    "/api/exclusions/import",
    response_model=ImportPublic,
    openapi_extra=upload_body(),
    responses=IMPORT_ERRORS,
)
async def import_exclusions(
    request: Request, db: DB, user: Staff, settings: Settings, dry_run: Flag = DryRun
) -> ImportPublic:
    """Import ``mentor_id, mentee_id, reason`` rows: pairs no round may make. All or nothing;
    ``dry_run=true`` checks the file and says what an import would do."""
    upload = await uploaded_file(request, settings.max_upload_bytes)

    def work() -> ImportPublic:
        read, pairs = exclusions.read_exclusions_file(
            upload.filename, upload.data, settings.read_limits
        )
        counts = commit_or_retry(
            db, lambda: exclusions.import_exclusions(db, user, read, pairs), dry_run=dry_run
        )
        return import_public(read, counts, stored=not dry_run)

    return await run_in_threadpool(work)


@router.get("/api/exclusions", response_model_exclude_unset=True)
def list_exclusions(db: DB, _user: Staff) -> list[ExclusionPublic]:
    return [ExclusionPublic.model_validate(e) for e in exclusions.exclusion_views(db)]


# ``:int``: the address of one exclusion is all digits, so DELETE /api/exclusions/import is a
# 405 (that address takes POST only), not a 422 for an id that is not a number.
@router.delete("/api/exclusions/{exclusion_id:int}", status_code=204, responses=errors(404))
def remove_exclusion(exclusion_id: PathId, db: DB, user: Staff) -> None:
    exclusions.remove(db, user, exclusion_id)
    db.commit()
