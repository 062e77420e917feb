"""How big and how quick are the long pages at national size?

A real `matcher serve` on a fresh SQLite database with the national sample (600 mentors,
4,000 mentees) imported, one round over everyone run (time limit 60 s) and approved, so
about 4,000 confirmed matches. Then, signed in through the form as a matcher, each page is
fetched 5 times: its HTML size (uncompressed) and the median time of the request, measured
by the client on the same machine (so the server's time plus a local round trip). Pages:
the Matches page (page 1, page 2, a search), the Register page, the round's page and the
Rounds list.

Run: `python -m benchmarks.page_sizes`; writes `benchmarks/results/page_sizes.md`.
Budget: every page under 300 KB of HTML and under 1 s on the server.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.serving import fresh_database, serve
from datasets.generator import sample_dir

RESULTS = Path(__file__).parent / "results" / "page_sizes.md"
BIG_UPLOADS = {"MATCHER_MAX_UPLOAD_BYTES": "20000000"}
TIMES = 5
BUDGET_BYTES = 300_000
BUDGET_SECONDS = 1.0
PASSWORD = "bench-pages-password"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _import(http: httpx.Client) -> None:
    for kind in ("mentors", "mentees", "exclusions"):
        path = sample_dir("national") / f"{kind}.csv"
        if not path.exists():
            continue
        files = {"file": (path.name, path.read_bytes(), "text/csv")}
        http.post(f"/api/{kind}/import", files=files, timeout=300).raise_for_status()


def _round(http: httpx.Client) -> int:
    answer = http.post("/api/rounds", json={"name": "national", "time_limit": 60})
    answer.raise_for_status()
    round_id = int(answer.json()["id"])
    job_id = http.post(f"/api/rounds/{round_id}/run").json()["job_id"]
    while (job := http.get(f"/api/jobs/{job_id}").json())["status"] not in ("done", "failed"):
        time.sleep(1)
    if job["status"] != "done":
        raise RuntimeError(f"the round failed: {job}")
    http.post(f"/api/rounds/{round_id}/approve", timeout=300).raise_for_status()
    return round_id


def _web_user(database_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATCHER_")}
    env["DATABASE_URL"] = database_url
    add = ["users", "add", "pages", "--role", "matcher", "--password-stdin"]
    subprocess.run(
        [sys.executable, "-m", "matcher.cli", *add],
        input=PASSWORD + "\n",
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )


def _sign_in(web: httpx.Client) -> None:
    form = web.get("/login")
    found = CSRF.search(form.text)
    assert found, form.text
    data = {"username": "pages", "password": PASSWORD, "csrf_token": found[1], "next": "/rounds"}
    answer = web.post("/login", data=data)
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in failed: {answer.status_code}")


def _measure(web: httpx.Client, path: str) -> tuple[int, float, int]:
    """HTML bytes, median seconds over ``TIMES`` requests, and the status."""
    seconds = []
    size, status = 0, 0
    for _ in range(TIMES):
        start = time.perf_counter()
        answer = web.get(path, headers={"Accept-Encoding": "identity"})
        seconds.append(time.perf_counter() - start)
        size, status = len(answer.content), answer.status_code
    return size, statistics.median(seconds), status


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with (
            fresh_database("sqlite", folder, "") as url,
            serve(url, folder / "server.log", BIG_UPLOADS) as server,
        ):
            with httpx.Client(base_url=server.url, headers=server.headers, timeout=120) as api:
                _import(api)
                round_id = _round(api)
                confirmed = len(api.get("/api/matches", params={"status": "confirmed"}).json())
                mentors = len(api.get("/api/mentors").json())
                mentees = len(api.get("/api/mentees").json())
            _web_user(url)
            with httpx.Client(base_url=server.url, timeout=120) as web:
                _sign_in(web)
                rows = [
                    (path, *_measure(web, path))
                    for path in (
                        "/matches",
                        "/matches?page=2",
                        "/matches?status=confirmed&q=moore",
                        "/register?q=moore",
                        "/register",
                        f"/rounds/{round_id}",
                        "/rounds",
                    )
                ]
    lines = [
        "# Page sizes at national size",
        "",
        f"Scheme: {mentors:,} mentors, {mentees:,} mentees, {confirmed:,} confirmed matches "
        f"(one round, approved); SQLite. Median of {TIMES} requests, measured by a client on "
        "the same machine. Budget: under 300 KB of HTML and under 1 s.",
        "",
        "Run: `python -m benchmarks.page_sizes`.",
        "",
        "| Page | Status | HTML (KB) | Median time (s) | Within budget |",
        "|---|---:|---:|---:|---|",
    ]
    for path, size, seconds, status in rows:
        ok = size < BUDGET_BYTES and seconds < BUDGET_SECONDS and status == 200
        lines.append(
            f"| `{path}` | {status} | {size / 1000:,.1f} | {seconds:.3f} | {'yes' if ok else 'no'} |"
        )
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
