"""The People pages: the list (paged and searched in the database), a page per person, and the
edit form, which stores a new version exactly as an import of one row would.

The scheme is the generated one of ``scheme.write_scheme`` (6 mentors, 30 mentees, seed 7),
imported through the API; the national-size test imports 4,000 mentees straight through
``service.people``, as the API's import would.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from page_reading import sign_in
from scheme import run_round
from sqlalchemy import func, select

from datasets.generator import generate, sample_dir, write_dataset
from matcher.data import ProblemData
from matcher.readers import load_problem
from matcher.spreadsheet import Table
from service.db import transaction
from service.models import Import, Round, User
from service.people import import_people, read_people_file
from service.person_edit import KINDS, form_value

Headers = Callable[[str], dict[str, str]]
MENTEE_ROW = re.compile(r'<tr id="mentee-([^"]+)">')
MENTOR_ROW = re.compile(r'<tr id="mentor-([^"]+)">')


class EditForm(HTMLParser):
    """The fields of a page's edit form as a browser would send them."""

    def __init__(self, page: str):
        super().__init__()
        self.fields: dict[str, str] = {}
        self._in_form = False
        self._select: str | None = None
        self._first: str | None = None
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and "edit" in a.get("class", "").split():
            self._in_form = True
        elif not self._in_form:
            return
        elif tag == "input":
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select, self._first = a["name"], None
        elif tag == "option" and self._select:
            if self._first is None:
                self._first = a.get("value", "")
                self.fields.setdefault(self._select, self._first)
            if "selected" in a:
                self.fields[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "form":
            self._in_form = False


def edit_form(client: TestClient, path: str) -> dict[str, str]:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return EditForm(page.text).fields


def field_errors(page: str, column: str) -> list[str]:
    """The problems shown beside the form field of ``column``."""
    return re.findall(rf'<span class="error" id="e_{column}-error\d+">([^<]*)</span>', page)


def versions(client: TestClient, as_role: Headers, kind: str, person_id: str) -> list[Any]:
    answer = client.get(f"/api/{kind}/{person_id}/history", headers=as_role("admin"))
    assert answer.status_code == 200, answer.text
    found: list[Any] = answer.json()
    return found


def test_the_list_is_paged_and_searched(client: TestClient, problem: ProblemData) -> None:
    sign_in(client, "organiser")
    ids = sorted(m.mentee_id for m in problem.mentees)
    page = client.get("/people?per_page=10&page=2")
    assert page.status_code == 200, page.text
    assert MENTEE_ROW.findall(page.text) == ids[10:20]
    assert "Showing 11–20 of 30" in page.text
    assert '<a href="/people?page=3&amp;per_page=10" rel="next">' in page.text
    assert f'<a href="/people/mentees/{ids[10]}">{ids[10]}</a>' in page.text

    # Part of a surname, in any case: every mentee whose id or name holds it, and no other.
    wanted = next(m for m in problem.mentees if m.mentee_id == ids[17])
    part = wanted.name.split()[-1][1:4].upper()
    found = MENTEE_ROW.findall(client.get("/people", params={"q": part}).text)
    assert found == sorted(
        m.mentee_id
        for m in problem.mentees
        if part.lower() in m.name.lower() or part.lower() in m.mentee_id.lower()
    )
    assert wanted.mentee_id in found
    assert MENTEE_ROW.findall(client.get("/people", params={"q": ids[3].lower()}).text) == [ids[3]]

    # Cohorts and needs are shown in words; the cohort filter keeps one cohort.
    cohort = wanted.cohort
    by_cohort = client.get("/people", params={"cohort": cohort})
    assert MENTEE_ROW.findall(by_cohort.text) == sorted(
        m.mentee_id for m in problem.mentees if m.cohort == cohort
    )
    assert "_" not in "".join(re.findall(r"<td>([^<]*)</td>", by_cohort.text))
    # Nobody is matched yet: all are waiting.
    assert len(MENTEE_ROW.findall(client.get("/people?status=waiting").text)) == 30
    assert "No mentee fits this search." in client.get("/people?status=matched").text

    # Mentors, filtered by status: MR0003 is the one paused mentor.
    mentors = client.get("/people", params={"kind": "mentors", "status": "paused"})
    assert MENTOR_ROW.findall(mentors.text) == ["MR0003"]
    active = client.get("/people", params={"kind": "mentors", "status": "active"})
    assert MENTOR_ROW.findall(active.text) == ["MR0001", "MR0002", "MR0004", "MR0005", "MR0006"]


def test_roles_read_and_edit_as_the_api_allows(
    client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    mentee = problem.mentees[0].mentee_id
    path = f"/people/mentees/{mentee}"
    signed_out = client.get(path, follow_redirects=False)
    assert signed_out.headers["location"] == f"/login?next=/people/mentees/{mentee}"
    sign_in(client, "analyst")
    assert client.get("/people").status_code == 403
    assert client.get(path).status_code == 403

    # Organisers read the list and the person, with no form, no matches and no history.
    csrf = sign_in(client, "organiser")
    page = client.get(path)
    assert page.status_code == 200, page.text
    assert problem.mentees[0].name in page.text
    assert 'name="version"' not in page.text
    assert "History" not in page.text and "Matches</h2>" not in page.text
    refused = client.post(path, data={"csrf_token": csrf, "version": "1", "name": "Dr New Name"})
    assert refused.status_code == 403
    assert len(versions(client, as_role, "mentees", mentee)) == 1

    # Matchers edit every column but the diversity data, and see no history.
    sign_in(client, "matcher")
    fields = edit_form(client, path)
    assert {"name", "cohort", "needs", "waiting_since"} <= set(fields)
    assert not {"mentee_id", "gender", "ethnicity", "img"} & set(fields)
    assert "History</h2>" not in client.get(path).text

    # Admins also see the diversity columns and the history.
    sign_in(client, "admin")
    assert {"gender", "ethnicity", "img"} <= set(edit_form(client, path))
    assert '<tr id="version-1">' in client.get(path).text

    # A form without the session's token is refused.
    fields = edit_form(client, path)
    answer = client.post(path, data={**fields, "name": "Dr Other", "csrf_token": "forged"})
    assert answer.status_code == 403
    assert len(versions(client, as_role, "mentees", mentee)) == 1


def test_an_edit_is_a_new_version_that_the_next_round_reads(
    app: FastAPI, client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    staff = as_role("matcher")
    first = client.post("/api/rounds", json={"name": "before", "time_limit": 20}, headers=staff)
    assert run_round(client, first.json()["id"], staff)["status"] == "done"
    proposals = client.get(f"/api/rounds/{first.json()['id']}/proposals", headers=staff).json()
    busiest = max(
        {p["mentor_id"] for p in proposals},
        key=lambda m: sum(p["mentor_id"] == m for p in proposals),
    )

    # Pause the busiest mentor through their page's form.
    sign_in(client, "matcher")
    path = f"/people/mentors/{busiest}"
    fields = edit_form(client, path)
    assert fields["status"] in ("", "active") and fields["version"] == "1"
    answer = client.post(path, data={**fields, "status": "paused"}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"{path}?notice=saved&version=2"
    assert "Saved as version 2." in client.get(answer.headers["location"]).text

    history = versions(client, as_role, "mentors", busiest)
    assert [v["version"] for v in history] == [1, 2]
    assert history[1]["record"] == {**history[0]["record"], "status": "paused"}
    # The same versioning as an import: a batch of one row, one updated, and an audit entry.
    with transaction(app.state.sessions) as db:
        batch = db.get(Import, history[1]["import_id"])
        assert batch is not None
        assert (batch.kind, batch.rows, batch.updated, batch.added) == ("mentors", 1, 1, 0)
        assert db.scalar(select(User.name).where(User.id == batch.user_id)) == "matcher"
    audit = client.get("/api/audit", headers=as_role("admin")).json()
    assert [a["action"] for a in audit[:2]] == ["mentors.edit", "mentors.import"]
    assert audit[0]["entity_id"] == busiest and audit[0]["detail"] == {"version": 2}

    # The admin's page shows the change in words.
    sign_in(client, "admin")
    shown = client.get(path).text
    assert re.search(r'<tr id="version-2">.*?Status: active → paused', shown, re.S)

    # A new round reads version 2: the paused mentor gets nobody.
    second = client.post("/api/rounds", json={"name": "after", "time_limit": 20}, headers=staff)
    round_id = second.json()["id"]
    assert run_round(client, round_id, staff)["status"] == "done"
    after = client.get(f"/api/rounds/{round_id}/proposals", headers=staff).json()
    assert after and all(p["mentor_id"] != busiest for p in after)
    with transaction(app.state.sessions) as db:
        round_ = db.get(Round, round_id)
        assert round_ is not None and round_.inputs is not None
        assert round_.inputs["mentors"][busiest] == 2


def test_a_bad_value_is_refused_beside_its_field(
    app: FastAPI, client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    mentee = problem.mentees[4].mentee_id
    path = f"/people/mentees/{mentee}"
    sign_in(client, "matcher")
    fields = edit_form(client, path)
    typed = {**fields, "waiting_since": "31/02/2025", "needs": "leadership; knitting"}
    answer = client.post(path, data=typed)
    assert answer.status_code == 422, answer.text
    assert field_errors(answer.text, "waiting_since") == [
        "not a date (expected a date such as 18/04/2026, 18 Apr 2026 or 2026-04-18)"
    ]
    (needs,) = field_errors(answer.text, "needs")
    assert "knitting" in needs
    assert field_errors(answer.text, "name") == []
    # What was typed is kept, and nothing is stored.
    again = EditForm(answer.text).fields
    assert again["waiting_since"] == "31/02/2025"
    assert again["needs"] == "leadership; knitting"
    assert len(versions(client, as_role, "mentees", mentee)) == 1
    with transaction(app.state.sessions) as db:
        assert (
            db.scalar(select(func.count()).select_from(Import)) == 2
        )  # the mentors and mentees files

    # The name is required: an empty one is refused, not stored.
    answer = client.post(path, data={**fields, "name": "  "})
    assert answer.status_code == 422
    assert field_errors(answer.text, "name") == ["required, but empty"]


def test_unchanged_input_stores_nothing(
    client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    mentee = problem.mentees[2].mentee_id
    path = f"/people/mentees/{mentee}"
    sign_in(client, "matcher")
    # Lists are shown in words ("Tuesday morning"), and read back to the same codes.
    fields = edit_form(client, path)
    answer = client.post(path, data=fields, follow_redirects=False)
    assert answer.headers["location"] == f"{path}?notice=unchanged"
    assert "Nothing changed" in client.get(answer.headers["location"]).text
    # The same values written another way are the same values.
    answer = client.post(path, data={**fields, "name": f"  {fields['name']} "})
    assert "Nothing changed" in answer.text
    assert len(versions(client, as_role, "mentees", mentee)) == 1


@pytest.mark.parametrize("kind", ["mentors", "mentees"])
def test_the_form_shows_every_sample_value_in_words_that_read_back_the_same(kind: str) -> None:
    """Every person of the LMC sample, as the form shows them (lists in words, "Tuesday
    morning"), reads back through the readers to exactly the values stored."""
    path = sample_dir("lmc") / f"{kind}.csv"
    stored = read_people_file(kind, path.name, path.read_bytes())
    header = stored.table.header
    shown = [
        (n, {c: form_value(c, v) for c, v in zip(header, cells, strict=True)})
        for n, cells in enumerate(stored.stored, start=2)
    ]
    assert any(" " in row.get("availability", "") for _n, row in shown)  # words, not codes
    again = KINDS[kind].read(Table.from_rows("form", header, shown), keep_records=False)
    assert again.stored == stored.stored


def test_a_form_read_before_another_change_is_refused(
    client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    mentee = problem.mentees[1].mentee_id
    path = f"/people/mentees/{mentee}"
    sign_in(client, "matcher")
    mine = edit_form(client, path)
    theirs = edit_form(client, path)
    saved = client.post(path, data={**theirs, "pcn": "PCN-New"}, follow_redirects=False)
    assert saved.status_code == 303
    late = client.post(path, data={**mine, "practice_code": "Z99999"})
    assert late.status_code == 409
    assert (
        f"Not saved: mentee {mentee} was changed (now version 2) after you opened version 1"
        in late.text
    )
    # The form now holds version 2, with the other person's change.
    assert EditForm(late.text).fields["version"] == "2"
    assert EditForm(late.text).fields["pcn"] == "PCN-New"
    history = versions(client, as_role, "mentees", mentee)
    assert [v["record"].get("pcn") for v in history][-1] == "PCN-New"
    assert len(history) == 2


def test_an_id_with_a_slash_and_a_space_has_its_page(
    client: TestClient, as_role: Headers, tokens: dict[str, str]
) -> None:
    rows = "mentee_id,name,cohort\nLMC/2026 01,Dr Ada Slash,fellow\n"
    files = {"file": ("mentees.csv", rows.encode(), "text/csv")}
    answer = client.post("/api/mentees/import", files=files, headers=as_role("matcher"))
    assert answer.status_code == 200, answer.text
    sign_in(client, "matcher")
    assert '<a href="/people/mentees/LMC/2026%2001">LMC/2026 01</a>' in client.get("/people").text
    path = "/people/mentees/LMC/2026%2001"
    fields = edit_form(client, path)
    saved = client.post(path, data={**fields, "cohort": "returner"}, follow_redirects=False)
    assert saved.headers["location"] == f"{path}?notice=saved&version=2"
    assert "Returner" in client.get(saved.headers["location"]).text


def test_two_saves_of_one_version_at_once_store_one(
    client: TestClient, as_role: Headers, problem: ProblemData
) -> None:
    """Both forms were read at version 1 and are sent at the same moment: the version is
    checked on the locked row in the saving transaction, so one is stored and the other is
    refused, never both (which would silently undo the first)."""
    mentee = problem.mentees[3].mentee_id
    path = f"/people/mentees/{mentee}"
    sign_in(client, "matcher")
    form = edit_form(client, path)
    start = threading.Barrier(2)

    def save(pcn: str) -> int:
        start.wait()
        return client.post(path, data={**form, "pcn": pcn}, follow_redirects=False).status_code

    with ThreadPoolExecutor(2) as pool:
        codes = sorted(pool.map(save, ["PCN-A", "PCN-B"]))
    assert codes == [303, 409]
    history = versions(client, as_role, "mentees", mentee)
    assert [v["version"] for v in history] == [1, 2]
    assert history[1]["record"]["pcn"] in ("PCN-A", "PCN-B")


@pytest.fixture
def national(
    app: FastAPI, client: TestClient, tokens: dict[str, str], tmp_path: Any
) -> ProblemData:
    """600 mentors and 4,000 mentees, imported as the API imports them."""
    write_dataset(generate(600, 4000, seed=3), tmp_path)
    with transaction(app.state.sessions) as db:
        user = db.scalar(select(User).where(User.name == "matcher"))
        assert user is not None
        for kind in ("mentors", "mentees"):
            path = tmp_path / f"{kind}.csv"
            import_people(db, user, kind, read_people_file(kind, path.name, path.read_bytes()))
    return load_problem(tmp_path / "mentors.csv", tmp_path / "mentees.csv")


def test_pages_stay_small_and_quick_at_national_size(
    client: TestClient, tokens: dict[str, str], national: ProblemData
) -> None:
    sign_in(client, "matcher")
    last = sorted(m.mentee_id for m in national.mentees)[-1]
    for path, rows in (
        ("/people", 50),
        ("/people?page=80", 50),
        ("/people?status=waiting&cohort=fellow", 50),
        ("/people?kind=mentors&status=active&page=2", 50),
        ("/people?per_page=10000", 200),
        (f"/people/mentees/{last}", 0),
    ):
        timings = []
        for _attempt in range(3):
            start = time.perf_counter()
            page = client.get(path)
            timings.append(time.perf_counter() - start)
        assert page.status_code == 200, path
        assert len(page.content) < 300_000, (path, len(page.content))
        assert len(re.findall(r'<tr id="(?:mentee|mentor)-', page.text)) == rows, path
        assert min(timings) < 1.0, (path, timings)
    assert "Showing 3,951–4,000 of 4,000" in client.get("/people?page=80").text
