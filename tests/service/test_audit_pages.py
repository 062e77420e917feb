"""The audit log page: admins only, newest first, filtered and paged in the database.

The log is seeded with 120 entries of known actions, users, records and times (one every 7
hours from 1 October 2026, 09:00 UTC), beside those the fixtures and signing in make. Each
filter's expected entries are computed here, in Python, from every stored entry.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from page_reading import cells
from scheme import approve_new_round, sign_in
from sqlalchemy import insert, select, text

from matcher.data import ProblemData
from service.db import transaction
from service.models import AuditEntry

Headers = Callable[[str], dict[str, str]]
ROW = re.compile(r'<tr id="entry-(\d+)">')
NEXT = re.compile(r'<a href="([^"]+)" rel="next">')
ACTIONS = ("rounds.approve", "matches.registered", "training.create")
ENTITIES = {"rounds.approve": "round", "matches.registered": "match", "training.create": "training"}
USERS = ("alice", "bob", "carol", "system")
START = datetime(2026, 10, 1, 9, 0)


@dataclass(frozen=True)
class Stored:
    id: int
    at: datetime
    username: str
    action: str
    entity: str
    entity_id: str | None


def seed(app: FastAPI, n: int = 120, first: datetime = START) -> None:
    """Entry i: action i mod 3, user i mod 4, record id i mod 5 + 1, 7 hours after entry i-1."""
    rows = [
        {
            "at": first + timedelta(hours=7 * i),
            "user_id": None,
            "username": USERS[i % 4],
            "action": ACTIONS[i % 3],
            "entity": ENTITIES[ACTIONS[i % 3]],
            "entity_id": str(i % 5 + 1),
            "detail": {"mentor_id": f"MR{i:04d}", "count": i},
        }
        for i in range(n)
    ]
    with transaction(app.state.sessions) as session:
        session.execute(insert(AuditEntry), rows)


def stored(app: FastAPI) -> list[Stored]:
    """Every entry, newest first."""
    with app.state.read_sessions() as session:
        return [
            Stored(e.id, e.at, e.username, e.action, e.entity, e.entity_id)
            for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()))
        ]


def shown(client: TestClient, url: str) -> list[int]:
    """The ids of the entries on every page of ``url``, following the "Next page" links."""
    ids: list[int] = []
    while True:
        page = client.get(url)
        assert page.status_code == 200, page.text
        ids += [int(i) for i in ROW.findall(page.text)]
        found = NEXT.search(page.text)
        if not found:
            return ids
        url = found[1].replace("&amp;", "&")


@pytest.fixture
def admin(app: FastAPI, client: TestClient, tokens: dict[str, str]) -> TestClient:
    """The client, signed in as the admin through the form, with the 120 entries seeded."""
    seed(app)
    sign_in(client, "admin", "secret-admin")
    return client


FILTERS: list[tuple[dict[str, str], Callable[[Stored], bool]]] = [
    ({"action": "matches.registered"}, lambda e: e.action == "matches.registered"),
    ({"user": "bob"}, lambda e: e.username == "bob"),
    ({"entity": "round"}, lambda e: e.entity == "round"),
    (
        {"entity": "round", "entity_id": "3"},
        lambda e: (e.entity, e.entity_id) == ("round", "3"),
    ),
    # 10 to 20 October, both whole days included.
    (
        {"since": "2026-10-10", "until": "2026-10-20"},
        lambda e: date(2026, 10, 10) <= e.at.date() <= date(2026, 10, 20),
    ),
    (
        {"action": "rounds.approve", "user": "alice", "since": "2026-10-05"},
        lambda e: (
            e.action == "rounds.approve"
            and e.username == "alice"
            and e.at.date() >= date(2026, 10, 5)
        ),
    ),
    ({"until": "2026-10-01"}, lambda e: e.at.date() <= date(2026, 10, 1)),
]


@pytest.mark.parametrize(("query", "keeps"), FILTERS)
def test_each_filter_shows_exactly_the_matching_entries_newest_first(
    app: FastAPI, admin: TestClient, query: dict[str, str], keeps: Callable[[Stored], bool]
) -> None:
    url = "/audit?" + "&".join(f"{k}={v}" for k, v in query.items())
    ids = shown(admin, url)
    expected = [e.id for e in stored(app) if keeps(e)]
    assert expected  # every filter here selects something
    assert ids == expected
    total = admin.get(url).text
    assert f"{len(expected):,} entr{'y' if len(expected) == 1 else 'ies'} matching the filter" in (
        total
    )


def test_a_filter_that_matches_nothing_says_so(admin: TestClient) -> None:
    page = admin.get("/audit?user=bob&action=training.create&entity_id=999")
    assert page.status_code == 200
    assert ROW.findall(page.text) == []
    assert "No entry matches the filter." in page.text


def test_the_log_is_paged_newest_first_and_the_links_keep_the_filter(
    app: FastAPI, admin: TestClient
) -> None:
    everything = [e.id for e in stored(app)]
    assert len(everything) > 120  # the seeded entries and the fixtures' own
    page = admin.get("/audit")
    assert [int(i) for i in ROW.findall(page.text)] == everything[:50]
    assert f"Showing 1–50 of {len(everything):,}" in page.text
    assert shown(admin, "/audit") == everything

    # 40 of the 120 are rounds.approve: pages of 15 are 15, 15 and 10, and stay filtered.
    approvals = [e.id for e in stored(app) if e.action == "rounds.approve"]
    assert len(approvals) == 40
    first = admin.get("/audit?action=rounds.approve&per_page=15")
    assert "Showing 1–15 of 40 (page 1 of 3)" in first.text
    assert '<a href="/audit?action=rounds.approve&amp;page=2&amp;per_page=15" rel="next">' in (
        first.text
    )
    last = admin.get("/audit?action=rounds.approve&per_page=15&page=3")
    assert [int(i) for i in ROW.findall(last.text)] == approvals[30:]
    assert 'rel="next"' not in last.text
    # A page past the end shows the last one.
    beyond = admin.get("/audit?action=rounds.approve&per_page=15&page=99")
    assert [int(i) for i in ROW.findall(beyond.text)] == approvals[30:]


def test_each_entry_shows_when_who_what_which_record_and_its_details(
    app: FastAPI, admin: TestClient
) -> None:
    first = min(e.id for e in stored(app) if e.at == START)
    page = admin.get("/audit?since=2026-10-01&until=2026-10-01")
    # Entry 0: 1 October 09:00, alice, rounds.approve of round 1; entries 1 and 2 the same day.
    assert cells(page.text, f"entry-{first}") == [
        "2026-10-01 09:00:00",
        "alice",
        "rounds.approve",
        "round 1",
        "count 0; mentor_id MR0000",
    ]
    assert [int(i) for i in ROW.findall(page.text)] == [first + 2, first + 1, first]
    # The filters offer the values present, and keep the chosen ones.
    for action in ACTIONS:
        assert f'<option value="{action}">' in page.text
    for user in USERS:
        assert f'<option value="{user}">' in page.text
    assert '<option value="admin">' in page.text  # signing in is in the log too
    page = admin.get("/audit?action=training.create&user=carol")
    assert '<option value="training.create" selected>' in page.text
    assert '<option value="carol" selected>' in page.text


def test_only_admins_read_the_log(client: TestClient, tokens: dict[str, str]) -> None:
    answer = client.get("/audit?user=bob", follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (
        303,
        "/login?next=/audit%3Fuser%3Dbob",
    )
    for role in ("matcher", "organiser", "analyst"):
        sign_in(client, role, f"secret-{role}")
        answer = client.get("/audit")
        assert answer.status_code == 403, role
        assert "Audit" not in re.findall(r"<nav.*?</nav>", answer.text, re.S)[0]
    sign_in(client, "admin", "secret-admin")
    page = client.get("/audit")
    assert page.status_code == 200
    assert '<a href="/audit" aria-current="page">Audit</a>' in page.text


def test_a_date_that_is_not_a_date_is_refused(admin: TestClient) -> None:
    answer = admin.get("/audit?since=2026-13-01")
    assert answer.status_code == 422
    assert "the from date &#39;2026-13-01&#39; is not a date" in answer.text
    assert admin.get("/audit?until=yesterday").status_code == 422
    assert admin.get("/audit?action=" + "x" * 65).status_code == 422
    # Control characters are refused before they reach the database (PostgreSQL refuses NUL).
    for query in ("action=rounds.%00", "user=bob%0A", "entity_id=1%00", "since=2026-10-0%00"):
        answer = admin.get(f"/audit?{query}")
        assert answer.status_code == 422, query
        assert "must not contain control characters" in answer.text, query


def test_the_log_of_real_work_names_nobody(
    client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    staff = as_role("matcher")
    matches = approve_new_round(client, staff)
    match = matches[0]
    answer = client.patch(
        f"/api/matches/{match['id']}", json={"status": "registered"}, headers=staff
    )
    assert answer.status_code == 200
    today = date.today().isoformat()
    session = {"held_on": today, "minutes": 45}
    assert (
        client.post(f"/api/matches/{match['id']}/sessions", json=session, headers=staff).status_code
        == 201
    )

    sign_in(client, "admin", "secret-admin")
    page = client.get("/audit?per_page=200")
    actions = {cells(page.text, f"entry-{i}")[2] for i in ROW.findall(page.text)}
    assert {"mentors.import", "rounds.approve", "matches.registered", "sessions.create"} <= actions
    people = [p.name for p in problem.mentors] + [p.name for p in problem.mentees]
    people += [str(p.email) for p in problem.mentors if p.email]
    assert [name for name in people if name in page.text] == []
    row = client.get(f"/audit?action=matches.registered&entity_id={match['id']}").text
    (entry,) = ROW.findall(row)
    assert cells(row, f"entry-{entry}")[1:] == [
        "matcher",
        "matches.registered",
        f"match {match['id']}",
        "before confirmed",
    ]


NATIONAL = 30_000


def test_a_national_log_is_light(app: FastAPI, admin: TestClient, database_url: str) -> None:
    # Ten days of 3,000 entries each, one every 28.8 seconds.
    rows: list[dict[str, Any]] = [
        {
            "at": datetime(2027, 1, 1) + timedelta(seconds=28.8 * i),
            "user_id": None,
            "username": f"user{i % 40:02d}",
            "action": f"area{i % 12}.change{i % 5}",
            "entity": ("round", "match", "training", "user")[i % 4],
            "entity_id": str(i % 997),
            "detail": {"mentor_id": f"MR{i % 600:04d}", "mentee_id": f"ME{i % 3000:04d}"},
        }
        for i in range(NATIONAL)
    ]
    with transaction(app.state.sessions) as session:
        session.execute(insert(AuditEntry), rows)
    for url in (
        "/audit",
        "/audit?per_page=200",
        "/audit?page=400",
        "/audit?action=area3.change3&user=user03",
        "/audit?entity=match&entity_id=5",
        "/audit?since=2027-01-04&until=2027-01-05&per_page=200",
    ):
        seconds = []
        for _ in range(3):
            began = time.perf_counter()
            page = admin.get(url)
            seconds.append(time.perf_counter() - began)
            assert page.status_code == 200, url
        assert len(page.content) < 300_000, (url, len(page.content))
        assert min(seconds) < 1.0, (url, seconds)
    if database_url.startswith("sqlite"):
        # The page's rows come in the primary key's order: no sort of the whole log.
        with app.state.read_sessions() as session:
            plan = session.execute(
                text("EXPLAIN QUERY PLAN SELECT * FROM audit_log ORDER BY id DESC LIMIT 50")
            ).all()
        assert not any("TEMP B-TREE" in str(step) for step in plan), plan
