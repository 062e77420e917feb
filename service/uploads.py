"""Spreadsheet uploads, read only after the sender is known and only up to the size limit.

A route that declares ``File`` parameters makes FastAPI read (and spool to disk) the whole
body before any dependency runs, so a 200 MB upload without a token was stored first and
refused after. Upload routes here declare no body: their dependencies (sign-in, role) run
first, then ``read_files`` parses the multipart body from the stream, stopping at the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import Message, Receive

from service.api.schemas import control_refusal
from service.errors import Invalid, TooLarge

# Multipart framing around the files: boundaries, part headers, the CSRF field.
_FRAMING_BYTES = 64_000


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


class _LimitedReceive:
    """The request's receive channel, refusing the body once it passes ``limit`` bytes."""

    def __init__(self, receive: Receive, limit: int):
        self.receive = receive
        self.limit = limit
        self.seen = 0

    async def __call__(self) -> Message:
        message = await self.receive()
        if message["type"] == "http.request":
            self.seen += len(message.get("body", b""))
            if self.seen > self.limit:
                raise TooLarge(f"the upload is larger than the limit of {self.limit:,} bytes")
        return message


async def read_files(
    request: Request, limit: int, names: tuple[str, ...]
) -> tuple[dict[str, Upload], dict[str, str]]:
    """The uploaded files among ``names`` (each at most ``limit`` bytes) and the text fields.

    413 before reading when the declared length is over the limit, or as soon as the body
    passes it; 422 when the body is not a form (a form without files has no files).
    """
    body_limit = limit * len(names) + _FRAMING_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > body_limit:
        raise TooLarge(f"the upload is larger than the limit of {limit:,} bytes")
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        raise Invalid(
            "send the spreadsheet as multipart/form-data, in the field "
            + " or ".join(repr(n) for n in names)
        )
    limited = Request(request.scope, _LimitedReceive(request.receive, body_limit))
    form = await limited.form(max_files=len(names), max_fields=8, max_part_size=64_000)
    files: dict[str, Upload] = {}
    fields: dict[str, str] = {}
    try:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if key in names and value.filename:
                    files[key] = await _read(value, limit)
            else:
                fields[key] = value
    finally:
        await form.close()
    return files, fields


async def _read(upload: UploadFile, limit: int) -> Upload:
    refusal = control_refusal(upload.filename or "")
    if refusal:  # the name is stored with the import: no database keeps a NUL
        raise Invalid(f"the file name {refusal}")
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"{upload.filename} is larger than the limit of {limit:,} bytes")
    return Upload(upload.filename or "upload", data)


def multipart_body(*names: str, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The OpenAPI description of a multipart body with these file fields."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            name: {
                                "type": "string",
                                "format": "binary",
                                "description": "A spreadsheet: .csv or .xlsx",
                            }
                            for name in names
                        },
                        "required": list(required),
                    }
                }
            },
        }
    }
