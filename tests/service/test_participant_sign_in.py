"""Mentors and mentees sign in with a one-time link sent by e-mail: the form answers the same
whether or not the address is on the register; the link works once, expires, is kept only
as a hash, and spent by exactly one of two presses at once; asking is rate-limited; the
person then sees their own page and nothing of the staff's."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from participants_kit import ask_for_link, follow_link, links_sent, sign_in_by_email
from scheme import approve_new_round, form_token
from sqlalchemy import func, select, update

from matcher.data import ProblemData
from service.db import transaction, utcnow
from service.models import AuditEntry, OutboxMail, Participant, SignInLink, User
from service.web import sessions

Headers = Callable[[str], dict[str, str]]
SENT = "a link to sign in is on its way"


def _count(app: FastAPI, model: type) -> int:
    with app.state.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_a_mentor_signs_in_with_the_link_once(
    app: FastAPI, client: TestClient, as_role: Headers, lmc: ProblemData
) -> None:
    matches = approve_new_round(client, as_role("matcher"))
    mentor = next(m for m in lmc.mentors if any(x["mentor_id"] == m.mentor_id for x in matches))
    theirs = {x["mentee_id"] for x in matches if x["mentor_id"] == mentor.mentor_id}
    # The address as typed by a person: other case, spaces around it.
    assert ask_for_link(client, f"  {mentor.email.upper()} ") == 200
    (token,) = links_sent(app, mentor.email)
    with app.state.sessions() as db:
        link = db.scalars(select(SignInLink)).one()
        user = db.get_one(User, link.user_id)
        participant = db.get_one(Participant, user.id)
        assert (participant.kind, participant.person_id) == ("mentor", mentor.mentor_id)
        assert (user.role, user.password_hash) == ("mentor", None)
        assert link.token_hash != token and token not in link.token_hash  # a hash only
        minutes = (link.expires_at - link.created_at) / timedelta(minutes=1)
        assert 29.9 < minutes <= 30.0
    assert follow_link(client, token) == 303
    page = client.get("/me")
    assert page.status_code == 200
    for mentee in lmc.mentees:
        if mentee.mentee_id in theirs:
            assert mentee.name in page.text and mentee.email in page.text
    # Spent: a second press, even from the same browser, does not sign in.
    other = TestClient(app)
    assert follow_link(other, token) == 410
    again = other.post(
        "/me/link",
        data={"token": token, "csrf_token": form_token(other.get(f"/me/link?token={token}").text)},
    )
    assert again.status_code == 410 and "This link has been used or has expired" in again.text
    with app.state.sessions() as db:
        signs = db.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "web.sign_in", AuditEntry.user_id == user.id
            )
        ).all()
        assert [s.detail for s in signs] == [{"via": "link"}]


def test_an_unknown_address_gets_the_same_answer_and_no_mail(
    app: FastAPI, client: TestClient, lmc: ProblemData
) -> None:
    page = client.get("/me/sign-in")
    answer = client.post(
        "/me/sign-in",
        data={"email": "nobody@nowhere.example", "csrf_token": form_token(page.text)},
    )
    assert answer.status_code == 200 and SENT in answer.text
    known = client.post(
        "/me/sign-in", data={"email": lmc.mentors[0].email, "csrf_token": form_token(page.text)}
    )
    assert known.status_code == 200 and SENT in known.text
    assert _count(app, OutboxMail) == 1  # the known one's
    assert _count(app, Participant) == 1


def test_bad_requests_queue_nothing(app: FastAPI, client: TestClient, lmc: ProblemData) -> None:
    email = lmc.mentees[0].email
    no_token = client.post("/me/sign-in", data={"email": email, "csrf_token": "forged"})
    assert no_token.status_code == 403 and "The form expired" in no_token.text
    page = client.get("/me/sign-in")
    not_an_address = client.post(
        "/me/sign-in", data={"email": "asha at nhs", "csrf_token": form_token(page.text)}
    )
    assert not_an_address.status_code == 422
    assert "Enter the e-mail address the scheme has for you" in not_an_address.text
    assert _count(app, OutboxMail) == 0 and _count(app, SignInLink) == 0
    assert follow_link(client, "not-a-token") == 410
    forged_press = client.post("/me/link", data={"token": "x", "csrf_token": "forged"})
    assert forged_press.status_code == 403


def test_an_expired_link_does_not_sign_in(
    app: FastAPI, client: TestClient, lmc: ProblemData
) -> None:
    email = lmc.mentees[0].email
    assert ask_for_link(client, email) == 200
    (token,) = links_sent(app, email)
    with transaction(app.state.sessions) as db:
        db.execute(update(SignInLink).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert follow_link(client, token) == 410
    refused = client.get("/me/return", follow_redirects=False)
    assert (refused.status_code, refused.headers["location"]) == (303, "/me/sign-in")
    assert sessions.COOKIE not in client.cookies


def test_asking_for_links_is_rate_limited(
    app: FastAPI, client: TestClient, lmc: ProblemData
) -> None:
    email = lmc.mentors[0].email
    assert [ask_for_link(client, email) for _ in range(3)] == [200, 200, 200]
    page = client.get("/me/sign-in")
    fourth = client.post("/me/sign-in", data={"email": email, "csrf_token": form_token(page.text)})
    assert fourth.status_code == 429 and "Too many links asked for" in fourth.text
    assert int(fourth.headers["retry-after"]) > 0
    assert len(links_sent(app, email)) == 3
    # Another address from the same client still may (its limit is per client, 20).
    assert ask_for_link(client, lmc.mentors[1].email) == 200
    assert len(links_sent(app, lmc.mentors[1].email)) == 1


def test_two_presses_at_once_sign_in_once(
    app: FastAPI, client: TestClient, lmc: ProblemData
) -> None:
    email = lmc.mentees[1].email
    assert ask_for_link(client, email) == 200
    (token,) = links_sent(app, email)
    browsers = [TestClient(app) for _ in range(4)]
    tokens = [form_token(b.get(f"/me/link?token={token}").text) for b in browsers]
    start = threading.Barrier(len(browsers))
    answers: list[int] = []

    def press(browser: TestClient, csrf: str) -> None:
        start.wait()
        answer = browser.post(
            "/me/link", data={"token": token, "csrf_token": csrf}, follow_redirects=False
        )
        answers.append(answer.status_code)

    threads = [
        threading.Thread(target=press, args=pair) for pair in zip(browsers, tokens, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(answers) == [303, 410, 410, 410]


def test_the_whole_way_in_and_out(app: FastAPI, client: TestClient, lmc: ProblemData) -> None:
    mentee = lmc.mentees[2]
    csrf = sign_in_by_email(client, app, mentee.email)
    page = client.get("/me")
    assert mentee.name in page.text and "No current match" in page.text
    assert client.get("/", follow_redirects=False).headers["location"] == "/me"
    out = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.headers["location"] == "/me/sign-in"
    assert client.get("/me", follow_redirects=False).status_code == 303
