"""Speed-meeting events: attendees, the rotation (``solver.speed_meeting``), and the choices
made afterwards, which become the people's stated preferences for the next round."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from matcher.cells import LIST_SEPARATOR, split_list
from matcher.data import ProblemData
from matcher.event_sheets import sheets_html
from matcher.readers import parse_mentees, parse_mentors
from matcher.settings import LocationSettings, Settings
from matcher.spreadsheet import Table
from service import audit
from service.errors import Invalid, NotFound
from service.exclusions import standing
from service.models import Event, EventAttendee, EventChoice, EventMeeting, Mentee, Mentor, User
from service.people import set_cells
from solver.speed_meeting import Meeting, Schedule, round_starts, schedule

SIDES = ("mentor", "mentee")
# In an event's stats: how many stated preferences named people not at the event, so were
# left out of its planning (the stored preferences are kept as they are).
UNUSED_PREFERENCES = "preferences_not_used"
PREFERENCE_COLUMN = {"mentee": "preferred_mentors", "mentor": "preferred_mentees"}
# The printable sheets carry their own print styles; nothing else may load or run in them.
SHEETS_CSP = "default-src 'none'; style-src 'unsafe-inline'"


def create_event(
    session: Session,
    user: User,
    *,
    name: str,
    held_on: date,
    start: str,
    rounds: int,
    minutes: int,
    per_table: int,
    mentor_ids: list[str],
    mentee_ids: list[str],
    postcode_lookup: str = "",
) -> Event:
    """Store the event and its rotation, planned at once (it takes well under a second).

    ``postcode_lookup`` is the server's (``MATCHER_POSTCODE_LOOKUP``): pairs that could only
    meet face to face need their distance, as in a round.
    """
    problem, unused = _problem(session, mentor_ids, mentee_ids, postcode_lookup)
    mentor_ids = [m.mentor_id for m in problem.mentors]
    mentee_ids = [m.mentee_id for m in problem.mentees]
    try:
        plan = schedule(problem, rounds=rounds, minutes=minutes, start=start, per_table=per_table)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    stats: dict[str, Any] = {**plan.stats, UNUSED_PREFERENCES: unused}
    event = Event(
        name=name,
        held_on=held_on,
        start=start,
        rounds=rounds,
        minutes=minutes,
        per_table=per_table,
        stats=stats,
    )
    event.created_by = user.id
    session.add(event)
    session.flush()
    session.add_all(
        EventAttendee(event_id=event.id, side="mentor", person_id=m, table=plan.tables[m])
        for m in mentor_ids
    )
    session.add_all(
        EventAttendee(event_id=event.id, side="mentee", person_id=m) for m in mentee_ids
    )
    session.add_all(
        EventMeeting(
            event_id=event.id,
            round=m.round,
            table=m.table,
            mentor_id=m.mentor_id,
            mentee_id=m.mentee_id,
            score=m.score,
        )
        for m in plan.meetings
    )
    audit.record(
        session,
        user,
        "events.create",
        "event",
        event.id,
        mentors=len(mentor_ids),
        mentees=len(mentee_ids),
        meetings=len(plan.meetings),
    )
    return event


def _problem(
    session: Session, mentor_ids: list[str], mentee_ids: list[str], postcode_lookup: str = ""
) -> tuple[ProblemData, int]:
    """The attendees as problem data, in the order given, and how many stated preferences
    were left out because they name people who are not attending.

    Ids are matched against the register with white space trimmed and, where no id is spelt
    exactly so, without regard to case (``"mr0001 "`` is ``MR0001``).
    """
    mentors = _register(session, Mentor, Mentor.mentor_id, mentor_ids, "mentor")
    mentees = _register(session, Mentee, Mentee.mentee_id, mentee_ids, "mentee")
    unknown = _missing(mentor_ids, mentors) + _missing(mentee_ids, mentees)
    if unknown:
        raise NotFound(f"unknown attendee id(s): {', '.join(unknown[:10])}", unknown_ids=unknown)
    present_mentors = [m for m in mentors if m is not None]
    present_mentees = [m for m in mentees if m is not None]
    mentor_set = {m.mentor_id for m in present_mentors}
    mentee_set = {m.mentee_id for m in present_mentees}
    mentor_table, unused_by_mentors = _present_only(
        "mentors", present_mentors, PREFERENCE_COLUMN["mentor"], mentee_set
    )
    mentee_table, unused_by_mentees = _present_only(
        "mentees", present_mentees, PREFERENCE_COLUMN["mentee"], mentor_set
    )
    settings = Settings(locations=LocationSettings(postcode_lookup=postcode_lookup))
    problem = ProblemData(
        mentors=parse_mentors(mentor_table, settings) if mentor_table else (),
        mentees=parse_mentees(mentee_table, settings) if mentee_table else (),
        exclusions=tuple(
            e for e in standing(session) if e.mentee_id in mentee_set and e.mentor_id in mentor_set
        ),
        settings=settings,
    )
    return problem, unused_by_mentors + unused_by_mentees


def _register(
    session: Session,
    model: type[Mentor] | type[Mentee],
    column: Any,
    typed: list[str],
    what: str,
) -> list[Any]:
    """Each typed id's stored person (``None`` where the register has nobody by that id)."""
    wanted = [t.strip() for t in typed]
    keys = sorted({w.lower() for w in wanted})
    found = list(session.scalars(select(model).where(func.lower(column).in_(keys)))) if keys else []
    exact = {_person_id(p): p for p in found}
    folded: dict[str, list[Any]] = {}
    for p in found:
        folded.setdefault(_person_id(p).lower(), []).append(p)
    people: list[Any] = []
    for w in wanted:
        candidates = folded.get(w.lower(), [])
        if w in exact:
            people.append(exact[w])
        elif len(candidates) > 1:
            spellings = ", ".join(sorted(_person_id(p) for p in candidates))
            raise Invalid(f"{w!r} could be any of {spellings}: type the id exactly")
        else:
            people.append(candidates[0] if candidates else None)
    chosen = [_person_id(p) for p in people if p is not None]
    if len(set(chosen)) != len(chosen):
        raise Invalid(f"a {what} is listed twice among the attendees")
    return people


def _missing(typed: list[str], people: list[Any]) -> list[str]:
    return sorted({t.strip() for t, p in zip(typed, people, strict=True) if p is None})


def _person_id(person: Any) -> str:
    return person.mentor_id if isinstance(person, Mentor) else person.mentee_id


def _present_only(
    kind: str, people: list[Any], column: str, present: set[str]
) -> tuple[Table | None, int]:
    """The stored records as the readers' table (as ``stored_table`` gives it), with
    ``column`` (a ranked ``;`` list of ids) keeping only the ids of people who attend, and how
    many listed ids were left out. The stored rows themselves are not changed."""
    records: list[dict[str, Any]] = []
    dropped = 0
    for person in people:
        record = dict(person.record)
        cell = record.get(column)
        if isinstance(cell, str) and cell.strip():
            listed = split_list(cell)
            kept = [i for i in listed if i in present]
            dropped += len(listed) - len(kept)
            record[column] = LIST_SEPARATOR.join(kept)
        records.append(record)
    if not records:
        return None, dropped
    header: dict[str, None] = {}
    for record in records:
        header.update(dict.fromkeys(record))
    rows = ((number, record) for number, record in enumerate(records, start=2))
    return Table.from_rows(f"{kind} (stored records)", tuple(header), rows), dropped


def get_event(session: Session, event_id: int) -> Event:
    event = session.get(Event, event_id)
    if event is None:
        raise NotFound(f"no event with id {event_id}")
    return event


def all_events(session: Session) -> list[Event]:
    return list(session.scalars(select(Event).order_by(Event.id.desc())))


def event_view(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "name": event.name,
        "held_on": event.held_on.isoformat(),
        "start": event.start,
        "rounds": event.rounds,
        "minutes": event.minutes,
        "per_table": event.per_table,
        "stats": event.stats,
    }


def attendees(session: Session, event_id: int, side: str) -> list[EventAttendee]:
    query = select(EventAttendee).where(
        EventAttendee.event_id == event_id, EventAttendee.side == side
    )
    return list(session.scalars(query.order_by(EventAttendee.id)))


def stored_schedule(session: Session, event: Event) -> tuple[Schedule, ProblemData]:
    """The event's rotation as the scheduler's ``Schedule``, with its people."""
    mentor_rows = attendees(session, event.id, "mentor")
    mentee_rows = attendees(session, event.id, "mentee")
    problem, _ = _problem(
        session, [a.person_id for a in mentor_rows], [a.person_id for a in mentee_rows]
    )
    meetings = tuple(
        Meeting(m.round, m.table, m.mentor_id, m.mentee_id, m.score)
        for m in session.scalars(
            select(EventMeeting)
            .where(EventMeeting.event_id == event.id)
            .order_by(EventMeeting.round, EventMeeting.table, EventMeeting.mentee_id)
        )
    )
    busy = {(m.round, p) for m in meetings for p in (m.mentor_id, m.mentee_id)}
    people = [a.person_id for a in mentee_rows] + [a.person_id for a in mentor_rows]
    plan = Schedule(
        rounds=event.rounds,
        per_table=event.per_table,
        starts=round_starts(event.start, event.rounds, event.minutes),
        tables={a.person_id: a.table or 0 for a in mentor_rows},
        meetings=meetings,
        breaks=tuple(
            (r, p) for r in range(1, event.rounds + 1) for p in people if (r, p) not in busy
        ),
        seats_bound=int(event.stats.get("seats_bound", 0)),
        allowed_pairs=0,
        stats=event.stats,
    )
    return plan, problem


def schedule_view(session: Session, event: Event, *, named: bool) -> dict[str, Any]:
    plan, problem = stored_schedule(session, event)
    names = {m.mentor_id: m.name for m in problem.mentors} | {
        m.mentee_id: m.name for m in problem.mentees
    }

    def who(person_id: str) -> dict[str, str]:
        return {"id": person_id, **({"name": names[person_id]} if named else {})}

    return {
        "event": event_view(event),
        "meetings": [
            {
                "round": m.round,
                "start": plan.starts[m.round - 1],
                "table": m.table,
                "mentor": who(m.mentor_id),
                "mentee": who(m.mentee_id),
                "score": m.score,
            }
            for m in plan.meetings
        ],
        "breaks": [
            {"round": r, "start": plan.starts[r - 1], "person": who(p)} for r, p in plan.breaks
        ],
    }


def sheets(session: Session, event: Event) -> str:
    plan, problem = stored_schedule(session, event)
    return sheets_html(problem, plan, title=event.name)


def record_choices(
    session: Session, user: User, event_id: int, side: str, choices: dict[str, list[str]]
) -> dict[str, int]:
    """Store one side's ranked choices and write them into the people's stated preferences.

    Everyone choosing must have attended on ``side``, and everyone chosen on the other side;
    a person's earlier choices at this event are replaced. All or nothing.
    """
    event = get_event(session, event_id)
    other = "mentee" if side == "mentor" else "mentor"
    own = {a.person_id for a in attendees(session, event.id, side)}
    them = {a.person_id for a in attendees(session, event.id, other)}
    problems = []
    for person, picked in choices.items():
        if person not in own:
            problems.append(f"{person} was not a {side} at this event")
        problems.extend(
            f"{person} chose {c}, not a {other} at this event" for c in picked if c not in them
        )
        if len(set(picked)) != len(picked):
            problems.append(f"{person} chose the same {other} twice")
    if problems:
        raise Invalid("; ".join(problems[:10]), problems=problems)
    session.execute(
        delete(EventChoice).where(
            EventChoice.event_id == event.id,
            EventChoice.side == side,
            EventChoice.person_id.in_(list(choices)),
        )
    )
    session.add_all(
        EventChoice(event_id=event.id, side=side, person_id=person, rank=rank, choice_id=c)
        for person, picked in choices.items()
        for rank, c in enumerate(picked, start=1)
    )
    column = PREFERENCE_COLUMN[side]
    changed = set_cells(
        session,
        f"{side}s",
        {person: {column: ";".join(picked)} for person, picked in choices.items()},
    )
    counts = {
        "people": len(choices),
        "choices": sum(map(len, choices.values())),
        "records_changed": changed,
    }
    audit.record(session, user, "events.choices", "event", event.id, side=side, **counts)
    return counts


def choices_view(session: Session, event_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(EventChoice)
        .where(EventChoice.event_id == event_id)
        .order_by(EventChoice.side, EventChoice.person_id, EventChoice.rank)
    )
    return [
        {"side": c.side, "person_id": c.person_id, "rank": c.rank, "choice_id": c.choice_id}
        for c in rows
    ]
