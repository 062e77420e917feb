"""GPs applying through the public form: stored as online applications with their checks and
the rest of the form, the "received" mail with the reference, refused fields, the form's
CSRF cookie and the per-address limit; staff approving one put the GP on the register as
proposed, active, and the decision (or a rejection, with its reason) is mailed."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from page_reading import error_of, sign_in, text
from sqlalchemy import func, select

from matcher.data import ProblemData
from matcher.eligibility import Answers, check_application
from service import applications
from service.models import Application, AuditEntry, Mentor, OutboxMail
from service.web.apply_pages import COOKIE, AddressLimit

Headers = Callable[[str], dict[str, str]]
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
# Meets every rule of the guidance: 6 sessions a week, 12 years since CCT (minimum 5).
FORM: dict[str, Any] = {
    "applicant_name": "Dr Grace Hopper",
    "email": "grace@example.org",
    "telephone": "0113 496 0000",
    "gmc_number": "7654321",
    "practice_name": "Harbour Street Surgery",
    "practice_code": "y01234",
    "clinical_sessions_per_week": "6",
    "years_post_cct": "12",
    "has_full_registration": "yes",
    "has_licence": "yes",
    "on_performers_list": "yes",
    "suspended": "no",
    "commits_12_months": "yes",
    "commits_training": "yes",
    "qualifications": "Coaching certificate, 2019, Institute of Leadership",
    "motivation": "I was mentored as a new partner.\nI would like to give that back.",
    "focus_areas": ["wellbeing", "leadership"],
    "availability": ["thu_eve", "tue_am"],
    "modes": ["virtual", "face_to_face"],
    "capacity_max": "5",
}
ANSWERS = Answers(
    has_full_registration=True,
    has_licence=True,
    on_performers_list=True,
    suspended=False,
    clinical_sessions_per_week=6,
    years_post_cct=12,
    commits_12_months=True,
    commits_training=True,
)
SIGN_OFF = "With best wishes,\nThe GP mentoring scheme\n"


def form_token(client: TestClient) -> str:
    page = client.get("/apply")
    assert page.status_code == 200, page.text
    found = TOKEN.search(page.text)
    assert found, page.text
    return found[1]


def send(client: TestClient, token: str | None = None, **change: Any) -> Any:
    token = form_token(client) if token is None else token
    return client.post("/apply", data={**FORM, **change, "csrf_token": token})


def applied(client: TestClient, **change: Any) -> int:
    """Send a good form; the new application's id, read from the reference shown."""
    answer = send(client, **change)
    assert answer.status_code == 200, answer.text
    found = re.search(r'<strong id="reference">A-(\d+)</strong>', answer.text)
    assert found, answer.text
    return int(found[1])


def count(app: FastAPI, model: type) -> int:
    with app.state.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def mails(app: FastAPI) -> list[OutboxMail]:
    with app.state.sessions() as session:
        return list(session.scalars(select(OutboxMail).order_by(OutboxMail.id)))


def decide(client: TestClient, csrf: str, application_id: int, **data: Any) -> Any:
    return client.post(
        f"/applications/{application_id}/decision",
        data={**data, "csrf_token": csrf},
        follow_redirects=False,
    )


def test_the_public_form_stores_an_online_application_and_mails_its_reference(
    app: FastAPI, client: TestClient
) -> None:
    page = client.get("/apply")
    assert page.status_code == 200
    assert '<nav aria-label="Main">' not in page.text  # no staff pages for the public
    assert "Sign out" not in page.text
    assert client.cookies.get(COOKIE)

    answer = send(client)
    assert answer.status_code == 200, answer.text
    (made,) = re.findall(r'<strong id="reference">A-(\d+)</strong>', answer.text)
    assert "Thank you, Dr Grace Hopper" in text(answer.text)
    for personal in ("grace@example.org", "7654321", "0113 496 0000", "Harbour Street"):
        assert personal not in answer.text
    assert not client.cookies.get(COOKIE)  # the form was sent once

    with app.state.sessions() as session:
        stored = session.get(Application, int(made))
        assert stored is not None
        assert (stored.source, stored.applicant_name, stored.email, stored.gmc_number) == (
            "online",
            "Dr Grace Hopper",
            "grace@example.org",
            "7654321",
        )
        assert stored.mentor_id is None and stored.decision is None
        assert stored.answers == asdict(ANSWERS)
        expected = check_application("7654321", ANSWERS, min_years_post_cct=5.0)
        assert stored.checks == [asdict(check) for check in expected]
        assert stored.eligible is True
        assert stored.details == {
            "telephone": "0113 496 0000",
            "practice_name": "Harbour Street Surgery",
            "practice_code": "Y01234",
            "qualifications": "Coaching certificate, 2019, Institute of Leadership",
            "motivation": "I was mentored as a new partner.\nI would like to give that back.",
            "register_entry": {
                # In the vocabulary's order, whatever order the form sent.
                "focus_areas": ["leadership", "wellbeing"],
                "availability": ["tue_am", "thu_eve"],
                "modes": ["virtual", "face_to_face"],
                "capacity_max": 5,
            },
        }
        (entry,) = session.scalars(select(AuditEntry).where(AuditEntry.entity == "application"))
        assert (entry.user_id, entry.username, entry.action, entry.entity_id) == (
            None,
            "system",
            "applications.create",
            made,
        )
        assert entry.detail == {"eligible": True, "failed": [], "source": "online"}

    (mail,) = mails(app)
    assert (mail.kind, mail.recipient, mail.about, mail.status) == (
        "application_received",
        "grace@example.org",
        f"application:{made}",
        "queued",
    )
    assert mail.subject == "We have your application to be a GP mentor"
    assert mail.body == (
        "Dear Dr Grace Hopper,\n\nThank you for applying to be a mentor in the GP mentoring "
        f"scheme. Your reference is A-{made}. We will write again when your application has "
        "been decided.\n\n" + SIGN_OFF
    )

    # Sending the same page again (a reload) finds the form expired: nothing more stored.
    again = client.post("/apply", data={**FORM, "csrf_token": "x"})
    assert again.status_code == 403
    assert count(app, Application) == 1


def test_an_ineligible_online_application_is_stored_with_its_failed_checks(
    app: FastAPI, client: TestClient
) -> None:
    made = applied(client, suspended="yes", clinical_sessions_per_week="2.5")
    answers = Answers(**{**asdict(ANSWERS), "suspended": True, "clinical_sessions_per_week": 2.5})
    expected = check_application("7654321", answers, min_years_post_cct=5.0)
    with app.state.sessions() as session:
        stored = session.get(Application, made)
        assert stored is not None
        assert stored.checks == [asdict(check) for check in expected]
        assert stored.eligible is False
        assert [c["name"] for c in stored.checks if not c["passed"]] == [
            "not_suspended",
            "clinical_sessions",
        ]


PROBLEMS: list[tuple[dict[str, Any], str, str]] = [
    ({"applicant_name": "   "}, "applicant_name", "Required"),
    ({"applicant_name": "x" * 256}, "applicant_name", "At most 255 characters"),
    (
        {"applicant_name": "Dr\x00Hopper"},
        "applicant_name",
        "Must not contain control characters (U+0000 at position 2)",
    ),
    ({"email": ""}, "email", "Required"),
    ({"email": "g" * 243 + "@example.org"}, "email", "At most 254 characters"),
    ({"email": "grace-at-example"}, "email", "Not an email address (expected name@example.org)"),
    (
        {"telephone": "call me"},
        "telephone",
        "Not a telephone number (expected digits, e.g. 0113 496 0000)",
    ),
    (
        {"telephone": "12345"},
        "telephone",
        "Not a telephone number (expected digits, e.g. 0113 496 0000)",
    ),
    ({"gmc_number": "765432"}, "gmc_number", "A GMC number must be exactly 7 digits"),
    ({"practice_name": ""}, "practice_name", "Required"),
    (
        {"practice_code": "12345"},
        "practice_code",
        "Not a practice code (expected a letter and 5 digits, e.g. A81001)",
    ),
    ({"clinical_sessions_per_week": "many"}, "clinical_sessions_per_week", "Must be a number"),
    ({"clinical_sessions_per_week": ""}, "clinical_sessions_per_week", "Required"),
    ({"years_post_cct": "80"}, "years_post_cct", "Must be 70 or less"),
    ({"suspended": ""}, "suspended", "Required: answer yes or no"),
    ({"commits_training": "maybe"}, "commits_training", "Required: answer yes or no"),
    ({"motivation": " \n "}, "motivation", "Required"),
    ({"motivation": "x" * 4001}, "motivation", "At most 4000 characters"),
    ({"qualifications": "x" * 2001}, "qualifications", "At most 2000 characters"),
    ({"focus_areas": []}, "focus_areas", "Choose at least one area"),
    ({"focus_areas": ["astrology"]}, "focus_areas", "Not one of the choices"),
    ({"availability": ["mon_night"]}, "availability", "Not one of the choices"),
    ({"modes": []}, "modes", "Choose at least one way to meet"),
    ({"capacity_max": ""}, "capacity_max", "Required"),
    ({"capacity_max": "3"}, "capacity_max", "Must be 4 or more"),
    ({"capacity_max": "9"}, "capacity_max", "Must be 8 or less"),
    ({"capacity_max": "4.5"}, "capacity_max", "Must be a whole number"),
]


@pytest.mark.parametrize(("change", "field", "message"), PROBLEMS)
def test_each_bad_field_is_refused_with_its_message_and_nothing_stored(
    app: FastAPI, client: TestClient, change: dict[str, Any], field: str, message: str
) -> None:
    answer = send(client, **change)
    assert answer.status_code == 422, answer.text
    assert error_of(answer.text, f"apply_{field}") == f"Error: {message}"
    problems = re.findall(r'<p id="apply_(\w+)-error"', answer.text)
    assert problems == [field]
    assert (count(app, Application), count(app, OutboxMail), count(app, AuditEntry)) == (0, 0, 0)


def test_a_refused_form_keeps_everything_typed_and_shows_every_problem(
    app: FastAPI, client: TestClient
) -> None:
    answer = send(client, email="grace-at-example", capacity_max="12", modes=[], suspended="")
    assert answer.status_code == 422
    assert re.findall(r'<p id="apply_(\w+)-error"', answer.text) == [
        "email",
        "suspended",
        "modes",
        "capacity_max",
    ]
    summary = re.search(r'<div class="error-summary".*?</div>', answer.text, re.S)
    assert summary and text(summary[0]).startswith("Nothing was saved")
    for kept in ('value="grace-at-example"', 'value="Harbour Street Surgery"', 'value="12"'):
        assert kept in answer.text
    assert ">I was mentored as a new partner.\nI would like to give that back.</textarea>" in (
        answer.text
    )
    for box in ('id="apply_focus_areas-wellbeing"', 'id="apply_availability-tue_am"'):
        assert re.search(box + r' name="\w+" value="\w+" checked', answer.text), box
    assert re.search(r'id="apply_has_licence" name="has_licence" value="yes" checked', answer.text)
    assert count(app, Application) == 0
    # The same cookie still holds: the corrected form goes through.
    token = TOKEN.search(answer.text)
    assert token
    assert send(client, token[1]).status_code == 200
    assert count(app, Application) == 1


def test_a_form_without_its_cookie_token_is_refused(app: FastAPI, client: TestClient) -> None:
    token = form_token(client)
    wrong = send(client, token="bm90LWl0")
    assert wrong.status_code == 403
    assert "This form expired before it was sent, so nothing was saved" in wrong.text
    assert 'value="Dr Grace Hopper"' in wrong.text  # nothing typed is lost
    client.cookies.clear()
    no_cookie = send(client, token=token)
    assert no_cookie.status_code == 403
    assert (count(app, Application), count(app, OutboxMail)) == (0, 0)
    # The refusal set a fresh cookie, and its page's token goes through.
    fresh = TOKEN.search(no_cookie.text)
    assert fresh
    assert send(client, token=fresh[1]).status_code == 200


def test_five_applications_an_hour_from_one_address(app: FastAPI, client: TestClient) -> None:
    for number in range(5):
        applied(client, gmc_number=f"765432{number}")
    refused = send(client)
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert 3500 < wait <= 3600
    assert (
        text(refused.text).count(
            f"This address has sent 5 applications within the hour: please try again in "
            f"{-(-wait // 60)} minutes."
        )
        == 1
    )
    # Refused before the form is read: a bad form from here is refused the same way.
    assert send(client, email="").status_code == 429
    assert count(app, Application) == 5
    other = TestClient(app, client=("192.0.2.7", 50000))
    assert applied(other) == 6
    assert count(app, Application) == 6


def test_approving_an_online_application_puts_the_gp_on_the_register_as_proposed(
    app: FastAPI, client: TestClient, lmc: ProblemData, as_role: Headers
) -> None:
    made = applied(client)
    csrf = sign_in(client, "admin")
    listed = client.get("/applications")
    assert re.search(rf'<tr id="application-{made}">.*?<td>Online</td>\s*</tr>', listed.text, re.S)

    page = client.get(f"/applications/{made}")
    assert page.status_code == 200
    shown = text(page.text)
    for detail in (
        "Harbour Street Surgery",
        "Y01234",
        "0113 496 0000",
        "Coaching certificate, 2019, Institute of Leadership",
        "I would like to give that back.",
    ):
        assert detail in shown
    # The approval starts from the proposal; staff choose the id, told the next free one.
    free = f"MR{max(int(m.mentor_id[2:]) for m in lmc.mentors) + 1:04d}"
    assert 'id="ok_mentor_id" name="mentor_id" type="text" value=""' in page.text
    hint = re.search(r'<p id="ok_mentor_id-hint" class="hint">(.*?)</p>', page.text)
    assert hint and hint[1] == f"A new id, e.g. {free}, the next free one"
    ticked = re.findall(r'name="(focus_areas|availability)" value="(\w+)" checked', page.text)
    assert ticked == [
        ("focus_areas", "leadership"),
        ("focus_areas", "wellbeing"),
        ("availability", "tue_am"),
        ("availability", "thu_eve"),
    ]
    assert re.search(r'name="modes" value="both" checked', page.text)
    assert 'id="ok_capacity_max" name="capacity_max" type="number" value="5"' in page.text
    assert 'id="ok_practice_code" name="practice_code" type="text" value="Y01234"' in page.text

    reason = "Interviewed; meets the criteria."
    entry = {
        "decision": "approved",
        "reason": reason,
        "mentor_id": free,
        "focus_areas": ["leadership", "wellbeing"],
        "availability": ["tue_am", "thu_eve"],
        "modes": "both",
        "capacity_max": "5",
        "practice_code": "Y01234",
    }
    answer = decide(client, csrf, made, **entry)
    assert answer.status_code == 303, answer.text
    done = client.get(answer.headers["location"])
    assert f"the applicant is on the register as mentor {free}" in done.text

    mentors = {
        m["mentor_id"]: m for m in client.get("/api/mentors", headers=as_role("admin")).json()
    }
    added = mentors[free]
    assert (added["name"], added["status"], added["focus_areas"], added["capacity_max"]) == (
        "Dr Grace Hopper",
        "active",
        ["leadership", "wellbeing"],
        5,
    )
    with app.state.sessions() as session:
        stored = session.get(Mentor, free)
        assert stored is not None
        assert stored.record["status"] == "active"
        assert (stored.record["availability"], stored.record["modes"]) == (
            "tue_am;thu_eve",
            "virtual;face_to_face",
        )
        assert stored.record["practice_code"] == "Y01234"

    received, decision = mails(app)
    assert received.kind == "application_received"
    assert (decision.kind, decision.recipient, decision.about) == (
        "application_decision",
        "grace@example.org",
        f"application:{made}",
    )
    assert decision.body == (
        f"Dear Dr Grace Hopper,\n\nYour application A-{made} has been approved: you are on "
        "the scheme's register of mentors. We will be in touch about the mentorship training."
        f"\n\n{reason}\n\n" + SIGN_OFF
    )
    # The application's page lists both mails.
    rows = re.findall(r'<tr id="mail-(\d+)"><th scope="row">([^<]+)</th>', done.text)
    assert rows == [
        (str(received.id), "Application received"),
        (str(decision.id), "Application decided"),
    ]
    assert f'href="/training?chosen={free}"' in done.text


def test_a_rejection_mails_the_reason_and_a_failed_decision_mails_nothing(
    app: FastAPI, client: TestClient, as_role: Headers
) -> None:
    made = applied(client)
    admin = as_role("admin")
    url = f"/api/applications/{made}/decision"
    # An approval whose register entry is refused writes nothing, and mails nothing.
    bad = {
        "decision": "approved",
        "reason": "ok",
        "register_as": {"mentor_id": "MR0001", "focus_areas": "juggling"},
    }
    assert client.post(url, json=bad, headers=admin).status_code == 422
    assert [m.kind for m in mails(app)] == ["application_received"]

    reason = "We have enough mentors in your area this year."
    answer = client.post(url, json={"decision": "rejected", "reason": reason}, headers=admin)
    assert answer.status_code == 200, answer.text
    read = answer.json()
    assert (read["decision"], read["source"], read["details"]["practice_name"]) == (
        "rejected",
        "online",
        "Harbour Street Surgery",
    )
    decision = mails(app)[-1]
    assert (decision.kind, decision.recipient) == ("application_decision", "grace@example.org")
    assert decision.body == (
        f"Dear Dr Grace Hopper,\n\nWe are sorry: your application A-{made} has not been "
        f"approved.\n\n{reason}\n\n" + SIGN_OFF
    )
    assert count(app, Mentor) == 0


def test_an_ineligible_online_application_cannot_be_approved(
    app: FastAPI, client: TestClient, tokens: dict[str, str]
) -> None:
    made = applied(client, has_licence="no")
    csrf = sign_in(client, "admin")
    page = client.get(f"/applications/{made}")
    assert "it can only be rejected" in page.text
    approve = {"decision": "approved", "reason": "ok", "mentor_id": "MR0001", "modes": "both"}
    assert decide(client, csrf, made, **approve).status_code == 409
    assert [m.kind for m in mails(app)] == ["application_received"]
    rejected = decide(client, csrf, made, decision="rejected", reason="No licence to practise.")
    assert rejected.status_code == 303
    assert [m.kind for m in mails(app)] == ["application_received", "application_decision"]
    assert mails(app)[-1].body.endswith(
        "has not been approved.\n\nNo licence to practise.\n\n" + SIGN_OFF
    )
    assert count(app, Mentor) == 0


def test_a_staff_application_without_an_address_gets_no_mail(
    app: FastAPI, client: TestClient, as_role: Headers
) -> None:
    body = {**asdict(ANSWERS), "applicant_name": "Dr Ada", "gmc_number": "7654321"}
    made = client.post("/api/applications", json=body, headers=as_role("matcher")).json()
    assert made["source"] == "staff" and made["details"] is None
    url = f"/api/applications/{made['id']}/decision"
    decided = client.post(
        url, json={"decision": "rejected", "reason": "x"}, headers=as_role("admin")
    )
    assert decided.status_code == 200
    assert count(app, OutboxMail) == 0
    sign_in(client, "admin")
    page = client.get(f"/applications/{made['id']}")
    assert "None: the application gives no e-mail address." in page.text


def test_the_free_mentor_id_follows_the_registers_numbering(app: FastAPI) -> None:
    with app.state.sessions() as session:
        assert applications.free_mentor_id(session) == "MR0001"
        # MR is the most used prefix; GP3 and an id not ending in digits are left aside.
        for mentor_id in ("MR0007", "MR0012", "GP3", "MR0099x"):
            session.add(Mentor(mentor_id=mentor_id, name="x", record={}))
        session.flush()
        assert applications.free_mentor_id(session) == "MR0013"
        session.rollback()


def test_the_limit_counts_in_memory_when_its_storage_does_not_answer() -> None:
    # Nothing listens on port 1: the counts fall back to this process, still limited.
    limit = AddressLimit("redis://127.0.0.1:1/0", 2)
    assert (limit.wait("192.0.2.1"), limit.take("192.0.2.1"), limit.take("192.0.2.1")) == (
        0,
        True,
        True,
    )
    assert limit.take("192.0.2.1") is False
    assert 3590 < limit.wait("192.0.2.1") <= 3600
    assert limit.wait("192.0.2.2") == 0
