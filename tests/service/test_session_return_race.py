"""A monthly return sent several times at once, to two real servers over one database: the
database keeps it once (the return's one-time form id is its primary key)."""

from __future__ import annotations

import os
import re
import time
from datetime import date
from functools import partial
from pathlib import Path

import httpx
from page_reading import CSRF
from scheme import JOB_TIMEOUT, write_scheme
from test_server_smoke import add_user, server

from benchmarks.concurrency import at_once

FORM_ID = re.compile(r'name="form_id" value="([^"]+)"')


def test_the_same_return_sent_at_once_to_two_servers_logs_once(
    database_url: str, tmp_path: Path
) -> None:
    """Four copies of one filled-in form, sent at the same moment to two real servers over
    one database: one logs the session, the other three find the return already logged."""
    env = {**os.environ, "DATABASE_URL": database_url}
    token = add_user(env, "officer", "matcher")
    auth = {"Authorization": f"Bearer {token}"}
    write_scheme(tmp_path)
    with server(env, tmp_path / "one.log") as one, server(env, tmp_path / "two.log") as two:
        with httpx.Client(base_url=one, headers=auth, timeout=60) as api:
            for kind in ("mentors", "mentees", "exclusions"):
                path = tmp_path / f"{kind}.csv"
                files = {"file": (path.name, path.read_bytes(), "text/csv")}
                assert api.post(f"/api/{kind}/import", files=files).status_code == 200
            round_id = api.post("/api/rounds", json={"name": "Q1", "time_limit": 10}).json()["id"]
            job_id = api.post(f"/api/rounds/{round_id}/run").json()["job_id"]
            deadline = time.monotonic() + JOB_TIMEOUT
            while api.get(f"/api/jobs/{job_id}").json()["status"] not in ("done", "failed"):
                assert time.monotonic() < deadline
                time.sleep(0.2)
            assert api.post(f"/api/rounds/{round_id}/approve").status_code == 200
            match = api.get("/api/matches").json()[0]
        # Confirmed today, so today is the one day this month that can take a session.
        today = date.today()
        browser = httpx.Client(base_url=one, timeout=60)
        found = CSRF.search(browser.get("/login").text)
        assert found
        signed_in = browser.post(
            "/login",
            data={
                "username": "officer",
                "password": "a long enough password",
                "csrf_token": found[1],
            },
        )
        assert signed_in.status_code in (200, 303), signed_in.text
        page = browser.get(f"/sessions/return?mentor={match['mentor_id']}&month={today:%Y-%m}")
        assert page.status_code == 200, page.text
        csrf = CSRF.search(page.text)
        form_id = FORM_ID.search(page.text)
        assert csrf and form_id
        order = re.findall(r'name="match" value="(\d+)"', page.text)
        first = order.index(str(match["id"]))
        data = {
            "csrf_token": csrf[1],
            "form_id": form_id[1],
            "mentor": match["mentor_id"],
            "month": f"{today:%Y-%m}",
            "match": order,
            "held_on": [today.isoformat() if i == first else "" for i in range(len(order))],
            "minutes": ["50" if i == first else "" for i in range(len(order))],
        }
        clients = [
            httpx.Client(base_url=url, cookies=browser.cookies, timeout=60) for url in (one, two)
        ]
        try:
            answers = at_once(
                [partial(clients[i % 2].post, "/sessions/return", data=data) for i in range(4)]
            )
        finally:
            for client in [*clients, browser]:
                client.close()
        assert [a.status_code for a in answers] == [303] * 4, [a.text for a in answers]
        places = sorted(a.headers["location"].split("&", 2)[-1] for a in answers)
        assert places == ["logged=1&mentees=1#return"] + ["repeated=true#return"] * 3
        with httpx.Client(base_url=two, headers=auth, timeout=60) as api:
            logged = api.get("/api/sessions").json()
        assert [(s["match_id"], s["minutes"]) for s in logged] == [(match["id"], 50)]
