"""Speed-meeting events: plan one from the register, read its rotation, print its sheets, and
record who chose whom afterwards."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service import events
from service.api.deps import DB, Settings
from service.api.schemas import LINE, LINES
from service.auth import EVENT_READERS, ORGANISERS
from service.errors import Invalid
from service.people import mentee_summaries, mentor_summaries
from service.web.deps import CurrentViewer, render

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(max_length=128)]
NOTICES = {
    "planned": "Event planned: the rotation is below; print the sheets for the evening.",
    "choices": "Choices saved: they are now the people's stated preferences for the next round.",
}
_SEPARATORS = re.compile(r"[\s,;]+")


def ids(text: str) -> list[str]:
    """Ids typed or pasted one per line, or separated by commas, semicolons or spaces."""
    return [token for token in _SEPARATORS.split(text) if token]


@router.get("/events")
def list_events(request: Request, db: DB, viewer: CurrentViewer) -> Response:
    viewer.require(EVENT_READERS)
    can_plan = viewer.may(ORGANISERS)
    mentors = [m["mentor_id"] for m in mentor_summaries(db) if m["remaining_capacity"] > 0]
    mentees = [m["mentee_id"] for m in mentee_summaries(db) if not m["matched"]]
    return render(
        request,
        "events.html",
        viewer,
        events=[events.event_view(e) for e in events.all_events(db)],
        can_plan=can_plan,
        default_mentors=" ".join(mentors) if can_plan else "",
        default_mentees=" ".join(mentees) if can_plan else "",
        today=date.today().isoformat(),
    )


@router.post("/events")
def plan_event(
    db: DB,
    viewer: CurrentViewer,
    settings: Settings,
    csrf_token: Csrf = "",
    name: Annotated[str, Form(min_length=1, max_length=255), LINE] = "Speed-meeting",
    held_on: Annotated[date, Form()] = date(2000, 1, 1),
    start: Annotated[str, Form(pattern=r"^\d{2}:\d{2}$")] = "18:30",
    rounds: Annotated[int, Form(ge=1, le=30)] = 6,
    minutes: Annotated[int, Form(ge=1, le=180)] = 10,
    per_table: Annotated[int, Form(ge=1, le=3)] = 1,
    mentor_ids: Annotated[str, Form(max_length=100_000), LINES] = "",
    mentee_ids: Annotated[str, Form(max_length=500_000), LINES] = "",
) -> Response:
    viewer.require(ORGANISERS)
    viewer.check_form(csrf_token)
    mentors, mentees = ids(mentor_ids), ids(mentee_ids)
    if not mentors or not mentees:
        raise Invalid("list at least one mentor and one mentee who attend")
    event = events.create_event(
        db,
        viewer.user,
        name=name,
        held_on=held_on,
        start=start,
        rounds=rounds,
        minutes=minutes,
        per_table=per_table,
        mentor_ids=mentors,
        mentee_ids=mentees,
        postcode_lookup=settings.postcode_lookup,
    )
    db.commit()
    return RedirectResponse(f"/events/{event.id}?notice=planned", status_code=303)


@router.get("/events/{event_id}")
def show_event(
    request: Request, event_id: int, db: DB, viewer: CurrentViewer, notice: str = ""
) -> Response:
    viewer.require(EVENT_READERS)
    event = events.get_event(db, event_id)
    return render(
        request,
        "event.html",
        viewer,
        event=events.event_view(event),
        plan=events.schedule_view(db, event, named=True),
        choices=events.choices_view(db, event_id),
        can_record=viewer.may(ORGANISERS),
        notice=NOTICES.get(notice, ""),
    )


@router.get("/events/{event_id}/sheets")
def sheets(event_id: int, db: DB, viewer: CurrentViewer) -> Response:
    viewer.require(EVENT_READERS)
    html = events.sheets(db, events.get_event(db, event_id))
    return HTMLResponse(html, headers={"Content-Security-Policy": events.SHEETS_CSP})


@router.post("/events/{event_id}/choices")
def record_choices(
    event_id: int,
    db: DB,
    viewer: CurrentViewer,
    csrf_token: Csrf = "",
    side: Annotated[str, Form(pattern="^(mentee|mentor)$")] = "mentee",
    lines: Annotated[str, Form(max_length=500_000), LINES] = "",
) -> Response:
    """One line per person: their id, then the ids they chose, first choice first."""
    viewer.require(ORGANISERS)
    viewer.check_form(csrf_token)
    choices: dict[str, list[str]] = {}
    for number, line in enumerate(lines.splitlines(), start=1):
        tokens = ids(line)
        if not tokens:
            continue
        if tokens[0] in choices:
            raise Invalid(f"line {number}: {tokens[0]} already has a line of choices")
        choices[tokens[0]] = tokens[1:]
    if not choices:
        raise Invalid("type one line per person: their id, then the ids they chose")
    events.record_choices(db, viewer.user, event_id, side, choices)
    db.commit()
    return RedirectResponse(f"/events/{event_id}?notice=choices", status_code=303)
