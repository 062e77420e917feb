"""Speed-meeting events: plan one from the register, read its rotation, print its sheets, and
record who chose whom afterwards."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service import events, person_edit
from service.api.deps import DB, Settings
from service.api.schemas import LINE, LINES, PersonId, control_refusal
from service.errors import Invalid
from service.models import Mentee
from service.people import mentor_summaries
from service.roles import EVENT_READERS, ORGANISERS
from service.search import count
from service.web.deps import Csrf, CurrentViewer, render

router = APIRouter(include_in_schema=False)
NOTICES = {
    "planned": "Event planned: the rotation is below; print the sheets for the evening.",
    "choices": "Choices saved: they are now the people's stated preferences for the next round.",
}
# People listed to tick, of each kind: a national scheme's 4,000 waiting mentees would make a
# page of megabytes; the others are found by a search or pasted as ids.
LISTED = 200
CHOICE_RANKS = (1, 2, 3)  # select lists per person when choosing by name
_SEPARATORS = re.compile(r"[\s,;]+")


def ids(text: str) -> list[str]:
    """Ids typed or pasted one per line, or separated by commas, semicolons or spaces."""
    return [token for token in _SEPARATORS.split(text) if token]


def merged(picked: list[str], typed: str) -> list[str]:
    """The ids ticked in the register's list, then those pasted, each once."""
    return list(dict.fromkeys([*picked, *ids(typed)]))


def _found(people: list[dict[str, Any]], id_key: str, q: str) -> list[dict[str, Any]]:
    needle = q.strip().lower()
    return [p for p in people if needle in f"{p['name']} {p[id_key]}".lower()]


@router.get("/events")
def list_events(
    request: Request,
    db: DB,
    viewer: CurrentViewer,
    q: Annotated[str, Query(max_length=200), LINE] = "",
) -> Response:
    """The events; for organisers, a form listing who may come: active mentors (those with a
    free place ticked) and mentees waiting for a match (ticked), filtered by ``q``, at most
    ``LISTED`` of each so the page stays light at national size."""
    viewer.require(EVENT_READERS)
    can_plan = viewer.may(ORGANISERS)
    mentors: list[dict[str, Any]] = []
    mentees: list[dict[str, Any]] = []
    found = {"mentors": 0, "mentees": 0}
    if can_plan:
        active = [
            m for m in _found(mentor_summaries(db), "mentor_id", q) if m["status"] == "active"
        ]
        found["mentors"] = len(active)
        mentors = [
            {"id": m["mentor_id"], "name": m["name"], "ticked": m["remaining_capacity"] > 0}
            for m in active[:LISTED]
        ]
        query = person_edit.find_people(person_edit.KINDS["mentees"], q, "waiting", "")
        found["mentees"] = count(db, query)
        waiting = db.scalars(query.order_by(Mentee.mentee_id).limit(LISTED))
        mentees = [{"id": m.mentee_id, "name": m.name, "ticked": True} for m in waiting]
    return render(
        request,
        "events.html",
        viewer,
        events=[events.event_view(e) for e in events.all_events(db)],
        can_plan=can_plan,
        q=q,
        mentors=mentors,
        mentees=mentees,
        found=found,
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
    mentor_pick: Annotated[list[PersonId], Form(max_length=2000)] = [],  # noqa: B006
    mentee_pick: Annotated[list[PersonId], Form(max_length=10_000)] = [],  # noqa: B006
) -> Response:
    """Attendees are the people ticked in the register's list plus any ids pasted."""
    viewer.require(ORGANISERS)
    viewer.check_form(csrf_token)
    mentors, mentees = merged(mentor_pick, mentor_ids), merged(mentee_pick, mentee_ids)
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


CHOICE_FIELD = re.compile(r"choice:(\d+):(.+)")
# "Dr Ann Lee (MR0001)", as the page's lists offer a name; or the id alone, typed.
CHOSEN_ID = re.compile(r"\(([^()]+)\)\s*$")


async def picked(request: Request) -> dict[str, list[str]]:
    """Person id -> the ids they chose, in rank order, from the fields ``choice:RANK:PERSON``
    of the page's choice form (each a name from the list, "Name (ID)", or an id; empty ones
    are skipped)."""
    form = await request.form()
    ranked: dict[str, list[tuple[int, str]]] = {}
    for key, value in form.multi_items():
        found = CHOICE_FIELD.fullmatch(key)
        if found is None or not isinstance(value, str) or not value.strip():
            continue
        named = CHOSEN_ID.search(value)
        chosen = (named.group(1) if named else value).strip()
        refused = control_refusal(chosen)
        if refused:
            raise Invalid(f"choice {found.group(1)} of {found.group(2)}: {refused}")
        ranked.setdefault(found.group(2), []).append((int(found.group(1)), chosen))
    return {person: [c for _, c in sorted(picks)] for person, picks in ranked.items()}


@router.get("/events/{event_id}")
def show_event(
    request: Request, event_id: int, db: DB, viewer: CurrentViewer, notice: str = ""
) -> Response:
    viewer.require(EVENT_READERS)
    event = events.get_event(db, event_id)
    plan = events.schedule_view(db, event, named=True)
    choices = events.choices_view(db, event_id)
    people = _people(db, event_id, plan)
    return render(
        request,
        "event.html",
        viewer,
        event=events.event_view(event),
        plan=plan,
        choices=choices,
        people=people,
        names={side: {p["id"]: p["name"] for p in people[side]} for side in people},
        chosen={(c["side"], c["person_id"], c["rank"]): c["choice_id"] for c in choices},
        can_record=viewer.may(ORGANISERS),
        ranks=CHOICE_RANKS,
        notice=NOTICES.get(notice, ""),
    )


def _people(db: DB, event_id: int, plan: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    """Each side's attendees, in the event's order, with their names (for the select lists)."""
    names = {b["person"]["id"]: b["person"].get("name", "") for b in plan["breaks"]}
    for m in plan["meetings"]:
        names[m["mentor"]["id"]] = m["mentor"].get("name", "")
        names[m["mentee"]["id"]] = m["mentee"].get("name", "")
    return {
        side: [
            {"id": a.person_id, "name": names.get(a.person_id, "")}
            for a in events.attendees(db, event_id, side)
        ]
        for side in events.SIDES
    }


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
    choices: Annotated[dict[str, list[str]], Depends(picked)] = {},  # noqa: B006
) -> Response:
    """Choices chosen by name (the fields ``choice:RANK:PERSON``, see ``picked``) or typed,
    one line per person: their id, then the ids they chose, first choice first."""
    viewer.require(ORGANISERS)
    viewer.check_form(csrf_token)
    choices = dict(choices)
    for number, line in enumerate(lines.splitlines(), start=1):
        tokens = ids(line)
        if not tokens:
            continue
        if tokens[0] in choices:
            raise Invalid(f"line {number}: {tokens[0]} already has a line of choices")
        choices[tokens[0]] = tokens[1:]
    if not choices:
        raise Invalid(
            "choose names, or type one line per person: their id, then the ids they chose"
        )
    events.record_choices(db, viewer.user, event_id, side, choices)
    db.commit()
    return RedirectResponse(f"/events/{event_id}?notice=choices", status_code=303)
