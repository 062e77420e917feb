"""Safety nets for rounds and matches: undo an approval, rename and delete a round, confirm
before approving or ending, name the people of a stale approval, register on a given day.

The scheme is the generated one of ``scheme.write_scheme`` (6 mentors, 30 mentees, seed 7),
imported through the API; pages are used as a browser uses them, signed in by the form.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

from fastapi.testclient import TestClient
from page_reading import sign_in
from scheme import run_round

from matcher.data import ProblemData

Headers = Callable[[str], dict[str, str]]


def new_round(client: TestClient, headers: dict[str, str], name: str = "Q1") -> int:
    answer = client.post("/api/rounds", json={"name": name, "time_limit": 20}, headers=headers)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def approved_round(client: TestClient, staff: dict[str, str]) -> tuple[int, list[int]]:
    """A round run and approved; its match ids."""
    round_id = new_round(client, staff)
    run_round(client, round_id, staff)
    assert client.post(f"/api/rounds/{round_id}/approve", headers=staff).status_code == 200
    found = client.get(f"/api/matches?round_id={round_id}", headers=staff).json()
    return round_id, [m["id"] for m in found]


def audit_actions(client: TestClient, as_role: Headers, round_id: int) -> list[str]:
    """The round's audit entries, oldest first."""
    entries = client.get("/api/audit", headers=as_role("admin")).json()
    mine = [e for e in entries if (e["entity"], e["entity_id"]) == ("round", str(round_id))]
    return [e["action"] for e in sorted(mine, key=lambda e: e["id"])]


def test_an_approval_is_undone_while_no_match_has_moved_on(
    client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    staff = as_role("matcher")
    round_id, match_ids = approved_round(client, staff)
    proposals = len(client.get(f"/api/rounds/{round_id}/proposals", headers=staff).json())
    assert len(match_ids) == proposals > 0
    answer = client.post(f"/api/rounds/{round_id}/unapprove", headers=staff)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "round_id": round_id,
        "status": "proposed",
        "matches_removed": proposals,
    }
    assert client.get(f"/api/matches?round_id={round_id}", headers=staff).json() == []
    round_ = client.get(f"/api/rounds/{round_id}", headers=staff).json()
    assert (round_["status"], round_["approved_at"]) == ("proposed", None)
    assert "rounds.unapprove" in audit_actions(client, as_role, round_id)
    # Nothing left to undo; the round can be approved again, with the same pairs.
    again = client.post(f"/api/rounds/{round_id}/unapprove", headers=staff)
    assert (again.status_code, again.json()["detail"]) == (
        409,
        f"round {round_id} is not approved: there is nothing to undo",
    )
    approved = client.post(f"/api/rounds/{round_id}/approve", headers=staff).json()
    assert approved["matches"] == proposals
    assert client.post("/api/rounds/999999/unapprove", headers=staff).status_code == 404
    assert (
        client.post(f"/api/rounds/{round_id}/unapprove", headers=as_role("analyst")).status_code
        == 403
    )


def test_an_approval_cannot_be_undone_after_a_session_or_a_registration(
    client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    staff = as_role("matcher")
    round_id, match_ids = approved_round(client, staff)
    first, second = match_ids[0], match_ids[1]
    held = {"held_on": date.today().isoformat(), "minutes": 60}
    logged = client.post(f"/api/matches/{first}/sessions", json=held, headers=staff)
    assert logged.status_code == 201, logged.text
    refused = client.post(f"/api/rounds/{round_id}/unapprove", headers=staff)
    assert refused.status_code == 409
    assert refused.json() == {
        "detail": f"match(es) {first} of round {round_id} have mentoring sessions logged: "
        "the approval can no longer be undone",
        "match_ids": [first],
    }
    client.patch(f"/api/matches/{second}", json={"status": "registered"}, headers=staff)
    refused = client.post(f"/api/rounds/{round_id}/unapprove", headers=staff)
    assert refused.json()["match_ids"] == [second]
    assert "registered or ended" in refused.json()["detail"]
    # Nothing changed.
    assert len(client.get(f"/api/matches?round_id={round_id}", headers=staff).json()) == len(
        match_ids
    )
    assert client.get(f"/api/rounds/{round_id}", headers=staff).json()["status"] == "approved"


def test_rename_any_time_and_delete_only_before_approval(
    client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    staff = as_role("matcher")
    draft = new_round(client, staff, "Draft")
    renamed = client.patch(f"/api/rounds/{draft}", json={"name": "Q2 spare"}, headers=staff)
    assert (renamed.status_code, renamed.json()["name"]) == (200, "Q2 spare")
    assert client.patch(f"/api/rounds/{draft}", json={"name": ""}, headers=staff).status_code == 422
    assert client.delete(f"/api/rounds/{draft}", headers=staff).status_code == 204
    assert client.get(f"/api/rounds/{draft}", headers=staff).status_code == 404
    assert audit_actions(client, as_role, draft) == [
        "rounds.create",
        "rounds.rename",
        "rounds.delete",
    ]

    round_id, _ = approved_round(client, staff)
    renamed = client.patch(f"/api/rounds/{round_id}", json={"name": "Q1 final"}, headers=staff)
    assert renamed.json()["name"] == "Q1 final"
    refused = client.delete(f"/api/rounds/{round_id}", headers=staff)
    assert (refused.status_code, refused.json()["detail"]) == (
        409,
        f"round {round_id} is approved: undo the approval before deleting it",
    )
    client.post(f"/api/rounds/{round_id}/unapprove", headers=staff)
    assert client.delete(f"/api/rounds/{round_id}", headers=staff).status_code == 204
    assert client.delete(f"/api/rounds/{round_id}", headers=staff).status_code == 404


def test_register_takes_the_first_meetings_day(
    client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    staff = as_role("matcher")
    _, match_ids = approved_round(client, staff)
    url = f"/api/matches/{match_ids[0]}"
    today = date.today()
    tomorrow = (today + timedelta(days=1)).isoformat()
    future = client.patch(
        url, json={"status": "registered", "registered_on": tomorrow}, headers=staff
    )
    assert (future.status_code, future.json()["detail"]) == (
        422,
        f"registered_on {tomorrow} is in the future (today is {today})",
    )
    # The match was confirmed today: yesterday is before it.
    yesterday = (today - timedelta(days=1)).isoformat()
    early = client.patch(
        url, json={"status": "registered", "registered_on": yesterday}, headers=staff
    )
    assert early.status_code == 422
    assert early.json()["detail"] == (
        f"registered_on {yesterday} is before match {match_ids[0]} was confirmed on {today}"
    )
    done = client.patch(
        url, json={"status": "registered", "registered_on": today.isoformat()}, headers=staff
    )
    assert done.json()["registered_at"][:10] == today.isoformat()
    # Without a day: today.
    other = client.patch(
        f"/api/matches/{match_ids[1]}", json={"status": "registered"}, headers=staff
    )
    assert other.json()["registered_at"][:10] == today.isoformat()


def test_pages_confirm_approve_and_undo_rename_and_delete(
    client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    staff = as_role("matcher")
    round_id = new_round(client, staff, "Spring")
    run_round(client, round_id, staff)
    pairs = len(client.get(f"/api/rounds/{round_id}/proposals", headers=staff).json())
    csrf = sign_in(client, "matcher")
    page = client.get(f"/rounds/{round_id}").text
    assert f'<form method="get" action="/rounds/{round_id}/approve">' in page
    confirm = client.get(f"/rounds/{round_id}/approve").text
    assert (
        f'<p id="confirm-question">Approve {pairs} pairs of round Spring? '
        f"This creates {pairs} confirmed matches.</p>"
    ) in confirm
    assert f'<a href="/rounds/{round_id}">Cancel</a>' in confirm
    # Asking changed nothing.
    assert client.get(f"/api/matches?round_id={round_id}", headers=staff).json() == []
    done = client.post(
        f"/rounds/{round_id}/approve", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert done.headers["location"] == f"/rounds/{round_id}?notice=approved"
    assert len(client.get(f"/api/matches?round_id={round_id}", headers=staff).json()) == pairs
    page = client.get(f"/rounds/{round_id}").text
    assert f'action="/rounds/{round_id}/unapprove"' in page
    assert f'action="/rounds/{round_id}/delete"' not in page
    undone = client.post(f"/rounds/{round_id}/unapprove", data={"csrf_token": csrf})
    assert (
        "Approval undone: its matches are deleted and the round is proposed again." in undone.text
    )
    assert client.get(f"/api/matches?round_id={round_id}", headers=staff).json() == []

    renamed = client.post(f"/rounds/{round_id}/rename", data={"csrf_token": csrf, "name": "Summer"})
    assert "<h1>Summer</h1>" in renamed.text
    ask = client.get(f"/rounds/{round_id}/delete").text
    assert (
        '<p id="confirm-question">Delete round Summer with its proposals, pins and forbids? '
        "This cannot be undone.</p>"
    ) in ask
    gone = client.post(
        f"/rounds/{round_id}/delete", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert (gone.status_code, gone.headers["location"]) == (303, "/rounds")
    assert client.get(f"/api/rounds/{round_id}", headers=staff).status_code == 404


def test_a_stale_approval_names_the_people_on_the_page(
    client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    staff = as_role("matcher")
    first, second = new_round(client, staff, "A"), new_round(client, staff, "B")
    run_round(client, first, staff)
    run_round(client, second, staff)
    assert client.post(f"/api/rounds/{first}/approve", headers=staff).status_code == 200
    taken = {
        m["mentee_id"] for m in client.get(f"/api/matches?round_id={first}", headers=staff).json()
    }
    proposed = {
        p["mentee_id"] for p in client.get(f"/api/rounds/{second}/proposals", headers=staff).json()
    }
    expected = sorted(taken & proposed)
    assert expected
    csrf = sign_in(client, "matcher")
    answer = client.post(f"/rounds/{second}/approve", data={"csrf_token": csrf})
    assert answer.status_code == 409
    section = re.search(
        r'<section class="card error" id="stale-approval".*?</section>', answer.text, re.S
    )
    assert section, answer.text
    text = " ".join(re.sub(r"<[^>]+>", "", section[0]).split())
    names = {m.mentee_id: m.name for m in problem.mentees}
    shown = ", ".join(f"{names[i]} {i}" for i in expected)
    assert text == (
        "Not approved: since this round ran, these mentees were matched elsewhere: run it again "
        f"Mentees: {shown}"
    )
    assert client.get(f"/api/matches?round_id={second}", headers=staff).json() == []


def test_ending_a_match_asks_for_the_reason_on_its_own_form(
    client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    staff = as_role("matcher")
    _, match_ids = approved_round(client, staff)
    match_id = match_ids[0]
    csrf = sign_in(client, "matcher")
    listing = client.get("/matches").text
    assert f'<form method="get" action="/matches/{match_id}/end">' in listing
    assert f'name="registered_on" value="{date.today().isoformat()}"' in listing
    form = client.get(f"/matches/{match_id}/end").text
    assert '<input id="reason" name="reason" maxlength="500" required value="">' in form
    empty = client.post(
        f"/matches/{match_id}/status", data={"csrf_token": csrf, "status": "ended", "reason": " "}
    )
    assert empty.status_code == 422
    assert (
        '<p id="reason-error" class="error" role="alert">Required: say why the match ended.</p>'
        in empty.text
    )
    assert client.get(f"/api/matches/{match_id}", headers=staff).json()["status"] == "confirmed"
    ended = client.post(
        f"/matches/{match_id}/status",
        data={"csrf_token": csrf, "status": "ended", "reason": "moved away"},
        follow_redirects=False,
    )
    assert ended.headers["location"] == (f"/matches?notice=ended&match={match_id}#match-{match_id}")
    got = client.get(f"/api/matches/{match_id}", headers=staff).json()
    assert (got["status"], got["end_reason"]) == ("ended", "moved away")
    registered = client.post(
        f"/matches/{match_ids[1]}/status",
        data={
            "csrf_token": csrf,
            "status": "registered",
            "registered_on": date.today().isoformat(),
        },
        follow_redirects=False,
    )
    assert registered.status_code == 303
    assert (
        client.get(f"/api/matches/{match_ids[1]}", headers=staff).json()["status"] == "registered"
    )
