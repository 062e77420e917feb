"""`matcher users ...`: the service's accounts and API tokens from the command line."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.auth import ROLES, UserError, create_user, issue_token
from service.config import ServiceSettings
from service.db import make_engine, session_factory, transaction, upgrade
from service.models import User


def add_commands(commands: Any) -> None:
    """Add ``users`` to the ``matcher`` sub-command parser."""
    users = commands.add_parser(
        "users",
        help="create users and API tokens of the service",
        description="Users of the service; the database is DATABASE_URL (default sqlite:///scheme.db).",
    )
    user_commands = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = user_commands.add_parser(
        "add", help="create a user; prints a new API token as the last line"
    )
    add.add_argument("name", help="user name (letters, digits, _ . @ -)")
    add.add_argument("--role", required=True, choices=ROLES, help="what the user may do")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read a password for the web sign-in from standard input",
    )
    token = user_commands.add_parser("token", help="print a new API token for an existing user")
    token.add_argument("name")


def run(settings: ServiceSettings, args: argparse.Namespace) -> int:
    if args.users_command == "add":
        return add_user(settings, args.name, args.role, args.password_stdin)
    return new_token(settings, args.name)


def sessions_for(settings: ServiceSettings) -> sessionmaker[Session]:
    engine = make_engine(settings.database_url)
    upgrade(engine)
    return session_factory(engine)


def add_user(settings: ServiceSettings, name: str, role: str, password_stdin: bool) -> int:
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if len(password) < 8:
            print("the password must have at least 8 characters", file=sys.stderr)
            return 2
    try:
        with transaction(sessions_for(settings)) as session:
            user = create_user(session, name, role, password)
            token = issue_token(session, user)
    except UserError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"Created user {name} ({role}). API token (shown once; send as 'Authorization: Bearer'):")
    print(token)
    return 0


def new_token(settings: ServiceSettings, name: str) -> int:
    with transaction(sessions_for(settings)) as session:
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            print(f"no user named {name!r}", file=sys.stderr)
            return 2
        token = issue_token(session, user)
    print(f"New API token for {name}:")
    print(token)
    return 0
