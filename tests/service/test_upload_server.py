"""Uploads to a real `matcher serve`: the sender and the size are checked before the body is
read, and a long import leaves the service answering."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import httpx
from test_server_smoke import add_user, server

BOUNDARY = "b0undary"


def _raw_post(url: str, head: dict[str, str], body_chunks: int = 0) -> bytes:
    """POST headers (and maybe chunks of a body) over a raw socket; the status line back.

    The server must answer without waiting for a body it was promised: a server that reads
    the body first would leave this waiting until the socket's timeout.
    """
    host, port = url.removeprefix("http://").split(":")
    lines = ["POST /api/mentors/import HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in head.items()]
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        part = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
            'filename="mentors.csv"\r\nContent-Type: text/csv\r\n\r\n'
        ).encode()
        chunk = b"x" * 65536
        try:
            for index in range(body_chunks):
                data = part + chunk if index == 0 else chunk
                sock.sendall(b"%x\r\n%s\r\n" % (len(data), data))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed: what we are checking
        answer = b""
        while b"\r\n" not in answer:
            part = sock.recv(4096)
            if not part:
                break
            answer += part
    return answer.split(b"\r\n", 1)[0]


def test_sender_and_size_are_checked_before_the_body(database_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "MATCHER_MAX_UPLOAD_BYTES": "1000000"}
    token = add_user(env, "officer", "matcher")
    form = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    with server(env, tmp_path / "server.log") as url:
        # 200 MB promised, none sent: no token is refused at once, and so is the size.
        no_token = _raw_post(url, {**form, "Content-Length": "200000000"})
        assert no_token == b"HTTP/1.1 401 Unauthorized"
        signed = {**form, "Authorization": f"Bearer {token}"}
        too_big = _raw_post(url, {**signed, "Content-Length": "200000000"})
        assert too_big == b"HTTP/1.1 413 Request Entity Too Large"
        # No length given: the body is counted as it comes, and refused past the limit.
        chunked = _raw_post(url, {**signed, "Transfer-Encoding": "chunked"}, body_chunks=64)
        assert chunked == b"HTTP/1.1 413 Request Entity Too Large"
        assert httpx.get(f"{url}/health").status_code == 200


def test_the_service_answers_while_a_large_file_is_read(database_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "MATCHER_MAX_UPLOAD_BYTES": "50000000"}
    token = add_user(env, "officer", "matcher")
    rows = 60_000
    body = "mentee_id,name,cohort,availability,waiting_since\n" + "".join(
        f"E{i:06d},Dr {i},GP Fellow,Monday morning; Thu evening,{1 + i % 28}/4/26\n"
        for i in range(rows)
    )
    done: dict[str, float | int] = {}
    with server(env, tmp_path / "server.log") as url:

        def run_import() -> None:
            answer = httpx.post(
                f"{url}/api/mentees/import",
                files={"file": ("mentees.csv", body.encode())},
                headers={"Authorization": f"Bearer {token}"},
                timeout=300,
            )
            done["status"], done["at"] = answer.status_code, time.monotonic()
            done["added"] = answer.json().get("added", -1)

        worker = threading.Thread(target=run_import)
        worker.start()
        time.sleep(0.5)  # the upload is in, the reading has begun
        health = httpx.get(f"{url}/health", timeout=60)
        answered = time.monotonic()
        worker.join(timeout=300)
    assert health.status_code == 200
    assert (done["status"], done["added"]) == (200, rows)
    # /health was answered while the import was still being read and stored.
    assert answered < done["at"]


def test_two_servers_importing_the_same_new_people_at_once(
    database_url: str, tmp_path: Path
) -> None:
    # Both imports succeed; each person is stored once, with one version: the second sees
    # what the first stored (waiting for its lock, or retrying after the first's commit).
    env = {**os.environ, "DATABASE_URL": database_url}
    token = add_user(env, "officer", "matcher")
    body = "mentee_id,name,cohort\n" + "".join(f"E{i:04d},Dr {i},fellow\n" for i in range(3000))
    answers: list[dict[str, int]] = []
    with server(env, tmp_path / "a.log") as first, server(env, tmp_path / "b.log") as second:
        start = threading.Barrier(2)

        def run_import(url: str) -> None:
            start.wait()
            answer = httpx.post(
                f"{url}/api/mentees/import",
                files={"file": ("mentees.csv", body.encode())},
                headers={"Authorization": f"Bearer {token}"},
                timeout=120,
            )
            answers.append({"status": answer.status_code, **answer.json()})

        workers = [threading.Thread(target=run_import, args=(u,)) for u in (first, second)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=180)
        history = httpx.get(
            f"{first}/api/mentees/E0007/history",
            headers={"Authorization": f"Bearer {add_user(env, 'boss', 'admin')}"},
        ).json()
        listed = httpx.get(
            f"{first}/api/mentees", headers={"Authorization": f"Bearer {token}"}
        ).json()
    assert sorted((a["status"], a["added"], a["unchanged"]) for a in answers) == [
        (200, 0, 3000),
        (200, 3000, 0),
    ]
    assert [v["version"] for v in history] == [1]
    assert len(listed) == 3000
