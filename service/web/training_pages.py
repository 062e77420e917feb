"""Training records: the list (paged in the database), a form to record a mentor's course and
a page to record its completion.

The forms are read by the API's own request models (``TrainingCreate``, ``TrainingUpdate``)
and stored by the same functions (``service.training``), so a page refuses and audits exactly
what the API does. A refused form comes back with status 422, each problem next to its field
and everything typed kept; nothing is stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from service import training
from service.api.deps import DB, Settings
from service.api.schemas import LINE
from service.api.training import TrainingCreate, TrainingUpdate
from service.api.training import store as store_training
from service.errors import Invalid, NotFound
from service.roles import STAFF
from service.search import count
from service.web.deps import Csrf, CurrentViewer, Viewer, render
from service.web.paging import PER_PAGE, PageNumber, PerPage, page_of

router = APIRouter(include_in_schema=False)
M = TypeVar("M", bound=BaseModel)
Field = Annotated[str, Form(max_length=4000)]
NOTICES = {
    "recorded": "Training record {record} saved.",
    "updated": "Training record {record} updated.",
}
STATE_WORDS = {"in_progress": "In progress", "completed": "Completed"}
CREATE_FIELDS = (
    "mentor_id",
    "course",
    "qualification",
    "started_on",
    "completed_on",
    "reimbursed_sessions",
)


def problems_by_field(exc: ValidationError) -> dict[str, str]:
    """A request model's refusal as field -> sentence (the first problem of each field)."""
    found: dict[str, str] = {}
    for error in exc.errors(include_url=False, include_input=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        found.setdefault(field, plain(error))
    return found


def plain(error: ErrorDetails) -> str:
    """Pydantic's sentence in the words of the service's own messages."""
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    kind = error["type"]
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return "required"
    if kind == "string_too_long":
        return f"at most {ctx['max_length']} characters"
    if kind in ("greater_than_equal", "less_than_equal"):
        bound = ctx["ge"] if kind == "greater_than_equal" else ctx["le"]
        return f"must be {bound:g} or {'more' if kind == 'greater_than_equal' else 'less'}"
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return "must be a whole number"
    if kind in ("float_parsing", "float_type", "finite_number"):
        return "must be a number"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return error["msg"]


_FIELD_NAME = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")


def in_words(message: str) -> str:
    """A service message for a page: field names such as ``completed_on`` as words."""
    return _FIELD_NAME.sub(lambda found: found[0].replace("_", " "), message)


def read_form(model: type[M], data: dict[str, Any]) -> M:
    """``data`` (form text; empty fields left out) read by an API request model, its text
    read as numbers where the model wants one; ValidationError where the API answers 422."""
    return model.model_validate({k: v for k, v in data.items() if v != ""}, strict=False)


@router.get("/training")
def list_training(
    request: Request,
    db: DB,
    viewer: CurrentViewer,
    settings: Settings,
    mentor: Annotated[str, Query(max_length=200), LINE] = "",
    state: Literal["", "in_progress", "completed"] = "",
    find: Annotated[str, Query(max_length=200), LINE] = "",
    chosen: Annotated[str, Query(max_length=200), LINE] = "",
    page: PageNumber = 1,
    per_page: PerPage = PER_PAGE,
    notice: Literal["", "recorded", "updated"] = "",
    record: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Records newest first, a page at a time, of one mentor (``mentor``, an id) and/or one
    state; ``find`` searches mentors for the form, ``chosen`` puts one into it."""
    viewer.require(STAFF)
    form = {"mentor_id": "", "reimbursed_sessions": "0"}
    if chosen:
        names = training.mentor_names(db, [chosen])
        if chosen in names:
            form["mentor_id"] = f"{names[chosen]} ({chosen})"
    notice_text = NOTICES[notice].format(record=record) if notice else ""
    return _training_page(
        request, db, viewer, settings, mentor, state, find, page, per_page, form, {}, notice_text
    )


@router.post("/training")
def record_training(
    request: Request,
    db: DB,
    viewer: CurrentViewer,
    settings: Settings,
    csrf_token: Csrf = "",
    mentor_id: Field = "",
    course: Field = "",
    qualification: Field = "",
    started_on: Field = "",
    completed_on: Field = "",
    reimbursed_sessions: Field = "",
) -> Response:
    """Record a course through ``training.create``, as ``POST /api/training`` does."""
    viewer.require(STAFF)
    viewer.check_form(csrf_token)
    typed = {
        "mentor_id": mentor_id,
        "course": course,
        "qualification": qualification,
        "started_on": started_on,
        "completed_on": completed_on,
        "reimbursed_sessions": reimbursed_sessions,
    }
    problems: dict[str, str] = {}
    resolved = mentor_id
    if mentor_id.strip():  # a name, "Name (ID)" or an id, as the search offers a mentor
        try:
            resolved = training.mentor_as_typed(db, mentor_id)
        except training.FieldInvalid as exc:
            problems[exc.field] = in_words(exc.message)
    try:
        body = read_form(TrainingCreate, {**typed, "mentor_id": resolved})
    except ValidationError as exc:
        return _refused(
            request, db, viewer, settings, typed, {**problems_by_field(exc), **problems}
        )
    if problems:
        return _refused(request, db, viewer, settings, typed, problems)
    try:
        made = store_training(db, viewer.user, body, settings)
    except (Invalid, NotFound) as exc:
        db.rollback()
        field = getattr(exc, "field", None)
        if field is None:
            raise
        return _refused(request, db, viewer, settings, typed, {field: in_words(exc.message)})
    db.commit()
    return RedirectResponse(f"/training?notice=recorded&record={made.id}", status_code=303)


def _refused(
    request: Request,
    db: DB,
    viewer: Viewer,
    settings: Settings,
    typed: dict[str, str],
    problems: dict[str, str],
) -> Response:
    return _training_page(
        request, db, viewer, settings, "", "", "", 1, PER_PAGE, typed, problems, "", 422
    )


def _training_page(
    request: Request,
    db: DB,
    viewer: Viewer,
    settings: Settings,
    mentor: str,
    state: str,
    find: str,
    number: int,
    per_page: int,
    form: dict[str, str],
    problems: dict[str, str],
    notice: str,
    status_code: int = 200,
) -> Response:
    query = training.find(mentor.strip() or None, state or None)
    paged = page_of(number, per_page, count(db, query), mentor=mentor.strip(), state=state)
    records = training.page(db, query, paged.start, paged.per_page)
    names = training.mentor_names(db, sorted({r.mentor_id for r in records}))
    return render(
        request,
        "training.html",
        viewer,
        status_code=status_code,
        records=[_row(r, names) for r in records],
        paged=paged,
        path="/training",
        mentor=mentor.strip(),
        state=state,
        states=STATE_WORDS,
        find=find.strip(),
        found=training.search_mentors(db, find) if find.strip() else [],
        choices=training.MENTOR_CHOICES,
        form=form,
        problems=problems,
        fields=CREATE_FIELDS,
        sessions_max=settings.training_sessions_max,
        notice=notice,
    )


def _row(record: Any, names: dict[str, str]) -> dict[str, Any]:
    return {
        **training.public(record),
        "mentor_name": names.get(record.mentor_id, ""),
        "state": STATE_WORDS["completed" if record.completed_on else "in_progress"],
    }


@router.get("/training/{record_id}")
def show_record(
    request: Request, record_id: int, db: DB, viewer: CurrentViewer, settings: Settings
) -> Response:
    """One record, with the form to record its completion date and qualification."""
    viewer.require(STAFF)
    record = training.get(db, record_id)
    form = {
        "completed_on": record.completed_on.isoformat() if record.completed_on else "",
        "qualification": record.qualification or "",
    }
    return _record_page(request, db, viewer, settings, record, form, {})


@router.post("/training/{record_id}")
def update_record(
    request: Request,
    record_id: int,
    db: DB,
    viewer: CurrentViewer,
    settings: Settings,
    csrf_token: Csrf = "",
    completed_on: Field = "",
    qualification: Field = "",
) -> Response:
    """Set or clear the completion date and qualification through ``training.update``, as
    ``PATCH /api/training/{id}`` does, sending only the fields that change (an empty field
    clears its value)."""
    viewer.require(STAFF)
    viewer.check_form(csrf_token)
    record = training.get(db, record_id)
    typed = {"completed_on": completed_on, "qualification": qualification}
    try:
        body = read_form(TrainingUpdate, typed)
    except ValidationError as exc:
        return _record_page(request, db, viewer, settings, record, typed, problems_by_field(exc))
    now = {"completed_on": record.completed_on, "qualification": record.qualification}
    changes = {k: v for k, v in body.model_dump().items() if v != now[k]}
    try:
        training.update(db, viewer.user, record_id, changes)
    except training.FieldInvalid as exc:
        db.rollback()
        problems = {exc.field: in_words(exc.message)}
        return _record_page(request, db, viewer, settings, record, typed, problems)
    except Invalid as exc:  # nothing changed
        db.rollback()
        problems = {"": in_words(exc.message)}
        return _record_page(request, db, viewer, settings, record, typed, problems)
    db.commit()
    return RedirectResponse(f"/training?notice=updated&record={record_id}", status_code=303)


def _record_page(
    request: Request,
    db: DB,
    viewer: Viewer,
    settings: Settings,
    record: Any,
    form: dict[str, str],
    problems: dict[str, str],
) -> Response:
    names = training.mentor_names(db, [record.mentor_id])
    used = training.reimbursed_total(db, record.mentor_id)
    return render(
        request,
        "training_record.html",
        viewer,
        status_code=422 if problems else 200,
        record=_row(record, names),
        form=form,
        problems=problems,
        sessions_used=used,
        sessions_max=settings.training_sessions_max,
    )
