"""`matcher users ...`: the service's accounts and API tokens from the command line.

Changes are audited as made by "system". Errors print one sentence and exit with 2.

``add_commands`` builds the parser and imports nothing of the service: `matcher --help` must
not load SQLAlchemy or FastAPI. The functions that run a command import what they use.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from service.roles import ROLES

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from service.config import ServiceSettings

BAD_INPUT = 2


class CommandError(Exception):
    """A sentence for standard error; the command exits with 2."""


def add_commands(commands: Any) -> None:
    """Add ``users`` to the ``matcher`` sub-command parser."""
    users = commands.add_parser(
        "users",
        help="manage users and API tokens of the service",
        description="Users of the service; the database is DATABASE_URL (default sqlite:///scheme.db).",
    )
    actions = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="create a user; prints a new API token as the last line")
    add.add_argument("name", help="user name (letters, digits, _ . @ -)")
    add.add_argument("--role", required=True, choices=ROLES, help="what the user may do")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read a password for signing in from standard input (at least 10 characters)",
    )
    _token_options(add)

    actions.add_parser("list", help="every user: role, enabled, current tokens, last sign-in")
    for name, text in (
        ("disable", "stop a user signing in; ends their sessions and revokes their tokens"),
        ("enable", "let a disabled user sign in again (with a new token or their password)"),
    ):
        actions.add_parser(name, help=text).add_argument("name")
    password = actions.add_parser(
        "password",
        help="set a user's password; ends their sessions and revokes their tokens",
        description="Asks twice on a terminal; with --password-stdin reads one line.",
    )
    password.add_argument("name")
    password.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    role = actions.add_parser("role", help="change a user's role")
    role.add_argument("name")
    role.add_argument("role", choices=ROLES)

    token = actions.add_parser("token", help="print a new API token for an existing user")
    token.add_argument("name")
    _token_options(token)
    tokens = actions.add_parser("tokens", help="list a user's current API tokens")
    tokens.add_argument("name")
    tokens.add_argument("--all", action="store_true", help="also expired and revoked ones")
    revoke = actions.add_parser("revoke", help="revoke an API token (its id from `tokens`)")
    revoke.add_argument("token_id", type=int)


def _token_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--days", type=int, help="the token's life in days (default and most: MATCHER_TOKEN_DAYS)"
    )
    parser.add_argument("--label", default="", help="a note to tell tokens apart")


def run(settings: ServiceSettings, args: argparse.Namespace) -> int:
    from service.auth import UserError
    from service.errors import ServiceError

    commands: dict[str, Callable[[ServiceSettings, argparse.Namespace], None]] = {
        "add": add_user,
        "list": list_users,
        "disable": lambda s, a: _set_disabled(s, a.name, True),
        "enable": lambda s, a: _set_disabled(s, a.name, False),
        "password": set_password,
        "role": set_role,
        "token": new_token,
        "tokens": list_tokens,
        "revoke": revoke,
    }
    try:
        commands[args.users_command](settings, args)
    except (CommandError, ServiceError, UserError) as exc:
        print(exc, file=sys.stderr)
        return BAD_INPUT
    return 0


def sessions_for(settings: ServiceSettings) -> sessionmaker[Session]:
    from service.db import make_engine, session_factory, upgrade

    engine = make_engine(settings.database_url)
    upgrade(engine)
    return session_factory(engine)


def _days(settings: ServiceSettings, days: int | None) -> int:
    if days is None:
        return settings.token_days
    if not 1 <= days <= settings.token_days:
        raise CommandError(
            f"--days must be from 1 to {settings.token_days} (MATCHER_TOKEN_DAYS), not {days}"
        )
    return days


def _read_password(name: str, from_stdin: bool) -> str:
    """One line of stdin, or asked twice on a terminal; refused if the policy says so."""
    from service.auth import password_problem

    if from_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"New password for {name}: ")
        if getpass.getpass("The same again: ") != password:
            raise CommandError("the two passwords differ: nothing was changed")
    if problem := password_problem(password, name):
        raise CommandError(problem)
    return password


def add_user(settings: ServiceSettings, args: argparse.Namespace) -> None:
    from service import accounts, audit
    from service.auth import create_user
    from service.db import transaction

    days = _days(settings, args.days)
    password = _read_password(args.name, True) if args.password_stdin else None
    with transaction(sessions_for(settings)) as session:
        user = create_user(session, args.name, args.role, password)
        audit.record(session, None, "user.create", "user", user.id, role=user.role)
        _row, token = accounts.new_token(session, None, user, days, args.label)
    print(f"Created user {args.name} ({args.role}). API token, valid for {days} days")
    print("(shown once; send as 'Authorization: Bearer TOKEN'):")
    print(token)


def list_users(settings: ServiceSettings, _args: argparse.Namespace) -> None:
    from service import accounts
    from service.db import transaction

    with transaction(sessions_for(settings)) as session:
        rows = [
            [
                str(s.user.id),
                s.user.name,
                s.user.role,
                "no" if s.user.disabled else "yes",
                str(s.current_tokens),
                s.last_sign_in.strftime("%Y-%m-%d %H:%M") if s.last_sign_in else "never",
            ]
            for s in accounts.summaries(session, limit=100_000)
        ]
    _table(["id", "name", "role", "enabled", "tokens", "last sign-in (UTC)"], rows)


def _set_disabled(settings: ServiceSettings, name: str, disabled: bool) -> None:
    from service import accounts
    from service.db import transaction

    with transaction(sessions_for(settings)) as session:
        user = accounts.user_named(session, name)
        was = user.disabled
        accounts.set_disabled(session, None, user, disabled)
    state = "disabled" if disabled else "enabled"
    print(f"{name} was already {state}" if was == disabled else f"{name} is now {state}")


def set_password(settings: ServiceSettings, args: argparse.Namespace) -> None:
    from service import accounts
    from service.auth import hash_password
    from service.db import transaction

    with transaction(sessions_for(settings)) as session:
        accounts.user_named(session, args.name)  # a wrong name fails before the prompt
    password = _read_password(args.name, args.password_stdin)
    with transaction(sessions_for(settings)) as session:
        user = accounts.user_named(session, args.name)
        counts = accounts.set_password_hash(session, None, user, hash_password(password))
    print(
        f"New password for {args.name}; {counts['sessions_ended']} session(s) ended, "
        f"{counts['tokens_revoked']} token(s) revoked"
    )


def set_role(settings: ServiceSettings, args: argparse.Namespace) -> None:
    from service import accounts
    from service.db import transaction

    with transaction(sessions_for(settings)) as session:
        accounts.set_role(session, None, accounts.user_named(session, args.name), args.role)
    print(f"{args.name} is now {args.role}")


def new_token(settings: ServiceSettings, args: argparse.Namespace) -> None:
    from service import accounts
    from service.db import transaction

    days = _days(settings, args.days)
    with transaction(sessions_for(settings)) as session:
        user = accounts.user_named(session, args.name)
        if user.disabled:
            raise CommandError(f"{args.name} is disabled: `matcher users enable {args.name}` first")
        row, token = accounts.new_token(session, None, user, days, args.label)
    print(f"New API token {row.id} for {args.name}, valid for {days} days:")
    print(token)


def list_tokens(settings: ServiceSettings, args: argparse.Namespace) -> None:
    from service import accounts
    from service.db import transaction

    with transaction(sessions_for(settings)) as session:
        user = accounts.user_named(session, args.name)
        found = accounts.tokens_of(session, user.id, ended=args.all, limit=100_000)
        rows = [
            [
                str(t.id),
                t.label,
                accounts.token_status(t),
                t.created_at.strftime("%Y-%m-%d"),
                t.expires_at.strftime("%Y-%m-%d"),
                t.last_used_at.strftime("%Y-%m-%d %H:%M") if t.last_used_at else "never",
            ]
            for t in found
        ]
    if not rows:
        print(f"{args.name} has no {'' if args.all else 'current '}tokens")
        return
    _table(["id", "label", "status", "created", "expires", "last used (UTC)"], rows)


def revoke(settings: ServiceSettings, args: argparse.Namespace) -> None:
    from service import accounts
    from service.db import transaction

    with transaction(sessions_for(settings)) as session:
        row = accounts.revoke_token(session, None, args.token_id)
    print(f"Token {row.id} is revoked")


def _table(headings: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(cell) for cell in column) for column in zip(headings, *rows, strict=False)]
    for line in [headings, *rows]:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )
