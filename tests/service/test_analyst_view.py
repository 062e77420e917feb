"""Everything an analyst can receive is pseudonymised (SPEC section 6: analysts see ids).

The LMC sample is imported; staff run a round that cannot be solved (a pin breaks a mentee's
strict gender wish), then a round with a pin and a forbid whose reasons name people, approve
it, end a match with a reason naming a person, and type a few more notes an analyst may not
read (an application's decision, an event's name). Then the analyst asks for every GET route
of the service -- the API, the pages and the downloads -- with every id filled in, and every
string of every answer is held against the sample's names, e-mails, GMC numbers and
diversity values, the words of diversity reasons, and everything staff typed.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Callable, Iterator
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from scheme import run_round, sign_in, wait_for_job
from sqlalchemy import select

from matcher.readers import load_problem
from matcher.rules import RULE_CODES, allowed_pairs
from service.db import transaction
from service.models import (
    Application,
    Event,
    Job,
    Match,
    OutboxMail,
    Plan,
    Round,
    Survey,
    TrainingRecord,
    User,
)

Headers = Callable[[str], dict[str, str]]
LMC = Path(__file__).resolve().parents[2] / "datasets" / "samples" / "lmc"
# Documentation of the service, the same for everyone: no records in them.
NOT_DATA = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/health"}
# Words of reasons derived from gender, ethnicity or IMG, whatever the values.
DIVERSITY_WORDS = ("gender", "ethnicity", "ethnic", "IMG", "international medical graduate")
DIVERSITY_COLUMNS = ("gender", "ethnicity", "mentor_gender")
# Figures per mentee group (the participants' experience, as the equity measures group
# mentees: gender, ethnicity, IMG; groups of 5 or more): they name the groups, never a person.
GROUP_FIGURES = {
    "/api/reports/experience",
    "/reports/experience",
    "/reports/experience.csv",
    "/reports/monitoring.xlsx",
}


def sample_rows(kind: str) -> list[dict[str, str]]:
    with open(LMC / f"{kind}.csv", encoding="utf-8-sig", newline="") as file:
        return list(csv.DictReader(file))


def forbidden_words(typed: list[str], diversity: bool = True) -> re.Pattern[str]:
    """Any name, e-mail, GMC number or (``diversity``) diversity value of the sample, any
    text staff typed."""
    people = sample_rows("mentors") + sample_rows("mentees")
    words = set(typed)
    words |= {r[c] for r in people for c in ("name", "email", "gmc_number") if r.get(c)}
    if diversity:
        words |= set(DIVERSITY_WORDS)
        words |= {r[c] for r in people for c in DIVERSITY_COLUMNS if r.get(c)}
    words |= {r["reason"] for r in sample_rows("exclusions")}
    assert {"Dr Ravi Kaur", "4550196"} <= words  # the sample's own
    assert not diversity or {"female", "male", "White"} <= words
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    # Whole words only: "male" is not in "female", nor a GMC number in a longer number.
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", re.IGNORECASE)


class _Text(HTMLParser):
    """The text and attribute values of a page: what a reader or a script can take from it."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # An ARIA role is a word of HTML's own (a chart's role="img"), not data.
        self.found += [value for name, value in attrs if value and name != "role"]

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.found.append(data)


def strings_of(value: Any) -> Iterator[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings_of(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_of(item)


def strings(answer: Any) -> list[str]:
    """Every string of an answer (a TestClient response), read as its content type says."""
    kind = answer.headers.get("content-type", "")
    if "json" in kind:
        return list(strings_of(answer.json()))
    if "html" in kind:
        parser = _Text()
        parser.feed(answer.text)
        return parser.found
    if "spreadsheetml" in kind:
        book = openpyxl.load_workbook(io.BytesIO(answer.content))
        return [
            str(cell)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
            for cell in (sheet.title, *row)
            if cell is not None
        ]
    return [answer.content.decode("utf-8-sig")]


def get_templates(app: FastAPI) -> list[str]:
    """The path of every GET route, the API's and the pages' alike."""

    def walk(routes: list[Any], prefix: str) -> Iterator[str]:
        for route in routes:
            if hasattr(route, "original_router"):  # an included router
                yield from walk(route.original_router.routes, prefix + route.include_context.prefix)
            elif "GET" in (getattr(route, "methods", None) or ()):
                yield prefix + route.path

    return sorted(set(walk(app.routes, "")) - NOT_DATA)


def filled(template: str, ids: dict[str, list[str]]) -> list[str]:
    """The template with every combination of real values for its parameters."""
    names = re.findall(r"\{(\w+)(?::\w+)?\}", template)
    unknown = [n for n in names if n not in ids]
    assert not unknown, f"{template}: tell this test which values {unknown} take"
    paths = []
    for values in itertools.product(*(ids[n] for n in names)):
        path = template
        for name, value in zip(names, values, strict=True):
            path = re.sub(r"\{" + name + r"(?::\w+)?\}", value, path, count=1)
        paths.append(path)
    return paths


def strict_gender_clash() -> tuple[str, str]:
    """A mentor whom a mentee's strict gender wish alone rules out, and that mentee."""
    problem = load_problem(LMC / "mentors.csv", LMC / "mentees.csv", LMC / "exclusions.csv")
    blocked = allowed_pairs(problem).blocked_by
    i, j = next(zip(*np.nonzero(blocked == RULE_CODES.index("gender")), strict=True))
    return problem.mentors[i].mentor_id, problem.mentees[j].mentee_id


def import_mentees(
    client: TestClient, staff: dict[str, str], changes: dict[str, dict[str, str]]
) -> None:
    """The sample's mentees file, with ``changes`` (mentee id -> column -> cell) made."""
    rows = [{**row, **changes.get(row["mentee_id"], {})} for row in sample_rows("mentees")]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    files = {"file": ("mentees.csv", out.getvalue().encode(), "text/csv")}
    answer = client.post("/api/mentees/import", files=files, headers=staff)
    assert answer.status_code == 200, answer.text


@pytest.fixture
def scheme(client: TestClient, as_role: Headers) -> dict[str, Any]:
    """The LMC sample, two rounds, matches and records: what staff typed, and the round ids."""
    staff = as_role("matcher")
    for kind in ("mentors", "mentees", "exclusions"):
        path = LMC / f"{kind}.csv"
        files = {"file": (path.name, path.read_bytes(), "text/csv")}
        answer = client.post(f"/api/{kind}/import", files=files, headers=staff)
        assert answer.status_code == 200, answer.text
    mentors = {r["mentor_id"]: r for r in sample_rows("mentors")}
    mentees = {r["mentee_id"]: r for r in sample_rows("mentees")}
    typed: list[str] = []

    def new_round(name: str) -> int:
        answer = client.post("/api/rounds", json={"name": name, "time_limit": 20}, headers=staff)
        assert answer.status_code == 201, answer.text
        return int(answer.json()["id"])

    def add_pair(round_id: int, kind: str, mentor_id: str, mentee_id: str, reason: str) -> None:
        body = {"kind": kind, "mentor_id": mentor_id, "mentee_id": mentee_id, "reason": reason}
        answer = client.post(f"/api/rounds/{round_id}/pairs", json=body, headers=staff)
        assert answer.status_code == 201, answer.text
        typed.append(reason)

    # A round that cannot be solved: its pin breaks the mentee's strict gender wish. Such a
    # pin is refused when made, so it is made while the wish is not strict, and the wish
    # made strict again afterwards (as a re-import of the register would).
    mentor_id, mentee_id = strict_gender_clash()
    clash = new_round("Q1 trial")
    import_mentees(client, staff, {mentee_id: {"mentor_gender_strict": "no"}})
    add_pair(clash, "pin", mentor_id, mentee_id, f"asked for by {mentees[mentee_id]['name']}")
    import_mentees(client, staff, {})
    assert run_round(client, clash, staff)["status"] == "done"
    summary = client.get(f"/api/rounds/{clash}", headers=staff).json()["summary"]
    assert summary["status"] == "infeasible"
    assert any("gender" in c for c in summary["conflicts"]), summary["conflicts"]

    # A round with a pin and a forbid that name people, approved.
    solved = new_round("Q1")
    add_pair(solved, "pin", "MR0002", "ME0002", "Sam Reid knows her from the VTS: keep together")
    add_pair(solved, "forbid", "MR0001", "ME0001", f"{mentors['MR0001']['name']} is his appraiser")
    assert run_round(client, solved, staff)["status"] == "done"
    proposals = client.get(f"/api/rounds/{solved}/proposals", headers=staff).json()
    assert any("as wished" in p["reasons"] for p in proposals)  # reasons from diversity wishes
    unmatched = client.get(f"/api/rounds/{solved}/unmatched", headers=staff).json()
    assert any("gender" in u["reason"] for u in unmatched), unmatched
    answer = client.post(f"/api/rounds/{solved}/approve", headers=staff)
    assert answer.status_code == 200, answer.text

    matches = client.get("/api/matches", headers=staff).json()
    ended, registered = matches[0], matches[1]
    reason = f"{mentees[ended['mentee_id']]['name']} moved to Leeds"
    answer = client.patch(
        f"/api/matches/{ended['id']}", json={"status": "ended", "reason": reason}, headers=staff
    )
    assert answer.status_code == 200, answer.text
    typed.append(reason)
    answer = client.patch(
        f"/api/matches/{registered['id']}", json={"status": "registered"}, headers=staff
    )
    assert answer.status_code == 200, answer.text
    held = {"held_on": date.today().isoformat(), "minutes": 45}
    answer = client.post(f"/api/matches/{registered['id']}/sessions", json=held, headers=staff)
    assert answer.status_code == 201, answer.text

    # Records analysts may not read at all, so that a route which leaks them is caught.
    application = {
        "applicant_name": "Dr Ada Lovelace",
        "email": "ada@example.org",
        "gmc_number": "7654321",
        "has_full_registration": True,
        "has_licence": True,
        "on_performers_list": True,
        "suspended": False,
        "clinical_sessions_per_week": 6,
        "years_post_cct": 12,
        "commits_12_months": True,
        "commits_training": True,
    }
    answer = client.post("/api/applications", json=application, headers=staff)
    assert answer.status_code == 201, answer.text
    decision = {"decision": "approved", "reason": "Interviewed by Dr Ravi Kaur: strong"}
    answer = client.post(
        f"/api/applications/{answer.json()['id']}/decision", json=decision, headers=as_role("admin")
    )
    assert answer.status_code == 200, answer.text
    typed += ["Dr Ada Lovelace", "ada@example.org", "7654321", decision["reason"]]
    course = {
        "mentor_id": "MR0003",
        "course": "Coaching with Dr Ravi Kaur",
        "started_on": "2026-01-05",
    }
    answer = client.post("/api/training", json=course, headers=staff)
    assert answer.status_code == 201, answer.text
    typed.append(course["course"])
    event_name = "Evening at Dr Sam Reid's practice"
    event = {
        "name": event_name,
        "held_on": date.today().isoformat(),
        "rounds": 2,
        "mentor_ids": ["MR0002", "MR0003"],
        "mentee_ids": [m for m, r in mentees.items() if not r["preferred_mentors"]][:3],
    }
    answer = client.post("/api/events", json=event, headers=as_role("organiser"))
    assert answer.status_code == 201, answer.text
    typed.append(event_name)
    # A plan of the solved round, read back by analysts with its answer.
    asked = {
        "kind": "compare",
        "time_limit": 5,
        "scenarios": [{"name": "base"}, {"name": "narrow", "settings": {"capacity": {"max": 5}}}],
    }
    answer = client.post(f"/api/rounds/{solved}/plans", json=asked, headers=as_role("analyst"))
    assert answer.status_code == 202, answer.text
    assert wait_for_job(client, answer.json()["job_id"], staff)["status"] == "done"
    return {"typed": typed, "rounds": [clash, solved]}


def test_an_analyst_receives_no_name_no_diversity_reason_and_no_typed_text(
    app: FastAPI, client: TestClient, as_role: Headers, scheme: dict[str, Any]
) -> None:
    with transaction(app.state.sessions) as session:
        ids = {
            "round_id": [str(i) for i in session.scalars(select(Round.id))],
            "job_id": list(session.scalars(select(Job.id))),
            "match_id": [str(i) for i in session.scalars(select(Match.id))],
            "application_id": [str(i) for i in session.scalars(select(Application.id))],
            "event_id": [str(i) for i in session.scalars(select(Event.id))],
            "user_id": [str(i) for i in session.scalars(select(User.id))],
            "record_id": [str(i) for i in session.scalars(select(TrainingRecord.id))],
            "survey_id": [str(i) for i in session.scalars(select(Survey.id))],
            "mail_id": [str(i) for i in session.scalars(select(OutboxMail.id))][:3],
            "plan_id": [str(i) for i in session.scalars(select(Plan.id))],
        }
    assert (
        len(ids["round_id"]) == 2
        and len(ids["job_id"]) == 3
        and len(ids["plan_id"]) == 1
        and len(ids["match_id"]) > 100
    )
    ids |= {
        "kind": ["mentors", "mentees", "exclusions", "csv", "xlsx"],
        "suffix": ["csv", "xlsx"],
        "person_id": ["MR0001", "ME0001"],
    }
    paths = [p for t in get_templates(app) for p in filled(t, ids)]
    paths += ["/api/matches?status=ended", "/matches?status=ended", "/api/sessions"]
    paths += [f"/rounds/{r}?q=a" for r in ids["round_id"]]
    paths += [
        f"{p}?by={by}"
        for p in ("/api/reports/experience", "/reports/experience")
        for by in ("round", "cohort", "group")
    ]

    sign_in(client, "analyst", "secret-analyst")  # the pages, by the session's cookie
    analyst = as_role("analyst")  # the API, by token
    forbidden = forbidden_words(scheme["typed"])
    identifying = forbidden_words(scheme["typed"], diversity=False)
    answered, leaks = set(), []
    for path in paths:
        answer = client.get(path, headers=analyst)
        assert answer.status_code in (200, 403, 404, 422), (path, answer.status_code)
        if answer.status_code == 200:
            answered.add(path.split("?")[0])
        refused = identifying if path.split("?")[0] in GROUP_FIGURES else forbidden
        for text in strings(answer):
            leaks += [(path, found[0], text[:200]) for found in refused.finditer(text)]
    shown = {(path, word.lower()): text for path, word, text in leaks}  # one of each
    assert leaks == [], "\n".join(f"{p}: {w!r} in {t!r}" for (p, w), t in list(shown.items())[:60])

    # The analyst did read the records: the test would prove nothing otherwise.
    solved = scheme["rounds"][1]
    for round_id in scheme["rounds"]:
        assert {
            f"/api/rounds/{round_id}",
            f"/api/rounds/{round_id}/proposals",
            f"/api/rounds/{round_id}/unmatched",
            f"/api/rounds/{round_id}/pairs",
            f"/rounds/{round_id}",
        } <= answered
    assert {
        "/api/matches",
        "/matches",
        "/reports",
        "/api/reports/monitoring",
        "/api/reports/finance",
        "/sessions",
        "/reports/monitoring.csv",
        "/reports/monitoring.xlsx",
        "/reports/experience",
        "/reports/experience.csv",
        "/api/reports/experience",
        "/reports/ledger.csv",
        "/reports/ledger-by-mentor.csv",
        "/reports/ledger.xlsx",
        f"/rounds/{solved}/pairs.csv",
        f"/rounds/{solved}/pairs.xlsx",
    } <= answered
    assert {f"/api/jobs/{job}" for job in ids["job_id"]} <= answered
    assert not {"/api/mentors", "/api/audit", "/api/applications", "/api/events"} & answered
    assert (
        not {"/people", "/people/mentors/MR0001", "/training", "/applications", "/audit"} & answered
    )


def test_an_analyst_reads_score_parts_instead_of_reasons(
    client: TestClient, as_role: Headers, scheme: dict[str, Any]
) -> None:
    solved = scheme["rounds"][1]
    problem = load_problem(LMC / "mentors.csv", LMC / "mentees.csv", LMC / "exclusions.csv")
    staff = client.get(f"/api/rounds/{solved}/proposals", headers=as_role("matcher")).json()
    seen = client.get(f"/api/rounds/{solved}/proposals", headers=as_role("analyst")).json()
    waiting = client.get(f"/api/rounds/{solved}/unmatched", headers=as_role("analyst")).json()
    assert len(seen) == len(staff) and len(seen) + len(waiting) == len(problem.mentees)
    assert {tuple(sorted(p)) for p in seen} == {
        ("cohort", "mentee_id", "mentor_id", "score", "score_parts")
    }
    parts = ("needs", "preference", "mutual", "diversity", "travel")
    assert all(tuple(p["score_parts"]) == parts for p in seen)
    assert all(sum(p["score_parts"].values()) == p["score"] for p in seen)
    # A pair whose reasons say a diversity wish was met shows it as a number only.
    wished = {(p["mentor_id"], p["mentee_id"]) for p in staff if "as wished" in p["reasons"]}
    assert wished
    for p in seen:
        assert (p["score_parts"]["diversity"] > 0) == ((p["mentor_id"], p["mentee_id"]) in wished)
    # The mentee no mentor may take is told so, without the rule that ruled them out.
    assert [u["reason"] for u in waiting] == ["no allowed mentor under the hard rules"]

    sign_in(client, "analyst", "secret-analyst")
    download = client.get(f"/rounds/{solved}/pairs.csv")
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert list(rows[0]) == ["mentor_id", "mentee_id", "cohort", "score"] + [
        f"score_{part}" for part in parts
    ]
    assert [(r["mentor_id"], r["mentee_id"], int(r["score"])) for r in rows] == [
        (p["mentor_id"], p["mentee_id"], p["score"]) for p in seen
    ]
    assert all(sum(int(r[f"score_{part}"]) for part in parts) == int(r["score"]) for r in rows)


def test_a_failed_jobs_words_are_withheld_from_analysts(
    app: FastAPI, client: TestClient, as_role: Headers
) -> None:
    # A failure's words can quote the records that failed.
    words = "the stored records do not pass: mentor MR0001 (Dr Ravi Kaur), gender: 'female'"
    with transaction(app.state.sessions) as session:
        session.add(Job(id="job-1", kind="round", status="failed", error=words))
    staff = client.get("/api/jobs/job-1", headers=as_role("matcher")).json()
    analyst = client.get("/api/jobs/job-1", headers=as_role("analyst")).json()
    assert staff["error"] == words
    assert analyst["error"] == "ask a matching officer why"
    assert {k: v for k, v in analyst.items() if k != "error"} == {
        k: v for k, v in staff.items() if k != "error"
    }
