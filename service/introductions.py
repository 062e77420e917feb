"""Introductions: when a round is approved, each pair hears of the other by e-mail.

Two mails a match, queued in the approval's own transaction (``service.outbox``), so they
go if and only if the approval holds: to the mentee about their mentor, and to the mentor
about their mentee, each with the needs they share, the weekly slots both are free, the
ways both can meet, and a first meeting proposed at the first shared slot at least a week
ahead, as an iCalendar invitation (.ics). A person without an e-mail address gets no mail,
and the approval says who (``Introductions.without_address``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText
from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.errors import InputError
from matcher.readers import mentees_file, mentors_file
from matcher.settings import Settings
from matcher.vocab import code_words
from service.errors import Conflict
from service.mail_templates import compose
from service.models import Match, Mentee, Mentor
from service.outbox import MailSetup, queue_mail
from service.people import stored_table

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# When a slot's meeting starts (local time), and how long a first meeting is booked for.
STARTS = {"am": time(9, 30), "pm": time(14, 0), "eve": time(18, 30)}
MEETING = timedelta(hours=1)
NOTICE = timedelta(days=7)
LONDON = ZoneInfo("Europe/London")


@dataclass
class Introductions:
    """What an approval sent: mails queued, and the people with no address to send to."""

    queued: int = 0
    without_address: list[str] = field(default_factory=list)


def _slot_order(slot: str) -> tuple[int, int]:
    day, _, part = slot.partition("_")
    return (
        DAYS.index(day) if day in DAYS else 7,
        list(STARTS).index(part) if part in STARTS else 3,
    )


def first_meeting(shared_slots: list[str], today: date) -> datetime | None:
    """The start of the first shared slot at least ``NOTICE`` after ``today`` (London time);
    None without a shared slot."""
    known = sorted(
        (s for s in shared_slots if s.partition("_")[0] in DAYS and s.partition("_")[2] in STARTS),
        key=_slot_order,
    )
    if not known:
        return None
    earliest = today + NOTICE
    best: datetime | None = None
    for slot in known:
        day, _, part = slot.partition("_")
        ahead = (DAYS.index(day) - earliest.weekday()) % 7
        when = datetime.combine(earliest + timedelta(days=ahead), STARTS[part], LONDON)
        if best is None or when < best:
            best = when
    return best


def invitation(match_id: int, start: datetime, people: list[tuple[str, str]], sender: str) -> str:
    """The first meeting as an iCalendar request to both people (name, address)."""
    calendar = Calendar()
    calendar.add("prodid", "-//GP mentor matching service//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    event = Event()
    event.add("uid", f"match-{match_id}-first-meeting@gp-mentor-matching")
    event.add("dtstamp", datetime.now(LONDON))
    event.add("dtstart", start)
    event.add("dtend", start + MEETING)
    event.add("summary", "Mentoring: first meeting")
    organizer = vCalAddress(f"mailto:{sender}")
    organizer.params["cn"] = vText("GP mentoring scheme")
    event["organizer"] = organizer
    for name, address in people:
        attendee = vCalAddress(f"mailto:{address}")
        attendee.params["cn"] = vText(name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        event.add("attendee", attendee, encode=False)
    calendar.add_component(event)
    return calendar.to_ical().decode()


def _listed(codes: list[str]) -> str:
    return ", ".join(map(code_words, codes))


def introduce(
    session: Session,
    matches: list[Match],
    settings: Settings,
    setup: MailSetup,
    today: date | None = None,
) -> Introductions:
    """Queue the introductions of these (just confirmed) matches, reading the people's
    records as the round did (its ``settings``); the caller commits."""
    today = today or date.today()
    mentor_rows = session.scalars(
        select(Mentor).where(Mentor.mentor_id.in_({x.mentor_id for x in matches}))
    )
    mentee_rows = session.scalars(
        select(Mentee).where(Mentee.mentee_id.in_({x.mentee_id for x in matches}))
    )
    try:
        mentors = {
            m.mentor_id: m
            for m in mentors_file(stored_table("mentors", list(mentor_rows)), settings).records
        }
        mentees = {
            m.mentee_id: m
            for m in mentees_file(stored_table("mentees", list(mentee_rows)), settings).records
        }
    except InputError:
        raise Conflict(
            "the records of this round's people changed since it ran and no longer read: "
            "run it again"
        ) from None
    done = Introductions()
    for match in matches:
        mentor, mentee = mentors[match.mentor_id], mentees[match.mentee_id]
        mentor_mail, mentee_mail = (mentor.email or "").strip(), (mentee.email or "").strip()
        slots = sorted(mentor.availability & mentee.availability, key=_slot_order)
        needs = [n for n in mentee.needs if n in mentor.focus_areas]  # in the mentee's order
        modes = sorted(mentee.modes & mentor.modes)
        start = first_meeting(slots, today)
        people = [(p, a) for p, a in ((mentor.name, mentor_mail), (mentee.name, mentee_mail)) if a]
        attachment = (
            ("first-meeting.ics", invitation(match.id, start, people, setup.sender))
            if start
            else None
        )
        shared = {
            "needs": _listed(needs),
            "slots": _listed(slots),
            "modes": _listed(modes),
            "first_meeting": f"{start:%A %d %B %Y at %H:%M}" if start else "",
            "sign_in_url": setup.link("/me/sign-in"),
        }
        for recipient, own_name, other, other_mail, kind in (
            (mentee_mail, mentee.name, mentor.name, mentor_mail, "introduction_to_mentee"),
            (mentor_mail, mentor.name, mentee.name, mentee_mail, "introduction_to_mentor"),
        ):
            if not recipient:
                continue
            context = {"name": own_name, "other_name": other, "other_email": other_mail}
            subject, body = compose(session, kind, {**shared, **context})
            queue_mail(
                session,
                kind=kind,
                recipient=recipient,
                subject=subject,
                body=body,
                about=f"match:{match.id}",
                attachment=attachment,
            )
            done.queued += 1
        done.without_address += [
            person_id
            for person_id, address in (
                (mentor.mentor_id, mentor_mail),
                (mentee.mentee_id, mentee_mail),
            )
            if not address
        ]
    done.without_address = sorted(set(done.without_address))
    return done
