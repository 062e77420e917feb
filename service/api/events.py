"""Speed-meeting events: plan a rotation, read it or print its sheets, record the choices."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from service import events
from service.api.deps import DB, EventReaders, Organisers, Settings

router = APIRouter(tags=["events"])
PersonId = Annotated[str, Field(min_length=1, max_length=64)]


class EventCreate(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    held_on: date
    start: str = Field(default="18:30", pattern=r"^\d{2}:\d{2}$", description="HH:MM")
    rounds: int = Field(ge=1, le=30)
    minutes: int = Field(default=10, ge=1, le=180)
    per_table: int = Field(default=1, ge=1, le=3)
    mentor_ids: list[PersonId] = Field(min_length=1, max_length=2000)
    mentee_ids: list[PersonId] = Field(min_length=1, max_length=10000)


class Choices(BaseModel):
    side: Literal["mentee", "mentor"] = Field(description="who chose")
    choices: dict[PersonId, list[PersonId]] = Field(
        description="person id -> the ids they chose, first choice first"
    )


@router.post("/api/events", status_code=201)
def create_event(body: EventCreate, db: DB, user: Organisers, settings: Settings) -> dict[str, Any]:
    """Plan the rotation for the attendees (mentors stay at tables, mentees move)."""
    event = events.create_event(
        db, user, **body.model_dump(), postcode_lookup=settings.postcode_lookup
    )
    db.commit()
    return events.event_view(event)


@router.get("/api/events")
def list_events(db: DB, _user: EventReaders) -> list[dict[str, Any]]:
    return [events.event_view(e) for e in events.all_events(db)]


@router.get("/api/events/{event_id}")
def get_event(event_id: int, db: DB, _user: EventReaders) -> dict[str, Any]:
    return events.event_view(events.get_event(db, event_id))


@router.get("/api/events/{event_id}/schedule")
def get_schedule(event_id: int, db: DB, _user: EventReaders) -> dict[str, Any]:
    """Round by round: who sits at which table, and who has a break."""
    return events.schedule_view(db, events.get_event(db, event_id), named=True)


@router.get("/api/events/{event_id}/sheets", response_class=HTMLResponse)
def get_sheets(event_id: int, db: DB, _user: EventReaders) -> HTMLResponse:
    """Print-ready sheets: one page per table and one per mentee, with times."""
    html = events.sheets(db, events.get_event(db, event_id))
    return HTMLResponse(html, headers={"Content-Security-Policy": events.SHEETS_CSP})


@router.post("/api/events/{event_id}/choices")
def record_choices(event_id: int, body: Choices, db: DB, user: Organisers) -> dict[str, Any]:
    """Who liked whom: stored, and written into preferred_mentors / preferred_mentees."""
    counts = events.record_choices(db, user, event_id, body.side, body.choices)
    db.commit()
    return {"event_id": event_id, "side": body.side, **counts}


@router.get("/api/events/{event_id}/choices")
def list_choices(event_id: int, db: DB, _user: EventReaders) -> list[dict[str, Any]]:
    events.get_event(db, event_id)
    return events.choices_view(db, event_id)
