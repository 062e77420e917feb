"""What `matcher serve` writes to its log: ids, paths and outcomes, never a person's details.

Two things would otherwise carry personal data into the log:

- uvicorn's access log prints each request's query string (a search box's words, a name).
  It is switched off; ``AccessLog`` writes one line per request instead: method, path
  without the query string, status and duration.
- A database's error message can quote the values it refused: PostgreSQL's
  ``DETAIL:  Failing row contains (..., Dr Ann Lee, ann.lee@nhs.example, 1234567, ...)`` or
  ``Key (email)=(...) already exists``. ``SafeFormatter`` prints tracebacks with the text of
  every database error withheld, leaving its kind, SQLSTATE, constraint and statement (whose
  values are placeholders: engines have ``hide_parameters=True``, see ``service.db``).

``log_config(level, "json")`` writes the same records as one JSON object a line (for a log
collector): ``SafeJsonFormatter`` withholds the same database text as ``SafeFormatter``.
"""

from __future__ import annotations

import logging
import sqlite3
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from types import TracebackType
from typing import Any

import psycopg
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonEncoder, JsonFormatter
from sqlalchemy.exc import StatementError

from service.request_timing import Timed

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

ACCESS_LOGGER = "service.access"
DATABASE_ERRORS = (StatementError, psycopg.Error, sqlite3.Error)
WITHHELD = "its message is withheld from the log, as it may quote the values refused"
CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"
LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

access_log = logging.getLogger(ACCESS_LOGGER)


class _Withholding(logging.Formatter):
    """What both formatters do: a database error's text withheld from the record and from
    tracebacks."""

    def format(self, record: logging.LogRecord) -> str:
        withhold_database_text(record)
        return super().format(record)

    def formatException(self, ei: Any) -> str:
        exc = ei[1]
        if exc is None:
            return super().formatException(ei)
        return _safe_exception_text(exc)


class SafeFormatter(_Withholding):
    """A formatter whose tracebacks never show a database error's message."""


class SafeJsonFormatter(_Withholding, JsonFormatter):
    """One JSON object a line: ``timestamp`` (UTC, ISO 8601), ``level``, ``logger``,
    ``message``, then any fields the caller passed with ``extra=`` and, with an exception,
    ``exc_info``; a database error's text withheld wherever ``SafeFormatter`` withholds it,
    and in ``extra=`` values too."""

    def __init__(self) -> None:
        super().__init__(
            ["levelname", "name", "message"],
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp=True,
            # uvicorn passes its message again with terminal colours: not a field to keep.
            reserved_attrs=[*RESERVED_ATTRS, "color_message"],
            json_encoder=_SafeJsonEncoder,
        )

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {"timestamp": log_data.pop("timestamp"), **log_data}


class _SafeJsonEncoder(JsonEncoder):
    # An object json cannot write (an exception among the ``extra=`` values, say) comes
    # here: a database error is written as its summary, not its text.
    def default(self, o: Any) -> Any:
        if isinstance(o, DATABASE_ERRORS):
            return _summary_line(o)
        return super().default(o)


def withhold_database_text(record: logging.LogRecord) -> None:
    """Replace, on ``record``, every database error's text that a formatter would print."""
    # Another handler may already have cached the standard traceback text on the record:
    # replace it, so that no handler prints that one.
    if record.exc_info and record.exc_info[1] is not None:
        record.exc_text = _safe_exception_text(record.exc_info[1])
    # ``log.error("failed: %s", exc)`` with a database error: its summary instead.
    if isinstance(record.msg, DATABASE_ERRORS):
        record.msg = _summary_line(record.msg)
    if isinstance(record.args, tuple):
        record.args = tuple(
            _summary_line(arg) if isinstance(arg, DATABASE_ERRORS) else arg for arg in record.args
        )


def _safe_exception_text(exc: BaseException) -> str:
    return "".join(safe_traceback(exc)).rstrip("\n")


def safe_traceback(exc: BaseException, _seen: set[int] | None = None) -> list[str]:
    """``traceback.format_exception(exc)``, with each database error's text replaced by
    ``database_summary()``; causes and contexts are shown the same way."""
    seen = _seen if _seen is not None else set()
    seen.add(id(exc))
    lines: list[str] = []
    cause, context = exc.__cause__, exc.__context__
    if cause is not None and id(cause) not in seen:
        lines += [*safe_traceback(cause, seen), CAUSE]
    elif context is not None and not exc.__suppress_context__ and id(context) not in seen:
        lines += [*safe_traceback(context, seen), CONTEXT]
    if exc.__traceback__ is not None:
        lines += ["Traceback (most recent call last):\n", *traceback.format_tb(exc.__traceback__)]
    if isinstance(exc, DATABASE_ERRORS):
        lines.append(f"{_summary_line(exc)}\n")
    else:
        lines += traceback.format_exception_only(type(exc), exc)
    if isinstance(exc, BaseExceptionGroup):
        for number, inner in enumerate(exc.exceptions, 1):
            if id(inner) not in seen:
                lines += [f"\n+-- sub-exception {number} --\n", *safe_traceback(inner, seen)]
    return lines


def database_summary(exc: BaseException) -> str:
    """What a log may say about a database error: its codes and statement, not its text."""
    parts = []
    if isinstance(exc, psycopg.Error) and exc.diag.sqlstate:
        diag = exc.diag
        parts.append(f"SQLSTATE {diag.sqlstate}")
        parts += [
            f"{label} {value}"
            for label, value in (
                ("table", diag.table_name),
                ("column", diag.column_name),
                ("constraint", diag.constraint_name),
            )
            if value
        ]
    elif isinstance(exc, sqlite3.Error) and getattr(exc, "sqlite_errorname", None):
        parts.append(exc.sqlite_errorname)
    elif isinstance(exc, StatementError):
        if exc.orig is not None:
            parts.append(f"{_qualified_name(type(exc.orig))} from the database driver")
        if exc.statement:
            parts.append(f"[SQL: {' '.join(exc.statement.split())}]")
    parts.append(WITHHELD)
    return "; ".join(parts)


def _summary_line(exc: BaseException) -> str:
    return f"{_qualified_name(type(exc))}: {database_summary(exc)}"


def _qualified_name(kind: type[BaseException]) -> str:
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


class AccessLog:
    """ASGI middleware: one log line per request with its method, path (never the query
    string), status and duration. The client's address is not logged either."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        timed = Timed(send)
        try:
            await self.app(scope, receive, timed.send)
        finally:
            milliseconds, status = timed.seconds * 1000, timed.status
            method, path = scope["method"], request_path(scope)
            # The same figures as fields of their own, for the JSON log (text shows the line).
            fields = {"method": method, "path": path, "status": status}
            access_log.info(
                "%s %s %d %.0f ms",
                method,
                path,
                status,
                milliseconds,
                extra={**fields, "duration_ms": round(milliseconds, 1)},
            )


def request_path(scope: Scope) -> str:
    """The path as the client sent it (still percent-encoded, so one line stays one line),
    without the query string."""
    raw = scope.get("raw_path")
    if raw:
        return bytes(raw).split(b"?", 1)[0].decode("ascii", "backslashreplace")
    return str(scope["path"]).encode("unicode_escape").decode("ascii")


def log_config(level: str = "INFO", fmt: str = "text") -> dict[str, Any]:
    """``logging.config.dictConfig`` settings for `matcher serve` (uvicorn's ``log_config``):
    one stream (stderr), every record through ``SafeFormatter`` (``fmt="text"``: one readable
    line) or ``SafeJsonFormatter`` (``fmt="json"``: one JSON object a line); the service's and
    uvicorn's own loggers at ``level``, the rest at WARNING. uvicorn's access log must also be
    off (``access_log=False``)."""
    if fmt not in LOG_FORMATS:
        raise ValueError(f"unknown log format {fmt!r}: choose one of {', '.join(LOG_FORMATS)}")
    formatter: dict[str, Any] = (
        {"()": SafeFormatter, "fmt": TEXT_FORMAT} if fmt == "text" else {"()": SafeJsonFormatter}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "service": {"level": level},
            "uvicorn": {"level": level},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"level": "WARNING", "propagate": False},
        },
        "root": {"handlers": ["default"], "level": "WARNING"},
    }
