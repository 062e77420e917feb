"""The Conflicts page (``/exclusions``), used as a browser uses it: the list paged and searched
in the database, a conflict added by finding the two people by part of a name or id, a bad
one refused beside its field with nothing stored, a removal after a confirmation page that
returns to the same page of the list; staff only.

The scheme is the generated one of ``scheme.write_scheme`` (6 mentors, 30 mentees, seed 7),
imported through the API; it has no exclusions of its own.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from page_reading import cells, error_of, sign_in, text
from scheme import run_round
from sqlalchemy import select

from matcher.data import ProblemData
from service.models import AuditEntry

Headers = Callable[[str], dict[str, str]]
ROW = re.compile(r'<tr id="exclusion-(\d+)">')
# Two conflicts of each of the six mentors: (MR0001, ME0001), (MR0001, ME0002), (MR0002,
# ME0003), ... (MR0006, ME0012); stored in this order, so their ids are 1 to 12.
TWELVE = [(f"MR{m:04d}", f"ME{2 * m - 1 + k:04d}") for m in range(1, 7) for k in (0, 1)]


def import_pairs(client: TestClient, staff: dict[str, str], pairs: list[tuple[str, str]]) -> None:
    rows = "".join(
        f"{mentor},{mentee},supervisor {i}\n" for i, (mentor, mentee) in enumerate(pairs)
    )
    csv = f"mentor_id,mentee_id,reason\n{rows}".encode()
    files = {"file": ("exclusions.csv", csv, "text/csv")}
    answer = client.post("/api/exclusions/import", files=files, headers=staff)
    assert answer.status_code == 200, answer.text


def stored(client: TestClient, staff: dict[str, str]) -> list[tuple[str, str, str | None]]:
    answer = client.get("/api/exclusions", headers=staff)
    assert answer.status_code == 200, answer.text
    return [(e["mentor_id"], e["mentee_id"], e.get("reason")) for e in answer.json()]


def audited(app: FastAPI) -> list[tuple[str, str, str | None, dict[str, Any]]]:
    with app.state.sessions() as session:
        query = select(AuditEntry).where(
            AuditEntry.action.in_(["exclusions.create", "exclusions.delete"])
        )
        return [
            (e.action, e.username, e.entity_id, e.detail)
            for e in session.scalars(query.order_by(AuditEntry.id))
        ]


def value_of(page: str, field_id: str) -> str:
    found = re.search(rf'<input [^>]*id="{field_id}" [^>]*value="([^"]*)"', page)
    assert found, f"no field {field_id}"
    return html.unescape(found[1])


def radios(page: str, name: str) -> dict[str, bool]:
    """The choices of a radio group: value -> checked."""
    found = re.findall(rf'<input type="radio" [^>]*name="{name}" value="([^"]*)"([^>]*)>', page)
    return {value: "checked" in rest for value, rest in found}


def test_the_list_is_paged_and_searched_in_the_database(
    client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    import_pairs(client, as_role("matcher"), TWELVE)
    sign_in(client, "matcher")

    # Newest first, 5 to a page: ids 12 to 8, then 7 to 3, then 2 and 1.
    first = client.get("/exclusions", params={"per_page": 5})
    assert first.status_code == 200
    assert ROW.findall(first.text) == ["12", "11", "10", "9", "8"]
    assert "Showing 1–5 of 12 (page 1 of 3)" in text(first.text)
    assert 'href="/exclusions?page=2&amp;per_page=5" rel="next"' in first.text
    last = client.get("/exclusions", params={"per_page": 5, "page": 3})
    assert ROW.findall(last.text) == ["2", "1"]
    # Each person by name and id, linked to their page; the reason; the day it was stored.
    today = datetime.now(UTC).date().isoformat()
    assert cells(last.text, "exclusion-1") == [
        "Dr James Turner MR0001",
        "Dr Priya Das ME0001",
        "supervisor 0",
        today,
        "Remove…",
    ]
    assert '<a href="/people/mentors/MR0001">' in last.text
    assert '<a href="/people/mentees/ME0001">' in last.text

    # "turner" is the mentor MR0001 (two conflicts) and no mentee of a conflict (Dr Nia
    # Turner, ME0014, has none); "das" is the mentees ME0001 and ME0005; "me001" ME0010-12.
    assert ROW.findall(client.get("/exclusions", params={"q": "TURNER"}).text) == ["2", "1"]
    assert ROW.findall(client.get("/exclusions", params={"q": "das"}).text) == ["5", "1"]
    assert ROW.findall(client.get("/exclusions", params={"q": "me001"}).text) == [
        "12",
        "11",
        "10",
    ]
    none = client.get("/exclusions", params={"q": "100%"})  # LIKE's own characters, literally
    assert ROW.findall(none.text) == []
    assert "No conflict's mentor or mentee holds “100%” in their name or id." in text(none.text)


def test_a_conflict_added_by_finding_the_two_people_is_never_proposed(
    app: FastAPI, client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    staff = as_role("matcher")
    made = client.post("/api/rounds", json={"name": "Before", "time_limit": 20}, headers=staff)
    assert made.status_code == 201, made.text
    assert run_round(client, made.json()["id"], staff)["status"] == "done"
    proposals = client.get(f"/api/rounds/{made.json()['id']}/proposals", headers=staff).json()
    pair = proposals[0]  # a pair the matching makes while nothing forbids it
    mentor_id, mentee_id = pair["mentor_id"], pair["mentee_id"]
    mentor_name = next(m.name for m in problem.mentors if m.mentor_id == mentor_id)
    mentee_name = next(m.name for m in problem.mentees if m.mentee_id == mentee_id)

    csrf = sign_in(client, "matcher")
    # The mentor by part of the surname, the mentee by the id typed whole (in lower case):
    # short lists, the mentee checked as the only one; no list of everyone.
    surname = mentor_name.split()[-1]
    found = client.get(
        "/exclusions", params={"find_mentor": surname, "find_mentee": mentee_id.lower()}
    )
    assert found.status_code == 200
    mentors = radios(found.text, "mentor_id")
    assert mentor_id in mentors
    assert set(mentors) == {m.mentor_id for m in problem.mentors if surname in m.name}
    assert radios(found.text, "mentee_id") == {mentee_id: True}
    assert "<select" not in found.text

    form = {
        "csrf_token": csrf,
        "mentor_id": mentor_id,
        "mentee_id": mentee_id,
        "reason": "Educational supervisor",
        "find_mentor": surname,
        "find_mentee": mentee_id.lower(),
    }
    added = client.post("/exclusions", data=form, follow_redirects=False)
    assert added.status_code == 303, added.text
    assert added.headers["location"] == f"/exclusions?q={mentee_id}&notice=added#exclusion-1"
    page = client.get(added.headers["location"])
    assert "Conflict saved: no round will pair them." in text(page.text)
    assert cells(page.text, "exclusion-1")[:3] == [
        f"{mentor_name} {mentor_id}",
        f"{mentee_name} {mentee_id}",
        "Educational supervisor",
    ]
    assert stored(client, staff) == [(mentor_id, mentee_id, "Educational supervisor")]

    # The same pair again: as an import would, it takes the new reason; still one conflict.
    again = client.post(
        "/exclusions",
        data={**form, "reason": "Trainer at the same practice"},
        follow_redirects=False,
    )
    assert again.headers["location"] == f"/exclusions?q={mentee_id}&notice=updated#exclusion-1"
    assert stored(client, staff) == [(mentor_id, mentee_id, "Trainer at the same practice")]
    assert audited(app) == [
        ("exclusions.create", "matcher", "1", {**pair_ids(pair), "outcome": "added"}),
        ("exclusions.create", "matcher", "1", {**pair_ids(pair), "outcome": "updated"}),
    ]

    # A new round: the pair is never proposed.
    later = client.post("/api/rounds", json={"name": "After", "time_limit": 20}, headers=staff)
    assert run_round(client, later.json()["id"], staff)["status"] == "done"
    proposed = client.get(f"/api/rounds/{later.json()['id']}/proposals", headers=staff).json()
    assert proposed  # the round did match people
    assert (mentor_id, mentee_id) not in {(p["mentor_id"], p["mentee_id"]) for p in proposed}


def pair_ids(pair: dict[str, Any]) -> dict[str, str]:
    return {"mentor_id": pair["mentor_id"], "mentee_id": pair["mentee_id"]}


def test_a_refused_conflict_is_shown_beside_its_field_and_nothing_is_stored(
    app: FastAPI, client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    csrf = sign_in(client, "admin")
    # A mentor id no one has (sent as a crafted form would: no search typed).
    unknown = {
        "csrf_token": csrf,
        "mentor_id": "MR9999",
        "mentee_id": "ME0001",
        "reason": "Appraiser",
    }
    answer = client.post("/exclusions", data=unknown)
    assert answer.status_code == 422
    assert error_of(answer.text, "ex_mentor_id") == "Error: No mentor has this id (MR9999)"
    assert "ex_mentee_id-error" not in answer.text
    assert "Nothing was saved: please correct this" in text(answer.text)
    # What was sent stays: the reason, the searches (the ids sent), the mentee chosen.
    assert value_of(answer.text, "ex_reason") == "Appraiser"
    assert value_of(answer.text, "find_mentor") == "MR9999"
    assert radios(answer.text, "mentee_id") == {"ME0001": True}
    assert "No mentor has “MR9999” in their name or id." in text(answer.text)

    # No reason, and a mentee id no one has: both fields say so.
    blank = {**unknown, "mentor_id": "MR0001", "mentee_id": "ME9999", "reason": "  "}
    refused = client.post("/exclusions", data={**blank, "find_mentor": "james"})
    assert refused.status_code == 422
    assert error_of(refused.text, "ex_reason") == (
        "Error: Required: say why they must never be paired"
    )
    assert error_of(refused.text, "ex_mentee_id") == "Error: No mentee has this id (ME9999)"
    assert radios(refused.text, "mentor_id") == {"MR0001": True, "MR0006": False}
    assert 'aria-invalid="true"' in refused.text

    # A reason too long, or with a control character: said beside it too.
    for reason, said in (
        ("x" * 501, "Error: At most 500 characters"),
        ("Appraiser\x07", "Error: Must not contain control characters (U+0007 at position 9)"),
    ):
        bad = client.post("/exclusions", data={**unknown, "mentor_id": "MR0001", "reason": reason})
        assert bad.status_code == 422
        assert error_of(bad.text, "ex_reason") == said

    assert stored(client, as_role("admin")) == []
    assert audited(app) == []


def test_a_conflict_is_removed_after_a_confirmation_and_the_list_returns_to_its_page(
    app: FastAPI, client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    staff = as_role("matcher")
    import_pairs(client, staff, TWELVE)
    csrf = sign_in(client, "matcher")
    listed = client.get("/exclusions", params={"page": 2, "per_page": 5})
    assert ROW.findall(listed.text) == ["7", "6", "5", "4", "3"]
    back = "/exclusions?page=2&amp;per_page=5"
    assert f'<input type="hidden" name="back" value="{back}">' in listed.text

    # (MR0003, ME0006) is conflict 6: the button asks first, naming both people.
    confirm = client.get("/exclusions/remove", params={"exclusion": 6, "back": html.unescape(back)})
    assert confirm.status_code == 200
    assert (
        "Remove the conflict of interest between mentor Dr Usha Ward (MR0003) and mentee "
        "Dr Maya Roberts (ME0006)? Later rounds may then pair them."
    ) in text(confirm.text)
    assert 'action="/exclusions/6/remove"' in confirm.text
    assert 'href="/exclusions?page=2&amp;per_page=5#exclusion-6">Cancel</a>' in confirm.text
    assert stored(client, staff)[5] == ("MR0003", "ME0006", "supervisor 5")  # not yet

    removed = client.post(
        "/exclusions/6/remove",
        data={"csrf_token": csrf, "back": html.unescape(back)},
        follow_redirects=False,
    )
    assert removed.status_code == 303, removed.text
    target = "/exclusions?page=2&per_page=5&notice=removed#exclusions-heading"
    assert removed.headers["location"] == target
    page = client.get(target)
    assert "Conflict removed: later rounds may pair them again." in text(page.text)
    assert ROW.findall(page.text) == ["7", "5", "4", "3", "2"]
    assert ("MR0003", "ME0006", "supervisor 5") not in stored(client, staff)
    assert len(stored(client, staff)) == 11
    assert audited(app) == [
        ("exclusions.delete", "matcher", "6", {"mentor_id": "MR0003", "mentee_id": "ME0006"})
    ]

    # Gone: asking again is a 404; a back address elsewhere is not followed.
    assert client.get("/exclusions/remove", params={"exclusion": 6}).status_code == 404
    elsewhere = client.post(
        "/exclusions/5/remove",
        data={"csrf_token": csrf, "back": "//evil.example/"},
        follow_redirects=False,
    )
    assert elsewhere.headers["location"] == "/exclusions?notice=removed#exclusions-heading"


@pytest.mark.parametrize("role", ["analyst", "organiser"])
def test_analysts_and_organisers_are_refused(
    client: TestClient, as_role: Headers, problem: ProblemData, role: str
) -> None:
    import_pairs(client, as_role("matcher"), TWELVE[:1])
    csrf = sign_in(client, role)
    assert "/exclusions" not in re.findall(r"<nav.*?</nav>", client.get("/rounds").text, re.S)[0]
    assert client.get("/exclusions").status_code == 403
    assert client.get("/exclusions", params={"find_mentor": "turner"}).status_code == 403
    assert client.get("/exclusions/remove", params={"exclusion": 1}).status_code == 403
    form = {"csrf_token": csrf, "mentor_id": "MR0001", "mentee_id": "ME0003", "reason": "x"}
    assert client.post("/exclusions", data=form).status_code == 403
    assert client.post("/exclusions/1/remove", data={"csrf_token": csrf}).status_code == 403
    assert stored(client, as_role("admin")) == [("MR0001", "ME0001", "supervisor 0")]


def test_staff_see_the_link_and_a_form_without_its_token_is_refused(
    client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    import_pairs(client, as_role("matcher"), TWELVE[:1])
    sign_in(client, "admin")
    nav = re.findall(r"<nav.*?</nav>", client.get("/exclusions").text, re.S)[0]
    assert re.findall(r">(\w+)</a>", nav)[2:5] == ["People", "Register", "Conflicts"]
    assert '<a href="/exclusions" aria-current="page">Conflicts</a>' in nav
    form = {"csrf_token": "forged", "mentor_id": "MR0001", "mentee_id": "ME0003", "reason": "x"}
    assert client.post("/exclusions", data=form).status_code == 403
    assert client.post("/exclusions/1/remove", data={"csrf_token": "forged"}).status_code == 403
    assert stored(client, as_role("admin")) == [("MR0001", "ME0001", "supervisor 0")]
