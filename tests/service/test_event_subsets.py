"""Events planned for whoever comes, on the LMC sample: stated preferences that name people
who are not there are left out of the planning (and counted), so any subset of the register
plans; attendee ids are read as a person would type them."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from matcher.data import ProblemData

Headers = Callable[[str], dict[str, str]]


def plan(
    client: TestClient, headers: dict[str, str], mentors: list[str], mentees: list[str], **extra
) -> Response:
    body = {
        "name": "Evening",
        "held_on": "2026-11-30",
        "rounds": 3,
        "per_table": 2,
        "mentor_ids": mentors,
        "mentee_ids": mentees,
        **extra,
    }
    return client.post("/api/events", json=body, headers=headers)


def unused(problem: ProblemData, mentors: list[str], mentees: list[str]) -> int:
    """Stated preferences naming someone outside the attendees, counted from the files."""
    return sum(
        1
        for e in problem.mentees
        if e.mentee_id in mentees
        for m in e.preferred_mentors
        if m not in mentors
    ) + sum(
        1
        for r in problem.mentors
        if r.mentor_id in mentors
        for e in r.preferred_mentees
        if e not in mentees
    )


def test_preferences_for_absent_mentors_are_left_out_and_counted(
    client: TestClient, as_role: Headers, lmc: ProblemData
) -> None:
    organiser = as_role("organiser")
    mentors = [f"MR{k:04d}" for k in range(1, 9)]
    # ME0004 prefers MR0016;MR0025 (both absent), ME0014 MR0011 (absent) and ME0017
    # MR0006;MR0014 (MR0006 comes): 2 + 1 + 1 = 4 preferences are not used.
    mentees = ["ME0004", "ME0014", "ME0017", "ME0001", "ME0002"]
    answer = plan(client, organiser, mentors, mentees)
    assert answer.status_code == 201, answer.text
    event = answer.json()
    assert event["stats"]["preferences_not_used"] == 4 == unused(lmc, mentors, mentees)
    schedule = client.get(f"/api/events/{event['id']}/schedule", headers=organiser)
    assert schedule.status_code == 200 and schedule.json()["meetings"]
    # The stored preferences themselves are unchanged.
    history = client.get("/api/mentees/ME0004/history", headers=as_role("admin")).json()
    assert history[-1]["record"]["preferred_mentors"] == "MR0016;MR0025"
    page = client.get(f"/api/events/{event['id']}/sheets", headers=organiser)
    assert page.status_code == 200


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_any_subset_of_the_register_plans(
    client: TestClient, as_role: Headers, lmc: ProblemData, seed: int
) -> None:
    rng = random.Random(seed)
    all_mentors = [m.mentor_id for m in lmc.mentors]
    all_mentees = [m.mentee_id for m in lmc.mentees]
    mentors = rng.sample(all_mentors, rng.randint(1, len(all_mentors)))
    mentees = rng.sample(all_mentees, rng.randint(1, 60))
    per_table = rng.randint(1, 3)
    answer = plan(client, as_role("organiser"), mentors, mentees, per_table=per_table)
    assert answer.status_code == 201, answer.text
    stats = answer.json()["stats"]
    assert stats["preferences_not_used"] == unused(lmc, mentors, mentees)


def test_ids_are_read_as_typed_and_unknown_ones_named(
    client: TestClient, as_role: Headers, lmc: ProblemData
) -> None:
    organiser = as_role("organiser")
    answer = plan(client, organiser, ["mr0001 ", " MR0002"], ["me0004", "Me0014  "])
    assert answer.status_code == 201, answer.text
    schedule = client.get(f"/api/events/{answer.json()['id']}/schedule", headers=organiser).json()
    people = {m["mentor"]["id"] for m in schedule["meetings"]} | {
        m["mentee"]["id"] for m in schedule["meetings"]
    }
    assert people <= {"MR0001", "MR0002", "ME0004", "ME0014"}
    assert "ME0004" in people
    twice = plan(client, organiser, ["MR0001", "mr0001"], ["ME0004"])
    assert (twice.status_code, twice.json()["detail"]) == (
        422,
        "a mentor is listed twice among the attendees",
    )
    unknown = plan(client, organiser, ["MR0001"], ["ME0004", "NOBODY "])
    assert unknown.status_code == 404
    assert unknown.json()["unknown_ids"] == ["NOBODY"]
