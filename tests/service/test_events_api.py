"""Speed-meeting events over HTTP: plan a rotation, print it, feed the choices into a round."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from scheme import import_scheme, run_round, write_scheme

from matcher.checks import pair_allowed
from matcher.data import ProblemData

Headers = Callable[[str], dict[str, str]]


@pytest.fixture
def problem(client: TestClient, as_role: Headers, tmp_path: Path) -> ProblemData:
    problem = write_scheme(tmp_path, n_mentors=8, n_mentees=30, seed=11)
    import_scheme(client, tmp_path, as_role("matcher"))
    return problem


def plan(client: TestClient, headers: dict[str, str], problem: ProblemData, **extra: object):
    body = {
        "name": "Autumn evening",
        "held_on": "2026-11-30",
        "start": "18:30",
        "rounds": 3,
        "minutes": 8,
        "per_table": 2,
        "mentor_ids": [m.mentor_id for m in problem.mentors],
        "mentee_ids": [m.mentee_id for m in problem.mentees],
        **extra,
    }
    return client.post("/api/events", json=body, headers=headers)


def test_plan_read_and_print_an_event(
    client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    answer = plan(client, as_role("organiser"), problem)
    assert answer.status_code == 201, answer.text
    event = answer.json()
    schedule = client.get(f"/api/events/{event['id']}/schedule", headers=as_role("matcher")).json()
    meetings = schedule["meetings"]
    assert len(meetings) == event["stats"]["meetings"] > 0
    pairs = [(m["mentor"]["id"], m["mentee"]["id"]) for m in meetings]
    assert len(set(pairs)) == len(pairs)  # nobody meets the same person twice
    assert max(Counter((m["round"], m["mentee"]["id"]) for m in meetings).values()) == 1
    assert max(Counter((m["round"], m["table"]) for m in meetings).values()) <= 2
    mentors = {m.mentor_id: m for m in problem.mentors}
    mentees = {m.mentee_id: m for m in problem.mentees}
    assert all(pair_allowed(problem, mentors[a], mentees[b]) for a, b in pairs)
    assert {m["start"] for m in meetings} <= {"18:30", "18:38", "18:46"}
    busy = {(m["round"], p) for m in meetings for p in (m["mentor"]["id"], m["mentee"]["id"])}
    everyone = set(mentors) | set(mentees)
    breaks = {(b["round"], b["person"]["id"]) for b in schedule["breaks"]}
    assert breaks == {(r, p) for r in (1, 2, 3) for p in everyone} - busy
    assert meetings[0]["mentor"]["name"] == mentors[meetings[0]["mentor"]["id"]].name
    sheets = client.get(f"/api/events/{event['id']}/sheets", headers=as_role("organiser"))
    assert sheets.headers["content-type"].startswith("text/html")
    assert sheets.text.count('class="sheet"') == len(mentors) + len(mentees)
    assert "Table 1" in sheets.text and problem.mentees[0].name in sheets.text
    assert client.get("/api/events", headers=as_role("analyst")).status_code == 403
    assert plan(client, as_role("matcher"), problem).status_code == 403
    listed = client.get("/api/events", headers=as_role("admin")).json()
    assert [e["id"] for e in listed] == [event["id"]]


def test_bad_events_store_nothing(
    client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    organiser = as_role("organiser")
    unknown = plan(client, organiser, problem, mentee_ids=["NOBODY"])
    assert unknown.status_code == 404
    assert unknown.json()["unknown_ids"] == ["NOBODY"]
    assert plan(client, organiser, problem, per_table=4).status_code == 422
    late = plan(client, organiser, problem, start="25:00")
    assert late.status_code == 422
    assert "start time '25:00' must be HH:MM" in late.json()["detail"]
    twice = plan(client, organiser, problem, mentor_ids=["MR0001", "MR0001"])
    assert (twice.status_code, twice.json()["detail"]) == (
        422,
        "a mentor is listed twice among the attendees",
    )
    assert client.get("/api/events", headers=organiser).json() == []
    assert client.get("/api/events/99/schedule", headers=organiser).status_code == 404


def test_choices_become_preferences_and_the_round_says_so(
    client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    organiser = as_role("organiser")
    event_id = plan(client, organiser, problem).json()["id"]
    meeting = client.get(f"/api/events/{event_id}/schedule", headers=organiser).json()["meetings"][
        0
    ]
    mentor_id, mentee_id = meeting["mentor"]["id"], meeting["mentee"]["id"]
    other = next(m.mentor_id for m in problem.mentors if m.mentor_id != mentor_id)
    url = f"/api/events/{event_id}/choices"
    bad = client.post(
        url, json={"side": "mentee", "choices": {mentee_id: ["NOBODY"]}}, headers=organiser
    )
    assert bad.status_code == 422
    assert bad.json()["detail"] == f"{mentee_id} chose NOBODY, not a mentor at this event"
    assert client.get(url, headers=organiser).json() == []
    mentee_side = {"side": "mentee", "choices": {mentee_id: [mentor_id, other]}}
    answer = client.post(url, json=mentee_side, headers=organiser).json()
    assert (answer["people"], answer["choices"], answer["records_changed"]) == (1, 2, 1)
    mentor_side = {"side": "mentor", "choices": {mentor_id: [mentee_id]}}
    assert client.post(url, json=mentor_side, headers=organiser).status_code == 200
    stored = client.get(url, headers=organiser).json()
    assert [(c["side"], c["person_id"], c["rank"], c["choice_id"]) for c in stored] == [
        ("mentee", mentee_id, 1, mentor_id),
        ("mentee", mentee_id, 2, other),
        ("mentor", mentor_id, 1, mentee_id),
    ]
    history = client.get(f"/api/mentees/{mentee_id}/history", headers=as_role("admin")).json()
    assert history[-1]["record"]["preferred_mentors"] == f"{mentor_id};{other}"

    # The next round rewards the mutual first choice, and its reasons say so.
    staff = as_role("matcher")
    body = {"name": "After the evening", "time_limit": 20, "mentee_ids": [mentee_id]}
    round_id = client.post("/api/rounds", json=body, headers=staff).json()["id"]
    pin = {"kind": "pin", "mentor_id": mentor_id, "mentee_id": mentee_id}
    assert client.post(f"/api/rounds/{round_id}/pairs", json=pin, headers=staff).status_code == 201
    assert run_round(client, round_id, staff)["status"] == "done"
    [proposal] = client.get(f"/api/rounds/{round_id}/proposals", headers=staff).json()
    assert "mutual 1st choice at the speed-meeting" in proposal["reasons"]
