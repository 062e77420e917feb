"""The JSON log (``log_config(level, "json")``): one object a line, with the caller's fields, and
a database error's text withheld exactly as in the text log."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import textwrap
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from service.logging_setup import WITHHELD, SafeFormatter, SafeJsonFormatter, log_config

KEYS = ["timestamp", "level", "logger", "message"]
EMAIL = "ann.lee@nhs.example"  # made up: what a refused row may carry


def test_each_line_is_one_json_object_with_the_callers_fields() -> None:
    # The whole configuration, applied as `matcher serve` applies it, in a process of its own.
    program = textwrap.dedent(
        """
        import logging, logging.config
        from service.logging_setup import log_config

        logging.config.dictConfig(log_config("INFO", "json"))
        jobs = logging.getLogger("service.jobs")
        jobs.info("job %s done\\nin two lines", "j-1", extra={"job_id": "j-1", "round_id": 7})
        jobs.debug("not at INFO")
        logging.getLogger("uvicorn.error").info("Started", extra={"color_message": "[1mS"})
        logging.getLogger("some.library").info("below WARNING: left out")
        logging.getLogger("some.library").warning("a warning", extra={"worker": "host:42"})
        try:
            1 / 0
        except ZeroDivisionError:
            jobs.exception("job %s failed", "j-2", extra={"job_id": "j-2"})
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout == ""
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert [list(line)[:4] for line in lines] == [KEYS] * 4
    assert [{k: line[k] for k in KEYS[1:]} for line in lines] == [
        {"level": "INFO", "logger": "service.jobs", "message": "job j-1 done\nin two lines"},
        {"level": "INFO", "logger": "uvicorn.error", "message": "Started"},
        {"level": "WARNING", "logger": "some.library", "message": "a warning"},
        {"level": "ERROR", "logger": "service.jobs", "message": "job j-2 failed"},
    ]
    extras = [{k: v for k, v in line.items() if k not in KEYS} for line in lines]
    assert extras[:3] == [{"job_id": "j-1", "round_id": 7}, {}, {"worker": "host:42"}]
    assert extras[3]["job_id"] == "j-2"
    assert extras[3]["exc_info"].startswith("Traceback (most recent call last):\n")
    assert extras[3]["exc_info"].endswith("ZeroDivisionError: division by zero")
    for line in lines:
        written = datetime.fromisoformat(line["timestamp"])
        assert written.tzinfo == UTC
        assert abs((datetime.now(UTC) - written).total_seconds()) < 60


def test_the_text_configuration_is_as_before() -> None:
    # The settings `matcher serve` used before the JSON option, written out in full.
    before = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "default": {
                "()": SafeFormatter,
                "fmt": "%(asctime)s %(levelname)s %(name)s: %(message)s",
            }
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "service": {"level": "INFO"},
            "uvicorn": {"level": "INFO"},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"level": "WARNING", "propagate": False},
        },
        "root": {"handlers": ["default"], "level": "WARNING"},
    }
    assert log_config("INFO") == before
    assert log_config("INFO", "text") == before
    json_config = log_config("DEBUG", "json")
    assert json_config["formatters"] == {"default": {"()": SafeJsonFormatter}}
    assert json_config["loggers"]["service"] == {"level": "DEBUG"}
    with pytest.raises(ValueError, match="unknown log format 'xml': choose one of text, json"):
        log_config("INFO", "xml")


@pytest.fixture
def refused(database_url: str) -> Iterator[IntegrityError]:
    """A real IntegrityError whose text quotes an e-mail address: from an engine WITHOUT
    hide_parameters, so the statement's values are in its message (and, on PostgreSQL, in
    its DETAIL too)."""
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE emails_for_test (email VARCHAR(80) UNIQUE)"))
        conn.execute(text("INSERT INTO emails_for_test VALUES (:email)"), {"email": EMAIL})
    with pytest.raises(IntegrityError) as caught, engine.begin() as conn:
        conn.execute(text("INSERT INTO emails_for_test VALUES (:email)"), {"email": EMAIL})
    engine.dispose()
    assert EMAIL in "".join(traceback.format_exception(caught.value))  # the risk is real
    yield caught.value


def logged_through(formatter: logging.Formatter, error: IntegrityError) -> list[str]:
    """What ``formatter`` writes for four ways of logging ``error``, one entry each."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.terminator = "\0"  # one entry may span lines in the text log
    handler.setFormatter(formatter)
    logged = logging.getLogger(f"tests.json_logs.{type(formatter).__name__}")
    logged.addHandler(handler)
    logged.propagate = False
    try:
        logged.error("a write failed", exc_info=error)
        logged.error("a write failed: %s", error)
        logged.error("a write failed: %s", error.orig)  # the driver's own error
        logged.error(error)
    finally:
        logged.removeHandler(handler)
    return stream.getvalue().split("\0")[:-1]


def test_a_database_error_is_withheld_from_json_as_from_text(refused: IntegrityError) -> None:
    as_text = logged_through(SafeFormatter("%(message)s"), refused)
    as_json: list[dict[str, Any]] = [
        json.loads(line) for line in logged_through(SafeJsonFormatter(), refused)
    ]
    assert EMAIL not in "".join(as_text)
    assert EMAIL not in json.dumps(as_json)
    # The same words: the text log's line is the JSON message, then its traceback.
    assert as_text[0] == f"{as_json[0]['message']}\n{as_json[0]['exc_info']}"
    assert [line["message"] for line in as_json[1:]] == as_text[1:]
    assert "sqlalchemy.exc.IntegrityError" in as_json[0]["exc_info"]
    assert 'File "' in as_json[0]["exc_info"]  # the traceback's frames are all there
    assert all(WITHHELD in line["message"] for line in as_json[1:])
    assert ("exc_info" in as_json[0], "exc_info" in as_json[1]) == (True, False)


def test_a_database_error_passed_as_a_field_is_withheld(refused: IntegrityError) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(SafeJsonFormatter())
    logged = logging.getLogger("tests.json_logs.fields")
    logged.addHandler(handler)
    logged.propagate = False
    try:
        logged.error("a write failed", extra={"error": refused, "causes": [refused.orig]})
    finally:
        logged.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert EMAIL not in stream.getvalue()
    assert line["error"].startswith("sqlalchemy.exc.IntegrityError: ")
    assert line["error"].endswith(WITHHELD)
    assert WITHHELD in line["causes"][0]
