"""Feedback surveys: opened when a match is registered or ends (API and staff pages), each
made once, answered once by its own person only on their /me pages, read by staff with the
comments.

Three mentees and two mentors are imported; matches are written straight to the database
as confirmed and moved on through the API or the Matches page.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from scheme import form_token, sign_in
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from service import surveys
from service.db import transaction
from service.errors import Conflict, Invalid, NotFound
from service.models import AuditEntry, Match, OutboxMail, Survey
from service.outbox import MailSetup
from service.participants import participant_user
from service.web import sessions

Headers = Callable[[str], dict[str, str]]
MENTORS = (
    "mentor_id,name,email,gmc_number,clinical_sessions_per_week,status\n"
    "M1,Dr Ada,ada@example.org,1234567,6,active\n"
    "M2,Dr Bo,bo@example.org,2345678,4,active\n"
)
MENTEES = (
    "mentee_id,name,cohort,email\n"
    "E1,Dr Eve,fellow,eve@example.org\n"
    "E2,Dr Fay,fellow,fay@example.org\n"
    "E3,Dr Gus,new_partner,\n"
)
SITE = "http://127.0.0.1:8000"  # the settings' default public address
COMMENT = "Kind, and the meetings ran over: ZEBRA-7731"


@pytest.fixture
def pairs(client: TestClient, app: FastAPI, as_role: Headers) -> dict[str, int]:
    """X1 M1-E1, X2 M2-E3 (E3 has no e-mail address), X3 M2-E2: all confirmed."""
    for kind, body in (("mentors", MENTORS), ("mentees", MENTEES)):
        files = {"file": (f"{kind}.csv", body.encode(), "text/csv")}
        assert client.post(f"/api/{kind}/import", files=files, headers=as_role("admin")).is_success
    made = {
        "X1": Match(mentor_id="M1", mentee_id="E1", status="confirmed"),
        "X2": Match(mentor_id="M2", mentee_id="E3", status="confirmed"),
        "X3": Match(mentor_id="M2", mentee_id="E2", status="confirmed"),
    }
    with transaction(app.state.sessions) as db:
        db.add_all(made.values())
        db.flush()
        return {name: match.id for name, match in made.items()}


def survey_rows(app: FastAPI, match_id: int) -> list[tuple[str, str]]:
    with app.state.sessions() as db:
        rows = db.execute(
            select(Survey.stage, Survey.side).where(Survey.match_id == match_id).order_by(Survey.id)
        )
        return [(stage, side) for stage, side in rows]


def invitations(app: FastAPI) -> list[OutboxMail]:
    with app.state.sessions() as db:
        return list(
            db.scalars(
                select(OutboxMail)
                .where(OutboxMail.kind == "survey_invitation")
                .order_by(OutboxMail.id)
            )
        )


def survey_id(app: FastAPI, match_id: int, side: str, stage: str) -> int:
    with app.state.sessions() as db:
        found = db.scalar(
            select(Survey.id).where(
                Survey.match_id == match_id, Survey.side == side, Survey.stage == stage
            )
        )
    assert found is not None
    return found


def as_participant(client: TestClient, app: FastAPI, kind: str, person_id: str) -> str:
    """Sign ``client`` in as the person (a session straight away); the CSRF token."""
    with transaction(app.state.sessions) as db:
        user = participant_user(db, kind, person_id)
        cookie = sessions.start(db, user, 1)
    client.cookies.set(sessions.COOKIE, cookie)
    return form_token(client.get("/me/surveys").text)


def test_registering_then_ending_opens_each_stage_for_both_sides(
    client: TestClient, app: FastAPI, as_role: Headers, pairs: dict[str, int]
) -> None:
    x1 = pairs["X1"]
    answer = client.patch(
        f"/api/matches/{x1}", json={"status": "registered"}, headers=as_role("matcher")
    )
    assert answer.status_code == 200, answer.text
    assert survey_rows(app, x1) == [("first_meeting", "mentor"), ("first_meeting", "mentee")]
    mails = invitations(app)
    mentor_survey = survey_id(app, x1, "mentor", "first_meeting")
    mentee_survey = survey_id(app, x1, "mentee", "first_meeting")
    assert [(m.recipient, m.about) for m in mails] == [
        ("ada@example.org", f"survey:{mentor_survey}"),
        ("eve@example.org", f"survey:{mentee_survey}"),
    ]
    assert f"{SITE}/me/surveys/{mentor_survey}\n" in mails[0].body
    assert "Dear Dr Ada,\n\nNow that your first meeting with Dr Eve has been held" in mails[0].body
    assert f"{SITE}/me/surveys/{mentee_survey}\n" in mails[1].body
    assert "Now that your first meeting with Dr Ada has been held" in mails[1].body
    assert mails[0].subject == "How is your GP mentoring going?"

    # A second registration is refused, and opens nothing more.
    again = client.patch(
        f"/api/matches/{x1}", json={"status": "registered"}, headers=as_role("matcher")
    )
    assert again.status_code == 409
    assert len(survey_rows(app, x1)) == 2 and len(invitations(app)) == 2

    ended = client.patch(
        f"/api/matches/{x1}", json={"status": "ended", "reason": "done"}, headers=as_role("admin")
    )
    assert ended.status_code == 200, ended.text
    assert survey_rows(app, x1)[2:] == [("end", "mentor"), ("end", "mentee")]
    end_mails = invitations(app)[2:]
    assert [m.recipient for m in end_mails] == ["ada@example.org", "eve@example.org"]
    assert "Now that your mentoring with Dr Eve has ended" in end_mails[0].body
    end_survey = survey_id(app, x1, "mentee", "end")
    assert end_mails[1].about == f"survey:{end_survey}"
    assert f"{SITE}/me/surveys/{end_survey}\n" in end_mails[1].body


def test_the_matches_page_opens_surveys_and_skips_people_without_an_address(
    client: TestClient, app: FastAPI, tokens: dict[str, str], pairs: dict[str, int]
) -> None:
    """X2 ends before its first meeting: only the end surveys; E3 has no address."""
    csrf = sign_in(client, "matcher", "secret-matcher", "/matches")
    x2 = pairs["X2"]
    answer = client.post(
        f"/matches/{x2}/status",
        data={"csrf_token": csrf, "status": "ended", "reason": "moved away"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    assert survey_rows(app, x2) == [("end", "mentor"), ("end", "mentee")]
    mails = invitations(app)
    assert [(m.recipient, m.about) for m in mails] == [
        ("bo@example.org", f"survey:{survey_id(app, x2, 'mentor', 'end')}")
    ]
    assert "Now that your mentoring with Dr Gus has ended" in mails[0].body

    x3 = pairs["X3"]
    registered = client.post(
        f"/matches/{x3}/status",
        data={"csrf_token": csrf, "status": "registered"},
        follow_redirects=False,
    )
    assert registered.status_code == 303, registered.text
    assert survey_rows(app, x3) == [("first_meeting", "mentor"), ("first_meeting", "mentee")]
    assert [m.recipient for m in invitations(app)[1:]] == ["bo@example.org", "fay@example.org"]


def test_each_survey_is_made_once_even_by_calls_at_the_same_moment(
    app: FastAPI, pairs: dict[str, int]
) -> None:
    """The first call has made both surveys but not committed when the second begins: on
    PostgreSQL the second finds none, and its insert waits on the key until the first
    commits, then fails and is rolled back to its savepoint; on SQLite the second waits for
    the writer's lock and then finds them. Either way: two surveys, two invitations."""
    setup = MailSetup("matching@localhost", SITE)
    x1 = pairs["X1"]
    first_made, second_began = threading.Event(), threading.Event()
    queued: dict[str, int] = {}
    failures: list[BaseException] = []

    def first() -> None:
        try:
            with app.state.sessions() as db:
                queued["first"] = surveys.open_surveys(
                    db, db.get_one(Match, x1), "first_meeting", setup
                )
                first_made.set()
                second_began.wait(timeout=10)
                time.sleep(0.5)  # the second is at its query or its insert by now
                db.commit()
        except BaseException as exc:  # reported below: a thread's error is otherwise lost
            failures.append(exc)
            first_made.set()

    def second() -> None:
        try:
            first_made.wait(timeout=10)
            second_began.set()
            with app.state.sessions() as db:
                queued["second"] = surveys.open_surveys(
                    db, db.get_one(Match, x1), "first_meeting", setup
                )
                db.commit()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert queued == {"first": 2, "second": 0}
    # Once more, later: nothing new.
    with transaction(app.state.sessions) as db:
        assert surveys.open_surveys(db, db.get_one(Match, x1), "first_meeting", setup) == 0
    assert survey_rows(app, x1) == [("first_meeting", "mentor"), ("first_meeting", "mentee")]
    assert len(invitations(app)) == 2
    # The database's own key refuses a second row for the same match, side and stage.
    with pytest.raises(IntegrityError), transaction(app.state.sessions) as db:
        db.add(Survey(match_id=x1, side="mentor", stage="first_meeting"))
        db.flush()


def test_a_participant_answers_their_own_survey_once(
    client: TestClient, app: FastAPI, as_role: Headers, pairs: dict[str, int]
) -> None:
    x1 = pairs["X1"]
    client.patch(f"/api/matches/{x1}", json={"status": "registered"}, headers=as_role("admin"))
    wanted = survey_id(app, x1, "mentee", "first_meeting")
    csrf = as_participant(client, app, "mentee", "E1")

    listed = client.get("/me/surveys")
    assert listed.status_code == 200
    assert (
        f'<a href="/me/surveys/{wanted}">After the first meeting: your mentoring with Dr Ada'
        in (listed.text)
    )
    form = client.get(f"/me/surveys/{wanted}")
    assert form.status_code == 200
    for question in (
        "How was it overall?",
        "How well are you matched?",
        "How useful has the mentoring been?",
    ):
        assert f"<legend>{question}</legend>" in form.text
    assert "your mentor is Dr Ada" in form.text

    data = {"csrf_token": csrf, "overall": "4", "fit": "5", "usefulness": "3", "comment": COMMENT}
    answer = client.post(f"/me/surveys/{wanted}", data=data, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/me/surveys?answered={wanted}"
    assert "Thank you: your answers are saved." in client.get(answer.headers["location"]).text
    with app.state.sessions() as db:
        row = db.get_one(Survey, wanted)
        assert (row.overall, row.fit, row.usefulness, row.comment) == (4, 5, 3, COMMENT)
        assert row.answered_at is not None
        audit = db.scalars(select(AuditEntry).where(AuditEntry.action == "surveys.answer")).all()
    assert [(a.entity, a.entity_id, a.detail) for a in audit] == [("survey", str(wanted), {})]
    assert '<h2 id="done-heading">Answered</h2>' in client.get("/me/surveys").text

    again = client.post(f"/me/surveys/{wanted}", data={**data, "overall": "1"})
    assert again.status_code == 409
    assert f"survey {wanted} is already answered" in again.text
    with app.state.sessions() as db:
        assert db.get_one(Survey, wanted).overall == 4


def test_only_the_surveys_own_person_may_see_or_answer_it(
    client: TestClient,
    app: FastAPI,
    as_role: Headers,
    tokens: dict[str, str],
    pairs: dict[str, int],
) -> None:
    x1 = pairs["X1"]
    client.patch(f"/api/matches/{x1}", json={"status": "registered"}, headers=as_role("admin"))
    mentees_survey = survey_id(app, x1, "mentee", "first_meeting")
    data = {"overall": "1", "fit": "1", "usefulness": "1"}
    # The match's mentor (the other side) and another mentee: as if it did not exist.
    for kind, person_id in (("mentor", "M1"), ("mentee", "E2")):
        csrf = as_participant(client, app, kind, person_id)
        assert client.get(f"/me/surveys/{mentees_survey}").status_code == 404
        answer = client.post(f"/me/surveys/{mentees_survey}", data={**data, "csrf_token": csrf})
        assert answer.status_code == 404
        assert f"no survey with id {mentees_survey}" in answer.text
    assert f"/me/surveys/{mentees_survey}" not in client.get("/me/surveys").text
    with app.state.sessions() as db:
        assert db.get_one(Survey, mentees_survey).answered_at is None
        with pytest.raises(NotFound):
            surveys.own_survey(db, mentees_survey, "mentor", "M1")
    # Staff have no /me pages.
    client.cookies.clear()
    sign_in(client, "matcher", "secret-matcher", "/matches")
    assert client.get("/me/surveys").status_code == 403
    assert client.get(f"/me/surveys/{mentees_survey}").status_code == 403


def test_a_wrong_rating_is_refused_next_to_its_field(
    client: TestClient, app: FastAPI, as_role: Headers, pairs: dict[str, int]
) -> None:
    x1 = pairs["X1"]
    client.patch(f"/api/matches/{x1}", json={"status": "registered"}, headers=as_role("admin"))
    wanted = survey_id(app, x1, "mentor", "first_meeting")
    csrf = as_participant(client, app, "mentor", "M1")
    data = {"csrf_token": csrf, "overall": "6", "fit": "x", "comment": COMMENT}
    answer = client.post(f"/me/surveys/{wanted}", data=data)
    assert answer.status_code == 422
    page = answer.text
    assert (
        '<p id="s-overall-error" class="error"><span class="visually-hidden">Error: </span>'
        "Must be a whole number from 1 to 5</p>"
    ) in page
    assert (
        'id="s-fit-error" class="error"><span class="visually-hidden">Error: </span>Must be a'
        in (page)
    )
    assert (
        'id="s-usefulness-error" class="error"><span class="visually-hidden">Error: </span>Required'
        in (page)
    )
    assert f">{COMMENT}</textarea>" in page  # what was typed is kept
    too_long = client.post(
        f"/me/surveys/{wanted}",
        data={
            "csrf_token": csrf,
            "overall": "3",
            "fit": "3",
            "usefulness": "3",
            "comment": "a" * 2001,
        },
    )
    assert too_long.status_code == 422
    assert "At most 2000 characters" in too_long.text
    assert 'value="3" checked' in too_long.text
    with app.state.sessions() as db:
        assert db.get_one(Survey, wanted).answered_at is None
        user = participant_user(db, "mentor", "M1")
        person = ("mentor", "M1")
        good = {"overall": 3, "fit": 3, "usefulness": 3}
        for ratings, message in (
            ({**good, "overall": 6}, "overall: must be a whole number from 1 to 5"),
            ({**good, "fit": "x"}, "fit: must be a whole number from 1 to 5"),
            ({**good, "usefulness": 0}, "usefulness: must be a whole number from 1 to 5"),
            ({**good, "usefulness": True}, "usefulness: must be a whole number from 1 to 5"),
            ({"overall": 3, "fit": 3}, "usefulness: required"),
        ):
            with pytest.raises(Invalid) as refused:
                surveys.answer_survey(db, user, wanted, person, ratings, None)
            assert refused.value.message == message
        with pytest.raises(Invalid) as refused:
            surveys.answer_survey(db, user, wanted, person, good, "b" * 2001)
        assert refused.value.message == "comment: at most 2000 characters"
        surveys.answer_survey(db, user, wanted, person, good, "  ")
        with pytest.raises(Conflict):
            surveys.answer_survey(db, user, wanted, person, good, None)
        db.commit()
        stored = db.get_one(Survey, wanted)
        assert (stored.overall, stored.comment) == (3, None)


def test_the_database_refuses_a_rating_out_of_range(app: FastAPI, pairs: dict[str, int]) -> None:
    with transaction(app.state.sessions) as db:
        db.add(Survey(match_id=pairs["X1"], side="mentor", stage="end"))
    for values in ({"overall": 6}, {"fit": 0}, {"answered_at": Survey.created_at}):
        with pytest.raises(IntegrityError), transaction(app.state.sessions) as db:
            db.execute(update(Survey).values(**values))


def test_staff_read_a_matchs_answers_with_the_comments(
    client: TestClient,
    app: FastAPI,
    as_role: Headers,
    tokens: dict[str, str],
    pairs: dict[str, int],
) -> None:
    x1 = pairs["X1"]
    client.patch(f"/api/matches/{x1}", json={"status": "registered"}, headers=as_role("admin"))
    wanted = survey_id(app, x1, "mentee", "first_meeting")
    with transaction(app.state.sessions) as db:
        user = participant_user(db, "mentee", "E1")
        ratings = {"overall": 5, "fit": 4, "usefulness": 2}
        surveys.answer_survey(db, user, wanted, ("mentee", "E1"), ratings, COMMENT)
    sign_in(client, "matcher", "secret-matcher", "/matches")
    page = client.get(f"/matches/{x1}/surveys")
    assert page.status_code == 200
    assert COMMENT in page.text
    assert '<td class="num">5</td><td class="num">4</td><td class="num">2</td>' in page.text
    assert f'href="/matches/{x1}/surveys"' in client.get("/matches").text
    client.cookies.clear()
    sign_in(client, "analyst", "secret-analyst", "/reports")
    assert client.get(f"/matches/{x1}/surveys").status_code == 403
    assert f'href="/matches/{x1}/surveys"' not in client.get("/matches").text
