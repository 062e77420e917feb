"""Fixtures for the service tests: every test runs once on SQLite and once on PostgreSQL.

PostgreSQL is the one at ``TEST_POSTGRES_URL`` (default: the local ``test`` database); each
test gets a schema of its own there, dropped afterwards. Where no PostgreSQL answers, those
runs are skipped with the reason shown in the summary.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from scheme import import_scheme, write_scheme
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from datasets.generator import sample_dir
from matcher.data import ProblemData
from matcher.readers import load_problem
from service.app import create_app
from service.auth import create_user, hash_password, issue_token
from service.config import ServiceSettings
from service.db import transaction
from service.roles import ROLES

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'scheme.db'}"
        return
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"no PostgreSQL answers at {POSTGRES_URL}: {exc.orig}")
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def settings(database_url: str) -> ServiceSettings:
    # Month-end reminders are tested on their own (test_return_reminders.py): elsewhere a
    # test's outbox holds what the test queued.
    return ServiceSettings(
        database_url=database_url, max_upload_bytes=200_000, return_reminders=False
    )


@pytest.fixture
def app(settings: ServiceSettings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def role_password_hashes() -> dict[str, str]:
    """Each role user's Argon2 hash, made once: hashing is slow on purpose (0.1 s each), and
    hundreds of tests each create these five users."""
    return {role: hash_password(f"secret-{role}") for role in ROLES}


@pytest.fixture
def tokens(app: FastAPI, role_password_hashes: dict[str, str]) -> dict[str, str]:
    """One user per role (named after it, password 'secret-<role>') and their API tokens."""
    out = {}
    with transaction(app.state.sessions) as session:
        for role in ROLES:
            user = create_user(session, role, role, None, password_hash=role_password_hashes[role])
            out[role] = issue_token(session, user)
    return out


@pytest.fixture
def as_role(tokens: dict[str, str]) -> Callable[[str], dict[str, str]]:
    """``client.get(url, headers=as_role("analyst"))``."""
    return lambda role: {"Authorization": f"Bearer {tokens[role]}"}


@pytest.fixture
def problem(
    as_role: Callable[[str], dict[str, str]], client: TestClient, tmp_path: Path
) -> ProblemData:
    """A small generated scheme, imported; as ``matcher match`` reads its files."""
    problem = write_scheme(tmp_path)
    import_scheme(client, tmp_path, as_role("matcher"))
    return problem


@pytest.fixture
def lmc(as_role: Callable[[str], dict[str, str]], client: TestClient) -> ProblemData:
    """The shipped LMC sample, imported; as ``matcher match`` reads its files."""
    folder = sample_dir("lmc")
    import_scheme(client, folder, as_role("matcher"))
    return load_problem(folder / "mentors.csv", folder / "mentees.csv", folder / "exclusions.csv")
