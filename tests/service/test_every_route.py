"""Every route under /api/ refuses a request without a token or with a wrong one."""

from __future__ import annotations

import re

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
