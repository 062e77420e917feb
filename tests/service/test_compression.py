"""Answers are compressed for clients that accept it; pages' form tokens are masked afresh
each time, so a compressed page never repeats the session's secret."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient
from scheme import form_token, import_scheme, sign_in
from sqlalchemy import select

from datasets.generator import sample_dir
from service.models import WebSession

Headers = Callable[[str], dict[str, str]]


def test_large_answers_are_compressed_only_for_clients_that_accept_it(
    client: TestClient, as_role: Headers
) -> None:
    import_scheme(client, sample_dir("lmc"), as_role("matcher"))
    zipped = client.get("/api/mentees", headers={**as_role("matcher"), "Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    plain = client.get(
        "/api/mentees", headers={**as_role("matcher"), "Accept-Encoding": "identity"}
    )
    assert "content-encoding" not in plain.headers
    assert zipped.json() == plain.json()
    assert len(plain.json()) == 200
    sign_in(client, "admin", "secret-admin")
    page = client.get("/register", headers={"Accept-Encoding": "gzip"})
    assert page.headers["content-encoding"] == "gzip"
    assert page.headers["cache-control"] == "no-store"


def test_form_tokens_are_masked_afresh_and_still_accepted(
    app: FastAPI, client: TestClient, tokens: dict[str, str]
) -> None:
    first = sign_in(client, "admin", "secret-admin")
    second = form_token(client.get("/rounds").text)
    with app.state.sessions() as db:
        secret = db.scalar(select(WebSession.csrf_token))
    assert secret is not None
    assert first != second
    assert secret not in client.get("/rounds").text
    for token in (first, second):
        answer = client.post(
            "/rounds", data={"csrf_token": token, "name": "Q1"}, follow_redirects=False
        )
        assert answer.status_code == 303
    for refused in (secret, "forged", "", first[:-4]):
        answer = client.post(
            "/rounds", data={"csrf_token": refused, "name": "Q1"}, follow_redirects=False
        )
        assert answer.status_code == 403, refused
