"""Importing mentors and mentees over HTTP: all or nothing, history, roles."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

MENTORS = (
    "mentor_id,name,email,gmc_number,capacity_max,focus_areas\n"
    "M1,Dr Ada,ada@example.org,1234567,6,leadership\n"
    "M2,Dr Bo,bo@example.org,2345678,,\n"
)
MENTEES = "mentee_id,name,cohort,needs\nE1,Dr Cy,fellow,leadership\nE2,Dr Di,new_partner,\n"


def upload(client: TestClient, kind: str, body: str, headers: dict[str, str], name: str = ""):
    files = {"file": (name or f"{kind}.csv", body.encode(), "text/csv")}
    return client.post(f"/api/{kind}/import", files=files, headers=headers)


def test_import_counts_and_register(
    client: TestClient, as_role: Callable[[str], dict[str, str]]
) -> None:
    answer = upload(client, "mentors", MENTORS, as_role("matcher"))
    assert answer.status_code == 200, answer.text
    counts = {
        k: answer.json()[k] for k in ("kind", "stored", "rows", "added", "updated", "unchanged")
    }
    assert counts == {
        "kind": "mentors",
        "stored": True,
        "rows": 2,
        "added": 2,
        "updated": 0,
        "unchanged": 0,
    }
    register = client.get("/api/mentors", headers=as_role("organiser")).json()
    assert [(m["mentor_id"], m["capacity_max"], m["remaining_capacity"]) for m in register] == [
        ("M1", 6, 6),
        ("M2", 8, 8),  # the scheme's default maximum
    ]
    changed = MENTORS.replace("Dr Bo,", "Dr Bo Smith,")
    again = upload(client, "mentors", changed, as_role("admin")).json()
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 1, 1)
    versions = client.get("/api/mentors/M2/history", headers=as_role("admin")).json()
    assert [(v["version"], v["record"]["name"]) for v in versions] == [
        (1, "Dr Bo"),
        (2, "Dr Bo Smith"),
    ]


def test_bad_file_stores_nothing_and_lists_problems(
    client: TestClient, as_role: Callable[[str], dict[str, str]]
) -> None:
    bad = MENTORS + "M3,Dr Ed,ed@example.org,99,lots,\n"
    answer = upload(client, "mentors", bad, as_role("matcher"))
    assert answer.status_code == 422
    problems = answer.json()["problems"]
    assert {(p["file"], p["row"], p["column"]) for p in problems} >= {
        ("mentors.csv", "4", "gmc_number"),
        ("mentors.csv", "4", "capacity_max"),
    }
    assert "99" not in answer.text  # a GMC number is never echoed
    assert client.get("/api/mentors", headers=as_role("matcher")).json() == []


def test_not_a_spreadsheet_and_oversize(
    client: TestClient, as_role: Callable[[str], dict[str, str]]
) -> None:
    answer = upload(client, "mentees", "hello", as_role("matcher"), name="notes.txt")
    assert answer.status_code == 422
    assert "unknown file type '.txt'" in answer.json()["problems"][0]["problem"]
    big = MENTEES + "".join(f"E{i},Dr X,fellow,\n" for i in range(3, 20_000))
    answer = upload(client, "mentees", big, as_role("matcher"))
    assert answer.status_code == 413
    assert "limit of 200,000 bytes" in answer.json()["detail"]


def test_roles_and_tokens(client: TestClient, as_role: Callable[[str], dict[str, str]]) -> None:
    assert upload(client, "mentees", MENTEES, {}).status_code == 401
    wrong = {"Authorization": "Bearer not-a-token"}
    assert upload(client, "mentees", MENTEES, wrong).status_code == 401
    for role in ("analyst", "organiser"):
        assert upload(client, "mentees", MENTEES, as_role(role)).status_code == 403
    assert client.get("/api/mentees", headers=as_role("analyst")).status_code == 403
    assert client.get("/api/mentors/M1/history", headers=as_role("matcher")).status_code == 403
    assert upload(client, "mentees", MENTEES, as_role("matcher")).status_code == 200
    listed = client.get("/api/mentees", headers=as_role("organiser")).json()
    assert [(m["mentee_id"], m["cohort"], m["matched"]) for m in listed] == [
        ("E1", "fellow", False),
        ("E2", "new_partner", False),
    ]
