"""A small generated scheme, imported through the API, and a helper that waits for a job."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from datasets.generator import generate, write_dataset
from matcher.data import ProblemData
from matcher.readers import load_problem

JOB_TIMEOUT = 120.0


def write_scheme(
    folder: Path, n_mentors: int = 6, n_mentees: int = 30, seed: int = 7
) -> ProblemData:
    """Generate a scheme, write its files, and return it as ``matcher match`` would read them."""
    write_dataset(generate(n_mentors, n_mentees, seed=seed), folder)
    return load_problem(folder / "mentors.csv", folder / "mentees.csv", folder / "exclusions.csv")


def import_scheme(client: TestClient, folder: Path, headers: dict[str, str]) -> None:
    for kind in ("mentors", "mentees", "exclusions"):
        path = folder / f"{kind}.csv"
        files = {"file": (path.name, path.read_bytes(), "text/csv")}
        answer = client.post(f"/api/{kind}/import", files=files, headers=headers)
        assert answer.status_code == 200, answer.text


def wait_for_job(client: TestClient, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + JOB_TIMEOUT
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {JOB_TIMEOUT} s")


def run_round(client: TestClient, round_id: int, headers: dict[str, str]) -> dict[str, Any]:
    answer = client.post(f"/api/rounds/{round_id}/run", headers=headers)
    assert answer.status_code == 202, answer.text
    return wait_for_job(client, answer.json()["job_id"], headers)


def form_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a csrf_token"
    return found.group(1)


def sign_in(client: TestClient, user: str, password: str, next_path: str = "/rounds") -> str:
    """Sign in through the real form; returns the CSRF token of the signed-in session."""
    page = client.get(f"/login?next={next_path}")
    answer = client.post(
        "/login",
        data={
            "username": user,
            "password": password,
            "csrf_token": form_token(page.text),
            "next": next_path,
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return form_token(client.get("/rounds").text)


def approve_new_round(client: TestClient, staff: dict[str, str]) -> list[dict[str, Any]]:
    """A round of everyone waiting, run and approved through the API; every match stored."""
    answer = client.post("/api/rounds", json={"name": "Q1", "time_limit": 20}, headers=staff)
    assert answer.status_code == 201, answer.text
    round_id = answer.json()["id"]
    assert run_round(client, round_id, staff)["status"] == "done"
    assert client.post(f"/api/rounds/{round_id}/approve", headers=staff).status_code == 200
    found: list[dict[str, Any]] = client.get("/api/matches", headers=staff).json()
    return found
