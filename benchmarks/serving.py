"""A real `matcher serve` for the benchmarks: a fresh database, a user, the server process.

Used by the benchmarks that measure the service from outside, as a client would.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

MB = 1_000_000


@contextmanager
def fresh_database(kind: str, folder: Path, postgres_url: str) -> Iterator[str]:
    """A URL to an empty database: a new SQLite file, or a new PostgreSQL schema (dropped after)."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    if kind == "sqlite":
        path = folder / f"{name}.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            for leftover in folder.glob(f"{name}.db*"):
                leftover.unlink()
        return
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
        try:
            yield f"{postgres_url}?options=-csearch_path%3D{name}"
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
    finally:
        admin.dispose()


@dataclass(frozen=True)
class Server:
    url: str
    port: int
    pid: int
    token: str
    log: Path

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def cpu_seconds(self) -> float:
        """User and system time of the server process so far (all its threads)."""
        stat = Path(f"/proc/{self.pid}/stat").read_text(encoding="utf-8")
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def memory_mb(self, key: str) -> float:
        """``VmRSS`` or ``VmHWM`` of the server process, in MB."""
        for line in Path(f"/proc/{self.pid}/status").read_text(encoding="utf-8").splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) * 1024 / MB
        raise RuntimeError(f"no {key} in /proc/{self.pid}/status")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(
    database_url: str, log: Path, settings: dict[str, str] | None = None, *, new_user: bool = True
) -> Iterator[Server]:
    """A ``matcher serve`` over ``database_url`` with a user ``bench`` (role matcher).

    ``settings`` are ``MATCHER_*`` variables for the server; any others set in this
    environment are left out, so the defaults are the defaults. ``new_user=False``: the
    user exists (a second server on the same database) and gets a new token.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATCHER_")}
    env.update({"DATABASE_URL": database_url, **(settings or {})})
    matcher = [sys.executable, "-m", "matcher.cli"]
    command = ["add", "bench", "--role", "matcher"] if new_user else ["token", "bench"]
    added = subprocess.run(
        [*matcher, "users", *command],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    token = added.stdout.strip().splitlines()[-1]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*matcher, "serve", "--port", str(port)], env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=url, timeout=5) as http:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the server exited with {process.returncode}: see {log}")
                try:
                    http.get("/health").raise_for_status()
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
        yield Server(url, port, process.pid, token, log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
