"""A matching round over HTTP: run in the background, pin and forbid, approve, lifecycle."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from scheme import run_round, wait_for_job
from sqlalchemy import select

from matcher.checks import evaluate, pair_allowed, violations
from matcher.data import ProblemData
from service.app import create_app
from service.config import ServiceSettings
from service.db import transaction, utcnow
from service.jobs import LOST
from service.models import Job, Match, Round
from solver.solve import solve

Headers = Callable[[str], dict[str, str]]


def new_round(client: TestClient, headers: dict[str, str], **body: object) -> int:
    answer = client.post(
        "/api/rounds", json={"name": "Q1", "time_limit": 20, **body}, headers=headers
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def pairs_of(rows: list[dict[str, object]]) -> set[tuple[str, str]]:
    return {(str(r["mentor_id"]), str(r["mentee_id"])) for r in rows}


def test_round_matches_the_command_line_solver_and_approves_once(
    client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    staff = as_role("matcher")
    round_id = new_round(client, staff)
    job = run_round(client, round_id, staff)
    assert (job["status"], job["progress"]) == ("done", 1.0), job
    proposals = client.get(f"/api/rounds/{round_id}/proposals", headers=staff).json()
    pairs = pairs_of(proposals)
    # Every hard rule holds, and the levels equal an independent solve of the same files.
    assert violations(problem, pairs) == []
    expected = solve(problem, time_limit=20)
    assert evaluate(problem, pairs) == evaluate(
        problem, [(p.mentor_id, p.mentee_id) for p in expected.pairs]
    )
    summary = client.get(f"/api/rounds/{round_id}", headers=staff).json()["summary"]
    assert summary["status"] == "optimal"
    assert summary["mentees_matched"] == len(proposals)
    unmatched = client.get(f"/api/rounds/{round_id}/unmatched", headers=staff).json()
    assert {u["mentee_id"] for u in unmatched} == {m.mentee_id for m in problem.mentees} - {
        e for _, e in pairs
    }
    assert all(u["reason"] for u in unmatched)
    assert all(p["reasons"] and p["mentor_name"] for p in proposals)

    answer = client.post(f"/api/rounds/{round_id}/approve", headers=staff)
    addresses = {p.mentor_id: p.email for p in problem.mentors} | {
        p.mentee_id: p.email for p in problem.mentees
    }
    assert answer.json() == {
        "round_id": round_id,
        "status": "approved",
        "matches": len(pairs),
        "introductions": sum(bool(addresses[m]) + bool(addresses[e]) for m, e in pairs),
        "without_address": sorted({p for pair in pairs for p in pair if not addresses[p]}),
    }
    assert client.post(f"/api/rounds/{round_id}/approve", headers=staff).status_code == 409
    assert client.post(f"/api/rounds/{round_id}/run", headers=staff).status_code == 409
    matches = client.get("/api/matches", headers=staff).json()
    assert pairs_of(matches) == pairs
    assert {m["status"] for m in matches} == {"confirmed"}

    # A second round sees those matches: it offers only the mentees still waiting, and each
    # mentor only the capacity left.
    second = new_round(client, staff, name="Q2")
    run_round(client, second, staff)
    again = client.get(f"/api/rounds/{second}/proposals", headers=staff).json()
    assert not {p["mentee_id"] for p in again} & {e for _, e in pairs}
    load = {m.mentor_id: m.current_mentees for m in problem.mentors}
    for mentor_id, _ in pairs | pairs_of(again):
        load[mentor_id] += 1
    capacity = {m.mentor_id: m.capacity_max or 8 for m in problem.mentors}
    assert all(load[m] <= capacity[m] for m in load)


def test_forbid_and_pin_change_the_next_run(
    client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    staff = as_role("matcher")
    round_id = new_round(client, staff)
    run_round(client, round_id, staff)
    first = pairs_of(client.get(f"/api/rounds/{round_id}/proposals", headers=staff).json())
    forbidden = min(first)
    mentors = {m.mentor_id: m for m in problem.mentors}
    mentees = {m.mentee_id: m for m in problem.mentees}
    pinned = next(
        (m, e)
        for e in sorted(mentees)
        for m in sorted(mentors)
        if (m, e) not in first
        and (m, e) != forbidden
        and e != forbidden[1]
        and pair_allowed(problem, mentors[m], mentees[e])
    )
    for kind, (m, e) in (("forbid", forbidden), ("pin", pinned)):
        body = {"kind": kind, "mentor_id": m, "mentee_id": e, "reason": "test"}
        answer = client.post(f"/api/rounds/{round_id}/pairs", json=body, headers=staff)
        assert answer.status_code == 201, answer.text
    listed = client.get(f"/api/rounds/{round_id}/pairs", headers=staff).json()
    assert [(p["kind"], p["mentor_id"], p["mentee_id"]) for p in listed] == [
        ("forbid", *forbidden),
        ("pin", *pinned),
    ]
    duplicate = {"kind": "pin", "mentor_id": forbidden[0], "mentee_id": forbidden[1]}
    answer = client.post(f"/api/rounds/{round_id}/pairs", json=duplicate, headers=staff)
    assert answer.status_code == 409
    assert "already forbidden" in answer.json()["detail"]

    assert run_round(client, round_id, staff)["status"] == "done"
    second = pairs_of(client.get(f"/api/rounds/{round_id}/proposals", headers=staff).json())
    assert forbidden not in second
    assert pinned in second
    assert violations(problem, second) == []

    pin_id = listed[1]["id"]
    assert client.delete(f"/api/rounds/{round_id}/pairs/{pin_id}", headers=staff).status_code == 204
    assert client.delete(f"/api/rounds/{round_id}/pairs/{pin_id}", headers=staff).status_code == 404


def test_standing_exclusions(client: TestClient, as_role: Headers, problem: ProblemData) -> None:
    staff = as_role("matcher")
    (m1, m2), (e1, e2) = (
        [m.mentor_id for m in problem.mentors[:2]],
        [m.mentee_id for m in problem.mentees[:2]],
    )
    body = f"mentor_id,mentee_id,reason\n{m1},{e1},same practice\n{m2},{e2},\n"
    files = {"file": ("coi.csv", body.encode(), "text/csv")}
    answer = client.post("/api/exclusions/import", files=files, headers=staff)
    counts = {k: answer.json()[k] for k in ("kind", "rows", "added", "updated", "unchanged")}
    assert counts == {"kind": "exclusions", "rows": 2, "added": 2, "updated": 0, "unchanged": 0}
    stored = client.get("/api/exclusions", headers=staff).json()
    assert [(e["mentor_id"], e["mentee_id"], e["reason"]) for e in stored] == [
        (m1, e1, "same practice"),
        (m2, e2, ""),
    ]
    first = stored[0]
    round_id = new_round(client, staff)
    pin = {"kind": "pin", "mentor_id": first["mentor_id"], "mentee_id": first["mentee_id"]}
    answer = client.post(f"/api/rounds/{round_id}/pairs", json=pin, headers=staff)
    assert answer.status_code == 409
    assert "standing exclusion" in answer.json()["detail"]
    bad = "mentor_id,mentee_id,reason\nNOPE,{e},x\n".format(e=first["mentee_id"])
    files = {"file": ("coi.csv", bad.encode(), "text/csv")}
    answer = client.post("/api/exclusions/import", files=files, headers=staff)
    assert answer.status_code == 422
    assert [(p["row"], p["column"], p["problem"]) for p in answer.json()["problems"]] == [
        ("2", "mentor_id", "no mentor has this id")
    ]
    run_round(client, round_id, staff)
    proposed = pairs_of(client.get(f"/api/rounds/{round_id}/proposals", headers=staff).json())
    assert proposed and not proposed & {(m1, e1), (m2, e2)}
    url = f"/api/exclusions/{first['id']}"
    assert client.delete(url, headers=staff).status_code == 204
    assert client.delete(url, headers=staff).status_code == 404
    assert len(client.get("/api/exclusions", headers=staff).json()) == len(stored) - 1


def test_two_approvals_at_once_make_one_set_of_matches(
    app: FastAPI, client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    staff = as_role("matcher")
    round_id = new_round(client, staff)
    run_round(client, round_id, staff)
    proposals = client.get(f"/api/rounds/{round_id}/proposals", headers=staff).json()
    with TestClient(app) as other, ThreadPoolExecutor(2) as pool:
        answers = list(
            pool.map(
                lambda c: c.post(f"/api/rounds/{round_id}/approve", headers=staff),
                [client, other],
            )
        )
    assert sorted(a.status_code for a in answers) == [200, 409]
    with transaction(app.state.sessions) as session:
        matched = list(session.scalars(select(Match.mentee_id)))
    assert sorted(matched) == sorted(p["mentee_id"] for p in proposals)


def test_a_failed_run_says_why_and_frees_the_round(client: TestClient, as_role: Headers) -> None:
    staff = as_role("matcher")
    round_id = new_round(client, staff)  # nobody imported yet
    job = run_round(client, round_id, staff)
    assert job["status"] == "failed"
    assert job["error"] == "nothing to match: import mentors first"
    round_ = client.get(f"/api/rounds/{round_id}", headers=staff).json()
    assert (round_["status"], round_["active_job"], round_["runs"]) == ("draft", None, 0)
    assert client.post(f"/api/rounds/{round_id}/approve", headers=staff).status_code == 409


def test_personal_capacities_above_a_round_band_are_read_at_its_edge_and_named(
    client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    staff = as_role("matcher")
    # Mentors may state a capacity up to the scheme maximum; this round lowers it to 2: each
    # mentor above it is read as 2, and the round says so by id (never by name).
    round_id = new_round(client, staff, settings={"capacity": {"min": 1, "max": 2}})
    job = run_round(client, round_id, staff)
    assert job["status"] == "done"
    summary = client.get(f"/api/rounds/{round_id}", headers=staff).json()["summary"]
    warned = {
        (n["column"], n["message"]) for n in summary["input_notes"] if n["level"] == "warning"
    }
    expected = {
        (
            "capacity_max",
            f"capacity_max {m.capacity_max} is above the scheme's maximum (2): read as 2 for "
            f"{m.mentor_id}",
        )
        for m in problem.mentors
        if m.capacity_max is not None and m.capacity_max > 2
    }
    assert expected and warned == expected
    assert not any(m.name in str(summary["input_notes"]) for m in problem.mentors)


def test_restart_keeps_approved_matches_and_live_jobs_and_fails_lapsed_ones(
    settings: ServiceSettings, client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    staff = as_role("matcher")
    round_id = new_round(client, staff)
    run_round(client, round_id, staff)
    approved = client.post(f"/api/rounds/{round_id}/approve", headers=staff).json()["matches"]
    # A round whose job was left running with no lease (by a version before leases) after its
    # last try, and one whose job another live process holds.
    stuck = new_round(client, staff, name="stuck")
    busy = new_round(client, staff, name="busy")
    restarted = create_app(settings)
    with transaction(restarted.state.sessions) as session:
        session.add(
            Job(
                id="job-left-running",
                kind="round",
                round_id=stuck,
                status="running",
                attempts=settings.job_retries + 1,
            )
        )
        session.add(
            Job(
                id="job-held-elsewhere",
                kind="round",
                round_id=busy,
                status="running",
                worker="another-host:1:live",
                lease_until=utcnow() + timedelta(minutes=5),
            )
        )
        session.flush()
        session.get_one(Round, stuck).active_job = "job-left-running"
        session.get_one(Round, busy).active_job = "job-held-elsewhere"
    with TestClient(restarted) as fresh:
        assert len(fresh.get("/api/matches", headers=staff).json()) == approved > 0
        job = fresh.get("/api/jobs/job-left-running", headers=staff).json()
        assert job["status"] == "failed"
        assert job["error"] == LOST
        assert fresh.get(f"/api/rounds/{stuck}", headers=staff).json()["active_job"] is None
        held = fresh.get("/api/jobs/job-held-elsewhere", headers=staff).json()
        assert held["status"] == "running"
        assert fresh.get(f"/api/rounds/{busy}", headers=staff).json()["active_job"] == (
            "job-held-elsewhere"
        )
        assert fresh.post(f"/api/rounds/{busy}/run", headers=staff).status_code == 409
        assert (
            wait_for_job(
                fresh, fresh.post(f"/api/rounds/{stuck}/run", headers=staff).json()["job_id"], staff
            )["status"]
            == "done"
        )


def test_match_lifecycle(client: TestClient, as_role: Headers, problem: ProblemData) -> None:
    staff = as_role("matcher")
    round_id = new_round(client, staff)
    run_round(client, round_id, staff)
    client.post(f"/api/rounds/{round_id}/approve", headers=staff)
    match_id = client.get("/api/matches", headers=staff).json()[0]["id"]
    url = f"/api/matches/{match_id}"
    answer = client.patch(url, json={"status": "registered"}, headers=staff)
    assert answer.json()["status"] == "registered" and answer.json()["registered_at"]
    assert client.patch(url, json={"status": "registered"}, headers=staff).status_code == 409
    no_reason = client.patch(url, json={"status": "ended"}, headers=staff)
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["detail"]
    ended = client.patch(url, json={"status": "ended", "reason": "mentee moved"}, headers=staff)
    assert (ended.json()["status"], ended.json()["end_reason"]) == ("ended", "mentee moved")
    assert client.patch(url, json={"status": "confirmed"}, headers=staff).status_code == 422
    listed = client.get("/api/matches?status=ended", headers=staff).json()
    assert [m["id"] for m in listed] == [match_id]
    assert (
        client.patch(
            "/api/matches/999999", json={"status": "registered"}, headers=staff
        ).status_code
        == 404
    )


def test_bad_requests_store_nothing(
    client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    staff = {**as_role("matcher"), "Content-Type": "application/json"}
    malformed = client.post("/api/rounds", content=b'{"name": "Q1",', headers=staff)
    assert malformed.status_code == 422
    assert "JSON" in malformed.json()["detail"]
    wrong_type = client.post(
        "/api/rounds", json={"name": "Q1", "time_limit": "soon"}, headers=staff
    )
    assert wrong_type.status_code == 422
    assert "time_limit" in wrong_type.json()["detail"]
    settings = {"name": "Q1", "settings": {"capacity": {"max": "many"}}}
    bad_settings = client.post("/api/rounds", json=settings, headers=staff)
    assert bad_settings.status_code == 422
    assert bad_settings.json()["problems"][0]["column"] == "capacity.max"
    unknown = client.post("/api/rounds", json={"name": "Q1", "mentee_ids": ["NOPE"]}, headers=staff)
    assert unknown.status_code == 404
    assert unknown.json()["unknown_mentee_ids"] == ["NOPE"]
    assert client.get("/api/rounds", headers=staff).json() == []
    for method, url in (
        ("post", "/api/rounds/999/run"),
        ("post", "/api/rounds/999/approve"),
        ("get", "/api/rounds/999/proposals"),
        ("get", "/api/jobs/no-such-job"),
    ):
        assert getattr(client, method)(url, headers=staff).status_code == 404
    assert client.get("/api/rounds/abc", headers=staff).status_code == 422


def test_roles_on_rounds_and_the_audit_log(
    client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    round_id = new_round(client, as_role("matcher"))
    run_round(client, round_id, as_role("matcher"))
    pseudonymous = client.get(f"/api/rounds/{round_id}/proposals", headers=as_role("analyst"))
    assert pseudonymous.status_code == 200
    names = {m.name for m in problem.mentors} | {m.name for m in problem.mentees}
    assert not any(name in pseudonymous.text for name in names)
    assert set(pseudonymous.json()[0]) == {
        "mentor_id",
        "mentee_id",
        "cohort",
        "score",
        "score_parts",
    }
    for role in ("analyst", "organiser"):
        for url in (
            f"/api/rounds/{round_id}/approve",
            f"/api/rounds/{round_id}/run",
            "/api/rounds",
        ):
            assert client.post(url, json={"name": "x"}, headers=as_role(role)).status_code == 403
        assert client.get("/api/audit", headers=as_role(role)).status_code == 403
    assert client.get("/api/rounds", headers=as_role("organiser")).status_code == 200
    assert (
        client.post(f"/api/rounds/{round_id}/approve", headers=as_role("admin")).status_code == 200
    )
    assert client.get("/api/rounds").status_code == 401
    log = client.get("/api/audit", headers=as_role("admin")).json()
    actions = [(e["user"], e["action"], e["entity_id"]) for e in log]
    assert actions[:4] == [
        ("admin", "rounds.approve", str(round_id)),
        ("system", "rounds.proposed", str(round_id)),
        ("matcher", "rounds.run", str(round_id)),
        ("matcher", "rounds.create", str(round_id)),
    ]
    assert ("matcher", "mentors.import", "1") in actions
    assert not any(name in str(log) for name in names)
