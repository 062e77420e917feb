"""A mentor's or mentee's own pages: their record (a few fields they keep up to date, saved
as staff edits are, as an import of one row), their matches with the other's contact
details, the first meeting, and a mentor's monthly return. Everything here is about the
signed-in person only: a match or month of someone else is not found.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.errors import InputError
from service import matches, person_edit, session_logs
from service.api.deps import DB
from service.errors import Invalid, NotFound
from service.models import ACTIVE_MATCH_STATUSES, Match, Mentee, Mentor, PersonRow
from service.outbox import MailSetup
from service.person_edit import KINDS, StaleVersion
from service.session_logs import ReturnInvalid
from service.web.deps import Csrf, CurrentParticipant, Forbidden, ParticipantViewer, render
from service.web.people_pages import edit_fields
from service.web.session_pages import (
    Column,
    FormId,
    MonthQuery,
    last_month,
    return_context,
    return_notice,
    told,
    typed_rows,
)

router = APIRouter(include_in_schema=False)
# What a person keeps up to date themselves; the rest of the record is the scheme's.
OWN_COLUMNS = {
    "mentor": ("availability", "modes", "focus_areas", "capacity_max"),
    "mentee": ("availability", "modes", "needs"),
}
NOTICES = {
    "saved": "Saved. Your next match uses these details.",
    "unchanged": "Nothing had changed: nothing was saved.",
    "registered": "Thank you: the first meeting is recorded.",
}


def _columns(kind: str) -> tuple[str, ...]:
    schema = KINDS[f"{kind}s"].schema.columns
    return tuple(c for c in OWN_COLUMNS[kind] if c in schema)


@router.get("/me")
def my_page(request: Request, db: DB, me: CurrentParticipant, notice: str = "") -> Response:
    return _page(request, db, me, notice=NOTICES.get(notice, ""))


@router.post("/me")
async def save_my_record(request: Request, db: DB, me: CurrentParticipant) -> Response:
    """Save the person's own fields as a one-row import: the same checks, a new version."""
    form = await request.form()
    me.viewer.check_form(_text(form.get("csrf_token")))
    own = _columns(me.kind)
    # A field the form does not have is refused, not dropped: the rest of the record is the
    # scheme's to change.
    others = sorted(set(form) - {"csrf_token", "version", *own})
    if others:
        raise Invalid(f"these details are not yours to change here: {', '.join(others)}")
    cells = {c: _text(form.get(c)) for c in own if c in form}
    try:
        read_version = int(_text(form.get("version")))
    except ValueError:
        raise Invalid("the form has no version: reload the page") from None
    spec = KINDS[f"{me.kind}s"]
    # The columns a row must have, as stored: the person changes only their own fields.
    stored = person_edit.get_person(db, spec, me.person_id).record
    required = {
        c: str(stored.get(c, ""))
        for c in spec.schema.required
        if c != spec.id_column and c not in cells
    }
    try:
        saved = person_edit.edit_person(
            db, me.viewer.user, spec, me.person_id, read_version, {**required, **cells}
        )
    except InputError as exc:
        db.rollback()
        return _page(request, db, me, typed=cells, problems=exc)
    except StaleVersion as exc:
        db.rollback()
        return _page(request, db, me, stale=exc.message)
    if saved is None:
        db.rollback()
        return RedirectResponse("/me?notice=unchanged", status_code=303)
    db.commit()
    return RedirectResponse("/me?notice=saved", status_code=303)


@router.post("/me/matches/{match_id}/first-meeting")
def first_meeting(
    request: Request,
    match_id: int,
    db: DB,
    me: CurrentParticipant,
    held_on: Annotated[str, Form(max_length=20)] = "",
    csrf_token: Csrf = "",
) -> Response:
    """Either side records that the first meeting was held: the match becomes registered
    (as staff register it) and both sides are asked for feedback."""
    me.viewer.check_form(csrf_token)
    match = _own_match(db, me, match_id)
    try:
        day = date.fromisoformat(held_on.strip())
    except ValueError:
        return _page(
            request, db, me, meeting_error=(match_id, "Enter the day of the first meeting.")
        )
    setup = MailSetup.from_settings(request.app.state.settings)
    try:
        matches.change_status(
            db, me.viewer.user, match.id, "registered", None, registered_on=day, setup=setup
        )
    except Invalid as exc:
        db.rollback()
        return _page(request, db, me, meeting_error=(match_id, exc.message))
    db.commit()
    return RedirectResponse("/me?notice=registered", status_code=303)


@router.get("/me/return")
def my_return(
    request: Request,
    db: DB,
    me: CurrentParticipant,
    month: MonthQuery = "",
    logged: Annotated[int, Query(ge=0, le=400)] = 0,
    mentees: Annotated[int, Query(ge=0, le=400)] = 0,
    repeated: bool = False,
    none: bool = False,
) -> Response:
    """A mentor's return for a month (default: last month)."""
    mentor = _own_mentor(db, me)
    today = date.today()
    month = month.strip() or last_month(today)
    try:
        session_logs.month_bounds(month)
    except Invalid as exc:
        context = return_context(db, mentor, month, today, exc.message)
        return render(request, "me_return.html", me.viewer, status_code=422, **context)
    context = return_context(db, mentor, month, today)
    notice = return_notice(repeated, none, logged, mentees, month)
    return render(request, "me_return.html", me.viewer, notice=notice, **context)


@router.post("/me/return")
def send_my_return(
    request: Request,
    db: DB,
    me: CurrentParticipant,
    month: Annotated[str, Form(max_length=20)],
    form_id: FormId,
    csrf_token: Csrf = "",
    match: Annotated[list[int], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    held_on: Column = [],  # noqa: B006
    minutes: Column = [],  # noqa: B006
    none_held: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    """The return as staff log it (``session_logs.log_return``): the same checks, session
    logs and ledger, under the mentor's own sign-in."""
    me.viewer.check_form(csrf_token)
    mentor = _own_mentor(db, me)
    rows = typed_rows(match, held_on, minutes)
    today = date.today()
    nil = none_held == "yes"
    try:
        done = session_logs.log_return(
            db, me.viewer.user, mentor.mentor_id, month, form_id, rows, today, none_held=nil
        )
    except ReturnInvalid as exc:
        db.rollback()
        context = return_context(db, mentor, month, today, "", rows, exc, form_id, nil)
        return render(request, "me_return.html", me.viewer, status_code=422, **context)
    db.commit()
    query = "&".join(f"{k}={v}" for k, v in {"month": month, **told(done)}.items())
    return RedirectResponse(f"/me/return?{query}#return", status_code=303)


def _own_mentor(db: Session, me: ParticipantViewer) -> Mentor:
    if me.kind != "mentor":
        raise Forbidden("monthly returns are sent by mentors")
    mentor = db.get(Mentor, me.person_id)
    if mentor is None:
        raise NotFound("your record is no longer on the register: please contact the scheme")
    return mentor


def _own_match(db: Session, me: ParticipantViewer, match_id: int) -> Match:
    column = Match.mentor_id if me.kind == "mentor" else Match.mentee_id
    match = db.scalar(select(Match).where(Match.id == match_id, column == me.person_id))
    if match is None:
        raise NotFound(f"you have no match {match_id}")
    return match


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _page(
    request: Request,
    db: Session,
    me: ParticipantViewer,
    *,
    notice: str = "",
    typed: dict[str, str] | None = None,
    problems: InputError | None = None,
    stale: str = "",
    meeting_error: tuple[int, str] | None = None,
) -> Response:
    spec = KINDS[f"{me.kind}s"]
    person = person_edit.get_person(db, spec, me.person_id)
    fields, general = edit_fields(spec, person, _columns(me.kind), typed, problems)
    status = 422 if problems or meeting_error else 409 if stale else 200
    return render(
        request,
        "me.html",
        me.viewer,
        status_code=status,
        me=me,
        person=person,
        email=str(person.record.get("email") or ""),
        version=person.version,
        fields=fields,
        general=general,
        notice=notice,
        stale=stale,
        action="/me",
        save_label="Save my details",
        matches=_matches(db, me),
        meeting_error=meeting_error,
        today=date.today().isoformat(),
    )


def _matches(db: Session, me: ParticipantViewer) -> list[dict[str, Any]]:
    """The person's current matches, each with the other person's name and address."""
    mine = Match.mentor_id if me.kind == "mentor" else Match.mentee_id
    found = list(
        db.scalars(
            select(Match)
            .where(mine == me.person_id, Match.status.in_(ACTIVE_MATCH_STATUSES))
            .order_by(Match.id)
        )
    )
    views = []
    for match in found:
        other: PersonRow | None
        if me.kind == "mentor":
            other_id, other = match.mentee_id, db.get(Mentee, match.mentee_id)
        else:
            other_id, other = match.mentor_id, db.get(Mentor, match.mentor_id)
        record = other.record if other is not None else {}
        views.append(
            {
                "id": match.id,
                "status": match.status,
                "confirmed": session_logs.confirmed_on(match).isoformat(),
                "registered": match.registered_at.date().isoformat() if match.registered_at else "",
                "other_role": "mentee" if me.kind == "mentor" else "mentor",
                "other_name": other.name if other is not None else other_id,
                "other_email": str(record.get("email") or ""),
            }
        )
    return views
