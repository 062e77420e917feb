"""Mentors and mentees: the list, a page per person, and the edit form.

Admins, matchers and organisers read them (analysts never: they see ids only, elsewhere);
admins and matchers edit. What each role sees follows the API: the list's columns for
everyone who may read people, matches for those who may read matches, every column of the
record for staff but the diversity columns for admins only, and the history for admins only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from matcher.errors import InputError
from matcher.vocab import COHORTS, code_words
from service import matches, person_edit
from service.api.deps import DB
from service.errors import Invalid
from service.models import PersonRow
from service.person_edit import KINDS, LABELS, SHOWN, Kind, StaleVersion
from service.roles import ADMINS, PEOPLE_READERS, REPORT_READERS, STAFF
from service.search import count
from service.web.deps import CurrentViewer, Viewer, render
from service.web.paging import PER_PAGE, PageNumber, PerPage, page_of

router = APIRouter(include_in_schema=False)
KindPath = Annotated[Literal["mentors", "mentees"], Path()]
PersonId = Annotated[str, Path(max_length=64)]
Search = Annotated[str, Query(max_length=100)]
NOTICES = {
    "saved": "Saved as version {version}.",
    "unchanged": "Nothing changed: the form holds what is stored.",
}


@router.get("/people")
def list_people(
    request: Request,
    db: DB,
    viewer: CurrentViewer,
    kind: Literal["mentees", "mentors"] = "mentees",
    q: Search = "",
    status: Annotated[str, Query(max_length=16)] = "",
    cohort: Annotated[str, Query(max_length=32)] = "",
    page: PageNumber = 1,
    per_page: PerPage = PER_PAGE,
) -> Response:
    """Mentees or mentors, a page at a time, found by part of an id or a name, of one status
    (mentees: waiting or matched; mentors: active, paused, withdrawn) or, for mentees, one
    cohort. Searching, filtering and slicing happen in the database; only the page's rows are
    read through ``matcher.readers``."""
    viewer.require(PEOPLE_READERS)
    spec = KINDS[kind]
    search = q.strip()
    status = status if status in SHOWN[kind] else ""
    cohort = cohort if kind == "mentees" and cohort in COHORTS else ""
    query = person_edit.find_people(spec, search, status, cohort)
    paged = page_of(
        page,
        per_page,
        count(db, query),
        kind=kind if kind != "mentees" else "",
        q=search,
        status=status,
        cohort=cohort,
    )
    return render(
        request,
        "people.html",
        viewer,
        kind=kind,
        people=person_edit.page(db, spec, query, paged.start, paged.per_page),
        q=search,
        status=status,
        statuses=SHOWN[kind],
        cohort=cohort,
        cohorts=[(c, code_words(c)) for c in COHORTS],
        paged=paged,
        path="/people",
    )


@router.get("/people/{kind}/{person_id:path}")
def person_page(
    request: Request,
    kind: KindPath,
    person_id: PersonId,
    db: DB,
    viewer: CurrentViewer,
    notice: Annotated[str, Query(max_length=16)] = "",
    version: int = 0,
) -> Response:
    """One mentor or mentee: their record in words, their matches, their history (admins)
    and, for staff, the form that changes their record."""
    viewer.require(PEOPLE_READERS)
    message = NOTICES[notice].format(version=version) if notice in NOTICES else ""
    return _person(request, db, viewer, KINDS[kind], person_id, notice=message)


@router.post("/people/{kind}/{person_id:path}")
async def edit_person(
    request: Request, kind: KindPath, person_id: PersonId, db: DB, viewer: CurrentViewer
) -> Response:
    """Save the form as a one-row import: a new version, an Import batch and an audit entry.
    Bad cells show the form again (422) with each problem beside its field and what was
    typed kept; a version stored since the form was read is refused (409) with the form
    showing the stored one; nothing changed is said so. Then back to the person's page."""
    viewer.require(STAFF)
    form = await request.form()
    viewer.check_form(_text(form.get("csrf_token")))
    spec = KINDS[kind]
    columns = person_edit.editable_columns(spec, diversity=viewer.may(ADMINS))
    cells = {c: _text(form.get(c)) for c in columns if c in form}
    try:
        read_version = int(_text(form.get("version")))
    except ValueError:
        raise Invalid("the form has no version: reload the page") from None

    def work() -> Response:
        try:
            saved = person_edit.edit_person(db, viewer.user, spec, person_id, read_version, cells)
        except InputError as exc:
            db.rollback()
            return _person(request, db, viewer, spec, person_id, typed=cells, problems=exc)
        except StaleVersion as exc:
            db.rollback()
            return _person(request, db, viewer, spec, person_id, stale=exc.message)
        except BaseException:
            db.rollback()
            raise
        if saved is None:
            db.rollback()
            params = {"notice": "unchanged"}
        else:
            db.commit()
            params = {"notice": "saved", "version": str(saved)}
        target = f"{_person_url(kind, person_id)}?{urlencode(params)}"
        return RedirectResponse(target, status_code=303)

    # Reading and writing the record may wait for the database: off the event loop.
    return await run_in_threadpool(work)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _person_url(kind: str, person_id: str) -> str:
    """A person's page (an id may hold any character but ';': ``:path`` lets it hold '/')."""
    return f"/people/{kind}/{quote(person_id)}"


def _person(
    request: Request,
    db: Session,
    viewer: Viewer,
    spec: Kind,
    person_id: str,
    *,
    notice: str = "",
    typed: dict[str, str] | None = None,
    problems: InputError | None = None,
    stale: str = "",
) -> Response:
    person = person_edit.get_person(db, spec, person_id)
    (summary,) = person_edit.summaries(db, spec, [person])
    can_edit = viewer.may(STAFF)
    columns = person_edit.editable_columns(spec, diversity=viewer.may(ADMINS))
    fields, general = edit_fields(spec, person, columns, typed, problems) if can_edit else ([], [])
    found = person_edit.matches_of(db, spec, person_id) if viewer.may(REPORT_READERS) else None
    status_code = 422 if problems else 409 if stale else 200
    return render(
        request,
        "person.html",
        viewer,
        status_code=status_code,
        kind=spec.name,
        singular=spec.singular,
        person=summary,
        version=person.version,
        updated_at=person.updated_at,
        matches=None if found is None else matches.match_views(db, found, named=True),
        history=person_edit.history(db, spec, person_id) if viewer.may(ADMINS) else None,
        can_edit=can_edit,
        fields=fields,
        general=general,
        notice=notice,
        stale=stale,
        action=_person_url(spec.name, person_id),
    )


def edit_fields(
    spec: Kind,
    person: PersonRow,
    columns: Sequence[str],
    typed: dict[str, str] | None,
    problems: InputError | None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """The form's fields (``columns``), each with its value (as typed, or as stored), its
    choices and the problems found in it; and the problems that belong to no field."""
    by_column: dict[str, list[str]] = {}
    general: list[str] = []
    for problem in problems.problems if problems else ():
        if problem.column is not None and problem.column in columns:
            by_column.setdefault(problem.column, []).append(problem.message)
        else:
            label = LABELS.get(problem.column or "", (problem.column or "", ""))[0]
            general.append(f"{label}: {problem.message}" if label else problem.message)
    fields = []
    for column in columns:
        stored = str(person.record.get(column, ""))
        value = typed[column] if typed is not None and column in typed else None
        label, hint = LABELS.get(column, (column, ""))
        options: list[tuple[str, str]] = []
        if column in person_edit.CHOICES:
            options = [(c, code_words(c)) for c in person_edit.CHOICES[column]]
            if column not in spec.schema.required:
                options.insert(0, ("", f"not stated ({code_words(options[0][0])})"))
        elif column in person_edit.YES_NO:
            options = [("", "not stated"), ("yes", "yes"), ("no", "no")]
        shown = value if value is not None else person_edit.form_value(column, stored)
        if options and shown not in {o for o, _w in options}:
            options.append((shown, shown))  # what was typed or stored stays selectable
        fields.append(
            {
                "column": column,
                "label": label,
                "hint": hint,
                "value": shown,
                "options": options,
                "required": column in spec.schema.required,
                "errors": by_column.get(column, []),
            }
        )
    return fields, general
