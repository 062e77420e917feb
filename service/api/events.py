"""Speed-meeting events: plan a rotation, read it or print its sheets, record the choices."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from service import events
from service.api.deps import DB, EventReaders, Organisers, Settings
from service.api.schemas import SIGNED_IN, Body, Day, Name, PathId, Pattern, PersonId, errors

router = APIRouter(tags=["events"], responses=SIGNED_IN)
START = Pattern(
    r"^([01][0-9]|2[0-3]):[0-5][0-9]$", "start time {value!r} must be HH:MM, e.g. 18:30"
)
Side = Literal["mentee", "mentor"]


class EventCreate(Body):
    name: Name
    held_on: Day
    start: Annotated[str, START] = Field(default="18:30", description="HH:MM")
    rounds: int = Field(ge=1, le=30)
    minutes: int = Field(default=10, ge=1, le=180)
    per_table: int = Field(default=1, ge=1, le=3)
    mentor_ids: list[PersonId] = Field(min_length=1, max_length=2000)
    mentee_ids: list[PersonId] = Field(min_length=1, max_length=10000)


class Choices(Body):
    side: Side = Field(description="who chose")
    choices: dict[PersonId, list[PersonId]] = Field(
        description="person id -> the ids they chose, first choice first"
    )


class EventPublic(BaseModel):
    id: int
    name: str
    held_on: Day
    start: str = Field(description="HH:MM")
    rounds: int
    minutes: int
    per_table: int
    stats: dict[str, Any] = Field(description="The rotation's figures (meetings, breaks, ...)")


class Person(BaseModel):
    id: str
    name: str | None = None


class MeetingPublic(BaseModel):
    round: int
    start: str = Field(description="HH:MM")
    table: int
    mentor: Person
    mentee: Person
    score: int


class BreakPublic(BaseModel):
    round: int
    start: str = Field(description="HH:MM")
    person: Person


class SchedulePublic(BaseModel):
    event: EventPublic
    meetings: list[MeetingPublic]
    breaks: list[BreakPublic]


class ChoicesRecorded(BaseModel):
    event_id: int
    side: Side
    people: int = Field(description="People whose choices were stored")
    choices: int
    records_changed: int = Field(description="People whose stated preferences changed")


class ChoicePublic(BaseModel):
    side: Side
    person_id: str
    rank: int
    choice_id: str


@router.post("/api/events", status_code=201, responses=errors(400, 404))
def create_event(body: EventCreate, db: DB, user: Organisers, settings: Settings) -> EventPublic:
    """Plan the rotation for the attendees (mentors stay at tables, mentees move).

    404 for unknown attendee ids; 422 when no rotation fits (e.g. more tables than mentors)."""
    event = events.create_event(
        db, user, **body.model_dump(), postcode_lookup=settings.postcode_lookup
    )
    db.commit()
    return EventPublic.model_validate(events.event_view(event))


@router.get("/api/events")
def list_events(db: DB, _user: EventReaders) -> list[EventPublic]:
    return [EventPublic.model_validate(events.event_view(e)) for e in events.all_events(db)]


@router.get("/api/events/{event_id}", responses=errors(404))
def get_event(event_id: PathId, db: DB, _user: EventReaders) -> EventPublic:
    return EventPublic.model_validate(events.event_view(events.get_event(db, event_id)))


@router.get(
    "/api/events/{event_id}/schedule", responses=errors(404), response_model_exclude_unset=True
)
def get_schedule(event_id: PathId, db: DB, _user: EventReaders) -> SchedulePublic:
    """Round by round: who sits at which table, and who has a break."""
    view = events.schedule_view(db, events.get_event(db, event_id), named=True)
    return SchedulePublic.model_validate(view)


@router.get(
    "/api/events/{event_id}/sheets",
    response_class=HTMLResponse,
    responses=errors(404),
)
def get_sheets(event_id: PathId, db: DB, _user: EventReaders) -> HTMLResponse:
    """Print-ready sheets: one page per table and one per mentee, with times."""
    html = events.sheets(db, events.get_event(db, event_id))
    return HTMLResponse(html, headers={"Content-Security-Policy": events.SHEETS_CSP})


@router.post("/api/events/{event_id}/choices", responses=errors(400, 404))
def record_choices(event_id: PathId, body: Choices, db: DB, user: Organisers) -> ChoicesRecorded:
    """Who liked whom: stored, and written into preferred_mentors / preferred_mentees.

    422 if someone chose or was chosen who did not attend on that side."""
    counts = events.record_choices(db, user, event_id, body.side, body.choices)
    db.commit()
    return ChoicesRecorded(event_id=event_id, side=body.side, **counts)


@router.get("/api/events/{event_id}/choices", responses=errors(404))
def list_choices(event_id: PathId, db: DB, _user: EventReaders) -> list[ChoicePublic]:
    events.get_event(db, event_id)
    return [ChoicePublic.model_validate(c) for c in events.choices_view(db, event_id)]
