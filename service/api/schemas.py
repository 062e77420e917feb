"""Field types every router shares, and the one schema of an error answer.

What a request may carry is declared here once, so the database never sees what it cannot
store: text without NUL and the other control characters (PostgreSQL refuses NUL; none
belongs in a name or an id), strings within their columns' sizes, integer ids within the
database's INTEGER. A refusal is a 422 naming the field (``service.errors``). Timestamps
leave as UTC with their time zone, so they match ``format: date-time``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
)
from pydantic.json_schema import GetJsonSchemaHandler, JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from matcher.cells import MAX_ID, MAX_NAME, TEXT_CONTROLS

# The largest value of the database's INTEGER columns (ids, counts).
MAX_INT = 2**31 - 1
# Control characters: C0 and DEL. Multi-line text may keep tab, line feed and carriage return.
_CONTROLS = r"\x00-\x1f\x7f"
_TEXT_CONTROLS = TEXT_CONTROLS
# What stripping removes: Unicode's white space, written out so that the pattern a client
# reads (an ECMA regex) and the check here agree character for character.
_BLANKS = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
_BLANKS += "\u2028\u2029\u202f\u205f\u3000"
BLANK_CLASS = r"\x00-\x20\x7f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
LINE_PATTERN = f"^[^{_CONTROLS}]*$"
TEXT_PATTERN = f"^[^{_TEXT_CONTROLS}]*$"
_SURROGATES = "\ud800-\udfff"
_REFUSED_IN_LINE = re.compile(f"[{_CONTROLS}{_SURROGATES}]")
_REFUSED_IN_TEXT = re.compile(f"[{_TEXT_CONTROLS}{_SURROGATES}]")


def control_refusal(value: str, *, lines: bool = False) -> str | None:
    """Why ``value`` cannot be stored (a control character, a lone surrogate), or None;
    ``lines`` lets tab and line breaks through."""
    found = (_REFUSED_IN_TEXT if lines else _REFUSED_IN_LINE).search(value)
    if found is None:
        return None
    code, position = ord(found.group()), found.start()
    if 0xD800 <= code <= 0xDFFF:
        return f"must be valid Unicode (a lone surrogate at position {position})"
    return f"must not contain control characters (U+{code:04X} at position {position})"


class _StringRule:
    """A string annotation checked after the type (``check``) and shown in the OpenAPI
    schema as ``pattern``."""

    def check(self, value: Any) -> Any:
        raise NotImplementedError

    @property
    def pattern(self) -> str:
        raise NotImplementedError

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = self.pattern
        return json_schema


@dataclass(frozen=True)
class Printable(_StringRule):
    """A string annotation: refuses NUL and the other control characters (422 naming the field).

    ``lines=True`` lets tab and line breaks through (free text such as a reason);
    ``strip=True`` strips white space and refuses a blank value. The OpenAPI schema carries
    the rule as a ``pattern``, so clients and schema checkers know it. Length limits
    (``Field(max_length=...)``) apply to the value as sent.
    """

    lines: bool = False
    strip: bool = False

    @property
    def pattern(self) -> str:
        allowed = f"[^{_TEXT_CONTROLS if self.lines else _CONTROLS}]*"
        return f"^{allowed}[^{BLANK_CLASS}]{allowed}$" if self.strip else f"^{allowed}$"

    def check(self, value: str | None) -> str | None:
        if value is None:
            return value
        message = control_refusal(value, lines=self.lines)
        if message:
            raise PydanticCustomError("control_character", message)
        if self.strip:
            value = value.strip(_BLANKS)
            if not value:
                raise PydanticCustomError("blank", "must not be blank")
        return value


@dataclass(frozen=True)
class Pattern(_StringRule):
    """A string annotation: the whole value must match ``regex`` (also the OpenAPI
    ``pattern``); else a 422 with ``message``, in which ``{value!r}`` is the value sent."""

    regex: str
    message: str

    @property
    def pattern(self) -> str:
        return self.regex

    def check(self, value: str) -> str:
        if not re.fullmatch(self.regex, value):
            raise PydanticCustomError("pattern", self.message.format(value=value))
        return value


LINE = Printable()
LINES = Printable(lines=True)
STRIPPED = Printable(strip=True)
STRIPPED_LINES = Printable(lines=True, strip=True)

# Body fields.
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME), LINE]
PersonId = Annotated[str, Field(min_length=1, max_length=MAX_ID), LINE]
# A person id as typed into a form: white space around it is dropped.
TypedPersonId = Annotated[str, Field(min_length=1, max_length=MAX_ID), STRIPPED]

# Path and query parameters.
PathId = Annotated[int, Path(ge=1, le=MAX_INT, description="A record's id")]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_INT)]
PersonIdPath = Annotated[str, Path(min_length=1, max_length=MAX_ID), LINE]
PersonIdQuery = Annotated[PersonId | None, Query(description="A mentor's id")]


def _json_refusal(value: Any, where: str) -> str | None:
    if isinstance(value, str):
        message = control_refusal(value, lines=True)
        return f"{where}: {message}" if message else None
    if isinstance(value, float) and not math.isfinite(value):
        return f"{where}: must be a finite number"
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{where}.{key}" if where else str(key)
            message = control_refusal(str(key), lines=False)
            if message:
                return f"{inner}: the name {message}"
            found = _json_refusal(item, inner)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _json_refusal(item, f"{where}[{index}]")
            if found:
                return found
    return None


def _storable_json(value: dict[str, Any]) -> dict[str, Any]:
    message = _json_refusal(value, "")
    if message:
        raise PydanticCustomError("unstorable_value", message)
    return value


# A free-form JSON object kept as it is (a round's settings): no control characters in its
# strings, no NaN or infinity (JSON has neither; PostgreSQL refuses them).
JsonObject = Annotated[dict[str, Any], AfterValidator(_storable_json)]


def _iso_day(value: Any) -> Any:
    """A day as JSON and query strings carry it, YYYY-MM-DD, and nothing else (pydantic
    would also read 0, or "0", as 1970-01-01)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise PydanticCustomError("date_type", "must be a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("date_value", "must be a date that exists") from None


# A day (JSON schema: string, format date), also in strict models.
Day = Annotated[date, BeforeValidator(_iso_day)]


def _flag(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise PydanticCustomError("bool_type", "must be true or false")


# A yes/no query parameter: true or false (pydantic would also take 1, yes, on, ...).
Flag = Annotated[bool, BeforeValidator(_flag)]


def _utc(value: datetime) -> datetime:
    """The stored times are naive UTC: say so."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# A moment, sent as ISO 8601 with its time zone (always UTC), e.g. 2026-04-01T09:30:00Z.
Timestamp = Annotated[datetime, AfterValidator(_utc)]


class Body(BaseModel):
    """A request body: values as JSON types them (no "5" for 5, no 0 for false)."""

    model_config = ConfigDict(strict=True)


class Health(BaseModel):
    """``GET /health``: the service answers."""

    status: Literal["ok"]


class Readiness(BaseModel):
    """``GET /ready``: what this process needs to do its work, each checked now."""

    status: Literal["ready", "not ready"]
    database: bool = Field(description="A query on the database answered")
    queue: bool = Field(description="The job queue's storage answered")
    jobs: bool = Field(description="This process's job runner and its lease keeper are alive")
    workers: int = Field(
        ge=0, description="Queue workers in this process (0: jobs run in `matcher worker`s)"
    )


class FieldProblem(BaseModel):
    """A request field that was not as the schema says."""

    location: str = Field(description="Where: path, query or body, then the field, e.g. body.name")
    message: str


class CellProblem(BaseModel):
    """A problem in an uploaded spreadsheet (or a round's settings)."""

    file: str
    row: str = Field(description="Spreadsheet row number(s), e.g. '2' or '4-6'; '' for the file")
    column: str
    value: str = Field(description="The cell's text; personal data is hidden")
    problem: str


class ErrorAnswer(BaseModel):
    """Every error answer: a sentence, the problems one by one where there are several, and
    sometimes more details (e.g. the unknown ids)."""

    model_config = ConfigDict(extra="allow")

    detail: str
    problems: list[FieldProblem | CellProblem | str] | None = None


_MEANINGS = {
    400: "The body could not be read (e.g. not UTF-8, or a broken multipart form)",
    401: "No valid API token: send 'Authorization: Bearer TOKEN'",
    403: "The user's role may not do this",
    404: "No such record",
    409: "The record's state does not allow this now",
    413: "The upload is larger than the limit",
    422: "The request breaks a rule: each problem names the field, or the file, row and column",
    429: "Too many attempts: wait as long as Retry-After says",
}


def error_content() -> dict[str, Any]:
    """The OpenAPI content of an error answer (a fresh copy each time)."""
    return {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorAnswer"}}}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error codes, all JSON with the ``ErrorAnswer`` schema
    (also on an operation that answers HTML; ``service.errors.document_errors`` puts the
    schema in the document)."""
    return {code: error(_MEANINGS[code]) for code in codes}


def error(description: str) -> dict[str, Any]:
    """An OpenAPI response: an ``ErrorAnswer`` and what it means here."""
    return {"description": description, "content": error_content()}


# What every signed-in operation may answer besides its own codes.
SIGNED_IN = errors(401, 403, 422)
