"""Mentors and mentees: import a spreadsheet, list the register, read one person's history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile

from service import people
from service.api.deps import DB, Admin, PeopleReaders, Settings, Staff
from service.errors import Invalid, NotFound, TooLarge

router = APIRouter(tags=["people"])
Upload = Annotated[UploadFile, File(description="The spreadsheet: .csv or .xlsx")]


async def read_upload(request: Request, file: UploadFile, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64_000:
        raise TooLarge(f"the upload is larger than the limit of {limit:,} bytes")
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"{file.filename} is larger than the limit of {limit:,} bytes")
    if not file.filename:
        raise Invalid("the upload has no file name: send it as multipart field 'file'")
    return data


def _import(kind: str) -> Any:
    async def handler(
        request: Request, file: Upload, db: DB, user: Staff, settings: Settings
    ) -> dict[str, Any]:
        data = await read_upload(request, file, settings.max_upload_bytes)
        counts = people.import_people(db, user, kind, file.filename or "upload", data)
        db.commit()
        return {"kind": kind, **counts}

    handler.__name__ = f"import_{kind}"
    handler.__doc__ = (
        f"Import {kind} from a CSV or XLSX file (SPEC section 3): all rows or none. "
        "422 lists every problem as file, row, column, value, message."
    )
    return handler


router.post("/api/mentors/import")(_import("mentors"))
router.post("/api/mentees/import")(_import("mentees"))


@router.get("/api/mentors")
def list_mentors(db: DB, _user: PeopleReaders) -> list[dict[str, Any]]:
    """The mentor register: focus areas, capacity and what is left of it."""
    return people.mentor_summaries(db)


@router.get("/api/mentees")
def list_mentees(db: DB, _user: PeopleReaders) -> list[dict[str, Any]]:
    """Mentees, and whether each has an active match."""
    return people.mentee_summaries(db)


@router.get("/api/{kind}/{person_id}/history")
def person_history(kind: str, person_id: str, db: DB, _user: Admin) -> list[dict[str, Any]]:
    """Every imported version of one mentor or mentee (``kind``: mentors or mentees)."""
    if kind not in people.KINDS:
        raise NotFound(f"unknown kind {kind!r}: expected mentors or mentees")
    versions = people.history(db, kind, person_id)
    if not versions:
        raise NotFound(f"no {kind[:-1]} with id {person_id!r}")
    return versions
