"""The Applications pages, used as a browser uses them: an application filed through the form
with its checks shown in words, refused fields, and the admin's decision; an approval puts
the applicant on the register as a mentor, in the same transaction as the decision."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from page_reading import cells, error_of, sign_in, text
from sqlalchemy import func, select

from service import applications
from service.errors import Conflict
from service.models import Application, AuditEntry, Import, Mentor, MentorVersion, User

Headers = Callable[[str], dict[str, str]]
# Meets every rule of the guidance: 6 sessions a week, 12 years since CCT (minimum 5).
FORM: dict[str, str] = {
    "applicant_name": "Dr Grace Hopper",
    "email": "grace@example.org",
    "gmc_number": "7654321",
    "mentor_id": "",
    "clinical_sessions_per_week": "6",
    "years_post_cct": "12",
    "has_full_registration": "yes",
    "has_licence": "yes",
    "on_performers_list": "yes",
    "suspended": "no",
    "commits_12_months": "yes",
    "commits_training": "yes",
}
ENTRY: dict[str, Any] = {
    "decision": "approved",
    "reason": "Interviewed; meets the criteria.",
    "mentor_id": "MR0100",
    "focus_areas": ["leadership", "wellbeing"],
    "availability": ["tue_am", "thu_eve"],
    "modes": "both",
    "capacity_max": "5",
    "practice_code": "Y01234",
}


def file_application(client: TestClient, csrf: str, **change: str) -> int:
    answer = client.post(
        "/applications", data={**FORM, **change, "csrf_token": csrf}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    found = re.fullmatch(r"/applications/(\d+)\?notice=created", answer.headers["location"])
    assert found, answer.headers["location"]
    return int(found[1])


def decide(client: TestClient, csrf: str, application_id: int, **data: Any) -> Any:
    return client.post(
        f"/applications/{application_id}/decision",
        data={**data, "csrf_token": csrf},
        follow_redirects=False,
    )


def count(app: FastAPI, model: type) -> int:
    with app.state.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_an_application_filed_through_the_form_shows_its_failed_checks(
    app: FastAPI, client: TestClient, tokens: dict[str, str]
) -> None:
    csrf = sign_in(client, "matcher")
    assert client.get("/applications/new").status_code == 200
    # 2.5 sessions a week (fewer than 3) and no commitment to training: two checks fail.
    made = file_application(client, csrf, clinical_sessions_per_week="2.5", commits_training="no")
    page = client.get(f"/applications/{made}?notice=created")
    assert "Application saved with its eligibility checks." in page.text
    assert text(re.search(r'<p id="eligibility"[^>]*>(.*?)</p>', page.text, re.S)[1]) == (
        "Not eligible: fails 2 of 9 checks of the guidance, so it cannot be approved."
    )
    assert cells(page.text, "check-clinical_sessions", "t[hd]") == [
        "Clinical sessions a week",
        "Failed",
        "Works 2.5 clinical session(s) a week; the scheme asks for at least 3.",
    ]
    assert cells(page.text, "check-commits_training", "t[hd]") == [
        "Mentorship training",
        "Failed",
        "Does not commit to the mentorship training.",
    ]
    assert cells(page.text, "check-gmc_number", "t[hd]") == [
        "GMC number",
        "Passed",
        "The GMC number has 7 digits.",
    ]
    # A matcher sees no decision form and may not decide.
    assert "Pending: an admin decides." in text(page.text)
    refused = decide(client, csrf, made, decision="rejected", reason="Too few sessions.")
    assert refused.status_code == 403
    with app.state.sessions() as session:
        stored = session.get(Application, made)
        assert stored is not None and stored.decision is None
    listed = client.get("/applications", params={"decision": "pending"})
    shown = cells(listed.text, f"application-{made}", "t[hd]")
    assert shown[:2] + shown[3:] == [
        str(made),
        "Dr Grace Hopper",
        "Fails 2 checks",
        "Pending",
        "",
        "Staff",
    ]


def test_an_invalid_field_is_refused_with_its_message_and_nothing_stored(
    app: FastAPI, client: TestClient, tokens: dict[str, str]
) -> None:
    csrf = sign_in(client, "matcher")
    bad = {**FORM, "email": "grace-at-example", "years_post_cct": "80", "csrf_token": csrf}
    del bad["suspended"]
    answer = client.post("/applications", data=bad)
    assert answer.status_code == 422
    assert error_of(answer.text, "ap_email") == (
        "Error: Not an email address (expected name@example.org)"
    )
    assert error_of(answer.text, "ap_years_post_cct") == "Error: Must be 70 or less"
    assert error_of(answer.text, "ap_suspended") == "Error: Required: answer yes or no"
    # What was typed is kept, answers too.
    assert 'value="grace-at-example"' in answer.text
    assert re.search(r'id="ap_has_licence" name="has_licence" value="yes" checked', answer.text)
    assert count(app, Application) == 0


def test_approval_puts_the_applicant_on_the_register(
    app: FastAPI, client: TestClient, as_role: Headers
) -> None:
    csrf = sign_in(client, "admin")
    made = file_application(client, csrf)
    page = client.get(f"/applications/{made}")
    assert "Approve and add to the register" in page.text

    # No reason and no id: both are shown at once.
    empty = decide(client, csrf, made, **{**ENTRY, "reason": "", "mentor_id": ""})
    assert empty.status_code == 422
    assert (
        error_of(empty.text, "ok_reason") == "Error: Required: say why the application is approved"
    )
    assert error_of(empty.text, "ok_mentor_id") == "Error: Required, but empty"
    # An unknown focus area and a capacity of 0 are refused by the mentors reader, as an
    # import would refuse them; the decision and the mentor are both left unwritten.
    wrong = decide(
        client, csrf, made, **{**ENTRY, "focus_areas": ["astrology"], "capacity_max": "0"}
    )
    assert wrong.status_code == 422
    assert error_of(wrong.text, "ok_capacity_max").startswith("Error: Must be 1 or more")
    assert error_of(wrong.text, "ok_focus_areas").startswith("Error: ")
    assert 'value="MR0100"' in wrong.text
    assert (count(app, Mentor), count(app, Import)) == (0, 0)

    answer = decide(client, csrf, made, **ENTRY)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/applications/{made}?notice=approved"
    shown = client.get(answer.headers["location"])
    assert "the applicant is on the register as mentor MR0100" in shown.text
    assert 'href="/people/mentors/MR0100"' in shown.text
    assert "Approved on" in text(shown.text) and "Interviewed; meets the criteria." in shown.text

    mentors = client.get("/api/mentors", headers=as_role("admin")).json()
    assert [(m["mentor_id"], m["name"]) for m in mentors] == [("MR0100", "Dr Grace Hopper")]
    (mentor,) = mentors
    assert (mentor["focus_areas"], mentor["capacity_max"], mentor["remaining_capacity"]) == (
        ["leadership", "wellbeing"],
        5,
        5,
    )
    register = client.get("/register", params={"q": "MR0100"})
    assert "Dr Grace Hopper" in register.text
    with app.state.sessions() as session:
        stored = session.get(Mentor, "MR0100")
        assert stored is not None
        assert stored.version == 1
        assert stored.record == {
            "mentor_id": "MR0100",
            "name": "Dr Grace Hopper",
            "email": "grace@example.org",
            "gmc_number": "7654321",
            "practice_code": "Y01234",
            "capacity_max": "5",
            "focus_areas": "leadership;wellbeing",
            "availability": "tue_am;thu_eve",
            "modes": "virtual;face_to_face",
            "years_post_cct": "12",
            "clinical_sessions_per_week": "6",
            "status": "active",
        }, stored.record
        assert session.scalar(select(func.count()).select_from(MentorVersion)) == 1
        actions = [
            (e.action, e.detail)
            for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
            if e.action in ("mentors.import", "applications.decision")
        ]
    assert actions == [
        ("mentors.import", {"rows": 1, "added": 1, "updated": 0, "unchanged": 0}),
        (
            "applications.decision",
            {"decision": "approved", "eligible": True, "mentor_id": "MR0100"},
        ),
    ]

    # A second application may not take the same id; the first cannot be decided again.
    other = file_application(client, csrf, applicant_name="Dr Alan Kay", gmc_number="1234567")
    taken = decide(client, csrf, other, **ENTRY)
    assert taken.status_code == 422
    assert error_of(taken.text, "ok_mentor_id") == (
        "Error: Already on the register: choose another id for this mentor"
    )
    again = decide(client, csrf, made, decision="rejected", reason="changed my mind")
    assert again.status_code == 409
    assert count(app, Mentor) == 1


def test_a_rejection_needs_a_reason(
    app: FastAPI, client: TestClient, tokens: dict[str, str]
) -> None:
    csrf = sign_in(client, "admin")
    made = file_application(client, csrf, suspended="yes")
    page = client.get(f"/applications/{made}")
    assert "it can only be rejected" in page.text
    assert "Approve and add to the register</button>" not in page.text
    blank = decide(client, csrf, made, decision="rejected", reason="   ")
    assert blank.status_code == 422
    assert error_of(blank.text, "no_reason") == (
        "Error: Required: say why the application is rejected"
    )
    with app.state.sessions() as session:
        stored = session.get(Application, made)
        assert stored is not None and stored.decision is None
    # Approving an ineligible application is a conflict, whatever the form says.
    assert decide(client, csrf, made, **ENTRY).status_code == 409
    done = decide(client, csrf, made, decision="rejected", reason="Suspended when applying.")
    assert done.status_code == 303
    shown = client.get(done.headers["location"])
    assert "Application rejected." in shown.text
    assert text(re.search(r'<p id="decided">(.*?)</p>', shown.text, re.S)[1]).endswith(
        "Reason: Suspended when applying."
    )
    assert count(app, Mentor) == 0
    listed = client.get("/applications", params={"decision": "rejected"})
    assert re.findall(r'<tr id="application-(\d+)">', listed.text) == [str(made)]
    assert (
        re.findall(
            r'<tr id="application-(\d+)">', client.get("/applications?decision=approved").text
        )
        == []
    )


@pytest.mark.parametrize("role", ["analyst", "organiser"])
def test_only_staff_see_applications(client: TestClient, tokens: dict[str, str], role: str) -> None:
    sign_in(client, role)
    assert client.get("/applications").status_code == 403
    assert client.get("/applications/new").status_code == 403


def test_two_admins_approving_at_once_add_one_mentor(
    app: FastAPI, client: TestClient, tokens: dict[str, str]
) -> None:
    # Both admins opened the application while it was pending; the second decision, made
    # after the first was committed, loses at the conditional update and adds no mentor.
    csrf = sign_in(client, "admin")
    made = file_application(client, csrf)
    with app.state.sessions() as first, app.state.sessions() as second:
        slow = first.get(Application, made)
        first.commit()  # the object stays loaded, and pending, in the first session
        assert slow is not None and slow.decision is None
        admin = second.scalars(select(User).where(User.name == "admin")).one()
        applications.decide(
            second, admin, made, "approved", "first", applications.MentorEntry("MR0100")
        )
        second.commit()
        admin_a = first.get(User, admin.id)
        assert admin_a is not None
        with pytest.raises(Conflict, match=f"application {made} was already approved"):
            applications.decide(
                first, admin_a, made, "approved", "second", applications.MentorEntry("MR0200")
            )
        first.rollback()
    with app.state.sessions() as session:
        assert list(session.scalars(select(Mentor.mentor_id))) == ["MR0100"]
        stored = session.get(Application, made)
        assert stored is not None
        assert (stored.decision_reason, stored.mentor_id) == ("first", "MR0100")
