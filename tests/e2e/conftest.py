"""Fixtures for the browser tests: Debian's Chromium driven by Playwright, and a real
`matcher serve` process on a fresh SQLite file with one user per role the tests need.

Chromium must be installed (`apt-get install chromium`); without it the tests fail and say
so, unless MATCHER_SKIP_BROWSER=1 asks to skip them. MATCHER_SCREENSHOTS=DIR saves
screenshots of the pages into DIR (see docs/screenshots/).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from benchmarks.page_loads import CHROMIUM, CHROMIUM_ARGS

MATCHER = [sys.executable, "-m", "matcher.cli"]
PASSWORD = "a long enough password"
USERS = {"officer": "matcher", "analyst": "analyst", "boss": "admin"}  # name: role
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class Service:
    """A running `matcher serve`: its address, and an API token per user (all of whom have
    the same password)."""

    url: str
    tokens: dict[str, str]
    password: str = PASSWORD

    def api(self, user: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        reason = (
            f"the browser tests need Chromium at {CHROMIUM}: install it with "
            "`apt-get install chromium` (Debian), or set MATCHER_SKIP_BROWSER=1 to skip them"
        )
        if os.environ.get("MATCHER_SKIP_BROWSER") == "1":
            pytest.skip(reason)
        pytest.fail(reason, pytrace=False)
    expect.set_options(timeout=15_000)  # a busy CI machine may be slower than Playwright's 5 s
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """`matcher serve` on a free port over a new SQLite file; users added by the CLI."""
    folder = tmp_path_factory.mktemp("e2e")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder / 'scheme.db'}"}
    tokens = {name: _add_user(env, name, role) for name, role in USERS.items()}
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = folder / "server.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*MATCHER, "serve", "--port", str(port)], env=env, stdout=out, stderr=out
        )
    try:
        _wait_until_up(url, process, log)
        yield Service(url, tokens)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


@pytest.fixture
def screenshots() -> Path | None:
    """Where to save screenshots (MATCHER_SCREENSHOTS), or None to save none."""
    folder = os.environ.get("MATCHER_SCREENSHOTS")
    if not folder:
        return None
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _add_user(env: dict[str, str], name: str, role: str) -> str:
    """`matcher users add` with a password on stdin; its last line is an API token."""
    done = subprocess.run(
        [*MATCHER, "users", "add", name, "--role", role, "--password-stdin"],
        input=f"{PASSWORD}\n",
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip().splitlines()[-1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"the server did not start:\n{log.read_text()}"
        time.sleep(0.2)
