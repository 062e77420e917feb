"""The Training page, used as a browser uses it: signed in by the form, a mentor found by a
search, a course recorded, refused with the problem next to its field, then completed.

Two mentors are imported through the API (``MENTORS``); the cap on reimbursed sessions is
the default 4 a mentor.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from page_reading import cells, error_of, sign_in, text
from sqlalchemy import func, select

from service.models import AuditEntry, TrainingRecord

Headers = Callable[[str], dict[str, str]]
MENTORS = (
    "mentor_id,name,email,gmc_number\n"
    "MR0001,Dr Ada Byron,ada@example.org,1234567\n"
    "MR0002,Dr Bo Diddley,bo@example.org,2345678\n"
    "MR0003,Dr Ada Palmer,adap@example.org,3456789\n"
)
COURSE = {
    "mentor_id": "Dr Bo Diddley (MR0002)",
    "course": "ILM Level 5 Certificate in Coaching and Mentoring",
    "qualification": "",
    "started_on": "2026-01-24",
    "completed_on": "",
    "reimbursed_sessions": "3",
}


@pytest.fixture
def mentors(client: TestClient, as_role: Headers) -> None:
    files = {"file": ("mentors.csv", MENTORS.encode(), "text/csv")}
    answer = client.post("/api/mentors/import", files=files, headers=as_role("matcher"))
    assert answer.status_code == 200, answer.text


def value_of(page: str, field_id: str) -> str:
    found = re.search(rf'<input id="{field_id}" [^>]*value="([^"]*)"', page)
    assert found, f"no field {field_id}"
    return html.unescape(found[1])


def records(app: FastAPI) -> list[tuple[str, str, Any, int]]:
    with app.state.sessions() as session:
        query = select(TrainingRecord).order_by(TrainingRecord.id)
        return [
            (r.mentor_id, r.course, r.completed_on, r.reimbursed_sessions)
            for r in session.scalars(query)
        ]


def audited(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    with app.state.sessions() as session:
        query = select(AuditEntry).where(AuditEntry.action.startswith("training."))
        return [
            (e.action, e.username, e.detail) for e in session.scalars(query.order_by(AuditEntry.id))
        ]


@pytest.mark.usefixtures("mentors")
def test_a_matcher_finds_a_mentor_records_a_course_and_completes_it(
    app: FastAPI, client: TestClient
) -> None:
    csrf = sign_in(client, "matcher")
    # "ada" is in two names: the search lists both, each with a link that fills the form.
    found = client.get("/training", params={"find": "ada"})
    assert found.status_code == 200
    assert "2 mentor(s) match “ada”" in text(found.text)
    assert 'href="/training?chosen=MR0001#record-heading"' in found.text
    assert 'href="/training?chosen=MR0003#record-heading"' in found.text
    chosen = client.get("/training", params={"chosen": "MR0002"})
    assert value_of(chosen.text, "tr_mentor_id") == "Dr Bo Diddley (MR0002)"

    answer = client.post("/training", data={**COURSE, "csrf_token": csrf}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/training?notice=recorded&record=1"
    page = client.get(answer.headers["location"])
    assert "Training record 1 saved." in page.text
    assert cells(page.text, "training-1") == [
        "1",
        "Dr Bo Diddley MR0002",
        "ILM Level 5 Certificate in Coaching and Mentoring",
        "",
        "2026-01-24",
        "",
        "3",
        "In progress",
    ]
    assert records(app) == [("MR0002", COURSE["course"], None, 3)]

    # Completed on 2026-06-30 with the certificate: the same function as PATCH /api/training.
    form = client.get("/training/1")
    assert "the mentor has used 3 of 4" in text(form.text)
    done = client.post(
        "/training/1",
        data={"csrf_token": csrf, "completed_on": "2026-06-30", "qualification": "ILM5"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    listed = client.get("/training", params={"state": "completed"})
    assert cells(listed.text, "training-1")[3:] == [
        "ILM5",
        "2026-01-24",
        "2026-06-30",
        "3",
        "Completed",
    ]
    assert "training-1" not in client.get("/training", params={"state": "in_progress"}).text
    assert [d.isoformat() if d else None for _m, _c, d, _s in records(app)] == ["2026-06-30"]
    assert audited(app) == [
        ("training.create", "matcher", {"mentor_id": "MR0002", "reimbursed_sessions": 3}),
        ("training.update", "matcher", {"fields": ["completed_on", "qualification"]}),
    ]


@pytest.mark.usefixtures("mentors")
def test_a_refused_form_shows_each_problem_by_its_field_and_keeps_what_was_typed(
    app: FastAPI, client: TestClient
) -> None:
    csrf = sign_in(client, "admin")
    bad = {
        **COURSE,
        "csrf_token": csrf,
        "course": "  ",
        "started_on": "24/01/2026",
        "reimbursed_sessions": "9",
    }
    answer = client.post("/training", data=bad)
    assert answer.status_code == 422
    assert error_of(answer.text, "tr_course") == "Error: Must not be blank"
    assert error_of(answer.text, "tr_started_on") == "Error: Must be a date as YYYY-MM-DD"
    assert value_of(answer.text, "tr_mentor_id") == "Dr Bo Diddley (MR0002)"
    assert value_of(answer.text, "tr_started_on") == "24/01/2026"
    assert records(app) == []

    # The cap is checked by training.create with the mentor's other records: 3 + 2 > 4.
    first = client.post("/training", data={**COURSE, "csrf_token": csrf}, follow_redirects=False)
    assert first.status_code == 303
    over = client.post("/training", data={**COURSE, "csrf_token": csrf, "reimbursed_sessions": "2"})
    assert over.status_code == 422
    assert error_of(over.text, "tr_reimbursed_sessions") == (
        "Error: Mentor MR0002 has 1 reimbursed training session(s) left of 4; "
        "this record asks for 2"
    )
    # "ada" names two mentors, "Dr Zed" none: the mentor field says so.
    for typed, problem in (
        ("ada", "Error: 2 mentors match: find the mentor and choose one"),
        ("Dr Zed", "Error: No mentor has this id, nor a name holding it"),
    ):
        refused = client.post("/training", data={**COURSE, "csrf_token": csrf, "mentor_id": typed})
        assert refused.status_code == 422
        assert error_of(refused.text, "tr_mentor_id") == problem
        assert value_of(refused.text, "tr_mentor_id") == typed
    # A unique part of a name is enough.
    palmer = {**COURSE, "csrf_token": csrf, "mentor_id": "palmer", "reimbursed_sessions": "0"}
    assert client.post("/training", data=palmer, follow_redirects=False).status_code == 303
    assert [m for m, *_rest in records(app)] == ["MR0002", "MR0003"]

    backwards = client.post("/training/1", data={"csrf_token": csrf, "completed_on": "2025-12-31"})
    assert backwards.status_code == 422
    assert error_of(backwards.text, "up_completed_on") == (
        "Error: Completed on (2025-12-31) is before started on (2026-01-24)"
    )
    assert value_of(backwards.text, "up_completed_on") == "2025-12-31"
    assert records(app)[0][2] is None
    # Without a CSRF token nothing is stored.
    forged = client.post("/training", data=COURSE)
    assert forged.status_code == 403
    assert len(records(app)) == 2


@pytest.mark.usefixtures("mentors")
def test_the_list_is_paged_and_filtered_in_the_database(
    app: FastAPI, client: TestClient, as_role: Headers
) -> None:
    for n in range(5):
        body = {"mentor_id": "MR0001", "course": f"Course {n}", "started_on": "2026-01-01"}
        if n % 2:
            body["completed_on"] = "2026-02-01"
        assert (
            client.post("/api/training", json=body, headers=as_role("matcher")).status_code == 201
        )
    body = {"mentor_id": "MR0003", "course": "Other", "started_on": "2026-01-01"}
    assert client.post("/api/training", json=body, headers=as_role("matcher")).status_code == 201
    sign_in(client, "matcher")
    # Newest first, 2 a page: records 6 and 5 on page 1, of 3 pages.
    first = client.get("/training", params={"per_page": 2})
    assert re.findall(r'<tr id="training-(\d+)">', first.text) == ["6", "5"]
    assert "Showing 1–2 of 6 (page 1 of 3)" in first.text
    assert 'href="/training?page=2&amp;per_page=2" rel="next"' in first.text
    # MR0001's records in progress: 5, 3 and 1.
    mine = client.get("/training", params={"mentor": "MR0001", "state": "in_progress"})
    assert re.findall(r'<tr id="training-(\d+)">', mine.text) == ["5", "3", "1"]
    assert "No training record of MR9999." in text(client.get("/training?mentor=MR9999").text)
    with app.state.sessions() as session:
        assert session.scalar(select(func.count()).select_from(TrainingRecord)) == 6


def test_only_staff_see_the_training_page(client: TestClient, tokens: dict[str, str]) -> None:
    assert client.get("/training", follow_redirects=False).status_code == 303
    sign_in(client, "analyst")
    assert client.get("/training").status_code == 403
