"""A mentor's or mentee's own pages: they change their own details through the same checks
and versioning as an import (a bad value refused with the reason, nothing stored), see their
match with the other's address, record the first meeting (the match becomes registered and
both are asked for feedback), and a mentor sends the monthly return, which logs sessions
exactly as a staff member's return does, or a return of none."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from participants_kit import signed_in_as
from scheme import approve_new_round
from sqlalchemy import select, update

from matcher.data import ProblemData
from service.db import transaction
from service.models import (
    AuditEntry,
    Import,
    Match,
    Mentor,
    MentoringSession,
    MentorVersion,
    OutboxMail,
    SessionReturn,
    Survey,
)

Headers = Callable[[str], dict[str, str]]


def _backdate(app: FastAPI, days: int) -> None:
    """Every match confirmed ``days`` ago: last month's return can take sessions."""
    when = datetime.combine(date.today() - timedelta(days=days), datetime.min.time())
    with transaction(app.state.sessions) as db:
        db.execute(update(Match).values(confirmed_at=when, created_at=when))


def test_a_mentor_changes_their_own_details(
    app: FastAPI, client: TestClient, lmc: ProblemData
) -> None:
    mentor = lmc.mentors[0]
    csrf = signed_in_as(client, app, "mentor", mentor.mentor_id)
    form = {
        "csrf_token": csrf,
        "version": "1",
        "availability": "Monday evening; Friday morning",
        "modes": "virtual",
        "focus_areas": "wellbeing; leadership",
        "capacity_max": "5",
    }
    # Not the person's to change: the form has no such field, and it is refused, not dropped.
    theirs = client.post("/me", data={**form, "gmc_number": "1234567", "status": "paused"})
    assert theirs.status_code == 422
    assert "these details are not yours to change here: gmc_number, status" in theirs.text
    saved = client.post("/me", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == "/me?notice=saved"
    with app.state.sessions() as db:
        row = db.get_one(Mentor, mentor.mentor_id)
        assert row.version == 2
        assert row.record["availability"] == "mon_eve;fri_am"
        assert row.record["focus_areas"] == "wellbeing;leadership"
        assert row.record["capacity_max"] == "5"
        assert row.record["gmc_number"] == mentor.gmc_number  # unchanged
        versions = db.scalars(
            select(MentorVersion.version).where(MentorVersion.mentor_id == mentor.mentor_id)
        ).all()
        assert sorted(versions) == [1, 2]
        edit = db.scalars(select(AuditEntry).where(AuditEntry.action == "mentors.edit")).one()
        assert edit.username == f"mentor:{mentor.mentor_id}"
        assert edit.detail == {"version": 2}
        assert db.scalars(select(Import).order_by(Import.id.desc())).first() is not None
    # A bad value: refused beside its field, nothing stored.
    bad = client.post("/me", data={**form, "version": "2", "availability": "Funday morning"})
    assert bad.status_code == 422
    assert "Funday" in bad.text and 'aria-invalid="true"' in bad.text
    not_a_number = client.post("/me", data={**form, "version": "2", "capacity_max": "six"})
    assert not_a_number.status_code == 422 and "six" in not_a_number.text
    with app.state.sessions() as db:
        assert db.get_one(Mentor, mentor.mentor_id).version == 2
    # A form read before another change is refused, not applied over it.
    stale = client.post("/me", data={**form, "version": "1", "modes": "face to face"})
    assert stale.status_code == 409
    same = client.post("/me", data={**form, "version": "2"}, follow_redirects=False)
    assert same.headers["location"] == "/me?notice=unchanged"


def test_first_meeting_and_monthly_return_from_the_persons_pages(
    app: FastAPI, client: TestClient, as_role: Headers, lmc: ProblemData
) -> None:
    matches = approve_new_round(client, as_role("matcher"))
    _backdate(app, 40)
    match = matches[0]
    mentee_client = TestClient(app)
    csrf = signed_in_as(mentee_client, app, "mentee", match["mentee_id"])
    mentor = next(m for m in lmc.mentors if m.mentor_id == match["mentor_id"])
    page = mentee_client.get("/me")
    assert mentor.name in page.text and mentor.email in page.text
    held = date.today() - timedelta(days=3)
    bad = mentee_client.post(
        f"/me/matches/{match['id']}/first-meeting",
        data={"csrf_token": csrf, "held_on": (date.today() + timedelta(days=1)).isoformat()},
    )
    assert bad.status_code == 422 and "is in the future" in bad.text
    done = mentee_client.post(
        f"/me/matches/{match['id']}/first-meeting",
        data={"csrf_token": csrf, "held_on": held.isoformat()},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    with app.state.sessions() as db:
        stored = db.get_one(Match, match["id"])
        assert stored.status == "registered" and stored.registered_at.date() == held
        surveys = db.scalars(select(Survey).where(Survey.match_id == match["id"])).all()
        assert sorted((s.side, s.stage) for s in surveys) == [
            ("mentee", "first_meeting"),
            ("mentor", "first_meeting"),
        ]
        invited = db.scalars(
            select(OutboxMail.recipient).where(OutboxMail.kind == "survey_invitation")
        ).all()
        assert sorted(invited) == sorted({mentor.email, _mentee_email(lmc, match["mentee_id"])})
    # Someone else's match is not found.
    other = next(m for m in matches if m["mentee_id"] != match["mentee_id"])
    assert (
        mentee_client.post(
            f"/me/matches/{other['id']}/first-meeting",
            data={"csrf_token": csrf, "held_on": held.isoformat()},
        ).status_code
        == 404
    )
    assert mentee_client.get("/me/return").status_code == 403  # returns are the mentor's

    mentor_client = TestClient(app)
    csrf = signed_in_as(mentor_client, app, "mentor", mentor.mentor_id)
    last_month = date.today().replace(day=1) - timedelta(days=1)
    month = f"{last_month:%Y-%m}"
    theirs = [m["id"] for m in matches if m["mentor_id"] == mentor.mentor_id]
    form = mentor_client.get(f"/me/return?month={month}")
    assert form.status_code == 200 and f"Match {theirs[0]}" in form.text
    day = last_month.replace(day=10).isoformat()
    rows = {"match": theirs, "held_on": [day] + [""] * (len(theirs) - 1)}
    rows["minutes"] = ["50"] + [""] * (len(theirs) - 1)
    sent = mentor_client.post(
        "/me/return",
        data={"csrf_token": csrf, "month": month, "form_id": "f" * 24, **rows},
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    assert "logged=1" in sent.headers["location"]
    with app.state.sessions() as db:
        logged = db.scalars(select(MentoringSession)).all()
        assert [(s.match_id, s.held_on.isoformat(), s.minutes) for s in logged] == [
            (theirs[0], day, 50)
        ]
        kept = db.get_one(SessionReturn, "f" * 24)
        assert (kept.mentor_id, kept.month, kept.sessions) == (mentor.mentor_id, month, 1)
        assert db.scalars(
            select(AuditEntry.username).where(AuditEntry.action == "sessions.create")
        ).all() == [f"mentor:{mentor.mentor_id}"]
    # The ledger pays from it as from a staff entry.
    finance = client.get("/api/reports/finance", headers=as_role("matcher")).json()
    (line,) = [m for m in finance["months"] if m["month"] == month]
    assert (line["mentoring_sessions"], line["amount_gbp"]) == (1, 289.0)
    assert finance["total_gbp"] == 289.0
    # A session of another mentor's match is refused with the reason.
    foreign = mentor_client.post(
        "/me/return",
        data={
            "csrf_token": csrf,
            "month": month,
            "form_id": "g" * 24,
            "match": [other["id"]] if other["mentor_id"] != mentor.mentor_id else [999999],
            "held_on": [day],
            "minutes": ["30"],
        },
    )
    assert foreign.status_code == 422
    assert "is not one of this mentor&#39;s confirmed or registered matches" in foreign.text


def test_a_return_of_none(
    app: FastAPI, client: TestClient, as_role: Headers, lmc: ProblemData
) -> None:
    matches = approve_new_round(client, as_role("matcher"))
    _backdate(app, 40)
    mentor_id = matches[0]["mentor_id"]
    csrf = signed_in_as(client, app, "mentor", mentor_id)
    month = f"{date.today().replace(day=1) - timedelta(days=1):%Y-%m}"
    theirs = [m["id"] for m in matches if m["mentor_id"] == mentor_id]
    blank = {"match": theirs, "held_on": [""] * len(theirs), "minutes": [""] * len(theirs)}
    both = client.post(
        "/me/return",
        data={
            "csrf_token": csrf,
            "month": month,
            "form_id": "n" * 24,
            "none_held": "yes",
            **{**blank, "held_on": ["2020-01-01", *blank["held_on"][1:]]},
        },
    )
    assert both.status_code == 422
    assert "You said no sessions were held but entered some" in both.text
    nil = client.post(
        "/me/return",
        data={"csrf_token": csrf, "month": month, "form_id": "m" * 24, "none_held": "yes", **blank},
        follow_redirects=False,
    )
    assert nil.status_code == 303 and "none=true" in nil.headers["location"]
    assert "A return of no sessions in" in client.get(nil.headers["location"]).text
    with app.state.sessions() as db:
        kept = db.scalars(select(SessionReturn)).one()
        assert (kept.mentor_id, kept.month, kept.sessions) == (mentor_id, month, 0)
        assert db.scalars(select(MentoringSession)).all() == []


@pytest.mark.parametrize("kind", ["mentor", "mentee"])
def test_staff_pages_refuse_participants(
    app: FastAPI, client: TestClient, lmc: ProblemData, kind: str
) -> None:
    person = lmc.mentors[0].mentor_id if kind == "mentor" else lmc.mentees[0].mentee_id
    signed_in_as(client, app, kind, person)
    refused = client.get("/people")
    assert refused.status_code == 403
    assert "this page is for scheme staff: your own pages are at /me" in refused.text
    nav = client.get("/me").text
    assert 'href="/rounds"' not in nav and 'href="/me"' in nav


def _mentee_email(lmc: ProblemData, mentee_id: str) -> str:
    return next(m.email for m in lmc.mentees if m.mentee_id == mentee_id)
