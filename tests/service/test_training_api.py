"""Mentors' training records over HTTP: the per-mentor cap on sessions, dates, roles, audit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from service.models import AuditEntry, TrainingRecord

Headers = Callable[[str], dict[str, str]]

MENTORS = (
    "mentor_id,name,email,gmc_number\n"
    "M1,Dr Ada,ada@example.org,1234567\n"
    "M2,Dr Bo,bo@example.org,2345678\n"
)
COURSE: dict[str, Any] = {
    "mentor_id": "M1",
    "course": "ILM Level 5 Certificate in Coaching and Mentoring",
    "started_on": "2024-01-24",
    "reimbursed_sessions": 1,
}


@pytest.fixture
def mentors(client: TestClient, as_role: Headers) -> None:
    files = {"file": ("mentors.csv", MENTORS.encode(), "text/csv")}
    answer = client.post("/api/mentors/import", files=files, headers=as_role("matcher"))
    assert answer.status_code == 200, answer.text


def add(client: TestClient, headers: dict[str, str], **change: Any):
    return client.post("/api/training", json={**COURSE, **change}, headers=headers)


def stored(app: FastAPI) -> list[tuple[str, int]]:
    with app.state.sessions() as session:
        query = select(TrainingRecord).order_by(TrainingRecord.id)
        return [(r.mentor_id, r.reimbursed_sessions) for r in session.scalars(query)]


def audit_entries(app: FastAPI) -> list[tuple[str, str, str | None, dict[str, Any]]]:
    with app.state.sessions() as session:
        query = select(AuditEntry).where(AuditEntry.action.startswith("training."))
        return [
            (e.action, e.username, e.entity_id, e.detail)
            for e in session.scalars(query.order_by(AuditEntry.id))
        ]


@pytest.mark.usefixtures("mentors")
def test_add_list_and_complete_a_course(app: FastAPI, client: TestClient, as_role: Headers) -> None:
    answer = add(client, as_role("matcher"), reimbursed_sessions=2)
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert {k: v for k, v in made.items() if k not in ("id", "created_at")} == {
        "mentor_id": "M1",
        "course": "ILM Level 5 Certificate in Coaching and Mentoring",
        "qualification": None,
        "started_on": "2024-01-24",
        "completed_on": None,
        "reimbursed_sessions": 2,
    }
    other = add(client, as_role("admin"), mentor_id="M2", course="Coaching skills").json()
    everyone = client.get("/api/training", headers=as_role("admin")).json()
    assert [r["id"] for r in everyone] == [made["id"], other["id"]]
    only_m1 = client.get("/api/training?mentor_id=M1", headers=as_role("matcher")).json()
    assert [r["id"] for r in only_m1] == [made["id"]]

    finished = {"completed_on": "2024-12-02", "qualification": "ILM Level 5 Certificate"}
    answer = client.patch(f"/api/training/{made['id']}", json=finished, headers=as_role("matcher"))
    assert answer.status_code == 200, answer.text
    assert (answer.json()["completed_on"], answer.json()["qualification"]) == (
        "2024-12-02",
        "ILM Level 5 Certificate",
    )
    # Only the fields sent change: clearing the qualification keeps the completion date.
    answer = client.patch(
        f"/api/training/{made['id']}", json={"qualification": None}, headers=as_role("admin")
    )
    assert (answer.json()["completed_on"], answer.json()["qualification"]) == ("2024-12-02", None)
    assert answer.json()["reimbursed_sessions"] == 2


@pytest.mark.usefixtures("mentors")
def test_reimbursed_sessions_are_capped_per_mentor_across_records(
    app: FastAPI, client: TestClient, as_role: Headers
) -> None:
    staff = as_role("matcher")
    # The cap is 4: 3 taken, so a record asking for 2 is refused and one asking for 1 fits.
    assert add(client, staff, reimbursed_sessions=3).status_code == 201
    refused = add(client, staff, reimbursed_sessions=2)
    assert refused.status_code == 422
    assert refused.json() == {
        "detail": "mentor M1 has 1 reimbursed training session(s) left of 4; "
        "this record asks for 2",
        "sessions_left": 1,
    }
    assert add(client, staff, reimbursed_sessions=1).status_code == 201
    full = add(client, staff, reimbursed_sessions=1)
    assert full.status_code == 422
    assert full.json()["sessions_left"] == 0
    # A course with no reimbursed sessions is still recorded; another mentor has their own cap.
    assert add(client, staff, reimbursed_sessions=0).status_code == 201
    assert add(client, staff, mentor_id="M2", reimbursed_sessions=4).status_code == 201
    too_many = add(client, staff, mentor_id="M2", reimbursed_sessions=5)
    assert too_many.status_code == 422
    assert too_many.json() == {"detail": "reimbursed_sessions must be between 0 and 4"}
    assert stored(app) == [("M1", 3), ("M1", 1), ("M1", 0), ("M2", 4)]


@pytest.mark.usefixtures("mentors")
def test_the_cap_comes_from_the_settings(
    app: FastAPI, client: TestClient, as_role: Headers
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"training_sessions_max": 2})
    assert add(client, as_role("matcher"), reimbursed_sessions=2).status_code == 201
    refused = add(client, as_role("matcher"), reimbursed_sessions=1)
    assert refused.json()["detail"] == (
        "mentor M1 has 0 reimbursed training session(s) left of 2; this record asks for 1"
    )
    assert stored(app) == [("M1", 2)]


@pytest.mark.usefixtures("mentors")
def test_dates_must_be_in_order(app: FastAPI, client: TestClient, as_role: Headers) -> None:
    staff = as_role("matcher")
    backwards = add(client, staff, completed_on="2024-01-23")
    assert backwards.status_code == 422
    assert backwards.json() == {
        "detail": "completed_on (2024-01-23) is before started_on (2024-01-24)"
    }
    assert stored(app) == []
    same_day = add(client, staff, completed_on="2024-01-24")
    assert same_day.status_code == 201
    record = same_day.json()["id"]
    early = client.patch(
        f"/api/training/{record}", json={"completed_on": "2023-12-31"}, headers=staff
    )
    assert early.status_code == 422
    assert early.json()["detail"] == "completed_on (2023-12-31) is before started_on (2024-01-24)"
    kept = client.get("/api/training?mentor_id=M1", headers=staff).json()
    assert kept[0]["completed_on"] == "2024-01-24"


def test_an_unknown_mentor_is_not_found(app: FastAPI, client: TestClient, as_role: Headers) -> None:
    answer = add(client, as_role("matcher"), mentor_id="M9")
    assert answer.status_code == 404
    assert answer.json() == {"detail": "no mentor with id 'M9': import mentors first"}
    listed = client.get("/api/training?mentor_id=M9", headers=as_role("matcher"))
    assert (listed.status_code, listed.json()) == (404, {"detail": "no mentor with id 'M9'"})
    assert client.get("/api/training", headers=as_role("matcher")).json() == []
    assert stored(app) == []
    assert audit_entries(app) == []


@pytest.mark.usefixtures("mentors")
def test_bad_updates(app: FastAPI, client: TestClient, as_role: Headers) -> None:
    staff = as_role("matcher")
    record = add(client, staff).json()["id"]
    url = f"/api/training/{record}"
    nothing = client.patch(url, json={}, headers=staff)
    assert (nothing.status_code, nothing.json()) == (
        422,
        {"detail": "nothing to change: send completed_on and/or qualification"},
    )
    # Sessions cannot be raised after the fact, past the cap or otherwise.
    sessions = client.patch(url, json={"reimbursed_sessions": 4}, headers=staff)
    assert sessions.status_code == 422
    assert sessions.json()["problems"][0]["location"] == "body.reimbursed_sessions"
    for body in ({"completed_on": "soon"}, {"qualification": ""}, {"qualification": 5}):
        assert client.patch(url, json=body, headers=staff).status_code == 422, body
    missing = client.patch("/api/training/999", json={"qualification": "ILM5"}, headers=staff)
    assert (missing.status_code, missing.json()) == (
        404,
        {"detail": "no training record with id 999"},
    )
    unchanged = client.get("/api/training", headers=staff).json()[0]
    assert (unchanged["qualification"], unchanged["completed_on"]) == (None, None)
    assert unchanged["reimbursed_sessions"] == 1
    assert [a for a, *_ in audit_entries(app)] == ["training.create"]


@pytest.mark.usefixtures("mentors")
@pytest.mark.parametrize(
    ("change", "location"),
    [
        ({"started_on": "yesterday"}, "body.started_on"),
        ({"started_on": None}, "body.started_on"),
        ({"reimbursed_sessions": "two"}, "body.reimbursed_sessions"),
        ({"reimbursed_sessions": -1}, "body.reimbursed_sessions"),
        ({"reimbursed_sessions": 1.5}, "body.reimbursed_sessions"),
        ({"course": "  "}, "body.course"),
        ({"mentor_id": ""}, "body.mentor_id"),
        ({"cost_gbp": 2000}, "body.cost_gbp"),
    ],
)
def test_bad_input_is_refused_and_nothing_stored(
    app: FastAPI, client: TestClient, as_role: Headers, change: dict[str, Any], location: str
) -> None:
    answer = add(client, as_role("matcher"), **change)
    assert answer.status_code == 422
    assert location in [p["location"] for p in answer.json()["problems"]]
    assert stored(app) == []


@pytest.mark.usefixtures("mentors")
def test_malformed_json(app: FastAPI, client: TestClient, as_role: Headers) -> None:
    headers = {**as_role("matcher"), "Content-Type": "application/json"}
    answer = client.post("/api/training", content=b'{"mentor_id": "M1",', headers=headers)
    assert answer.status_code == 422
    assert "JSON decode error" in answer.json()["detail"]
    answer = client.post("/api/training", content=b"[]", headers=headers)
    assert answer.status_code == 422
    assert stored(app) == []


@pytest.mark.usefixtures("mentors")
def test_roles(app: FastAPI, client: TestClient, as_role: Headers) -> None:
    record = add(client, as_role("admin")).json()["id"]
    assert add(client, {}).status_code == 401
    assert client.get("/api/training").status_code == 401
    assert client.patch(f"/api/training/{record}", json={"qualification": "x"}).status_code == 401
    for role in ("analyst", "organiser"):
        headers = as_role(role)
        answer = add(client, headers)
        assert answer.status_code == 403
        assert (
            answer.json()["detail"] == f"the {role} role may not do this (allowed: admin, matcher)"
        )
        assert client.get("/api/training", headers=headers).status_code == 403
        patch = client.patch(
            f"/api/training/{record}", json={"qualification": "x"}, headers=headers
        )
        assert patch.status_code == 403
    assert stored(app) == [("M1", 1)]
    assert (
        client.get("/api/training", headers=as_role("matcher")).json()[0]["qualification"] is None
    )


@pytest.mark.usefixtures("mentors")
def test_audit_entries(app: FastAPI, client: TestClient, as_role: Headers) -> None:
    record = add(client, as_role("matcher"), reimbursed_sessions=2).json()["id"]
    add(client, as_role("matcher"), reimbursed_sessions=3)  # refused: not audited
    body = {"completed_on": "2024-06-30", "qualification": "ILM Level 5"}
    client.patch(f"/api/training/{record}", json=body, headers=as_role("admin"))
    assert audit_entries(app) == [
        ("training.create", "matcher", str(record), {"mentor_id": "M1", "reimbursed_sessions": 2}),
        ("training.update", "admin", str(record), {"fields": ["completed_on", "qualification"]}),
    ]
    with app.state.sessions() as session:
        assert session.scalar(select(func.count()).select_from(TrainingRecord)) == 1
    text = repr(audit_entries(app))
    for personal in ("Ada", "1234567", "ada@example.org"):
        assert personal not in text
