"""Every route under /api/ refuses a request without a token or with a wrong one."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every operation in the OpenAPI schema under /api/."""
    routes = []
    for template, operations in app.openapi()["paths"].items():
        if template.startswith("/api/"):
            # Any well-formed value will do: authentication comes before everything else.
            path = re.sub(r"\{[^}]*\}", "1", template)
            routes.extend((method.upper(), path) for method in sorted(operations))
    return routes


def test_every_api_route_needs_a_valid_token(app: FastAPI, client: TestClient) -> None:
    routes = api_routes(app)
    assert len(routes) >= 25
    for method, path in routes:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic eDp5"}):
            answer = client.request(method, path, headers=headers)
            assert answer.status_code == 401, (method, path, headers, answer.text)
            assert answer.headers["www-authenticate"] == "Bearer"


def test_openapi_and_health_are_open(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["info"]["title"] == "GP mentor matching service"
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "database": True,
        "queue": True,
        "jobs": True,
        "workers": 1,
    }
    scraped = client.get("/metrics")
    assert scraped.status_code == 200 and "matcher_jobs{" in scraped.text


def test_readiness_says_what_is_not_ready(app: FastAPI, client: TestClient) -> None:
    app.state.jobs.shutdown()
    answer = client.get("/ready")
    assert answer.status_code == 503
    assert answer.json() == {
        "status": "not ready",
        "database": True,
        "queue": True,
        "jobs": False,
        "workers": 1,
    }


STAFF = {"admin", "matcher"}
ORGANISERS = {"admin", "organiser"}
EVENT_READERS = {"admin", "organiser", "matcher"}
ADMIN = {"admin"}
PEOPLE = {"admin", "matcher", "organiser"}
REPORTS = {"admin", "matcher", "analyst"}
EVERYONE = {"admin", "matcher", "organiser", "analyst"}

# Who may call each operation: the README's roles table, route by route.
ALLOWED = {
    ("GET", "/api/me"): EVERYONE,
    ("POST", "/api/mentors/import"): STAFF,
    ("POST", "/api/mentees/import"): STAFF,
    ("GET", "/api/mentors"): PEOPLE,
    ("GET", "/api/mentees"): PEOPLE,
    ("GET", "/api/{kind}/{person_id}/history"): ADMIN,
    ("POST", "/api/exclusions/import"): STAFF,
    ("GET", "/api/exclusions"): STAFF,
    ("DELETE", "/api/exclusions/{exclusion_id}"): STAFF,
    ("GET", "/api/rounds"): EVERYONE,
    ("POST", "/api/rounds"): STAFF,
    ("GET", "/api/rounds/{round_id}"): EVERYONE,
    ("POST", "/api/rounds/{round_id}/run"): STAFF,
    ("GET", "/api/rounds/{round_id}/proposals"): EVERYONE,
    ("GET", "/api/rounds/{round_id}/unmatched"): EVERYONE,
    ("GET", "/api/rounds/{round_id}/pairs"): EVERYONE,
    ("POST", "/api/rounds/{round_id}/pairs"): STAFF,
    ("DELETE", "/api/rounds/{round_id}/pairs/{pair_id}"): STAFF,
    ("POST", "/api/rounds/{round_id}/approve"): STAFF,
    ("POST", "/api/rounds/{round_id}/unapprove"): STAFF,
    ("PATCH", "/api/rounds/{round_id}"): STAFF,
    ("DELETE", "/api/rounds/{round_id}"): STAFF,
    ("GET", "/api/jobs/{job_id}"): EVERYONE,
    ("POST", "/api/jobs/{job_id}/cancel"): STAFF,
    ("GET", "/api/matches"): REPORTS,
    ("GET", "/api/matches/{match_id}"): REPORTS,
    ("PATCH", "/api/matches/{match_id}"): STAFF,
    ("POST", "/api/matches/{match_id}/sessions"): STAFF,
    ("GET", "/api/sessions"): REPORTS,
    ("GET", "/api/returns/outstanding"): STAFF,
    ("POST", "/api/rounds/{round_id}/plans"): REPORTS,
    ("GET", "/api/plans"): REPORTS,
    ("GET", "/api/plans/{plan_id}"): REPORTS,
    ("POST", "/api/returns/reminders"): STAFF,
    ("POST", "/api/applications"): STAFF,
    ("GET", "/api/applications"): STAFF,
    ("GET", "/api/applications/{application_id}"): STAFF,
    ("POST", "/api/applications/{application_id}/decision"): ADMIN,
    ("POST", "/api/training"): STAFF,
    ("GET", "/api/training"): STAFF,
    ("PATCH", "/api/training/{record_id}"): STAFF,
    ("GET", "/api/reports/monitoring"): REPORTS,
    ("GET", "/api/reports/finance"): REPORTS,
    ("GET", "/api/reports/experience"): REPORTS,
    ("GET", "/api/audit"): ADMIN,
    ("POST", "/api/events"): ORGANISERS,
    ("GET", "/api/events"): EVENT_READERS,
    ("GET", "/api/events/{event_id}"): EVENT_READERS,
    ("GET", "/api/events/{event_id}/schedule"): EVENT_READERS,
    ("GET", "/api/events/{event_id}/sheets"): EVENT_READERS,
    ("POST", "/api/events/{event_id}/choices"): ORGANISERS,
    ("GET", "/api/events/{event_id}/choices"): EVENT_READERS,
    ("GET", "/api/users"): ADMIN,
    ("POST", "/api/users"): ADMIN,
    ("PATCH", "/api/users/{user_id}"): ADMIN,
    ("POST", "/api/users/{user_id}/password"): ADMIN,
    ("POST", "/api/me/password"): EVERYONE,
    ("GET", "/api/tokens"): EVERYONE,
    ("POST", "/api/tokens"): EVERYONE,
    ("DELETE", "/api/tokens/{token_id}"): EVERYONE,
    ("GET", "/api/outbox"): STAFF,
    ("GET", "/api/outbox/{mail_id}"): STAFF,
    ("POST", "/api/outbox/{mail_id}/retry"): STAFF,
    ("PATCH", "/api/outbox"): STAFF,
    ("GET", "/api/outbox.zip"): STAFF,
    ("GET", "/api/outbox.csv"): STAFF,
    ("GET", "/api/mail-templates"): STAFF,
    ("GET", "/api/mail-templates/{kind}"): STAFF,
    ("PUT", "/api/mail-templates/{kind}"): STAFF,
    ("DELETE", "/api/mail-templates/{kind}"): STAFF,
    ("POST", "/api/mail-templates/{kind}/preview"): STAFF,
}


def test_every_route_lets_in_exactly_its_roles(
    app: FastAPI, client: TestClient, as_role: Callable[[str], dict[str, str]]
) -> None:
    operations = {
        (method.upper(), template)
        for template, ops in app.openapi()["paths"].items()
        if template.startswith("/api/")
        for method in ops
    }
    assert operations == set(ALLOWED), "declare each new route's roles in ALLOWED"
    for (method, template), allowed in sorted(ALLOWED.items()):
        path = re.sub(r"\{[^}]*\}", "1", template).replace("/1/1/history", "/mentors/1/history")
        # Token 1 is the admin's own: revoking it would sign the admin out of the test.
        path = path.replace("/api/tokens/1", "/api/tokens/999")
        for role in sorted(EVERYONE):
            status = client.request(method, path, headers=as_role(role)).status_code
            if role in allowed:
                assert status not in (401, 403), (method, template, role, status)
            else:
                assert status == 403, (method, template, role, status)
