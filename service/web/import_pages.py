"""The Import page: mentors, mentees and (optionally) exclusions files, all or nothing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from matcher.errors import InputError, Problem
from service import exclusions, people
from service.api.deps import DB, Settings
from service.api.people import read_upload
from service.auth import STAFF
from service.web.deps import CurrentViewer, render

router = APIRouter(include_in_schema=False)
FIELDS = (
    ("mentors", "Mentors file"),
    ("mentees", "Mentees file"),
    ("exclusions", "Exclusions file"),
)
OptionalUpload = Annotated[UploadFile | None, File()]


@router.get("/import")
def import_form(request: Request, viewer: CurrentViewer) -> Response:
    viewer.require(STAFF)
    return render(request, "import.html", viewer, fields=FIELDS)


@router.post("/import")
async def import_files(
    request: Request,
    db: DB,
    viewer: CurrentViewer,
    settings: Settings,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    mentors: OptionalUpload = None,
    mentees: OptionalUpload = None,
    exclusions_file: Annotated[UploadFile | None, File(alias="exclusions")] = None,
) -> Response:
    """Every file is checked; if any has a problem, nothing from any of them is stored."""
    viewer.require(STAFF)
    viewer.check_form(csrf_token)
    uploads = {"mentors": mentors, "mentees": mentees, "exclusions": exclusions_file}
    given = {kind: f for kind, f in uploads.items() if f is not None and f.filename}
    if not given:
        return render(
            request,
            "import.html",
            viewer,
            status_code=422,
            fields=FIELDS,
            error="Choose at least one file to import.",
        )
    problems: list[Problem] = []
    results: list[dict[str, Any]] = []
    for kind, upload in given.items():
        data = await read_upload(request, upload, settings.max_upload_bytes)
        name = upload.filename or kind
        try:
            with db.begin_nested():
                if kind == "exclusions":
                    counts = exclusions.import_exclusions(db, viewer.user, name, data)
                else:
                    counts = people.import_people(db, viewer.user, kind, name, data)
            results.append({"kind": kind, "file": name, **counts})
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        db.rollback()
        return render(
            request,
            "import.html",
            viewer,
            status_code=422,
            fields=FIELDS,
            problems=[p.as_row() for p in problems],
        )
    db.commit()
    return render(request, "import.html", viewer, fields=FIELDS, results=results)
