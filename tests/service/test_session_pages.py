"""The Sessions list and a mentor's monthly return, used as a browser uses them.

The scheme is the generated one of ``scheme.write_scheme`` (6 mentors, 30 mentees, seed 7),
imported through the API; matches come from a round run and approved through the API, and
their confirmations are then moved 100 days back, so that last month (the return's default)
can take sessions whatever today is.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from page_reading import cells, sign_in
from scheme import approve_new_round
from sqlalchemy import func, select, update

from matcher.data import ProblemData
from service.db import transaction
from service.models import AuditEntry, Match, MentoringSession, SessionReturn
from service.session_logs import ReturnInvalid, TypedRow, check_return

Headers = Callable[[str], dict[str, str]]
FORM_ID = re.compile(r'name="form_id" value="([^"]+)"')


def month_before(today: date) -> tuple[date, str]:
    """The first day of the month before ``today``'s, and that month as ``YYYY-MM``."""
    first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    return first, f"{first:%Y-%m}"


FIRST, MONTH = month_before(date.today())


@pytest.fixture
def approved(
    app: FastAPI, client: TestClient, as_role: Headers, problem: ProblemData
) -> list[dict[str, Any]]:
    """The confirmed matches of one round, confirmed (as far as sessions go) 100 days ago."""
    found = approve_new_round(client, as_role("matcher"))
    assert len(found) >= 10
    with transaction(app.state.sessions) as db:
        db.execute(update(Match).values(confirmed_at=datetime.now() - timedelta(days=100)))
    return found


def by_mentor(matches: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for m in matches:
        out.setdefault(m["mentor_id"], []).append(m)
    return out


def busiest(matches: list[dict[str, Any]], skip: int = 0) -> tuple[str, list[dict[str, Any]]]:
    """The mentor with the most matches (``skip`` passes over the first few)."""
    ranked = sorted(by_mentor(matches).items(), key=lambda item: (-len(item[1]), item[0]))
    return ranked[skip]


def send_return(
    client: TestClient,
    mentor_id: str,
    csrf: str,
    sessions: dict[int, list[tuple[str, str]]],
    month: str = MONTH,
    page: str | None = None,
) -> Any:
    """Fill the return of ``mentor_id`` as a person would: each match's rows in the order
    the form shows them, ``sessions[match_id]`` typed into its first rows, the rest empty."""
    if page is None:
        shown = client.get(f"/sessions/return?mentor={mentor_id}&month={month}")
        assert shown.status_code == 200, shown.text
        page = shown.text
    form_id = FORM_ID.search(page)
    assert form_id, page
    order = [int(m) for m in re.findall(r'name="match" value="(\d+)"', page)]
    used: Counter[int] = Counter()
    held_on, minutes = [], []
    for match_id in order:
        typed = sessions.get(match_id, [])
        day, length = typed[used[match_id]] if used[match_id] < len(typed) else ("", "")
        used[match_id] += 1
        held_on.append(day)
        minutes.append(length)
    assert all(used[m] >= len(rows) for m, rows in sessions.items()), "more rows than the form"
    data = {
        "csrf_token": csrf,
        "form_id": form_id[1],
        "mentor": mentor_id,
        "month": month,
        "match": [str(m) for m in order],
        "held_on": held_on,
        "minutes": minutes,
    }
    return client.post("/sessions/return", data=data, follow_redirects=False)


def stored(app: FastAPI) -> list[tuple[int, date, int]]:
    with transaction(app.state.sessions) as db:
        rows = db.execute(
            select(MentoringSession.match_id, MentoringSession.held_on, MentoringSession.minutes)
        )
        return sorted(tuple(row) for row in rows)  # type: ignore[misc]


def audited(app: FastAPI, action: str) -> int:
    with transaction(app.state.sessions) as db:
        return db.scalar(select(func.count()).where(AuditEntry.action == action)) or 0


def day(n: int) -> str:
    """Day ``n`` of last month, as typed."""
    return FIRST.replace(day=n).isoformat()


def ledger_line(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    year = FIRST.year if FIRST.month >= 4 else FIRST.year - 1
    answer = client.get(f"/api/reports/finance?year={year}", headers=headers)
    assert answer.status_code == 200, answer.text
    line: dict[str, Any] = next(m for m in answer.json()["months"] if m["month"] == MONTH)
    return line


def test_a_return_logs_sessions_as_the_api_does(
    app: FastAPI, client: TestClient, as_role: Headers, approved: list[dict[str, Any]]
) -> None:
    csrf = sign_in(client, "matcher")
    mentor_id, matches = busiest(approved)
    assert len(matches) >= 2
    a, b = matches[0]["id"], matches[1]["id"]

    # The mentor is found by part of their id; the answer links to their return.
    found = client.get(f"/sessions/return?q={mentor_id[-3:].lower()}")
    assert found.status_code == 200, found.text
    assert f'href="/sessions/return?mentor={mentor_id}&amp;month={MONTH}"' in found.text
    page = client.get(f"/sessions/return?mentor={mentor_id}")  # last month by default
    assert page.status_code == 200, page.text
    assert f'name="month" value="{MONTH}"' in page.text
    assert sorted(
        set(re.findall(r'<fieldset class="card return-match" id="match-(\d+)"', page.text))
    ) == (sorted(str(m["id"]) for m in matches))

    # Days 8 and 15 are a week apart; day 15 of the second match is in the same week as the
    # first's: the mentor is paid 2 weeks, for 3 sessions of 60 + 45 + 30 = 135 minutes.
    answer = send_return(
        client, mentor_id, csrf, {a: [(day(8), "60"), (day(15), "45")], b: [(day(15), "30")]}
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == (
        f"/sessions/return?mentor={mentor_id}&month={MONTH}&logged=3&mentees=2#return"
    )
    page = client.get(answer.headers["location"])
    assert "3 sessions logged for 2 mentees." in page.text
    assert f"{day(8)} (60 min), {day(15)} (45 min)." in page.text
    assert stored(app) == sorted(
        [
            (a, FIRST.replace(day=8), 60),
            (a, FIRST.replace(day=15), 45),
            (b, FIRST.replace(day=15), 30),
        ]
    )
    assert audited(app, "sessions.create") == 3
    assert audited(app, "sessions.return") == 1

    listing = client.get(f"/sessions?month={MONTH}")
    assert listing.status_code == 200, listing.text
    assert "3 sessions, 2.2 hours in" in listing.text  # 135 minutes
    assert len(re.findall(r'<tr id="session-\d+">', listing.text)) == 3

    # The same pattern logged through the API for another mentor counts the same.
    line = ledger_line(client, as_role("analyst"))
    assert line["mentoring_sessions"] == 2
    other_id, others = busiest(approved, skip=1)
    staff = as_role("matcher")
    for match_id, held_on, minutes in [
        (others[0]["id"], day(8), 60),
        (others[0]["id"], day(15), 45),
        (others[1]["id"], day(15), 30),
    ]:
        logged = client.post(
            f"/api/matches/{match_id}/sessions",
            json={"held_on": held_on, "minutes": minutes},
            headers=staff,
        )
        assert logged.status_code == 201, logged.text
    line = ledger_line(client, as_role("analyst"))
    assert line["mentoring_sessions"] == 4
    assert line["amount_gbp"] == 4 * 289.0
    by_api = client.get(f"/api/sessions?month={MONTH}", headers=staff).json()
    assert Counter(s["mentor_id"] for s in by_api) == {mentor_id: 3, other_id: 3}


def test_a_bad_row_stores_nothing_and_says_why(
    app: FastAPI, client: TestClient, approved: list[dict[str, Any]]
) -> None:
    csrf = sign_in(client, "matcher")
    mentor_id, matches = busiest(approved)
    a, b = matches[0]["id"], matches[1]["id"]
    # Match b was confirmed on day 10 of last month: day 5 is before it.
    with transaction(app.state.sessions) as db:
        db.execute(
            update(Match)
            .where(Match.id == b)
            .values(confirmed_at=datetime.combine(FIRST.replace(day=10), datetime.min.time()))
        )
    outside = (FIRST - timedelta(days=1)).isoformat()
    typed = {
        a: [(day(3), "60"), (day(4), "1.5"), (outside, "30"), (day(6), "")],
        b: [(day(5), "45"), (day(12), "601")],
    }
    answer = send_return(client, mentor_id, csrf, typed)
    assert answer.status_code == 422, answer.text
    assert stored(app) == []
    assert audited(app, "sessions.create") == 0
    page = answer.text
    assert "Nothing was logged: correct the rows below" in page
    month_name = f"{FIRST:%B %Y}"

    def problem_of(held_on: str) -> str:
        """The problem shown under the row whose date is ``held_on``."""
        found = re.search(
            rf'value="{held_on}"[^>]*aria-describedby="(problem-\d+)".*?<p class="error" id="\1">(.*?)</p>',
            page,
            re.S,
        )
        assert found, f"no problem shown for {held_on}"
        return found[2]

    assert problem_of(day(4)) == "Minutes must be a whole number from 1 to 600, not “1.5”."
    assert problem_of(outside) == (
        f"{(FIRST - timedelta(days=1)).day} {FIRST - timedelta(days=1):%B %Y} is not in "
        f"{month_name}, the month of this return."
    )
    assert problem_of(day(6)) == "Enter both the date and the minutes, or leave both empty."
    assert problem_of(day(5)) == (
        f"5 {month_name} is before match {b} was confirmed, on 10 {month_name}."
    )
    assert problem_of(day(12)) == "Minutes must be a whole number from 1 to 600, not “601”."
    # The good row is kept as typed, with no problem; so is the form's one-time id.
    assert re.search(rf'value="{day(3)}"(?![^>]*aria-invalid)', page)
    assert 'value="60"' in page
    assert page.count('class="error" id="problem-') == 5

    # Corrected, the same form logs everything at once.
    fixed = {a: [(day(3), "60"), (day(4), "15")], b: [(day(12), "600")]}
    answer = send_return(client, mentor_id, csrf, fixed, page=page)
    assert answer.status_code == 303, answer.text
    assert "logged=3&mentees=2" in answer.headers["location"]
    assert len(stored(app)) == 3


def test_an_empty_return_or_a_future_month_logs_nothing(
    app: FastAPI, client: TestClient, approved: list[dict[str, Any]]
) -> None:
    csrf = sign_in(client, "matcher")
    mentor_id, _matches = busiest(approved)
    answer = send_return(client, mentor_id, csrf, {})
    assert answer.status_code == 422
    assert "Nothing to log: enter the date and minutes of at least one session." in answer.text
    ahead = (date.today().replace(day=28) + timedelta(days=5)).strftime("%Y-%m")
    page = client.get(f"/sessions/return?mentor={mentor_id}&month={ahead}")
    assert "has not started: sessions are logged once they are held." in page.text
    assert 'name="form_id"' not in page.text
    assert client.get(f"/sessions/return?mentor={mentor_id}&month=2026-13").status_code == 422
    assert client.get("/sessions/return?mentor=NOBODY").status_code == 404
    assert stored(app) == []


def test_the_same_form_sent_twice_logs_once(
    app: FastAPI, client: TestClient, approved: list[dict[str, Any]]
) -> None:
    csrf = sign_in(client, "matcher")
    mentor_id, matches = busiest(approved)
    page = client.get(f"/sessions/return?mentor={mentor_id}").text
    typed = {matches[0]["id"]: [(day(8), "60")]}
    first = send_return(client, mentor_id, csrf, typed, page=page)
    assert first.status_code == 303, first.text
    again = send_return(client, mentor_id, csrf, typed, page=page)
    assert again.status_code == 303, again.text
    assert again.headers["location"].endswith("&repeated=true#return")
    assert "nothing was logged twice" in client.get(again.headers["location"]).text
    assert stored(app) == [(matches[0]["id"], FIRST.replace(day=8), 60)]
    assert audited(app, "sessions.return") == 1
    with app.state.sessions() as db:
        kept = db.execute(select(SessionReturn.mentor_id, SessionReturn.sessions)).all()
    assert kept == [(mentor_id, 1)]
    # A fresh form (a new one-time id) logs the same session again, as the API would.
    assert send_return(client, mentor_id, csrf, typed).status_code == 303
    assert len(stored(app)) == 2


def test_roles_and_forms(
    client: TestClient, as_role: Headers, problem: ProblemData, approved: list[dict[str, Any]]
) -> None:
    mentor_id, matches = busiest(approved)
    logged = client.post(
        f"/api/matches/{matches[0]['id']}/sessions",
        json={"held_on": day(8), "minutes": 50},
        headers=as_role("matcher"),
    )
    assert logged.status_code == 201, logged.text
    names = {p.mentor_id: p.name for p in problem.mentors} | {
        p.mentee_id: p.name for p in problem.mentees
    }

    csrf = sign_in(client, "analyst")
    page = client.get("/sessions")
    assert page.status_code == 200, page.text
    row = cells(page.text, f"session-{logged.json()['id']}")
    assert row == [day(8), str(matches[0]["id"]), mentor_id, matches[0]["mentee_id"], "50"]
    assert not any(name in page.text for name in names.values())
    assert "Enter a mentor’s monthly return" not in page.text
    # Analysts search ids only: a name finds nothing.
    assert "0 sessions" in client.get(f"/sessions?q={names[mentor_id]}").text
    assert "1 session," in client.get(f"/sessions?q={mentor_id}").text
    assert client.get(f"/sessions/return?mentor={mentor_id}").status_code == 403
    refused = send_return(
        client, mentor_id, csrf, {}, page='name="form_id" value="' + "x" * 32 + '" '
    )
    assert refused.status_code == 403

    sign_in(client, "organiser")
    assert client.get("/sessions").status_code == 403
    assert client.get("/sessions/return").status_code == 403

    sign_in(client, "matcher")
    page = client.get("/sessions")
    assert cells(page.text, f"session-{logged.json()['id']}")[2] == (
        f"{names[mentor_id]} {mentor_id}"
    )
    assert "1 session," in client.get(f"/sessions?q={names[mentor_id]}").text
    # A form without its CSRF token is refused, and stores nothing.
    answer = send_return(client, mentor_id, "forged", {matches[0]["id"]: [(day(9), "30")]})
    assert answer.status_code == 403
    assert client.get("/sessions").text.count('<tr id="session-') == 1


def test_the_list_is_paged_and_searched(
    client: TestClient, as_role: Headers, approved: list[dict[str, Any]]
) -> None:
    staff = as_role("matcher")
    # Five sessions on days 1..5 of last month, over the first five matches.
    ids = []
    for n, match in enumerate(approved[:5], start=1):
        answer = client.post(
            f"/api/matches/{match['id']}/sessions",
            json={"held_on": day(n), "minutes": 10 * n},
            headers=staff,
        )
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["id"])
    sign_in(client, "admin")
    first = client.get(f"/sessions?month={MONTH}&per_page=2")
    assert re.findall(r'<tr id="session-(\d+)">', first.text) == [str(ids[4]), str(ids[3])]
    assert "5 sessions, 2.5 hours" in first.text  # 10 + 20 + 30 + 40 + 50 minutes
    assert "Showing 1–2 of 5 (page 1 of 3)" in first.text
    assert f'href="/sessions?month={MONTH}&amp;page=2&amp;per_page=2" rel="next"' in first.text
    last = client.get(f"/sessions?month={MONTH}&per_page=2&page=3")
    assert re.findall(r'<tr id="session-(\d+)">', last.text) == [str(ids[0])]
    # A mentee id finds that mentee's session; a match id, that match's.
    mentee = approved[2]["mentee_id"]
    found = client.get(f"/sessions?q={mentee}")
    assert re.findall(r'<tr id="session-(\d+)">', found.text) == [str(ids[2])]
    found = client.get(f"/sessions?q={approved[1]['id']}")
    assert str(ids[1]) in re.findall(r'<tr id="session-(\d+)">', found.text)
    # Another month holds none; a month that is not one says so.
    empty = client.get(f"/sessions?month={FIRST.year - 1}-01")
    assert "0 sessions, 0.0 hours" in empty.text
    wrong = client.get("/sessions?month=May")
    assert wrong.status_code == 422
    assert "month must be a year and month as YYYY-MM" in wrong.text


# --- the checks of a return, on a worked example (no database) -----------------------------


def test_check_return_names_each_bad_row() -> None:
    # Match 1 confirmed on 10 November 2026; today is 20 November 2026.
    match = Match(id=1, mentee_id="MN1", confirmed_at=datetime(2026, 11, 10, 9, 30))
    today = date(2026, 11, 20)
    rows = [
        TypedRow(1, "2026-11-12", "60"),  # good
        TypedRow(1, "", ""),  # blank: skipped
        TypedRow(1, "2026-11-21", "60"),  # tomorrow
        TypedRow(1, "2026-11-09", "60"),  # the day before the confirmation
        TypedRow(1, "12/11/2026", "60"),  # not an ISO date
        TypedRow(2, "2026-11-12", "60"),  # not a match of this return
        TypedRow(1, "2026-11-13", "0"),
    ]
    with pytest.raises(ReturnInvalid) as caught:
        check_return(rows, [match], "2026-11", today)
    assert caught.value.problems == {
        2: "21 November 2026 is in the future: log a session once it is held.",
        3: "9 November 2026 is before match 1 was confirmed, on 10 November 2026.",
        4: "“12/11/2026” is not a date: enter one such as 2026-11-01.",
        5: "Match 2 is not one of this mentor's confirmed or registered matches in November 2026.",
        6: "Minutes must be a whole number from 1 to 600, not “0”.",
    }
    good = check_return(rows[:2], [match], "2026-11", today)
    assert [(e.match_id, e.held_on, e.minutes) for e in good] == [(1, date(2026, 11, 12), 60)]
