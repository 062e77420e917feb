"""No personal data in the server's log.

A real `matcher serve`, on SQLite and on PostgreSQL, imports the LMC sample, runs and approves
a round, is searched for a name, and has a write refused by the database; then everything it
printed is scanned for every name, e-mail address and GMC number in the sample files, and for
the words searched. Smaller tests show that the scan finds what it looks for, that a database
error's text stays out of a traceback, and that the access log drops query strings.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from scheme import sign_in
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError
from test_server_smoke import add_user, server

from datasets.generator import sample_dir
from service.logging_setup import ACCESS_LOGGER, AccessLog, SafeFormatter

SAMPLE = sample_dir("lmc")
PASSWORD = "a long enough password"  # what test_server_smoke.add_user sets
SEARCHED = "Ravi Kaur"  # words typed into a round's search box: part of a mentor's name
REFUSED_RULE = "refused_for_test"


def sample_people() -> dict[str, str]:
    """Every name, e-mail address and GMC number in the sample, each with what it is."""
    found: dict[str, str] = {}
    for kind in ("mentors", "mentees"):
        with (SAMPLE / f"{kind}.csv").open(encoding="utf-8-sig", newline="") as file:
            for row in csv.DictReader(file):
                who = row.get("mentor_id") or row["mentee_id"]
                for column in ("name", "email", "gmc_number"):
                    if row.get(column):
                        found[row[column]] = f"{column} of {who}"
    return found


def personal_data_in(output: str, people: Mapping[str, str]) -> list[str]:
    """What ``output`` gives away: each of ``people`` found as written or URL-encoded (as a
    query string would carry it), ignoring case; numbers only where no digit adjoins them."""
    leaks = []
    for value, what in people.items():
        forms = dict.fromkeys((value, quote(value), quote_plus(value), quote(value, safe="")))
        for form in forms:
            if form.isdigit():
                hit = re.search(rf"(?<![0-9]){form}(?![0-9])", output) is not None
            else:
                hit = form.lower() in output.lower()
            if hit:
                leaks.append(f"{what}: {form!r}")
                break
    return leaks


def refuse_applications_from(database_url: str, name: str) -> None:
    """Make the database itself refuse to store an application from ``name`` (a rule only
    this test adds): the write fails inside the database, as a constraint error would."""
    literal = "'" + name.replace("'", "''") + "'"
    engine = create_engine(database_url)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql(
                f"CREATE TRIGGER {REFUSED_RULE} BEFORE INSERT ON applications "
                f"WHEN NEW.applicant_name = {literal} "
                f"BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
            )
        else:
            conn.exec_driver_sql(
                f"ALTER TABLE applications ADD CONSTRAINT {REFUSED_RULE} "
                f"CHECK (applicant_name <> {literal})"
            )
    engine.dispose()


def application_from(name: str, email: str, gmc_number: str) -> dict[str, object]:
    return {
        "applicant_name": name,
        "email": email,
        "gmc_number": gmc_number,
        "has_full_registration": True,
        "has_licence": True,
        "on_performers_list": True,
        "suspended": False,
        "clinical_sessions_per_week": 6,
        "years_post_cct": 10,
        "commits_12_months": True,
        "commits_training": True,
    }


def test_a_round_leaves_no_personal_data_in_the_log(database_url: str, tmp_path: Path) -> None:
    people = sample_people()
    with (SAMPLE / "mentors.csv").open(encoding="utf-8-sig", newline="") as file:
        first = next(csv.DictReader(file))
    assert SEARCHED in first["name"]
    env = {**os.environ, "DATABASE_URL": database_url}
    token = add_user(env, "officer", "matcher")
    auth = {"Authorization": f"Bearer {token}"}
    log = tmp_path / "server.log"
    with server(env, log) as url, httpx.Client(base_url=url, headers=auth, timeout=30) as api:
        for kind in ("mentors", "mentees"):
            path = SAMPLE / f"{kind}.csv"
            files = {"file": (path.name, path.read_bytes(), "text/csv")}
            assert api.post(f"/api/{kind}/import", files=files).json()["added"] > 0
        round_id = api.post("/api/rounds", json={"name": "Logs", "time_limit": 10}).json()["id"]
        job_id = api.post(f"/api/rounds/{round_id}/run").json()["job_id"]
        while (job := api.get(f"/api/jobs/{job_id}").json())["status"] not in ("done", "failed"):
            time.sleep(0.1)
        assert job["status"] == "done", job
        assert api.post(f"/api/rounds/{round_id}/approve").json()["matches"] > 100

        # A person's name in query strings: the round's search box, a page that is not
        # there, and an API filter.
        with httpx.Client(base_url=url, timeout=30) as browser:
            sign_in(browser, "officer", PASSWORD)
            found = browser.get(f"/rounds/{round_id}", params={"q": SEARCHED})
            assert found.status_code == 200
            assert first["name"] in found.text  # the search did carry a name
            missing = browser.get("/rounds/99999", params={"q": SEARCHED})
            assert missing.status_code == 404
        assert api.get("/api/sessions", params={"mentor_id": first["email"]}).status_code < 500

        # A write the database refuses, with a name, an e-mail address and a GMC number
        # among the statement's values.
        refuse_applications_from(database_url, first["name"])
        refused = api.post(
            "/api/applications",
            json=application_from(first["name"], first["email"], first["gmc_number"]),
        )
        assert refused.status_code in (409, 500), refused.text

    output = log.read_text(errors="replace")
    # The log was written and saw what happened, so that the scan below means something.
    assert f"GET /rounds/{round_id} 200" in output
    assert "GET /rounds/99999 404" in output
    assert "POST /api/applications" in output
    assert "IntegrityError" in output, output[-3000:]
    assert personal_data_in(output, {**people, SEARCHED: "the words searched"}) == []


def test_the_scan_finds_names_addresses_and_numbers() -> None:
    people = {
        "Dr Ann Lee": "name of MR0001",
        "ann.lee@nhs.example": "email of MR0001",
        "1234567": "gmc_number of MR0001",
    }
    assert personal_data_in("GET /rounds/1 200 12 ms\njob 5 failed: ValueError", people) == []
    assert personal_data_in("GET /api/jobs/4f12345678 200 3 ms", people) == []  # within a number
    logged = logging.getLogger("tests.leak")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logged.addHandler(handler)
    try:
        logged.warning("could not store %s", "dr ann lee")
        logged.warning("GET /rounds/1?q=Dr+Ann+Lee&email=ann.lee%40nhs.example 200")
        logged.warning("Key (gmc_number)=(1234567) already exists.")
    finally:
        logged.removeHandler(handler)
    assert personal_data_in(stream.getvalue(), people) == [
        "name of MR0001: 'Dr Ann Lee'",
        "email of MR0001: 'ann.lee%40nhs.example'",
        "gmc_number of MR0001: '1234567'",
    ]


def test_a_database_error_keeps_its_text_out_of_a_traceback(database_url: str) -> None:
    # An engine WITHOUT hide_parameters, so the error's own text quotes the values (and on
    # PostgreSQL its DETAIL quotes the whole row): the formatter alone must keep them out.
    # (The name is not written on the line that fails: a traceback shows that line.)
    name = "Dr Ann Lee"
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE people_for_test (name VARCHAR(40), "
                "CONSTRAINT no_ann CHECK (name <> 'Dr Ann Lee'))"
            )
        )
    with pytest.raises(IntegrityError) as caught, engine.begin() as conn:
        conn.execute(text("INSERT INTO people_for_test VALUES (:name)"), {"name": name})
    engine.dispose()
    error = caught.value
    assert name in "".join(traceback.format_exception(error))  # the risk is real

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(SafeFormatter("%(levelname)s %(name)s: %(message)s"))
    logged = logging.getLogger("tests.database")
    logged.addHandler(handler)
    try:
        logged.error("a write failed", exc_info=error)
        logged.error("a write failed: %s", error)
    finally:
        logged.removeHandler(handler)
    output = stream.getvalue()
    assert name not in output
    assert "sqlalchemy.exc.IntegrityError" in output
    assert "INSERT INTO people_for_test" in output  # the statement, with a placeholder
    assert "no_ann" in output or "SQLITE_CONSTRAINT_CHECK" in output
    assert 'File "' in output  # the traceback's frames are all there


def test_the_access_log_has_paths_without_query_strings(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    with TestClient(AccessLog(app)) as client, caplog.at_level(logging.INFO, ACCESS_LOGGER):
        client.get("/rounds", params={"q": "Dr Ann Lee"}, follow_redirects=False)
        client.get("/api/mentors?email=ann.lee%40nhs.example")
    lines = [r.getMessage() for r in caplog.records if r.name == ACCESS_LOGGER]
    assert [line.rsplit(" ", 2)[0] for line in lines] == [
        "GET /rounds 303",
        "GET /api/mentors 401",
    ]
    assert all(re.fullmatch(r"GET /\S+ \d{3} \d+ ms", line) for line in lines), lines
