"""Mentors and mentees: import a spreadsheet (or preview it), list the register, read history."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from matcher.preview import FileRead
from service import people
from service.api.deps import DB, Admin, PeopleReaders, Settings, Staff
from service.db import commit_or_retry
from service.errors import Invalid, NotFound
from service.uploads import multipart_body, read_files

router = APIRouter(tags=["people"])


class ColumnPublic(BaseModel):
    letter: str
    heading: str
    read_as: str
    how: Literal["exact", "renamed", "unknown", "typo"]
    meaning: str


class NotePublic(BaseModel):
    level: Literal["note", "warning"]
    file: str
    rows: str
    column: str
    message: str


class ImportPublic(BaseModel):
    """What an import stored (or, with ``dry_run``, would store) and how the file was read."""

    kind: str
    file: str
    stored: bool
    rows: int
    added: int
    updated: int
    unchanged: int
    sheet: str | None
    header_row: int | None
    columns: list[ColumnPublic]
    absent: list[str]
    notes: list[NotePublic]


def import_public(read: FileRead, counts: dict[str, int], *, stored: bool) -> ImportPublic:
    reading = read.reading
    return ImportPublic(
        kind=read.kind,
        file=read.file,
        stored=stored,
        sheet=reading.sheet if reading else None,
        header_row=reading.header_row if reading else None,
        columns=[ColumnPublic.model_validate(c) for c in read.columns()],
        absent=list(read.absent),
        notes=[NotePublic.model_validate(n.as_row()) for n in read.notes],
        **counts,
    )


DryRun = Query(
    default=False,
    description="Read and check the file and say what an import would do; store nothing",
)


def _import(kind: str) -> Any:
    async def handler(
        request: Request, db: DB, user: Staff, settings: Settings, dry_run: bool = DryRun
    ) -> ImportPublic:
        files, _fields = await read_files(request, settings.max_upload_bytes, ("file",))
        if "file" not in files:
            raise Invalid("send the spreadsheet as the multipart field 'file'")
        upload = files["file"]

        def work() -> ImportPublic:
            read = people.read_people_file(kind, upload.filename, upload.data, settings.read_limits)
            outcome = commit_or_retry(
                db, lambda: people.import_people(db, user, kind, read), dry_run=dry_run
            )
            return import_public(outcome.read, outcome.counts, stored=not dry_run)

        # Reading a large workbook takes seconds: off the event loop, so others are answered.
        return await run_in_threadpool(work)

    handler.__name__ = f"import_{kind}"
    handler.__doc__ = (
        f"Import {kind} from a CSV or XLSX file (SPEC section 3): all rows or none. The answer "
        "says how each column was read and what changed; `dry_run=true` only says it. 422 "
        "lists every problem as file, row, column, value, problem; 413 for a file over the "
        "size limit."
    )
    return handler


for _kind in people.KINDS:
    router.post(
        f"/api/{_kind}/import",
        response_model=ImportPublic,
        openapi_extra=multipart_body("file", required=("file",)),
        responses={413: {"description": "The file is larger than the upload limit"}},
    )(_import(_kind))


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
