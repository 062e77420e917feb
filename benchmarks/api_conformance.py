"""The API against its own OpenAPI document: schemathesis, every check, on SQLite and PostgreSQL.

Each database gets a fresh service with the shipped LMC sample loaded (so ids mean something)
and an admin's API token; schemathesis then runs all its phases (examples, coverage,
fuzzing, stateful) and all its checks against the ASGI app, in process. Counted: operations,
requests sent, and the distinct failures, by kind (5xx, responses that break the schema,
undocumented status codes, the rest). Behind the app sits what a real server does with an
exception: a 500 answer (uvicorn logs it and answers 500; the in-process transport would
otherwise raise it into schemathesis as a network error).

Run: ``python -m benchmarks.api_conformance`` (30 examples per operation, both databases;
PostgreSQL at ``TEST_POSTGRES_URL``, default the local ``test`` database, skipped if none
answers). Writes ``benchmarks/results/api_conformance.md``. ``tests/service/test_api_schema.py``
runs the same with fewer examples and fails on any failure.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import schemathesis
from fastapi import FastAPI
from schemathesis.config import OutputConfig, SchemathesisConfig
from schemathesis.core.result import Ok
from schemathesis.engine import events, from_schema
from schemathesis.engine.statistic import Statistic
from schemathesis.python import asgi
from sqlalchemy import select

from benchmarks.serving import fresh_database
from datasets.generator import sample_dir
from service import exclusions
from service.app import create_app
from service.auth import create_user, issue_token
from service.config import ServiceSettings
from service.db import transaction
from service.models import Job
from service.people import import_people, read_people_file

log = logging.getLogger(__name__)
POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
RESULTS = Path(__file__).parent / "results" / "api_conformance.md"

# Operations that can lock the caller out (revoke its token, disable it, reset its password)
# run last, in a pass of their own as a second admin, so the rest is tested signed in.
LOCKOUT = r"^(POST|PATCH|PUT|DELETE) /api/(users|tokens)\b"

# Schema-valid requests that a rule of the domain may still refuse with 422, beyond what a
# JSON schema can say: a round's settings (checked as a settings file), whether a rotation
# fits the attendees, choices of people who did not attend, a session in the future or
# before the match began, an end without a reason, training dates out of order or past the
# cap, report dates outside 2000-2100, a plan's scenarios sharing a name or with unknown
# settings, the contents of an uploaded spreadsheet; a password the policy refuses (too
# short, common, like the user's name), a token asked to last longer than the service's
# setting, and a mail's wording that does not render.
DOMAIN_RULES = (
    "POST /api/rounds",
    "POST /api/events",
    "POST /api/events/{event_id}/choices",
    "POST /api/matches/{match_id}/sessions",
    "PATCH /api/matches/{match_id}",
    "POST /api/applications/{application_id}/decision",
    "POST /api/training",
    "PATCH /api/training/{record_id}",
    "GET /api/reports/monitoring",
    "GET /api/reports/experience",
    "POST /api/rounds/{round_id}/plans",
    "POST /api/mentors/import",
    "POST /api/mentees/import",
    "POST /api/exclusions/import",
    "POST /api/users",
    "POST /api/users/{user_id}/password",
    "POST /api/me/password",
    "POST /api/tokens",
    "PUT /api/mail-templates/{kind}",
)
_ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]

# Failure kinds (schemathesis' class names) and how the report names them.
KINDS = {
    "ServerError": "5xx",
    "JsonSchemaError": "schema violations",
    "UndefinedStatusCode": "undocumented statuses",
}


# The same command on commit a85e1f7, before every operation declared its answers and its
# errors (database, 5xx, schema violations, undocumented statuses, other failures).
BEFORE = (("sqlite", 11, 71, 121, 6), ("postgresql", 29, 72, 137, 5))


@dataclass
class Conformance:
    """What one schemathesis run found."""

    database: str
    operations: set[str] = field(default_factory=set)
    cases: int = 0
    seconds: float = 0.0
    # Failure kind -> distinct failures (schemathesis merges repeats of one failure).
    kinds: Counter[str] = field(default_factory=Counter)
    # Errors that were not check failures (an exception in the app, a broken schema...).
    errors: list[str] = field(default_factory=list)
    report_lines: list[str] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return self.kinds.get(kind, 0)

    @property
    def other_failures(self) -> int:
        return sum(n for kind, n in self.kinds.items() if kind not in KINDS.values())

    @property
    def failures(self) -> int:
        return sum(self.kinds.values()) + len(self.errors)

    def report(self) -> str:
        head = (
            f"{self.database}: {len(self.operations)} operations, {self.cases} requests, "
            f"{self.failures} failure(s) ({', '.join(f'{k}: {n}' for k, n in self.kinds.items())}"
            f"{'; ' if self.kinds and self.errors else ''}"
            f"{f'errors: {len(self.errors)}' if self.errors else ''})"
        )
        return "\n\n".join([head, *self.report_lines, *self.errors])


def _served(app: FastAPI) -> Any:
    """``app`` as a server runs it: an exception that escapes becomes a 500 answer."""

    async def served(scope: Any, receive: Any, send: Any) -> None:
        started = False

        async def tracked(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await app(scope, receive, tracked)
        except Exception:
            if scope["type"] != "http":
                raise
            log.exception("%s %s", scope["method"], scope["path"])
            if not started:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8")],
                    }
                )
                await send({"type": "http.response.body", "body": b"Internal Server Error"})

    return served


def loaded_app(database_url: str) -> tuple[FastAPI, dict[str, str]]:
    """A service over ``database_url`` with the LMC sample, and two admins' API tokens."""
    settings = ServiceSettings(
        database_url=database_url, max_upload_bytes=200_000, default_time_limit=5
    )
    app = create_app(settings)
    folder = sample_dir("lmc")
    with transaction(app.state.sessions) as session:
        admins = [create_user(session, name, "admin", None) for name in ("a1", "a2")]
        tokens = {user.name: issue_token(session, user) for user in admins}
        for kind in ("mentors", "mentees"):
            path = Path(folder, f"{kind}.csv")
            people = read_people_file(kind, path.name, path.read_bytes())
            import_people(session, admins[0], kind, people)
        path = Path(folder, "exclusions.csv")
        read, pairs = exclusions.read_exclusions_file(path.name, path.read_bytes())
        exclusions.import_exclusions(session, admins[0], read, pairs)
    return app, tokens


def _config(token: str, max_examples: int, seed: int) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": seed,
            "headers": {"Authorization": f"Bearer {token}"},
            "generation": {"max-examples": max_examples},
            "checks": {"enabled": True},
            "operations": [
                {
                    "include-name": list(DOMAIN_RULES),
                    "checks": {
                        "positive_data_acceptance": {"expected-statuses": [*_ACCEPTED, "422"]}
                    },
                }
            ],
        }
    )


def _run(schema: Any, found: Conformance) -> None:
    statistic = Statistic()
    found.operations.update(
        op.ok().label for op in schema.get_all_operations() if isinstance(op, Ok)
    )
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            statistic.on_scenario_finished(event.recorder)
        elif isinstance(event, events.NonFatalError):
            found.errors.append(f"error in {event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            raise event.exception
    found.cases += statistic.total_cases
    for failure in statistic.unique_failures_map:
        found.kinds[KINDS.get(type(failure).__name__, type(failure).__name__)] += 1
    config = OutputConfig()
    for label, grouped in statistic.failures.items():
        for group in grouped.values():
            text = group.format(index=None, curl=group.code_sample, config=config)
            found.report_lines.append(f"{label}\n{text}")


def conformance(
    database_url: str, *, max_examples: int, seed: int = 1, label: str | None = None
) -> Conformance:
    """Run schemathesis (every phase, every check) against a fresh loaded service."""
    app, tokens = loaded_app(database_url)
    served = _served(app)
    found = Conformance(label or database_url.split(":", 1)[0].split("+", 1)[0])
    started = time.perf_counter()
    try:
        for token, narrow in ((tokens["a1"], "exclude"), (tokens["a2"], "include")):
            schema = schemathesis.openapi.from_asgi(
                "/openapi.json", served, config=_config(token, max_examples, seed)
            )
            _run(getattr(schema, narrow)(name_regex=LOCKOUT), found)
    finally:
        # Stop the app's job runner, let a solve under way finish, close the connections.
        asgi.shutdown_lifespans()
        _wait_for_jobs(app)
        app.state.engine.dispose()
    found.seconds = time.perf_counter() - started
    return found


def _wait_for_jobs(app: FastAPI, seconds: float = 120) -> None:
    """Until no job is running (the runner, shut down, starts no queued one)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with app.state.sessions() as session:
            if not session.scalar(select(Job.id).where(Job.status == "running").limit(1)):
                return
        time.sleep(0.2)


def write_results(runs: list[Conformance], max_examples: int, seed: int) -> str:
    lines = [
        "# API conformance (schemathesis)",
        "",
        f"Machine: {os.cpu_count()} cores; Python {platform.python_version()}, schemathesis "
        f"{schemathesis.__version__}; run {datetime.now():%Y-%m-%d %H:%M}.",
        "",
        f"Command: `python -m benchmarks.api_conformance` (all phases and checks, "
        f"{max_examples} examples per operation, seed {seed}; the LMC sample loaded; signed in "
        "as an admin). Failures are distinct ones, as schemathesis counts them. A rule of the "
        "domain that refuses a schema-valid request with 422 is allowed on "
        f"{len(DOMAIN_RULES)} operations (see `DOMAIN_RULES`).",
        "",
        "| database | operations | requests | 5xx | schema violations | undocumented statuses "
        "| other failures | errors | seconds |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.database} | {len(r.operations)} | {r.cases} | {r.count('5xx')} "
        f"| {r.count('schema violations')} | {r.count('undocumented statuses')} "
        f"| {r.other_failures} | {len(r.errors)} | {r.seconds:.0f} |"
        for r in runs
    ]
    lines += [
        "",
        "Before (commit a85e1f7, 44 operations, same command): "
        + "; ".join(
            f"{db}: {errors} 5xx, {schema} schema violations, {undocumented} undocumented "
            f"statuses, {other} other failures"
            for db, errors, schema, undocumented, other in BEFORE
        )
        + ".",
    ]
    details = [r.report() for r in runs if r.failures]
    if details:
        lines += ["", "## Failures", "", "```", *details, "```"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=30, help="examples per operation")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--databases", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"]
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    runs = []
    folder = Path(tempfile.mkdtemp(prefix="conformance-"))
    for database in args.databases:
        with fresh_database(database, folder, POSTGRES_URL) as url:
            runs.append(conformance(url, max_examples=args.examples, seed=args.seed))
        print(runs[-1].report().split("\n\n")[0], flush=True)
    args.out.write_text(write_results(runs, args.examples, args.seed), encoding="utf-8")
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
