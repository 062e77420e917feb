"""Accounts: tokens that expire and can be revoked, disabled users, new passwords that end
every other session and token, the last admin kept, the password policy and who may manage
users. Each test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from scheme import form_token, sign_in
from sqlalchemy import select, update

from service.auth import create_user, issue_token
from service.db import transaction, utcnow
from service.models import ApiToken, AuditEntry, User, WebSession

Headers = Callable[[str], dict[str, str]]
REFUSED = "unknown, expired or revoked token"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def user_id(app: FastAPI, name: str) -> int:
    with transaction(app.state.sessions) as session:
        found = session.scalar(select(User.id).where(User.name == name))
    assert found is not None
    return found


def actions(app: FastAPI) -> list[tuple[str, str, str | None, dict[str, object]]]:
    with transaction(app.state.sessions) as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(e.username, e.action, e.entity_id, e.detail) for e in rows]


def test_a_token_ends_when_it_expires_or_is_revoked(
    app: FastAPI, client: TestClient, as_role: Headers
) -> None:
    me = client.get("/api/me", headers=as_role("matcher")).json()
    created = client.post(
        "/api/tokens", json={"label": "laptop", "days": 7}, headers=as_role("matcher")
    )
    assert created.status_code == 201, created.text
    token = created.json()
    assert (token["label"], token["status"], token["user_id"]) == ("laptop", "current", me["id"])
    # 7 days from now, give or take the seconds the test takes.
    life = client.get("/api/me", headers=bearer(token["token"]))
    assert life.status_code == 200
    listed = client.get("/api/tokens", headers=as_role("matcher")).json()
    assert [t["label"] for t in listed] == ["laptop", ""]
    assert "token" not in listed[0]

    # Expired: the row's expiry moved to a second ago.
    with transaction(app.state.sessions) as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == token["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    expired = client.get("/api/me", headers=bearer(token["token"]))
    assert (expired.status_code, expired.json()["detail"]) == (401, REFUSED)
    assert [t["id"] for t in client.get("/api/tokens", headers=as_role("matcher")).json()] == [
        t["id"] for t in listed[1:]
    ]
    every = client.get("/api/tokens?include_ended=true", headers=as_role("matcher")).json()
    assert [t["status"] for t in every] == ["expired", "current"]

    # Revoked: the matcher revokes the fixture's token with another one of their own.
    spare = client.post("/api/tokens", headers=as_role("matcher")).json()
    assert spare["expires_at"][:10] == (utcnow() + timedelta(days=90)).date().isoformat()
    revoked = client.delete(f"/api/tokens/{listed[1]['id']}", headers=bearer(spare["token"]))
    assert (revoked.status_code, revoked.json()["status"]) == (200, "revoked")
    answer = client.get("/api/me", headers=as_role("matcher"))
    assert (answer.status_code, answer.json()["detail"]) == (401, REFUSED)
    assert client.get("/api/me", headers=bearer(spare["token"])).status_code == 200


def test_token_limits_and_whose_tokens(app: FastAPI, client: TestClient, as_role: Headers) -> None:
    too_long = client.post("/api/tokens", json={"days": 91}, headers=as_role("analyst"))
    assert too_long.status_code == 422
    assert too_long.json()["detail"] == "a token may last at most 90 days (MATCHER_TOKEN_DAYS)"
    admin_token = client.get("/api/tokens", headers=as_role("admin")).json()[0]["id"]
    # Another user's token is "not found" to a non-admin: ids do not tell whose exist.
    answer = client.delete(f"/api/tokens/{admin_token}", headers=as_role("analyst"))
    assert (answer.status_code, answer.json()["detail"]) == (
        404,
        f"no token with id {admin_token} of yours",
    )
    matcher = user_id(app, "matcher")
    mine = client.get(f"/api/tokens?user_id={matcher}", headers=as_role("analyst"))
    assert (mine.status_code, mine.json()["detail"]) == (
        403,
        "only admins may list another user's tokens",
    )
    theirs = client.get(f"/api/tokens?user_id={matcher}", headers=as_role("admin")).json()
    assert [t["user_id"] for t in theirs] == [matcher]
    assert (
        client.delete(f"/api/tokens/{theirs[0]['id']}", headers=as_role("admin")).json()["status"]
        == "revoked"
    )
    assert client.get("/api/me", headers=as_role("matcher")).status_code == 401
    assert client.delete("/api/tokens/999", headers=as_role("admin")).json()["detail"] == (
        "no token with id 999"
    )


def test_a_disabled_user_is_shut_out_everywhere(
    app: FastAPI, client: TestClient, as_role: Headers
) -> None:
    matcher = user_id(app, "matcher")
    browser = TestClient(app)
    sign_in(browser, "matcher", "secret-matcher")
    assert browser.get("/rounds", follow_redirects=False).status_code == 200

    answer = client.patch(
        f"/api/users/{matcher}", json={"disabled": True}, headers=as_role("admin")
    )
    assert answer.status_code == 200, answer.text
    assert (answer.json()["disabled"], answer.json()["current_tokens"]) == (True, 0)
    assert client.get("/api/me", headers=as_role("matcher")).status_code == 401
    assert browser.get("/rounds", follow_redirects=False).headers["location"].startswith("/login")
    with transaction(app.state.sessions) as session:
        assert session.scalar(select(WebSession).where(WebSession.user_id == matcher)) is None
        # A token made after (from the command line, say) is refused too: disabled users
        # are checked on every request, not only when they are disabled.
        stray = issue_token(session, session.get(User, matcher))  # type: ignore[arg-type]
    assert client.get("/api/me", headers=bearer(stray)).status_code == 401
    # The right password gets the same answer as a wrong one.
    body = {"username": "matcher", "password": "secret-matcher"}
    refused = client.post("/auth/token", json=body)
    assert (refused.status_code, refused.json()["detail"]) == (401, "wrong user name or password")

    client.patch(f"/api/users/{matcher}", json={"disabled": False}, headers=as_role("admin"))
    assert client.post("/auth/token", json=body).status_code == 200
    assert [a[1] for a in actions(app) if a[1].startswith("user.")] == [
        "user.disable",
        "user.enable",
    ]


def test_a_new_password_ends_other_sessions_and_tokens(
    app: FastAPI, client: TestClient, as_role: Headers
) -> None:
    browser = TestClient(app)
    sign_in(browser, "organiser", "secret-organiser")
    second = client.post(
        "/auth/token", json={"username": "organiser", "password": "secret-organiser"}
    ).json()["token"]
    body = {"current_password": "wrong password!", "new_password": "a brand new phrase"}
    wrong = client.post("/api/me/password", json=body, headers=bearer(second))
    assert (wrong.status_code, wrong.json()["detail"]) == (403, "the current password is wrong")

    body["current_password"] = "secret-organiser"
    changed = client.post("/api/me/password", json=body, headers=bearer(second))
    assert changed.json() == {"sessions_ended": 1, "tokens_revoked": 1}
    # The token that asked stays; the fixture's token and the browser session are gone.
    assert client.get("/api/me", headers=bearer(second)).status_code == 200
    assert client.get("/api/me", headers=as_role("organiser")).status_code == 401
    assert browser.get("/events", follow_redirects=False).status_code == 303
    old = client.post("/auth/token", json={"username": "organiser", "password": "secret-organiser"})
    assert old.status_code == 401
    new = {"username": "organiser", "password": "a brand new phrase"}
    assert client.post("/auth/token", json=new).status_code == 200

    # An admin's reset ends everything, the token just issued included.
    organiser = user_id(app, "organiser")
    reset = client.post(
        f"/api/users/{organiser}/password",
        json={"password": "set by the admin"},
        headers=as_role("admin"),
    )
    assert reset.json() == {"sessions_ended": 0, "tokens_revoked": 2}
    assert client.get("/api/me", headers=bearer(second)).status_code == 401
    assert (organiser_entries := [a for a in actions(app) if a[1] == "user.password"])
    assert [(a[0], a[2]) for a in organiser_entries] == [
        ("organiser", str(organiser)),
        ("admin", str(organiser)),
    ]


def test_the_last_enabled_admin_is_kept(app: FastAPI, client: TestClient, as_role: Headers) -> None:
    admin = user_id(app, "admin")
    for change, words in (
        ({"role": "matcher"}, "change their role"),
        ({"disabled": True}, "disable them"),
    ):
        answer = client.patch(f"/api/users/{admin}", json=change, headers=as_role("admin"))
        assert (answer.status_code, answer.json()["detail"]) == (
            409,
            f"admin is the only enabled admin: make another user an admin before you {words}",
        )
    analyst = user_id(app, "analyst")
    promoted = client.patch(
        f"/api/users/{analyst}", json={"role": "admin"}, headers=as_role("admin")
    )
    assert promoted.json()["role"] == "admin"
    demoted = client.patch(
        f"/api/users/{admin}", json={"role": "matcher"}, headers=as_role("admin")
    )
    assert demoted.json()["role"] == "matcher"
    # The former admin's token now carries the matcher role.
    assert client.get("/api/users", headers=as_role("admin")).status_code == 403
    last = client.patch(
        f"/api/users/{analyst}", json={"disabled": True}, headers=as_role("analyst")
    )
    assert last.status_code == 409


PROBLEMS = [
    ("aaaaaaaaaaaa", "the password must not be one character repeated"),
    ("QwertyUiop", "the password is one of the most common passwords: choose another"),
    ("password123", "the password is one of the most common passwords: choose another"),
    ("newcomer.01", "the password must not be the user name"),
]


@pytest.mark.parametrize(("password", "problem"), PROBLEMS)
def test_weak_passwords_are_refused(
    app: FastAPI, client: TestClient, as_role: Headers, password: str, problem: str
) -> None:
    body = {"name": "newcomer.01", "role": "analyst", "password": password}
    answer = client.post("/api/users", json=body, headers=as_role("admin"))
    assert (answer.status_code, answer.json()["detail"]) == (422, problem)
    if problem.endswith("user name"):
        return
    change = {"current_password": "secret-analyst", "new_password": password}
    answer = client.post("/api/me/password", json=change, headers=as_role("analyst"))
    assert (answer.status_code, answer.json()["detail"]) == (422, problem)


def test_a_short_password_is_refused_by_the_schema(client: TestClient, as_role: Headers) -> None:
    # The length is part of the OpenAPI schema, so the answer is the schema's 422.
    body = {"name": "newcomer", "role": "analyst", "password": "too short"}
    answer = client.post("/api/users", json=body, headers=as_role("admin"))
    assert (answer.status_code, answer.json()["problems"]) == (
        422,
        [{"location": "body.password", "message": "String should have at least 10 characters"}],
    )
    schema = client.get("/openapi.json").json()["components"]["schemas"]["UserCreate"]
    assert schema["properties"]["password"]["minLength"] == 10


def test_admins_manage_users_and_nobody_else(
    app: FastAPI, client: TestClient, as_role: Headers
) -> None:
    body = {"name": "newcomer", "role": "organiser", "password": "long enough words"}
    for role in ("matcher", "organiser", "analyst"):
        assert client.get("/api/users", headers=as_role(role)).status_code == 403
        assert client.post("/api/users", json=body, headers=as_role(role)).status_code == 403
        for path in ("/api/users/1/password", "/api/users/1"):
            method = "PATCH" if path == "/api/users/1" else "POST"
            answer = client.request(method, path, json={"password": "x"}, headers=as_role(role))
            assert answer.status_code == 403, (role, path)
    created = client.post("/api/users", json=body, headers=as_role("admin"))
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "newcomer"
    again = client.post("/api/users", json=body, headers=as_role("admin"))
    assert (again.status_code, again.json()["detail"]) == (
        409,
        "a user named 'newcomer' already exists",
    )
    bad_role = client.patch(
        f"/api/users/{created.json()['id']}", json={"role": "boss"}, headers=as_role("admin")
    )
    assert bad_role.status_code == 422
    assert "unknown role 'boss'" in bad_role.json()["detail"]
    assert client.patch(
        "/api/users/999", json={"role": "analyst"}, headers=as_role("admin")
    ).json() == {"detail": "no user with id 999"}
    nothing = client.patch(f"/api/users/{created.json()['id']}", json={}, headers=as_role("admin"))
    assert (nothing.status_code, nothing.json()["detail"]) == (422, "send role, disabled or both")
    signed_in = client.post(
        "/auth/token", json={"username": "newcomer", "password": "long enough words"}
    )
    assert signed_in.json()["role"] == "organiser"
    listed = {u["name"]: u for u in client.get("/api/users", headers=as_role("admin")).json()}
    assert listed["newcomer"]["current_tokens"] == 1
    assert listed["newcomer"]["last_sign_in"] is not None
    assert listed["analyst"]["last_sign_in"] is None
    # Audit details carry ids and counts, never passwords.
    entries = actions(app)
    assert ("admin", "user.create", str(created.json()["id"]), {"role": "organiser"}) in entries
    assert "long enough words" not in repr(entries)


def test_users_and_account_pages(app: FastAPI, client: TestClient, tokens: dict[str, str]) -> None:
    admin = TestClient(app)
    sign_in(admin, "admin", "secret-admin")
    page = admin.get("/users")
    assert ('href="/users"' in page.text, 'href="/account"' in page.text) == (True, True)
    csrf = form_token(page.text)
    form = {"name": "pat", "role": "matcher", "password": "pat's long phrase"}
    forged = admin.post("/users", data={**form, "password_again": form["password"]})
    assert forged.status_code == 403
    differ = admin.post("/users", data={**form, "password_again": "other", "csrf_token": csrf})
    assert differ.status_code == 422
    assert "the two new passwords differ" in differ.text
    added = admin.post(
        "/users",
        data={**form, "password_again": form["password"], "csrf_token": csrf},
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    pat_page = admin.get(added.headers["location"])
    assert "User added." in pat_page.text
    pat = TestClient(app)
    sign_in(pat, "pat", "pat's long phrase")
    assert 'href="/users"' not in pat.get("/account").text
    assert pat.get("/users").status_code == 403

    path = added.headers["location"].split("?")[0]
    assert (
        admin.post(f"{path}/role", data={"role": "analyst", "csrf_token": csrf}).status_code == 200
    )
    assert "Role changed." in admin.get(f"{path}?notice=role").text
    disabled = admin.post(f"{path}/disabled", data={"disabled": "true", "csrf_token": csrf})
    assert "User disabled" in disabled.text
    assert pat.get("/account", follow_redirects=False).status_code == 303
    admin.post(f"{path}/disabled", data={"disabled": "false", "csrf_token": csrf})
    reset = admin.post(
        f"{path}/password",
        data={"password": "a reset phrase", "password_again": "a reset phrase", "csrf_token": csrf},
    )
    assert "Password set: their sessions and API tokens have ended." in reset.text

    # Pat's own page: change the password, then sign out everywhere with the tokens too.
    sign_in(pat, "pat", "a reset phrase")
    account = pat.get("/account")
    pat_csrf = form_token(account.text)
    token = pat.post("/auth/token", json={"username": "pat", "password": "a reset phrase"})
    other = TestClient(app)
    sign_in(other, "pat", "a reset phrase")
    changed = pat.post(
        "/account/password",
        data={
            "current_password": "a reset phrase",
            "new_password": "pat chose this one",
            "new_password_again": "pat chose this one",
            "csrf_token": pat_csrf,
        },
    )
    assert "Password changed." in changed.text
    assert other.get("/account", follow_redirects=False).status_code == 303
    assert pat.get("/api/me", headers=bearer(token.json()["token"])).status_code == 401
    fresh = pat.post("/auth/token", json={"username": "pat", "password": "pat chose this one"})
    assert f"Revoke token {fresh.json()['token_id']}" in pat.get("/account").text
    out = pat.post(
        "/account/sign-out-everywhere",
        data={"csrf_token": pat_csrf, "tokens": "yes"},
        follow_redirects=False,
    )
    assert (out.status_code, out.headers["location"]) == (303, "/login")
    assert pat.get("/account", follow_redirects=False).status_code == 303
    assert pat.get("/api/me", headers=bearer(fresh.json()["token"])).status_code == 401
    assert any(a[1] == "web.sign_out_everywhere" for a in actions(app))


def test_the_demo_password_and_conftest_passwords_pass_the_policy() -> None:
    import secrets

    from service.auth import password_problem

    # `matcher serve --demo` makes secrets.token_urlsafe(12): 16 characters.
    assert all(password_problem(secrets.token_urlsafe(12), "admin") is None for _ in range(100))
    assert password_problem("secret-admin", "admin") is None


def test_create_user_checks_the_policy(app: FastAPI) -> None:
    from service.auth import UserError

    with (
        pytest.raises(UserError, match="at least 10 characters"),
        transaction(app.state.sessions) as session,
    ):
        create_user(session, "kim", "admin", "aaaaaaaa")
