"""Planning on the Reports pages: an analyst starts a comparison from the form (settings typed
as TOML), follows it and reads the table (ids and figures only); a form with bad settings
comes back with the reason and starts nothing; other roles are refused."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from scheme import import_scheme, sign_in, wait_for_job, write_scheme
from sqlalchemy import func, select

from matcher.data import ProblemData
from service.models import Plan

Headers = Callable[[str], dict[str, str]]


def test_an_analyst_compares_settings_from_the_page(
    app: FastAPI, client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    made = client.post(
        "/api/rounds", json={"name": "plans", "time_limit": 5}, headers=as_role("matcher")
    )
    round_id = made.json()["id"]
    csrf = sign_in(client, "analyst", "secret-analyst")
    page = client.get("/reports/plans")
    assert page.status_code == 200 and "How many more mentors?" in page.text
    form = {
        "csrf_token": csrf,
        "kind": "compare",
        "round_id": str(round_id),
        "time_limit": "5",
        "name": ["base", "narrow", "", ""],
        "settings": ["", "[capacity]\nmin = 4\nmax = 5\n", "", ""],
    }
    started = client.post("/reports/plans", data=form, follow_redirects=False)
    assert started.status_code == 303, started.text
    plan_id = int(started.headers["location"].rsplit("/", 1)[1])
    with app.state.sessions() as db:
        plan = db.get_one(Plan, plan_id)
        assert plan.params == {
            "time_limit": 5.0,
            "scenarios": [
                {"name": "base", "settings": {}},
                {"name": "narrow", "settings": {"capacity": {"min": 4, "max": 5}}},
            ],
        }
        job_id = plan.job_id
    assert wait_for_job(client, job_id, as_role("analyst"))["status"] == "done"
    shown = client.get(f"/reports/plans/{plan_id}")
    assert shown.status_code == 200
    rows = re.findall(r'<th scope="row">([^<]+)</th>', shown.text)
    assert rows == ["base", "narrow"]
    assert "capacity" in shown.text  # what the narrow scenario changes
    names = {m.name for m in problem.mentees} | {m.name for m in problem.mentors}
    assert not [n for n in names if n in shown.text]
    progress = client.get(f"/reports/plans/{plan_id}/progress").json()
    assert progress["running"] is False
    assert f'href="/reports/plans/{plan_id}"' in client.get("/reports/plans").text


def test_bad_settings_come_back_and_start_nothing(
    app: FastAPI, client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    made = client.post(
        "/api/rounds", json={"name": "plans", "time_limit": 5}, headers=as_role("matcher")
    )
    round_id = made.json()["id"]
    csrf = sign_in(client, "analyst", "secret-analyst")
    form = {
        "csrf_token": csrf,
        "kind": "compare",
        "round_id": str(round_id),
        "name": ["base", "odd"],
        "settings": ["", "[capacity\nmax = 5"],
    }
    refused = client.post("/reports/plans", data=form)
    assert refused.status_code == 422
    assert "scenario odd: its settings are not TOML" in refused.text
    assert "[capacity\nmax = 5" in refused.text  # what was typed is kept
    unknown = client.post("/reports/plans", data={**form, "settings": ["", "[capacity]\nmost = 5"]})
    assert unknown.status_code == 422 and "scenario odd:" in unknown.text
    no_target = client.post(
        "/reports/plans", data={"csrf_token": csrf, "kind": "recruit", "round_id": str(round_id)}
    )
    assert no_target.status_code == 422 and "choose who must all be matched" in no_target.text
    with app.state.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Plan)) == 0


def test_organisers_have_no_planning(client: TestClient, as_role: Headers) -> None:
    sign_in(client, "organiser", "secret-organiser")
    assert client.get("/reports/plans").status_code == 403


def test_a_recruitment_plan_on_its_page(
    client: TestClient, as_role: Headers, tmp_path: Path
) -> None:
    write_scheme(tmp_path, n_mentors=3, n_mentees=40, seed=11)
    import_scheme(client, tmp_path, as_role("matcher"))
    made = client.post(
        "/api/rounds", json={"name": "plans", "time_limit": 5}, headers=as_role("matcher")
    )
    csrf = sign_in(client, "analyst", "secret-analyst")
    form = {
        "csrf_token": csrf,
        "kind": "recruit",
        "round_id": str(made.json()["id"]),
        "target": "all",
        "time_limit": "10",
    }
    started = client.post("/reports/plans", data=form, follow_redirects=False)
    assert started.status_code == 303, started.text
    plan = client.get(
        f"/api/plans/{started.headers['location'].rsplit('/', 1)[1]}", headers=as_role("analyst")
    ).json()
    assert wait_for_job(client, plan["job_id"], as_role("analyst"))["status"] == "done"
    answer = client.get(f"/api/plans/{plan['id']}", headers=as_role("analyst")).json()["result"]
    page = client.get(f"/reports/plans/{plan['id']}").text
    count = answer["new_mentors"]
    assert f"{count} new mentor{'s' if count != 1 else ''} (optimal)" in page
    assert f"£{answer['cost_per_year_gbp']:,.0f}" in page
    for recruit in answer["recruits"]:
        assert f"<td>{recruit['id']}</td>" in page
        assert ", ".join(recruit["mentees"]) in page
