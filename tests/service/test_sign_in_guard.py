"""Failed sign-ins are limited per account and per client address, the same for names that
belong to nobody, audited once per lock, and checked with no database connection held.

Each test builds its app with small limits: 3 failures per account, 10 per address, unless
it says otherwise.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from scheme import form_token
from sqlalchemy import select

from service import sign_in
from service.app import create_app
from service.auth import create_user
from service.config import ServiceSettings
from service.db import transaction
from service.models import AuditEntry, User

PASSWORD = "lucy's long phrase"
LOCKED = "too many failed sign-ins: try again in 15 minutes"


def guarded_app(database_url: str, **limits: Any) -> FastAPI:
    options = {"sign_in_failures_per_account": 3, "sign_in_failures_per_address": 10, **limits}
    app = create_app(ServiceSettings(database_url=database_url, **options))
    with transaction(app.state.sessions) as session:
        create_user(session, "lucy", "matcher", PASSWORD)
        create_user(session, "sam", "analyst", "sam's long phrase")
    return app


@pytest.fixture
def app(database_url: str) -> FastAPI:
    return guarded_app(database_url)


def attempt(client: TestClient, name: str, password: str) -> tuple[int, str]:
    answer = client.post("/auth/token", json={"username": name, "password": password})
    return answer.status_code, answer.json()["detail"] if answer.status_code != 200 else "ok"


def audit_rows(app: FastAPI) -> list[tuple[str, str, str, str | None, dict[str, Any]]]:
    with transaction(app.state.sessions) as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action.like("auth.%")))
        return [(e.username, e.action, e.entity, e.entity_id, e.detail) for e in entries]


def lucy_id(app: FastAPI) -> str:
    with transaction(app.state.sessions) as session:
        return str(session.scalar(select(User.id).where(User.name == "lucy")))


def test_an_account_is_locked_after_three_failures_even_for_the_right_password(
    app: FastAPI, client: TestClient
) -> None:
    wrong = (401, "wrong user name or password")
    assert [attempt(client, "lucy", f"guess {i}") for i in range(3)] == [wrong] * 3
    answer = client.post("/auth/token", json={"username": "lucy", "password": PASSWORD})
    assert (answer.status_code, answer.json()["detail"]) == (429, LOCKED)
    assert 14 * 60 < int(answer.headers["retry-after"]) <= 15 * 60
    # Other accounts from the same address are not locked out with lucy.
    assert attempt(client, "sam", "sam's long phrase") == (200, "ok")
    # A name that belongs to nobody gets exactly the same answers.
    assert [attempt(client, "nobody", f"guess {i}") for i in range(4)] == [wrong] * 3 + [
        (429, LOCKED)
    ]
    for _ in range(5):  # a flood goes on: refused, and not audited row by row
        assert attempt(client, "lucy", "guess")[0] == 429
        assert attempt(client, "nobody", "guess")[0] == 429

    rows = audit_rows(app)
    lucy = lucy_id(app)
    failed = [(r[0], r[3], r[4]) for r in rows if r[1] == "auth.failed"]
    assert (
        failed
        == [("anonymous", lucy, {"via": "api", "reason": "password"})] * 3
        + [("anonymous", None, {"via": "api", "reason": "unknown name"})] * 3
    )
    locks = [(r[2], r[3], r[4]) for r in rows if r[1] == "auth.locked"]
    assert locks == [
        ("user", lucy, {"via": "api", "failures": 3, "minutes": 15}),
        ("user", None, {"via": "api", "failures": 3, "minutes": 15}),
    ]
    # Neither the passwords typed nor the unknown name are kept.
    assert "guess" not in repr(rows)
    assert "nobody" not in repr(rows)


def test_an_address_is_limited_across_names(database_url: str) -> None:
    app = guarded_app(
        database_url, sign_in_failures_per_account=100, sign_in_failures_per_address=4
    )
    with (
        TestClient(app, client=("10.0.0.1", 5000)) as first,
        TestClient(app, client=("10.0.0.2", 5000)) as second,
    ):
        for name in ("lucy", "sam", "kim", "lee"):
            assert attempt(first, name, "wrong password")[0] == 401
        assert attempt(first, "lucy", PASSWORD) == (429, LOCKED)
        assert attempt(first, "someone", "anything at all") == (429, LOCKED)
        assert attempt(second, "lucy", PASSWORD) == (200, "ok")
    locks = [r for r in audit_rows(app) if r[1] == "auth.locked"]
    assert [(r[2], r[3]) for r in locks] == [("address", None)]


def test_a_success_starts_the_account_count_again(app: FastAPI, client: TestClient) -> None:
    for _ in range(3):
        assert [attempt(client, "lucy", "wrong password")[0] for _ in range(2)] == [401, 401]
        assert attempt(client, "lucy", PASSWORD) == (200, "ok")


def test_the_sign_in_page_is_limited_too(app: FastAPI, client: TestClient) -> None:
    token = form_token(client.get("/login").text)
    form = {"username": "lucy", "password": "wrong password", "csrf_token": token}
    for _ in range(3):
        assert client.post("/login", data=form).status_code == 401
    locked = client.post("/login", data={**form, "password": PASSWORD})
    assert locked.status_code == 429
    assert "Too many failed sign-ins: try again in 15 minutes." in locked.text
    assert int(locked.headers["retry-after"]) > 0
    # The API and the page share the count.
    assert attempt(client, "lucy", PASSWORD) == (429, LOCKED)
    assert [r[4]["via"] for r in audit_rows(app) if r[1] == "auth.failed"] == ["web"] * 3


def test_a_disabled_user_is_answered_as_a_wrong_password(app: FastAPI, client: TestClient) -> None:
    with transaction(app.state.sessions) as session:
        session.scalars(select(User).where(User.name == "lucy")).one().disabled = True
    assert attempt(client, "lucy", PASSWORD) == (401, "wrong user name or password")
    assert [r[4]["reason"] for r in audit_rows(app)] == ["disabled"]


def test_every_name_costs_one_hash_and_no_connection_is_held_meanwhile(
    app: FastAPI, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[int] = []
    real = sign_in.password_matches

    def watched(password_hash: str | None, password: str) -> bool:
        checked.append(app.state.engine.pool.checkedout())
        return real(password_hash, password)

    monkeypatch.setattr(sign_in, "password_matches", watched)
    attempt(client, "lucy", "wrong password")
    attempt(client, "nobody", "wrong password")
    attempt(client, "lucy", PASSWORD)
    # One Argon2 check each, known name or not, and not one connection out of the pool.
    assert checked == [0, 0, 0]
    # Refused attempts are not checked at all.
    for _ in range(3):
        attempt(client, "nobody", "wrong password")
    assert len(checked) == 5


def test_two_processes_share_the_counts_through_redis(database_url: str) -> None:
    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {url}: {exc}")
    # Two apps stand for two server processes; a fresh address keeps earlier runs' counts out.
    address = (f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.9", 5000)
    first_app = guarded_app(database_url, rate_limit_storage=url)
    second_app = create_app(first_app.state.settings)
    with (
        TestClient(first_app, client=address) as first,
        TestClient(second_app, client=address) as second,
    ):
        name = f"nobody-{uuid.uuid4().hex[:8]}"
        assert [attempt(first, name, "wrong password")[0] for _ in range(2)] == [401, 401]
        assert attempt(second, name, "wrong password")[0] == 401
        assert attempt(first, name, "wrong password") == (429, LOCKED)
        assert attempt(second, name, "wrong password") == (429, LOCKED)
        # The lock is audited once, by whichever process refused first.
        locks = audit_rows(first_app)
        assert [r[1] for r in locks].count("auth.locked") == 1
