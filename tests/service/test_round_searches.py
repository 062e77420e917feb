"""On each database, with the small scheme: the Rounds list a page at a time, and the pin
search of a round's page."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from page_reading import sign_in
from scheme import run_round
from test_round_page_paging import links, section

from matcher.data import ProblemData

Headers = Callable[[str], dict[str, str]]


def test_the_rounds_list_is_paged(client: TestClient, as_role: Headers) -> None:
    staff = as_role("matcher")
    ids = [
        client.post("/api/rounds", json={"name": f"R{n}", "time_limit": 5}, headers=staff).json()[
            "id"
        ]
        for n in range(12)
    ]
    sign_in(client, "matcher")
    page = client.get("/rounds", params={"per_page": 5, "page": 2})
    shown = [int(i) for i in re.findall(r'<td><a href="/rounds/(\d+)">', page.text)]
    assert shown == sorted(ids, reverse=True)[5:10]
    assert "Showing 6–10 of 12" in page.text
    assert links(page.text) == {
        "prev": "/rounds?per_page=5",
        "next": "/rounds?page=3&per_page=5",
    }


def test_the_pin_search_lists_waiting_mentees_of_the_round(
    client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    """On each database, with the small scheme (6 mentors, 30 mentees): the search is
    case-insensitive, in ids and names, lists only mentees with no match, and never more
    than ten."""
    staff = as_role("matcher")
    # A round of the first 12 mentees, approved: those it matched wait no more.
    first = sorted(m.mentee_id for m in problem.mentees)[:12]
    body = {"name": "First", "time_limit": 5, "mentee_ids": first}
    approved = client.post("/api/rounds", json=body, headers=staff).json()["id"]
    assert run_round(client, approved, staff)["status"] == "done"
    assert client.post(f"/api/rounds/{approved}/approve", headers=staff).status_code == 200
    matched = {m["mentee_id"] for m in client.get("/api/matches", headers=staff).json()}
    assert matched
    answer = client.post("/api/rounds", json={"name": "Next", "time_limit": 5}, headers=staff)
    round_id = answer.json()["id"]
    sign_in(client, "matcher")
    page = client.get(f"/rounds/{round_id}", params={"find_mentee": "me0", "find_mentor": "Mr0"})
    finder = section(page.text, "pins-heading")
    waiting = sorted(m.mentee_id for m in problem.mentees if m.mentee_id not in matched)
    assert re.findall(r'name="mentee_id" value="([^"]+)"', finder) == waiting[:10]
    assert f"{len(waiting)} found; the first 10 are listed" in finder
    mentors = sorted(m.mentor_id for m in problem.mentors)
    assert re.findall(r'name="mentor_id" value="([^"]+)"', finder) == mentors
    name = next(m.name for m in problem.mentees if m.mentee_id in waiting)
    by_name = client.get(f"/rounds/{round_id}", params={"find_mentee": name.upper()})
    found = re.findall(r'name="mentee_id" value="([^"]+)"', section(by_name.text, "pins-heading"))
    assert (
        found
        == [
            m.mentee_id
            for m in sorted(problem.mentees, key=lambda m: m.mentee_id)
            if m.mentee_id in waiting and name.lower() in m.name.lower()
        ][:10]
    )
    assert found
