"""How big and how quick is every page of the site at national size, on the server and in
Chromium?

A real `matcher serve` on a fresh SQLite database with the national sample (600 mentors,
4,000 mentees) imported, two rounds over everyone run (time limit 60 s each): one left
proposed, so its page carries every form staff use, and one approved, so about 4,000
confirmed matches, and ``SESSIONS`` mentoring sessions logged through the API
(one on each of the first matches, held today), so the sessions and reports pages have
rows. Then every page of ``PAGES`` is measured as each role it lists sees it, signed in
through the form (`page_loads.py` says how):

- its HTML, uncompressed and as gzip sent it (the service compresses for clients that
  accept it);
- the median time of 5 requests, measured by a client on the same machine;
- the median of 3 loads in Debian's Chromium, cache disabled: from the start of the
  navigation to the end of the ``load`` event.

A page that answers 404 is "not built" (the table names pages still being written), not a
failure. Budget (the issue's): every page under 300 KB of HTML, under 1 s on the server and
under 3 s to load in Chromium.

Run: `python -m benchmarks.page_sizes`; writes `benchmarks/results/page_sizes.md`.
`--sample lmc --time-limit 10` checks the benchmark itself in about a minute. The exit code
is 0 when every built page answers 200 within the budget, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import httpx

from benchmarks.page_loads import (
    LOADS,
    TIMES,
    Account,
    Served,
    browser_tab,
    chromium,
    load_seconds,
    serve_page,
    web_client,
)
from benchmarks.serving import Server, fresh_database, serve
from datasets.generator import SAMPLES, sample_dir

RESULTS = Path(__file__).parent / "results" / "page_sizes.md"
BIG_UPLOADS = {"MATCHER_MAX_UPLOAD_BYTES": "20000000"}
BUDGET_BYTES = 300_000
BUDGET_SERVER_SECONDS = 1.0
BUDGET_CHROMIUM_SECONDS = 3.0
SESSIONS = 1_000
PASSWORD = "bench-pages-password"
NOT_BUILT = 404


@dataclass(frozen=True)
class PageSpec:
    """A page of the site: what it is, its path (``{round}``, ``{match}``, ``{mentor}``,
    ``{mentee}``, ``{user}``, ``{mail}`` and ``{month}`` are filled from the scheme) and the roles it is measured as,
    where what it shows differs by role (an analyst sees ids, not names; an admin also plans
    events and manages users; a visitor has not signed in)."""

    name: str
    path: str
    roles: str


# fmt: off
PAGES = (
    #        page                         path                                 roles
    PageSpec("Sign in",                   "/login",                            "visitor"),
    PageSpec("API documentation",         "/docs",                             "visitor"),
    PageSpec("Rounds",                    "/rounds",                           "matcher analyst"),
    PageSpec("Round",                     "/rounds/{round}",                   "matcher analyst"),
    PageSpec("Round, page 2",             "/rounds/{round}?page=2",            "matcher"),
    PageSpec("Round, a search",           "/rounds/{round}?q=moore",           "matcher"),
    PageSpec("Proposed round, with forms", "/rounds/{proposed}",               "matcher"),
    PageSpec("Proposed round, pin search", "/rounds/{proposed}?find_mentee=moore&find_mentor=moore", "matcher"),
    PageSpec("Matches",                   "/matches",                          "matcher analyst"),
    PageSpec("Matches, page 2",           "/matches?page=2",                   "matcher"),
    PageSpec("Matches, a search",         "/matches?status=confirmed&q=moore", "matcher"),
    PageSpec("End a match",               "/matches/{match}/end",              "matcher"),
    PageSpec("Register",                  "/register",                         "matcher"),
    PageSpec("Register, a search",        "/register?q=moore",                 "matcher"),
    PageSpec("Reports",                   "/reports",                          "matcher analyst"),
    PageSpec("Events",                    "/events",                           "matcher admin"),
    PageSpec("Import",                    "/import",                           "matcher"),
    PageSpec("Account",                   "/account",                          "matcher"),
    PageSpec("Users",                     "/users",                            "admin"),
    PageSpec("A user",                    "/users/{user}",                     "admin"),
    PageSpec("Mentees",                   "/people?kind=mentees",              "matcher"),
    PageSpec("Mentors",                   "/people?kind=mentors",              "matcher"),
    PageSpec("Mentees, a search",         "/people?kind=mentees&q=moore",      "matcher"),
    PageSpec("A mentee",                  "/people/mentees/{mentee}",          "matcher"),
    PageSpec("A mentor",                  "/people/mentors/{mentor}",          "matcher"),
    PageSpec("Sessions",                  "/sessions",                         "matcher analyst"),
    PageSpec("A mentor's monthly return", "/sessions/return?mentor={mentor}",  "matcher"),
    PageSpec("Training",                  "/training",                         "matcher"),
    PageSpec("Applications",              "/applications",                     "matcher"),
    PageSpec("New application",           "/applications/new",                 "matcher"),
    PageSpec("Audit log",                 "/audit",                            "admin"),
    PageSpec("Outbox",                    "/outbox",                           "matcher"),
    PageSpec("Outbox, page 2",            "/outbox?page=2",                    "matcher"),
    PageSpec("Outbox, a search",          "/outbox?q=match:{match}",           "matcher"),
    PageSpec("A mail",                    "/outbox/{mail}",                    "matcher"),
    PageSpec("Mail wording",              "/mail-templates",                   "matcher"),
    PageSpec("A mail's wording",          "/mail-templates/introduction_to_mentee", "matcher"),
    PageSpec("Returns outstanding",       "/returns?month={month}",            "matcher"),
    PageSpec("Scheme experience",         "/reports/experience?by=group",      "matcher analyst"),
    PageSpec("Planning",                  "/reports/plans",                    "matcher analyst"),
    PageSpec("Apply to be a mentor",      "/apply",                            "visitor"),
    PageSpec("Sign in by link",           "/me/sign-in",                       "visitor"),
)
# fmt: on
ROLES = ("visitor", "matcher", "admin", "analyst")


@dataclass(frozen=True)
class Scheme:
    """What the database holds once set up, and the ids the pages' paths need."""

    mentors: int
    mentees: int
    confirmed: int
    sessions: int
    ids: dict[str, str]


@dataclass(frozen=True)
class Row:
    page: PageSpec
    role: str
    path: str
    served: Served
    chromium_seconds: float | None  # None: not loaded (not built, or not a 200)

    @property
    def built(self) -> bool:
        return self.served.status != NOT_BUILT

    def problems(self) -> list[str]:
        """What is wrong with a built page: a status other than 200, or a figure over budget."""
        if not self.built:
            return []
        if self.served.status != 200:
            return [f"status {self.served.status}"]
        over = []
        if self.served.html_bytes >= BUDGET_BYTES:
            over.append(f"{self.served.html_bytes / 1000:,.0f} KB of HTML")
        if self.served.seconds >= BUDGET_SERVER_SECONDS:
            over.append(f"{self.served.seconds:.2f} s on the server")
        if self.chromium_seconds is not None and self.chromium_seconds >= BUDGET_CHROMIUM_SECONDS:
            over.append(f"{self.chromium_seconds:.2f} s in Chromium")
        return over


def _import(api: httpx.Client, sample: str) -> None:
    for kind in ("mentors", "mentees", "exclusions"):
        path = sample_dir(sample) / f"{kind}.csv"
        if not path.exists():
            continue
        files = {"file": (path.name, path.read_bytes(), "text/csv")}
        api.post(f"/api/{kind}/import", files=files, timeout=300).raise_for_status()


def _round(api: httpx.Client, time_limit: float, *, approve: bool) -> int:
    answer = api.post("/api/rounds", json={"name": "benchmark", "time_limit": time_limit})
    answer.raise_for_status()
    round_id = int(answer.json()["id"])
    job_id = api.post(f"/api/rounds/{round_id}/run").json()["job_id"]
    while (job := api.get(f"/api/jobs/{job_id}").json())["status"] not in ("done", "failed"):
        time.sleep(1)
    if job["status"] != "done":
        raise RuntimeError(f"the round failed: {job}")
    if approve:
        api.post(f"/api/rounds/{round_id}/approve", timeout=300).raise_for_status()
    return round_id


def _log_sessions(api: httpx.Client, match_ids: list[int]) -> int:
    """One 60-minute session held today on each match (they were confirmed today)."""
    body = {"held_on": date.today().isoformat(), "minutes": 60}
    for match_id in match_ids:
        api.post(f"/api/matches/{match_id}/sessions", json=body).raise_for_status()
    return len(match_ids)


def _account(database_url: str, role: str) -> Account:
    """A user of ``role`` with a password, added by `matcher users add`."""
    if role == "visitor":
        return Account(role)
    name = f"pages-{role}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATCHER_")}
    env["DATABASE_URL"] = database_url
    add = ["users", "add", name, "--role", role, "--password-stdin"]
    subprocess.run(
        [sys.executable, "-m", "matcher.cli", *add],
        input=PASSWORD + "\n",
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return Account(role, name, PASSWORD)


def set_up(server: Server, sample: str, time_limit: float) -> Scheme:
    """Import the sample, run and approve a round, log sessions; the scheme it leaves."""
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=120) as api:
        _import(api, sample)
        # A round left proposed, with every form staff use (run before the approved one, so
        # that its mentees are still to be matched when it runs).
        proposed = _round(api, time_limit, approve=False)
        round_id = _round(api, time_limit, approve=True)
        confirmed = api.get("/api/matches", params={"status": "confirmed"}).json()
        logged = _log_sessions(api, [m["id"] for m in confirmed[:SESSIONS]])
        first = confirmed[0]
        return Scheme(
            mentors=len(api.get("/api/mentors").json()),
            mentees=len(api.get("/api/mentees").json()),
            confirmed=len(confirmed),
            sessions=logged,
            ids={
                "round": str(round_id),
                "proposed": str(proposed),
                "match": str(confirmed[-1]["id"]),
                "mentor": first["mentor_id"],
                "mentee": first["mentee_id"],
                "user": "1",  # the API's user (`serving.serve`), a matcher
                "mail": str(api.get("/api/outbox", params={"limit": 1}).json()["mails"][0]["id"]),
                "month": f"{date.today():%Y-%m}",
            },
        )


def measure(
    base_url: str, accounts: dict[str, Account], ids: dict[str, str]
) -> tuple[list[Row], str]:
    """Every page of ``PAGES`` as each of its roles: over HTTP, then (if 200) in Chromium;
    and Chromium's version."""
    rows: list[Row] = []
    with chromium() as browser:
        version = browser.version
        for role in ROLES:
            pages = [page for page in PAGES if role in page.roles.split()]
            account = accounts[role]
            with (
                web_client(base_url, account) as web,
                browser_tab(browser, base_url, account) as tab,
            ):
                for page in pages:
                    path = page.path.format(**ids)
                    served = serve_page(web, path)
                    loaded = load_seconds(tab, path) if served.status == 200 else None
                    rows.append(Row(page, role, path, served, loaded))
                    browser_time = "-" if loaded is None else f"{loaded:.2f} s"
                    print(f"{role:8} {path:45} {served.status} {browser_time}", flush=True)
    return rows, version


def _mark(text: str, within: bool) -> str:
    return f"{text} ✓" if within else f"**{text} ✗**"


def _line(row: Row) -> str:
    served = row.served
    head = f"| {row.page.name} | {row.role} | `{row.path}` |"
    if not row.built:
        return f"{head} not built | | | | |"
    html = _mark(f"{served.html_bytes / 1000:,.1f}", served.html_bytes < BUDGET_BYTES)
    wire = f"{served.wire_bytes / 1000:,.1f}"
    server = _mark(f"{served.seconds:.3f}", served.seconds < BUDGET_SERVER_SECONDS)
    if row.chromium_seconds is None:
        browser = "–"
    else:
        browser = _mark(
            f"{row.chromium_seconds:.2f}", row.chromium_seconds < BUDGET_CHROMIUM_SECONDS
        )
    return f"{head} {served.status} | {html} | {wire} | {server} | {browser} |"


def verdict(rows: list[Row]) -> str:
    built = [row for row in rows if row.built]
    failing = [row for row in built if row.problems()]
    missing = sorted({row.page.name for row in rows if not row.built})
    later = f" Not built yet: {', '.join(missing)}." if missing else ""
    if failing:
        over = "; ".join(f"{r.page.name} as {r.role}: {', '.join(r.problems())}" for r in failing)
        return (
            f"**Verdict: over budget.** {len(failing)} of {len(built)} pages measured (a page "
            f"as one role) fail: {over}.{later}"
        )
    if not built:
        return f"**Verdict: nothing measured.**{later}"
    share, figure, nearest = max((_shares(row) for row in built), key=lambda s: s[0])
    return (
        f"**Verdict: within budget.** All {len(built)} pages measured (a page as one role) "
        f"are within it; the nearest to a limit is {nearest.page.name} as {nearest.role}, "
        f"{figure} ({share:.0%} of the budget).{later}"
    )


def _shares(row: Row) -> tuple[float, str, Row]:
    """A built page's figure nearest its budget: its share of the budget, the figure, the row."""
    served, loaded = row.served, row.chromium_seconds or 0.0
    return max(
        (served.html_bytes / BUDGET_BYTES, f"{served.html_bytes / 1000:,.0f} KB of HTML", row),
        (served.seconds / BUDGET_SERVER_SECONDS, f"{served.seconds:.2f} s on the server", row),
        (loaded / BUDGET_CHROMIUM_SECONDS, f"{loaded:.2f} s in Chromium", row),
        key=lambda share: share[0],
    )


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def report(
    rows: list[Row],
    scheme: Scheme,
    sample: str,
    loads: tuple[tuple[float, ...], ...],
    browser: str,
) -> str:
    start, end = (", ".join(f"{x:.2f}" for x in load) for load in loads)
    lines = [
        "# Every page at national size" if sample == "national" else f"# Every page ({sample})",
        "",
        verdict(rows),
        "",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Machine: {os.cpu_count()} cores "
        f"({_cpu_model()}), load average (1, 5, 15 min) {start} at the start and {end} at the "
        f"end; Python {platform.python_version()}, Debian's Chromium {browser} through Playwright.",
        "",
        f"Scheme: sample `{sample}`, {scheme.mentors:,} mentors, {scheme.mentees:,} mentees, "
        f"{scheme.confirmed:,} confirmed matches (one round approved, one left proposed), "
        f"{scheme.sessions:,} "
        "sessions logged; SQLite.",
        "",
        f"HTML: the page's bytes uncompressed, and as gzip sent them (KB of 1,000 bytes). "
        f"Server: median of {TIMES} requests accepting gzip, timed by a client on the same "
        f"machine. Chromium: median of {LOADS} loads, cache disabled, from the start of the "
        "navigation to the end of the `load` event (Navigation Timing). Budget: under "
        "300 KB of HTML, under 1 s on the server, under 3 s in Chromium; ✓ within, ✗ over. "
        "Not built: the page answers 404 (still being written).",
        "",
        "Run: `python -m benchmarks.page_sizes`.",
        "",
        "| Page | Role | Path | Status | HTML (KB) | gzip (KB) | Server (s) | Chromium (s) |",
        "|---|---|---|---:|---:|---:|---:|---:|",
        *(_line(row) for row in rows),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", default="national", choices=SAMPLES)
    parser.add_argument("--time-limit", type=float, default=60.0, help="the round's, in s")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.time_limit <= 0:
        parser.error("--time-limit must be positive")
    load_at_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with (
            fresh_database("sqlite", folder, "") as url,
            serve(url, folder / "server.log", BIG_UPLOADS) as server,
        ):
            scheme = set_up(server, args.sample, args.time_limit)
            accounts = {role: _account(url, role) for role in ROLES}
            rows, browser = measure(server.url, accounts, scheme.ids)
    text = report(rows, scheme, args.sample, (load_at_start, os.getloadavg()), browser)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 1 if any(row.problems() for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
