"""Analysts' plans through the API: a comparison of settings and a recruitment plan run as
background jobs on a round, their answers equal to the planning commands' own on the same
files, with ids and figures only; bad requests refused with the reason."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from scheme import import_scheme, wait_for_job, write_scheme

from matcher.compare import Scenario, run_all, table_rows
from matcher.data import ProblemData
from matcher.readers import load_problem
from matcher.settings import Settings
from service.plan_work import recruit_answer
from solver.recruit import plan_recruitment, profiles_of

Headers = Callable[[str], dict[str, str]]
NARROW = {"capacity": {"min": 4, "max": 5}}
# Timings differ run to run; every other figure must be the same.
TIMINGS = {"seconds", "wall_limit_fired"}


def _round(client: TestClient, staff: dict[str, str]) -> int:
    made = client.post("/api/rounds", json={"name": "plans", "time_limit": 5}, headers=staff)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _finished(client: TestClient, plan: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    job = wait_for_job(client, plan["job_id"], headers)
    assert job["status"] == "done", job
    answer: dict[str, Any] = client.get(f"/api/plans/{plan['id']}", headers=headers).json()
    return answer


def test_a_comparison_equals_matcher_compare_on_the_files(
    client: TestClient, as_role: Headers, problem: ProblemData, tmp_path: Path
) -> None:
    round_id = _round(client, as_role("matcher"))
    analyst = as_role("analyst")
    asked = {
        "kind": "compare",
        "time_limit": 5,
        "scenarios": [{"name": "base", "settings": {}}, {"name": "narrow", "settings": NARROW}],
    }
    started = client.post(f"/api/rounds/{round_id}/plans", json=asked, headers=analyst)
    assert started.status_code == 202, started.text
    assert started.json()["status"] in ("queued", "running")
    plan = _finished(client, started.json(), analyst)
    rows = plan["result"]["rows"]
    assert [r["scenario"] for r in rows] == ["base", "narrow"]

    folder = tmp_path
    files = [folder / f for f in ("mentors.csv", "mentees.csv", "exclusions.csv")]
    settings = [Settings(), Settings.from_mapping(NARROW)]
    problems = [load_problem(*files, settings=s) for s in settings]
    scenarios = [
        Scenario(n, Path(f"{n}.toml"), s) for n, s in zip(["base", "narrow"], settings, strict=True)
    ]
    direct = table_rows(run_all(scenarios, problems, [0.0, 0.0], time_limit=5, seed=0, say=print))
    for got, want in zip(rows, direct, strict=True):
        want = {k: v for k, v in want.items() if k != "settings"}
        assert {k: v for k, v in got.items() if k not in TIMINGS} == {
            k: v for k, v in want.items() if k not in TIMINGS
        }
    names = {m.name for m in problem.mentees} | {m.name for m in problem.mentors}
    assert not any(name in str(plan) for name in names)
    listed = client.get("/api/plans", headers=analyst).json()
    assert [p["id"] for p in listed] == [plan["id"]]


def test_bad_plans_are_refused(client: TestClient, as_role: Headers, problem: ProblemData) -> None:
    round_id = _round(client, as_role("matcher"))
    analyst = as_role("analyst")
    twice = {
        "kind": "compare",
        "scenarios": [{"name": "a", "settings": {}}, {"name": "a", "settings": NARROW}],
    }
    refused = client.post(f"/api/rounds/{round_id}/plans", json=twice, headers=analyst)
    assert refused.status_code == 422 and "each scenario needs a name of its own" in refused.text
    odd = {"kind": "compare", "scenarios": [{"name": "odd", "settings": {"capacity": {"most": 3}}}]}
    refused = client.post(f"/api/rounds/{round_id}/plans", json=odd, headers=analyst)
    assert refused.status_code == 422 and "scenario odd:" in refused.text
    no_target = {"kind": "recruit"}
    refused = client.post(f"/api/rounds/{round_id}/plans", json=no_target, headers=analyst)
    assert refused.status_code == 422 and "body.recruit.target: Field required" in refused.text
    missing = client.post(
        "/api/rounds/999/plans", json={"kind": "recruit", "target": "all"}, headers=analyst
    )
    assert missing.status_code == 404
    organiser = client.post(
        f"/api/rounds/{round_id}/plans",
        json={"kind": "recruit", "target": "all"},
        headers=as_role("organiser"),
    )
    assert organiser.status_code == 403
    assert client.get("/api/plans", headers=analyst).json() == []


def test_a_recruitment_plan_equals_matcher_recruit_on_the_files(
    client: TestClient, as_role: Headers, tmp_path: Path
) -> None:
    # Few mentors for many mentees: recruits are needed.
    write_scheme(tmp_path, n_mentors=3, n_mentees=40, seed=11)
    import_scheme(client, tmp_path, as_role("matcher"))
    round_id = _round(client, as_role("matcher"))
    analyst = as_role("analyst")
    asked = {"kind": "recruit", "target": "all", "time_limit": 10}
    started = client.post(f"/api/rounds/{round_id}/plans", json=asked, headers=analyst)
    assert started.status_code == 202, started.text
    answer = _finished(client, started.json(), analyst)["result"]

    files = [tmp_path / f for f in ("mentors.csv", "mentees.csv", "exclusions.csv")]
    problem = load_problem(*files)
    profiles = profiles_of(problem.mentors, problem, from_register=True)
    direct = plan_recruitment(problem, profiles, "all", time_limit=10)
    want = recruit_answer(direct, problem.settings)
    assert answer["new_mentors"] > 0 and answer["status"] == "optimal"
    assert {k: v for k, v in answer.items() if k != "seconds"} == {
        k: v for k, v in want.items() if k != "seconds"
    }
    assert answer["cost_per_year_gbp"] == 12_615 * answer["new_mentors"]
    taken = [m for r in answer["recruits"] for m in r["mentees"]]
    assert len(taken) == len(set(taken))
