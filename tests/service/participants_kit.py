"""Signing in as a mentor or mentee in tests: through the real pages (the e-mailed link read
from the outbox), or straight into a session for tests about what comes after."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from fastapi import FastAPI
from fastapi.testclient import TestClient
from scheme import form_token
from sqlalchemy import select

from service.db import transaction
from service.models import OutboxMail
from service.participants import participant_user
from service.web import sessions

LINK = re.compile(r"https?://\S+/me/link\?token=\S+")


def ask_for_link(client: TestClient, email: str) -> int:
    """Ask for a sign-in link through the form; the answer's status."""
    page = client.get("/me/sign-in")
    answer = client.post("/me/sign-in", data={"email": email, "csrf_token": form_token(page.text)})
    return answer.status_code


def links_sent(app: FastAPI, email: str) -> list[str]:
    """The tokens of the sign-in links queued to ``email``, oldest first."""
    with app.state.sessions() as db:
        bodies = db.scalars(
            select(OutboxMail.body)
            .where(OutboxMail.kind == "sign_in_link", OutboxMail.recipient == email)
            .order_by(OutboxMail.id)
        ).all()
    tokens = []
    for body in bodies:
        found = LINK.search(body)
        assert found, body
        tokens.append(parse_qs(urlsplit(found.group()).query)["token"][0])
    return tokens


def follow_link(client: TestClient, token: str) -> int:
    """Open the link's page and press its button; the status of the answer (303: signed in)."""
    page = client.get(f"/me/link?token={token}")
    assert page.status_code == 200
    answer = client.post(
        "/me/link",
        data={"token": token, "csrf_token": form_token(page.text)},
        follow_redirects=False,
    )
    return answer.status_code


def sign_in_by_email(client: TestClient, app: FastAPI, email: str) -> str:
    """The whole way in (form, mail, link); the CSRF token of the person's pages."""
    assert ask_for_link(client, email) == 200
    assert follow_link(client, links_sent(app, email)[-1]) == 303
    return form_token(client.get("/me").text)


def signed_in_as(client: TestClient, app: FastAPI, kind: str, person_id: str) -> str:
    """A session for the person straight away (cookie set on ``client``); its CSRF token."""
    with transaction(app.state.sessions) as db:
        user = participant_user(db, kind, person_id)
        cookie = sessions.start(db, user, 1)
    client.cookies.set(sessions.COOKIE, cookie)
    return form_token(client.get("/me").text)
