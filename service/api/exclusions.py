"""Standing conflicts of interest: import, list, remove."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from service import exclusions
from service.api.deps import DB, Settings, Staff
from service.api.people import DryRun, ImportPublic, import_public
from service.db import commit_or_retry
from service.errors import Invalid
from service.uploads import multipart_body, read_files

router = APIRouter(tags=["exclusions"])


@router.post(
    "/api/exclusions/import",
    response_model=ImportPublic,
    openapi_extra=multipart_body("file", required=("file",)),
    responses={413: {"description": "The file is larger than the upload limit"}},
)
async def import_exclusions(
    request: Request, db: DB, user: Staff, settings: Settings, dry_run: bool = DryRun
) -> ImportPublic:
    """Import ``mentor_id, mentee_id, reason`` rows: pairs no round may make. All or nothing;
    ``dry_run=true`` checks the file and says what an import would do."""
    files, _fields = await read_files(request, settings.max_upload_bytes, ("file",))
    if "file" not in files:
        raise Invalid("send the spreadsheet as the multipart field 'file'")
    upload = files["file"]

    def work() -> ImportPublic:
        read, pairs = exclusions.read_exclusions_file(
            upload.filename, upload.data, settings.read_limits
        )
        counts = commit_or_retry(
            db, lambda: exclusions.import_exclusions(db, user, read, pairs), dry_run=dry_run
        )
        return import_public(read, counts, stored=not dry_run)

    return await run_in_threadpool(work)


@router.get("/api/exclusions")
def list_exclusions(db: DB, _user: Staff) -> list[dict[str, Any]]:
    return exclusions.exclusion_views(db)


@router.delete("/api/exclusions/{exclusion_id}", status_code=204)
def remove_exclusion(exclusion_id: int, db: DB, user: Staff) -> None:
    exclusions.remove(db, user, exclusion_id)
    db.commit()
