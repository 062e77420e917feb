"""Standing conflicts of interest: import, list, remove."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from service import exclusions
from service.api.deps import DB, Settings, Staff
from service.api.people import Upload, read_upload

router = APIRouter(tags=["exclusions"])


@router.post("/api/exclusions/import")
async def import_exclusions(
    request: Request, file: Upload, db: DB, user: Staff, settings: Settings
) -> dict[str, Any]:
    """Import ``mentor_id, mentee_id, reason`` rows: pairs no round may make. All or nothing."""
    data = await read_upload(request, file, settings.max_upload_bytes)
    counts = exclusions.import_exclusions(db, user, file.filename or "upload", data)
    db.commit()
    return {"kind": "exclusions", **counts}


@router.get("/api/exclusions")
def list_exclusions(db: DB, _user: Staff) -> list[dict[str, Any]]:
    return exclusions.exclusion_views(db)


@router.delete("/api/exclusions/{exclusion_id}", status_code=204)
def remove_exclusion(exclusion_id: int, db: DB, user: Staff) -> None:
    exclusions.remove(db, user, exclusion_id)
    db.commit()
