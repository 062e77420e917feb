"""The pages a matching officer uses, through TestClient: sign in, import, a whole round."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import openpyxl
from fastapi import FastAPI
from fastapi.testclient import TestClient
from scheme import form_token, sign_in, wait_for_job, write_scheme

from matcher.data import ProblemData

PASSWORD = "secret-{}"


def signed_in(app: FastAPI, role: str) -> tuple[TestClient, str]:
    """Another browser: its own cookies (the ``client`` fixture has started the job runner)."""
    client = TestClient(app)
    return client, sign_in(client, role, PASSWORD.format(role))


def settle(client: TestClient, round_id: int, api: dict[str, str]) -> None:
    """Wait for the round's run, if one is going."""
    job_id = client.get(f"/api/rounds/{round_id}", headers=api).json()["active_job"]
    if job_id:
        assert wait_for_job(client, job_id, api)["status"] == "done"


def rows_of(html: str, heading: str) -> list[str]:
    """The body rows of the table in the section headed ``heading``."""
    section = html.split(heading, 1)[1].split("</table>", 1)[0]
    body = section.split("<tbody>", 1)[1]
    return re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)


def test_sign_in_sign_out_and_cookies(app: FastAPI, tokens: dict[str, str]) -> None:
    client = TestClient(app)
    answer = client.get("/rounds", follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/login?next=/rounds")
    for elsewhere in ("//evil.example/x", "/%09/evil.example/x", "/\\evil.example"):
        page = client.get(f"/login?next={elsewhere}")
        assert 'name="next" value="/rounds"' in page.text, elsewhere  # never an open redirect
    form = client.get("/login?next=//evil.example/x")
    assert "default-src 'self'" in form.headers["content-security-policy"]
    token = form_token(form.text)
    wrong = client.post(
        "/login", data={"username": "matcher", "password": "nope", "csrf_token": token}
    )
    assert wrong.status_code == 401
    assert "Wrong user name or password." in wrong.text
    forged = TestClient(app).post(
        "/login", data={"username": "matcher", "password": "secret-matcher", "csrf_token": "x"}
    )
    assert forged.status_code == 403
    answer = client.post(
        "/login",
        data={
            "username": "matcher",
            "password": "secret-matcher",
            "csrf_token": token,
            "next": "/import",
        },
        follow_redirects=False,
    )
    assert (answer.status_code, answer.headers["location"]) == (303, "/import")
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    page = client.get("/import")
    assert "matcher (matcher)" in page.text
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    out = client.post("/logout", data={"csrf_token": form_token(page.text)}, follow_redirects=False)
    assert (out.status_code, out.headers["location"]) == (303, "/login")
    # The server forgot the session: the old cookie no longer signs anyone in.
    client.cookies.set("matcher_session", answer.cookies["matcher_session"])
    assert client.get("/import", follow_redirects=False).status_code == 303


def test_import_is_all_or_nothing(app: FastAPI, tokens: dict[str, str], tmp_path: Path) -> None:
    client, csrf = signed_in(app, "matcher")
    write_scheme(tmp_path)
    mentors = (tmp_path / "mentors.csv").read_bytes()
    bad_mentees = b"mentee_id,name,cohort\nE1,Dr A,fellow\nE2,Dr B,astronaut\n"
    answer = client.post(
        "/import",
        data={"csrf_token": csrf},
        files={"mentors": ("mentors.csv", mentors), "mentees": ("mentees.csv", bad_mentees)},
    )
    assert answer.status_code == 422
    assert "Nothing was imported: 1 problem" in answer.text
    [row] = rows_of(answer.text, "Correct these cells")
    assert re.findall(r"<td[^>]*>(.*?)</td>", row)[:4] == [
        "mentees.csv",
        "3",
        "cohort",
        "astronaut",
    ]
    api = {"Authorization": f"Bearer {tokens['matcher']}"}
    assert client.get("/api/mentors", headers=api).json() == []  # the good file was not kept
    nothing = client.post("/import", data={"csrf_token": csrf})
    assert "Choose at least one file to import." in nothing.text
    mentees = (tmp_path / "mentees.csv").read_bytes()
    answer = client.post(
        "/import",
        data={"csrf_token": csrf},
        files={"mentors": ("mentors.csv", mentors), "mentees": ("mentees.csv", mentees)},
    )
    assert answer.status_code == 200
    done = rows_of(answer.text, "Imported")
    assert [re.findall(r"<td[^>]*>(.*?)</td>", r)[:3] for r in done] == [
        ["mentors.csv (mentors)", "6", "6"],
        ["mentees.csv (mentees)", "30", "30"],
    ]
    assert client.post("/import", files={"mentors": ("m.csv", mentors)}).status_code == 403


def test_a_whole_round_through_the_pages(
    app: FastAPI, client: TestClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    problem = write_scheme(tmp_path)
    csrf = sign_in(client, "matcher", PASSWORD.format("matcher"))
    files = {k: (f"{k}.csv", (tmp_path / f"{k}.csv").read_bytes()) for k in ("mentors", "mentees")}
    assert client.post("/import", data={"csrf_token": csrf}, files=files).status_code == 200
    started = client.post(
        "/rounds",
        data={"csrf_token": csrf, "name": "Spring", "time_limit": "20"},
        follow_redirects=False,
    )
    assert started.status_code == 303
    url = started.headers["location"].split("?")[0]
    round_id = int(url.rsplit("/", 1)[1])
    api = {"Authorization": f"Bearer {tokens['matcher']}"}
    running = client.get(url).text
    assert "Matching in progress" in running or "Proposed pairs" in running
    settle(client, round_id, api)
    page = client.get(url).text
    # The notice the redirect carried no longer says "started" once the run is over.
    landed = client.get(f"{url}?notice=started").text
    assert "Matching finished: the proposed pairs are below." in landed
    assert "Matching started." not in landed
    proposals = client.get(f"/api/rounds/{round_id}/proposals", headers=api).json()
    assert len(rows_of(page, "Proposed pairs")) == len(proposals) > 0
    assert 'http-equiv="refresh"' not in page
    fellows = [p for p in proposals if p["cohort"] == "fellow"]
    filtered = client.get(f"{url}?cohort=fellow").text
    assert len(rows_of(filtered, "Proposed pairs")) == len(fellows)

    # Forbid the first pair from its row, run again: the pair is gone.
    first = proposals[0]
    answer = client.post(
        f"{url}/pairs",
        data={
            "csrf_token": csrf,
            "kind": "forbid",
            "mentor_id": first["mentor_id"],
            "mentee_id": first["mentee_id"],
        },
    )
    assert "Pair forbidden" in answer.text
    assert f"Forbidden: {first['mentor_id']} with {first['mentee_id']}" in answer.text
    rerun = client.post(f"{url}/run", data={"csrf_token": csrf}, follow_redirects=False)
    assert rerun.status_code == 303
    wait_for_job(
        client, client.get(f"/api/rounds/{round_id}", headers=api).json()["active_job"] or "", api
    ) if client.get(f"/api/rounds/{round_id}", headers=api).json()["active_job"] else None
    again = client.get(f"/api/rounds/{round_id}/proposals", headers=api).json()
    assert (first["mentor_id"], first["mentee_id"]) not in {
        (p["mentor_id"], p["mentee_id"]) for p in again
    }

    approved = client.post(f"{url}/approve", data={"csrf_token": csrf})
    assert "Approved: the proposals are now confirmed matches." in approved.text
    assert ">Approve</button>" not in approved.text
    assert len(client.get("/api/matches", headers=api).json()) == len(again)

    download = client.get(f"{url}/pairs.csv")
    assert (
        download.headers["content-disposition"]
        == f'attachment; filename="round-{round_id}-pairs.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert [(r["mentor_id"], r["mentee_id"], int(r["score"])) for r in rows] == [
        (p["mentor_id"], p["mentee_id"], p["score"]) for p in again
    ]
    names = {m.mentor_id: m.name for m in problem.mentors}
    assert all(r["mentor_name"] == names[r["mentor_id"]] for r in rows)
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"{url}/pairs.xlsx").content))
    sheet = list(book.active.iter_rows(values_only=True))
    assert sheet[0] == (
        "mentor_id",
        "mentor_name",
        "mentor_email",
        "mentee_id",
        "mentee_name",
        "mentee_email",
        "cohort",
        "score",
        "reasons",
    )
    assert [(r[0], r[3]) for r in sheet[1:]] == [(p["mentor_id"], p["mentee_id"]) for p in again]


def test_analysts_see_ids_and_cannot_act(
    app: FastAPI, client: TestClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    problem: ProblemData = write_scheme(tmp_path)
    staff, csrf = client, sign_in(client, "matcher", PASSWORD.format("matcher"))
    files = {k: (f"{k}.csv", (tmp_path / f"{k}.csv").read_bytes()) for k in ("mentors", "mentees")}
    staff.post("/import", data={"csrf_token": csrf}, files=files)
    url = staff.post("/rounds", data={"csrf_token": csrf, "name": "R", "time_limit": "20"}).url.path
    api = {"Authorization": f"Bearer {tokens['matcher']}"}
    job_id = staff.get(f"{url}".replace("/rounds/", "/api/rounds/"), headers=api).json()[
        "active_job"
    ]
    if job_id:
        wait_for_job(staff, job_id, api)
    analyst, analyst_csrf = signed_in(app, "analyst")
    page = analyst.get(url)
    assert page.status_code == 200 and "Proposed pairs" in page.text
    names = [m.name for m in problem.mentors] + [m.name for m in problem.mentees]
    assert not [n for n in names if n in page.text]
    assert "Approve" not in page.text and "Forbid" not in page.text
    header = analyst.get(f"{url}/pairs.csv").content.decode("utf-8-sig").splitlines()[0]
    assert header == (
        "mentor_id,mentee_id,cohort,score,"
        "score_needs,score_preference,score_mutual,score_diversity,score_travel"
    )
    refused = analyst.get("/import")
    assert refused.status_code == 403 and "the analyst role may not do this" in refused.text
    assert analyst.post(f"{url}/approve", data={"csrf_token": analyst_csrf}).status_code == 403
    assert staff.get("/rounds/9999").status_code == 404
