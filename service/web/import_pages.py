"""The Import page: mentors, mentees and (optionally) exclusions files, previewed or stored.

Every file is read and checked; if any has a problem, nothing from any of them is stored.
``Preview`` does the whole import and rolls it back, so it shows exactly what ``Import``
would do: how each column is read, the notes, and how many people are added or changed.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from matcher import blank_files
from matcher.errors import InputError, Problem
from matcher.limits import ReadLimits
from matcher.preview import FileRead
from service import exclusions, people
from service.api.deps import DB, Settings
from service.api.people import import_public
from service.db import commit_or_retry
from service.errors import NotFound
from service.models import User
from service.roles import STAFF
from service.uploads import Upload, read_files
from service.web.deps import CurrentViewer, render

router = APIRouter(include_in_schema=False)
FIELDS = (
    ("mentors", "Mentors file"),
    ("mentees", "Mentees file"),
    ("exclusions", "Exclusions file"),
)
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# Problems listed on the page; the rest are counted (a file wrong on every row stays light).
MAX_PROBLEMS_SHOWN = 200


@router.get("/import")
def import_form(request: Request, viewer: CurrentViewer) -> Response:
    viewer.require(STAFF)
    return render(request, "import.html", viewer, fields=FIELDS)


@router.get("/import/template/{kind}.{suffix}")
def template_file(kind: str, suffix: str, viewer: CurrentViewer) -> Response:
    """A file to start from: the kind's columns and an example row."""
    viewer.require(STAFF)
    if kind not in blank_files.KINDS or suffix not in MEDIA:
        raise NotFound(f"no template {kind}.{suffix}")
    body = blank_files.template_csv(kind) if suffix == "csv" else blank_files.template_xlsx(kind)
    headers = {"Content-Disposition": f'attachment; filename="{kind}-template.{suffix}"'}
    return Response(body, media_type=MEDIA[suffix], headers=headers)


@router.post("/import")
async def import_files(
    request: Request, db: DB, viewer: CurrentViewer, settings: Settings
) -> Response:
    viewer.require(STAFF)
    db.commit()  # the sign-in check is done: hold no transaction while the upload arrives
    names = tuple(name for name, _label in FIELDS)
    files, fields = await read_files(request, settings.max_upload_bytes, names)
    viewer.check_form(fields.get("csrf_token"))
    preview = fields.get("action") == "preview"
    if not files:
        return render(
            request,
            "import.html",
            viewer,
            status_code=422,
            fields=FIELDS,
            error="Choose at least one file to import.",
        )
    user = viewer.user
    try:
        reads = await run_in_threadpool(_import_all, db, user, files, settings.read_limits, preview)
    except InputError as exc:
        problems = exc.problems
        return render(
            request,
            "import.html",
            viewer,
            status_code=422,
            fields=FIELDS,
            problems=[p.as_row() for p in problems[:MAX_PROBLEMS_SHOWN]],
            more_problems=max(0, len(problems) - MAX_PROBLEMS_SHOWN),
        )
    return render(request, "import.html", viewer, fields=FIELDS, results=reads, preview=preview)


def _import_all(
    db: Session, user: User, files: dict[str, Upload], limits: ReadLimits, preview: bool
) -> list[dict[str, Any]]:
    """Read every file, then store them in one transaction (rolled back for a preview)."""
    problems: list[Problem] = []
    people_files = {}
    exclusion_file = None
    for kind in ("mentors", "mentees"):
        if kind in files:
            try:
                people_files[kind] = people.read_people_file(
                    kind, files[kind].filename, files[kind].data, limits
                )
            except InputError as exc:
                problems += exc.problems
    if "exclusions" in files:
        upload = files["exclusions"]
        try:
            exclusion_file = exclusions.read_exclusions_file(upload.filename, upload.data, limits)
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(problems)

    def store() -> list[tuple[FileRead, dict[str, int]]]:
        done = []
        for kind, people_file in people_files.items():
            outcome = people.import_people(db, user, kind, people_file)
            done.append((outcome.read, outcome.counts))
        if exclusion_file is not None:
            read, pairs = exclusion_file
            done.append((read, exclusions.import_exclusions(db, user, read, pairs)))
        return done

    done = commit_or_retry(db, store, dry_run=preview)
    # The page shows what the API answers, and where in the file the table was found.
    return [
        {**import_public(read, counts, stored=not preview).model_dump(), "where": read.where()}
        for read, counts in done
    ]
