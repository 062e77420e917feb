"""The Matches and Register pages a page at a time: server-side paging and search, and a
Register action on the Matches page that returns to the page, filters and row it came from.

The scheme is generated (40 mentors, 180 mentees), imported through the API, and one round is
run and approved through the API: more than 100 confirmed matches, so three pages of 50.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from page_reading import sign_in
from scheme import approve_new_round, import_scheme, write_scheme

from matcher.data import ProblemData

Headers = Callable[[str], dict[str, str]]
ROW = re.compile(r'<tr id="match-(\d+)">')
MENTOR_ROW = re.compile(r'<tr id="mentor-(\w+)">')


def links(page: str) -> dict[str, str]:
    """The previous/next links of a page, by their ``rel``."""
    return {
        rel: html.unescape(href)
        for href, rel in re.findall(r'<a href="([^"]+)" rel="(\w+)">', page)
    }


@pytest.fixture
def problem(client: TestClient, as_role: Headers, tmp_path: Path) -> ProblemData:
    problem = write_scheme(tmp_path, n_mentors=40, n_mentees=180, seed=11)
    import_scheme(client, tmp_path, as_role("matcher"))
    return problem


@pytest.fixture
def approved(client: TestClient, as_role: Headers, problem: ProblemData) -> list[dict[str, Any]]:
    found = approve_new_round(client, as_role("matcher"))
    assert len(found) > 100, "too few matches for three pages"
    return found


def test_matches_are_paged_in_the_order_of_the_api(
    client: TestClient, approved: list[dict[str, Any]]
) -> None:
    sign_in(client, "matcher")
    total = len(approved)
    first = client.get("/matches")
    assert first.status_code == 200, first.text
    assert [int(i) for i in ROW.findall(first.text)] == [m["id"] for m in approved[:50]]
    assert f"Showing 1–50 of {total:,}" in first.text
    assert links(first.text) == {"next": "/matches?page=2"}

    second = client.get("/matches?page=2")
    assert [int(i) for i in ROW.findall(second.text)] == [m["id"] for m in approved[50:100]]
    assert f"Showing 51–100 of {total:,}" in second.text
    assert links(second.text) == {"prev": "/matches", "next": "/matches?page=3"}
    assert '<a href="/matches?page=3" rel="next">Next page' in second.text

    third = client.get("/matches?page=3")
    assert [int(i) for i in ROW.findall(third.text)] == [m["id"] for m in approved[100:150]]
    assert ("next" in links(third.text)) == (total > 150)
    # Past the end: the last page; per_page is capped at 200.
    last = client.get(f"/matches?page={-(-total // 50)}")
    assert "next" not in links(last.text)
    assert ROW.findall(client.get("/matches?page=99").text) == ROW.findall(last.text)
    assert len(ROW.findall(client.get("/matches?per_page=5000").text)) == min(total, 200)
    assert len(ROW.findall(client.get("/matches?per_page=20&page=2").text)) == 20


def test_search_finds_a_mentee_by_part_of_their_name(
    client: TestClient, approved: list[dict[str, Any]]
) -> None:
    sign_in(client, "matcher")
    wanted = approved[120]  # on page 3 of the whole list
    surname = wanted["mentee_name"].split()[-1]
    part = surname[1:-1].lower() if len(surname) > 3 else surname.lower()
    page = client.get("/matches", params={"q": part})
    assert page.status_code == 200, page.text
    shown = [int(i) for i in ROW.findall(page.text)]
    expected = [
        m["id"]
        for m in approved
        if part in m["mentee_name"].lower()
        or part in m["mentor_name"].lower()
        or part in m["mentee_id"].lower()
        or part in m["mentor_id"].lower()
    ]
    assert shown == expected[:50]
    assert wanted["id"] in expected
    # Ids too, and analysts search by id only (they never see a name).
    by_id = client.get("/matches", params={"q": wanted["mentee_id"].lower()})
    assert ROW.findall(by_id.text) == [str(wanted["id"])]
    sign_in(client, "analyst")
    assert client.get("/matches", params={"q": wanted["mentee_id"]}).status_code == 200
    assert ROW.findall(client.get("/matches", params={"q": surname}).text) in (
        [],
        [str(m["id"]) for m in approved if surname.lower() in m["mentee_id"].lower()][:50],
    )
    assert (
        "No match that is confirmed holds"
        in client.get("/matches", params={"q": "nobody-has-this", "status": "confirmed"}).text
    )


def test_paging_links_keep_the_search_and_the_status(
    client: TestClient, approved: list[dict[str, Any]]
) -> None:
    sign_in(client, "matcher")
    prefix = approved[0]["mentee_id"][:2].lower()  # every mentee id: every match
    page = client.get("/matches", params={"q": prefix, "status": "confirmed", "page": 2})
    assert f"Showing 51–100 of {len(approved):,}" in page.text
    assert links(page.text) == {
        "prev": f"/matches?q={prefix}&status=confirmed",
        "next": f"/matches?q={prefix}&status=confirmed&page=3",
    }
    assert f'name="q" value="{prefix}"' in page.text
    assert '<option value="confirmed" selected>' in page.text


def test_register_action_returns_to_the_page_and_row(
    client: TestClient, approved: list[dict[str, Any]]
) -> None:
    csrf = sign_in(client, "matcher")
    page = client.get("/matches?status=confirmed&page=2")
    back = "/matches?status=confirmed&page=2"
    assert f'name="back" value="{html.escape(back)}"' in page.text
    match_id = approved[60]["id"]
    answer = client.post(
        f"/matches/{match_id}/status",
        data={"status": "registered", "csrf_token": csrf, "back": back},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert location == f"{back}&notice=registered&match={match_id}#match-{match_id}"
    shown = client.get(location)
    assert f"Match {match_id} registered" in shown.text
    assert "Showing 51–100" in shown.text  # the same page, one fewer confirmed match

    # The End confirmation carries the page along, and so does its Cancel link.
    other = approved[70]["id"]
    ask = client.get(f"/matches/{other}/end", params={"back": back})
    assert f'name="back" value="{html.escape(back)}"' in ask.text
    assert f'href="{html.escape(back)}#match-{other}"' in ask.text
    ended = client.post(
        f"/matches/{other}/status",
        data={"status": "ended", "reason": "moved away", "csrf_token": csrf, "back": back},
        follow_redirects=False,
    )
    assert ended.headers["location"] == f"{back}&notice=ended&match={other}#match-{other}"

    # Only paths of this site.
    for n, elsewhere in enumerate(("//evil.example/x", "https://evil.example/", "/\t/evil.x")):
        third = approved[80 + n]["id"]
        answer = client.post(
            f"/matches/{third}/status",
            data={"status": "ended", "reason": "r", "csrf_token": csrf, "back": elsewhere},
            follow_redirects=False,
        )
        assert answer.headers["location"].startswith("/matches?notice=ended"), elsewhere


def test_register_is_paged_and_searchable(client: TestClient, problem: ProblemData) -> None:
    sign_in(client, "organiser")
    ids = sorted(m.mentor_id for m in problem.mentors)
    page = client.get("/register?per_page=10&page=2")
    assert page.status_code == 200, page.text
    assert MENTOR_ROW.findall(page.text) == ids[10:20]
    assert f"Showing 11–20 of {len(ids)}" in page.text
    assert links(page.text) == {
        "prev": "/register?per_page=10",
        "next": "/register?page=3&per_page=10",
    }
    assert MENTOR_ROW.findall(client.get("/register").text) == ids  # 40: one page of 50

    wanted = next(m for m in problem.mentors if m.mentor_id == ids[25])
    part = wanted.name.split()[-1].upper()
    found = client.get("/register", params={"q": part})
    assert wanted.mentor_id in MENTOR_ROW.findall(found.text)
    assert all(
        part.lower() in m.name.lower() or part.lower() in m.mentor_id.lower()
        for m in problem.mentors
        if m.mentor_id in MENTOR_ROW.findall(found.text)
    )
