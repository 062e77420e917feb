"""`matcher users`: users and tokens from the command line; clear errors, exit code 2."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from matcher.cli import main
from service.app import create_app
from service.config import ServiceSettings
from service.db import utcnow


@pytest.fixture
def db_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'users.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def last_line(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().out.strip().splitlines()[-1]


def test_add_user_prints_a_working_token_last(
    db_env: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery\n"))
    assert main(["users", "add", "lucy", "--role", "analyst", "--password-stdin"]) == 0
    token = last_line(capsys)
    assert main(["users", "token", "lucy", "--days", "7", "--label", "laptop"]) == 0
    second = last_line(capsys)
    with TestClient(create_app(ServiceSettings(database_url=db_env))) as client:
        for t in (token, second):
            me = client.get("/api/me", headers={"Authorization": f"Bearer {t}"})
            assert me.json() == {"id": 1, "name": "lucy", "role": "analyst"}
        listed = client.get("/api/tokens", headers={"Authorization": f"Bearer {token}"}).json()
        in_days = [(utcnow() + timedelta(days=d)).date().isoformat() for d in (7, 90)]
        assert [(t["label"], t["expires_at"][:10]) for t in listed] == [
            ("laptop", in_days[0]),
            ("", in_days[1]),
        ]
        signed_in = client.post(
            "/auth/token", json={"username": "lucy", "password": "correct horse battery"}
        )
        assert signed_in.json()["role"] == "analyst"
        wrong = client.post("/auth/token", json={"username": "lucy", "password": "nope"})
        assert (wrong.status_code, wrong.json()["detail"]) == (401, "wrong user name or password")


def test_list_disable_enable_role_password_tokens_revoke(
    db_env: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["users", "add", "ada", "--role", "admin"]) == 0
    assert main(["users", "add", "sam", "--role", "matcher", "--label", "script"]) == 0
    sam_token = last_line(capsys)
    assert main(["users", "list"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "id  name  role     enabled  tokens  last sign-in (UTC)",
        "1   ada   admin    yes      1       never",
        "2   sam   matcher  yes      1       never",
    ]
    assert main(["users", "disable", "sam"]) == 0
    assert capsys.readouterr().out == "sam is now disabled\n"
    assert main(["users", "token", "sam"]) == 2
    assert "sam is disabled: `matcher users enable sam` first" in capsys.readouterr().err
    assert main(["users", "enable", "sam"]) == 0
    assert main(["users", "role", "sam", "organiser"]) == 0
    assert main(["users", "tokens", "sam"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "sam has no current tokens"
    assert main(["users", "tokens", "sam", "--all"]) == 0
    assert "revoked" in capsys.readouterr().out.splitlines()[-1]

    monkeypatch.setattr("sys.stdin", io.StringIO("sam's new phrase\n"))
    assert main(["users", "password", "sam", "--password-stdin"]) == 0
    assert main(["users", "token", "sam"]) == 0
    token = last_line(capsys)
    assert main(["users", "tokens", "sam"]) == 0
    token_id = capsys.readouterr().out.splitlines()[-1].split()[0]
    with TestClient(create_app(ServiceSettings(database_url=db_env))) as client:
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/me", headers=headers).json()["role"] == "organiser"
        assert (
            client.get("/api/me", headers={"Authorization": f"Bearer {sam_token}"}).status_code
            == 401
        )
        assert main(["users", "revoke", token_id]) == 0
        assert client.get("/api/me", headers=headers).status_code == 401
        new = client.post("/auth/token", json={"username": "sam", "password": "sam's new phrase"})
        assert new.status_code == 200


def test_user_errors(
    db_env: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["users", "add", "sam", "--role", "admin"]) == 0
    capsys.readouterr()
    refusals = [
        (["users", "add", "sam", "--role", "admin"], "", "a user named 'sam' already exists"),
        (["users", "add", "bad name", "--role", "admin"], "", "must be 1-64 letters"),
        (
            ["users", "add", "kim", "--role", "admin", "--password-stdin"],
            "aaaaaaaa\n",
            "the password must have at least 10 characters",
        ),
        (
            ["users", "add", "kim", "--role", "admin", "--password-stdin"],
            "aaaaaaaaaaaa\n",
            "the password must not be one character repeated",
        ),
        (
            ["users", "password", "sam", "--password-stdin"],
            "password1234\n",
            "the password is one of the most common passwords: choose another",
        ),
        (["users", "token", "nobody"], "", "no user named 'nobody'"),
        (["users", "token", "sam", "--days", "91"], "", "--days must be from 1 to 90"),
        (["users", "revoke", "42"], "", "no token with id 42"),
        (
            ["users", "disable", "sam"],
            "",
            "sam is the only enabled admin: make another user an admin before you disable them",
        ),
        (["users", "role", "sam", "analyst"], "", "sam is the only enabled admin"),
    ]
    for args, stdin, message in refusals:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        assert main(args) == 2, args
        assert message in capsys.readouterr().err, args
    with pytest.raises(SystemExit) as exit_:
        main(["users", "add", "kim", "--role", "boss"])
    assert exit_.value.code == 2
