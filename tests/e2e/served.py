"""A real `matcher serve` process for the browser tests: on a fresh SQLite file, with one user
per role the tests need (added by `matcher users add`), and any extra environment (an SMTP
server, the public address)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

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


@contextmanager
def serving(folder: Path, **environment: str) -> Iterator[Service]:
    """`matcher serve` on a free port over a new SQLite file in ``folder``, with
    ``environment`` added to this process's; stopped (SIGINT) on leaving."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder / 'scheme.db'}"}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env |= {"MATCHER_PUBLIC_URL": url, **environment}
    tokens = {name: add_user(env, name, role) for name, role in USERS.items()}
    log = folder / "server.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*MATCHER, "serve", "--port", str(port)], env=env, stdout=out, stderr=out
        )
    try:
        wait_until_up(url, process, log)
        yield Service(url, tokens)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def add_user(env: dict[str, str], name: str, role: str) -> str:
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
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
