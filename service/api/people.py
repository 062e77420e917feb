"""Mentors and mentees: import a spreadsheet (or preview it), list the register, read history."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from matcher.preview import FileRead
from service import people
from service.api.deps import DB, Admin, PeopleReaders, Settings, Staff
from service.api.schemas import (
    SIGNED_IN,
    Flag,
    PersonIdPath,
    Timestamp,
    error,
    errors,
)
from service.db import commit_or_retry
from service.errors import Invalid, NotFound
from service.uploads import Upload, multipart_body, read_files

router = APIRouter(tags=["people"], responses=SIGNED_IN)


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


class MentorPublic(BaseModel):
    """A mentor on the register (no diversity data)."""

    mentor_id: str
    name: str | None = None
    email: str | None = None
    practice_code: str | None = None
    pcn: str | None = None
    status: str
    focus_areas: list[str]
    capacity_max: int
    current_mentees: int = Field(description="Mentees now, including matches made here")
    remaining_capacity: int


class MenteePublic(BaseModel):
    mentee_id: str
    name: str | None = None
    cohort: str
    practice_code: str | None = None
    pcn: str | None = None
    needs: list[str]
    waiting_since: date | None
    matched: bool = Field(description="Has a confirmed or registered match")


class VersionPublic(BaseModel):
    """One imported (or changed) version of a person: the record as stored then."""

    version: int
    at: Timestamp
    import_id: int | None
    record: dict[str, Any]


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


def upload_body() -> dict[str, Any]:
    """The OpenAPI body of an import: a multipart form with the file and nothing else."""
    body = multipart_body("file", required=("file",))
    body["requestBody"]["content"]["multipart/form-data"]["schema"]["additionalProperties"] = False
    return body


async def uploaded_file(request: Request, limit: int) -> Upload:
    """The spreadsheet sent as the multipart field 'file' (422 if none or if the form has
    other fields, 413 if too large)."""
    files, fields = await read_files(request, limit, ("file",))
    if fields:
        raise Invalid(f"send only the multipart field 'file', not: {', '.join(sorted(fields))}")
    if "file" not in files:
        raise Invalid("send the spreadsheet as the multipart field 'file'")
    return files["file"]


# What an import may answer besides success.
IMPORT_ERRORS = errors(400, 413) | {
    422: error(
        "Every problem in the file, each with its file, row, column, value and what is wrong; "
        "nothing was stored"
    )
}


def _import(kind: str) -> Any:
    async def handler(
        request: Request, db: DB, user: Staff, settings: Settings, dry_run: Flag = DryRun
    ) -> ImportPublic:
        upload = await uploaded_file(request, settings.max_upload_bytes)

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
        openapi_extra=upload_body(),
        responses=IMPORT_ERRORS,
    )(_import(_kind))


@router.get("/api/mentors", response_model_exclude_unset=True)
def list_mentors(db: DB, _user: PeopleReaders) -> list[MentorPublic]:
    """The mentor register: focus areas, capacity and what is left of it."""
    return [MentorPublic.model_validate(m) for m in people.mentor_summaries(db)]


@router.get("/api/mentees", response_model_exclude_unset=True)
def list_mentees(db: DB, _user: PeopleReaders) -> list[MenteePublic]:
    """Mentees, and whether each has an active match."""
    return [MenteePublic.model_validate(m) for m in people.mentee_summaries(db)]


@router.get("/api/{kind}/{person_id}/history", responses=errors(404))
def person_history(
    kind: Annotated[Literal["mentors", "mentees"], Path(description="mentors or mentees")],
    person_id: PersonIdPath,
    db: DB,
    _user: Admin,
) -> list[VersionPublic]:
    """Every imported version of one mentor or mentee, oldest first."""
    versions = people.history(db, kind, person_id)
    if not versions:
        raise NotFound(f"no {kind[:-1]} with id {person_id!r}")
    return [VersionPublic.model_validate(v) for v in versions]
