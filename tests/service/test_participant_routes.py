"""Mentors and mentees see their own pages and nothing else: every route of the service, page
or API, is tried as each of them (signed in with their cookie, and with an API token should
one ever exist) and refused, except the pages under /me and the public ones."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from participants_kit import signed_in_as
from sqlalchemy import select

from matcher.data import ProblemData
from service.auth import issue_token
from service.db import transaction
from service.models import Participant, User

# Open to everyone, signed in or not.
PUBLIC = {
    "/",
    "/login",
    "/logout",
    "/auth/token",
    "/me/sign-in",
    "/me/link",
    "/apply",
    "/health",
    "/ready",
}
PUBLIC_PREFIXES = ("/metrics", "/docs", "/openapi.json", "/static", "/redoc")


def _routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every route the app serves, in included routers too."""

    def walk(routes: list[Any], prefix: str) -> Iterator[tuple[str, str]]:
        for route in routes:
            if hasattr(route, "original_router"):  # an included router
                yield from walk(route.original_router.routes, prefix + route.include_context.prefix)
            elif isinstance(route, APIRoute):
                for method in sorted(route.methods - {"HEAD"}):
                    yield method, prefix + route.path

    return sorted(set(walk(app.routes, "")))


def _path(template: str) -> str:
    return re.sub(r"\{[^}]*\}", "1", template)


@pytest.mark.parametrize("kind", ["mentor", "mentee"])
def test_every_route_but_their_own_refuses_participants(
    app: FastAPI, client: TestClient, lmc: ProblemData, kind: str
) -> None:
    person = lmc.mentors[0].mentor_id if kind == "mentor" else lmc.mentees[0].mentee_id
    csrf = signed_in_as(client, app, kind, person)
    with transaction(app.state.sessions) as db:
        user_id = db.scalars(select(Participant.user_id)).one()
        token = issue_token(db, db.get_one(User, user_id))
    bearer = {"Authorization": f"Bearer {token}"}
    routes = _routes(app)
    assert len(routes) > 150
    own, refused = [], []
    for method, template in routes:
        if template in PUBLIC or template.startswith(PUBLIC_PREFIXES):
            continue
        path = _path(template)
        if template.startswith("/me"):
            own.append((method, template))
            continue
        data = {"csrf_token": csrf} if method != "GET" else None
        answer = client.request(method, path, data=data, follow_redirects=False)
        expected = 401 if template.startswith("/api/") else 403
        assert answer.status_code == expected, (method, template, answer.status_code)
        if template.startswith("/api/"):
            with_token = client.request(method, path, headers=bearer)
            assert with_token.status_code == 403, (method, template, with_token.status_code)
            assert "the API is for scheme staff" in with_token.text
        refused.append(template)
    assert len(refused) > 140
    # Their own pages: the record, its first meeting, returns (mentors) and surveys.
    assert {t for _m, t in own} >= {"/me", "/me/return", "/me/surveys"}
    assert client.get("/me").status_code == 200
    assert client.get("/me/return").status_code == (200 if kind == "mentor" else 403)
    # No password: neither the API's sign-in nor the staff's form lets them in by name.
    with app.state.sessions() as db:
        name = db.get_one(User, user_id).name
    answer = client.post("/auth/token", json={"username": name, "password": "x" * 12})
    assert answer.status_code == 401, answer.text
