"""Introductions: approving a round queues two e-mails a match, in the approval's
transaction, each naming the other person, the needs and weekly slots both share, and a
first meeting at the first shared slot a week ahead as an iCalendar invitation; people with
no address are named in the answer; undoing the approval withdraws what is not yet sent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from fastapi.testclient import TestClient
from icalendar import Calendar
from scheme import run_round
from sqlalchemy import select

from matcher.data import ProblemData
from matcher.vocab import code_words
from service.db import transaction
from service.introductions import first_meeting
from service.models import Match, Mentee, OutboxMail

Headers = Callable[[str], dict[str, str]]
LONDON = ZoneInfo("Europe/London")


def test_the_first_meeting_is_the_first_shared_slot_a_week_ahead() -> None:
    tuesday = date(2026, 12, 1)
    # A week ahead is Tuesday 8 December: its morning comes before Wednesday's afternoon.
    assert first_meeting(["wed_pm", "tue_am"], tuesday) == datetime(
        2026, 12, 8, 9, 30, tzinfo=LONDON
    )
    # Monday evening is next due on Monday 14 December.
    assert first_meeting(["mon_eve"], tuesday) == datetime(2026, 12, 14, 18, 30, tzinfo=LONDON)
    assert first_meeting([], tuesday) is None
    assert code_words("sat_eve") == "Saturday evening"  # the words the mails use


def _approve(client: TestClient, staff: dict[str, str]) -> tuple[int, dict[str, Any]]:
    round_id = client.post(
        "/api/rounds", json={"name": "intro", "time_limit": 10}, headers=staff
    ).json()["id"]
    assert run_round(client, round_id, staff)["status"] == "done"
    answer = client.post(f"/api/rounds/{round_id}/approve", headers=staff)
    assert answer.status_code == 200, answer.text
    return round_id, answer.json()


def test_approval_introduces_each_pair(
    app: FastAPI, client: TestClient, as_role: Headers, lmc: ProblemData
) -> None:
    staff = as_role("matcher")
    with transaction(app.state.sessions) as session:  # one mentee without an address
        nobody = session.get_one(Mentee, "ME0002")
        nobody.record = {**nobody.record, "email": ""}
    round_id, answer = _approve(client, staff)
    mentors = {m.mentor_id: m for m in lmc.mentors}
    mentees = {m.mentee_id: m for m in lmc.mentees}
    with transaction(app.state.sessions) as session:
        matches = list(session.scalars(select(Match).where(Match.round_id == round_id)))
        mails = list(session.scalars(select(OutboxMail).order_by(OutboxMail.id)))
    matched_nobody = any(m.mentee_id == "ME0002" for m in matches)
    assert answer["matches"] == len(matches) > 0
    assert answer["introductions"] == len(mails) == 2 * len(matches) - matched_nobody
    assert answer["without_address"] == (["ME0002"] if matched_nobody else [])
    by_match: dict[str, list[OutboxMail]] = {}
    for mail in mails:
        by_match.setdefault(mail.about, []).append(mail)
    for match in matches:
        mentor, mentee = mentors[match.mentor_id], mentees[match.mentee_id]
        sent = {mail.recipient: mail for mail in by_match[f"match:{match.id}"]}
        to_mentor = sent[str(mentor.email)]
        assert to_mentor.subject == f"Your GP mentoring mentee: {mentee.name}"
        assert to_mentor.body.startswith(f"Dear {mentor.name},\n")
        if mentee.mentee_id == "ME0002":
            assert set(sent) == {mentor.email}
            continue
        to_mentee = sent[str(mentee.email)]
        assert to_mentee.subject == f"Your GP mentoring mentor: {mentor.name}"
        assert f"Your mentor in the GP mentoring scheme is {mentor.name} ({mentor.email})." in (
            to_mentee.body
        )
        shared = sorted(mentor.availability & mentee.availability)
        needs = [n for n in sorted(mentee.needs) if n in mentor.focus_areas]
        for need in needs:
            assert need.replace("_", " ") in to_mentee.body
        if not shared:
            assert to_mentee.attachment is None
            assert "agree a time between you" in to_mentee.body
            continue
        assert to_mentee.attachment == to_mentor.attachment  # one invitation to both
        assert to_mentee.attachment_name == "first-meeting.ics"
        assert to_mentee.attachment is not None
        (event,) = Calendar.from_ical(to_mentee.attachment).walk("VEVENT")
        start = event.decoded("dtstart")
        assert start == first_meeting(shared, date.today())
        assert (start.date() - date.today()).days in range(7, 14)
        assert f"{start.strftime('%a').lower()}_" in " ".join(shared)
        attendees = {str(a).removeprefix("mailto:") for a in event.get("attendee")}
        assert attendees == {mentor.email, mentee.email}


def test_undoing_an_approval_withdraws_what_is_not_sent(
    app: FastAPI, client: TestClient, as_role: Headers, lmc: ProblemData
) -> None:
    staff = as_role("matcher")
    round_id, answer = _approve(client, staff)
    with transaction(app.state.sessions) as session:
        first = session.scalars(select(OutboxMail).order_by(OutboxMail.id)).first()
        assert first is not None
        first.status = "sent"
    undone = client.post(f"/api/rounds/{round_id}/unapprove", headers=staff)
    assert undone.status_code == 200, undone.text
    with transaction(app.state.sessions) as session:
        left = list(session.scalars(select(OutboxMail)))
    assert [(m.id, m.status) for m in left] == [(first.id, "sent")]
    logged = client.get("/api/audit?action=rounds.unapprove", headers=as_role("admin")).json()
    assert logged[0]["detail"]["introductions_withdrawn"] == answer["introductions"] - 1
