"""`matcher users ...`, `matcher serve` and `matcher worker`: the service's side of the
command line."""

from __future__ import annotations

import argparse
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service import users_cli  # its parser-building part imports nothing of the service

if TYPE_CHECKING:
    from service.config import ServiceSettings

DEMO_USER = "admin"


def add_commands(commands: Any) -> None:
    """Add ``users``, ``serve`` and ``worker`` to the ``matcher`` sub-command parser."""
    users_cli.add_commands(commands)
    serve = commands.add_parser(
        "serve",
        help="start the web service",
        description="Start the HTTP service (API under /api/, OpenAPI at /openapi.json).",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument(
        "--demo",
        action="store_true",
        help="load the shipped LMC sample if the database has no mentors, and print a fresh "
        f"password and token for the user {DEMO_USER!r}",
    )
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="run no jobs in this process: they wait on the queue for `matcher worker` "
        "processes (default: one queue worker here, MATCHER_JOB_WORKERS)",
    )
    worker = commands.add_parser(
        "worker",
        help="run solves and other background jobs from the queue",
        description="Take jobs from the scheme's job queue (in its database: DATABASE_URL) "
        "and run them, each solve in a child process, until SIGTERM or Ctrl-C; running jobs "
        "are then handed back to the queue. Run any number, on any machine that reaches the "
        "database.",
    )
    worker.add_argument(
        "--concurrency",
        type=_positive,
        default=1,
        metavar="N",
        help="jobs run at once, each solve in a process of its own (default 1)",
    )


def run(args: argparse.Namespace) -> int:
    from service.config import ServiceSettings

    settings = ServiceSettings()
    if args.command == "serve":
        if args.no_worker:
            settings = settings.model_copy(update={"job_workers": 0})
        return serve(settings, args.host, args.port, args.demo)
    if args.command == "worker":
        return worker(settings, args.concurrency)
    return users_cli.run(settings, args)


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a whole number of 1 or more")
    return number


def worker(settings: ServiceSettings, concurrency: int) -> int:
    import logging.config

    from service.logging_setup import log_config
    from service.workers import run_worker

    logging.config.dictConfig(log_config("INFO", settings.log_format))
    return run_worker(settings, concurrency)


def serve(settings: ServiceSettings, host: str, port: int, demo: bool) -> int:
    import uvicorn

    from service.app import create_app
    from service.logging_setup import AccessLog, log_config

    if demo:
        load_demo(settings, host, port)
    # uvicorn's own access log prints query strings; ours prints paths only.
    uvicorn.run(
        AccessLog(create_app(settings)),
        host=host,
        port=port,
        log_config=log_config("INFO", settings.log_format),
        access_log=False,
    )
    return 0


def load_demo(settings: ServiceSettings, host: str, port: int) -> None:
    """The LMC sample in an empty database, and fresh sign-in details for the demo admin."""
    from sqlalchemy import select

    from datasets.generator import sample_dir
    from service.accounts import set_password_hash
    from service.auth import create_user, hash_password, issue_token
    from service.db import transaction
    from service.models import Mentor, User
    from service.people import import_people, read_people_file

    sessions = users_cli.sessions_for(settings)
    password = secrets.token_urlsafe(12)
    with transaction(sessions) as session:
        user = session.scalar(select(User).where(User.name == DEMO_USER))
        if user is None:
            user = create_user(session, DEMO_USER, "admin", password)
        else:  # a fresh password: whoever knew the last one is signed out
            set_password_hash(session, None, user, hash_password(password))
        token = issue_token(session, user, settings.token_days, label="demo")
        if session.scalar(select(Mentor).limit(1)) is None:
            folder = sample_dir("lmc")
            for kind in ("mentors", "mentees"):
                path = Path(folder, f"{kind}.csv")
                read = read_people_file(kind, path.name, path.read_bytes())
                import_people(session, user, kind, read)
    url = f"http://{host}:{port}"
    print(
        f"""
Demo scheme ready in {settings.database_url} (the shipped LMC sample: 30 mentors, 200 mentees).
Open {url} in a browser and sign in:
  Username: {DEMO_USER}
  Password: {password}
API token: {token}
Try:
  curl {url}/api/mentors -H 'Authorization: Bearer {token}'
  curl -X POST {url}/api/rounds -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' -d '{{"name": "Demo round"}}'
API documentation: {url}/docs
""",
        flush=True,
    )
