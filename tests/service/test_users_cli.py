"""`matcher users`: create users and tokens from the command line; clear errors."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from matcher.cli import main
from service.app import create_app
from service.config import ServiceSettings


@pytest.fixture
def db_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'users.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def test_add_user_prints_a_working_token_last(
    db_env: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery\n"))
    assert main(["users", "add", "lucy", "--role", "analyst", "--password-stdin"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert main(["users", "token", "lucy"]) == 0
    second = capsys.readouterr().out.strip().splitlines()[-1]
    with TestClient(create_app(ServiceSettings(database_url=db_env))) as client:
        for t in (token, second):
            me = client.get("/api/me", headers={"Authorization": f"Bearer {t}"})
            assert me.json() == {"id": 1, "name": "lucy", "role": "analyst"}
        signed_in = client.post(
            "/auth/token", json={"username": "lucy", "password": "correct horse battery"}
        )
        assert signed_in.json()["role"] == "analyst"
        wrong = client.post("/auth/token", json={"username": "lucy", "password": "nope"})
        assert (wrong.status_code, wrong.json()["detail"]) == (401, "wrong user name or password")


def test_user_errors(
    db_env: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["users", "add", "sam", "--role", "matcher"]) == 0
    capsys.readouterr()
    assert main(["users", "add", "sam", "--role", "admin"]) == 2
    assert "a user named 'sam' already exists" in capsys.readouterr().err
    assert main(["users", "add", "bad name", "--role", "admin"]) == 2
    assert "must be 1-64 letters" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["users", "add", "kim", "--role", "admin", "--password-stdin"]) == 2
    assert "at least 8 characters" in capsys.readouterr().err
    assert main(["users", "token", "nobody"]) == 2
    assert "no user named 'nobody'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["users", "add", "kim", "--role", "boss"])
    assert exit_.value.code == 2
