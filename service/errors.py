"""Errors the service raises on purpose, and how every error becomes an HTTP answer."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException
from starlette.routing import compile_path

from matcher.errors import InputError
from service.api.schemas import ErrorAnswer, error_content, errors


class ServiceError(Exception):
    """An answer other than success: status code, a sentence, and optional details."""

    status_code = 400

    def __init__(self, message: str, **extra: Any):
        super().__init__(message)
        self.message = message
        self.extra = extra


class NotFound(ServiceError):
    status_code = 404


class Conflict(ServiceError):
    status_code = 409


class Invalid(ServiceError):
    status_code = 422


class TooLarge(ServiceError):
    status_code = 413


HtmlError = Callable[[Request, int, str], Response]


class ErrorResponse(JSONResponse):
    """An error as JSON (``service.api.schemas.ErrorAnswer``), escaped to ASCII: whatever a
    request sent and a message repeats (a lone surrogate, say) cannot break the answer."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def _allowed_methods(request: Request) -> str:
    """Every method the address takes, of all its routes (Starlette names only the methods
    of the first route whose path matched)."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        if route.path and route.methods:
            pattern, _format, _convertors = compile_path(route.path)
            if pattern.match(request.url.path):
                methods |= route.methods
    return ", ".join(sorted(methods))


def _for_machines(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/auth/"))


def _page(html: HtmlError, request: Request, exc: HTTPException, message: str) -> Response:
    page = html(request, exc.status_code, message)
    allow = (exc.headers or {}).get("Allow")
    if allow:  # a 405 says which methods the address takes (RFC 9110)
        page.headers["Allow"] = allow
    return page


def install_handlers(app: FastAPI, html: HtmlError | None = None) -> None:
    """JSON answers under /api/ and /auth/; pages get ``html(request, status, message)``.

    Every JSON error has one schema, ``ErrorAnswer``: the OpenAPI document says so in place
    of FastAPI's own 422 schema (see ``document_errors``).
    """

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> Response:
        if html and not _for_machines(request):
            return html(request, exc.status_code, exc.message)
        return ErrorResponse({"detail": exc.message, **exc.extra}, status_code=exc.status_code)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        if exc.status_code == 405:
            exc.headers = {**(exc.headers or {}), "Allow": _allowed_methods(request)}
        if html and not _for_machines(request):
            return _page(html, request, exc, detail)
        return ErrorResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(InputError)
    async def input_error(request: Request, exc: InputError) -> Response:
        if html and not _for_machines(request):
            return html(request, 422, "; ".join(str(p) for p in exc.problems[:10]))
        problems = [p.as_row() for p in exc.problems]
        return ErrorResponse(
            {"detail": f"{len(problems)} problem(s); nothing was stored", "problems": problems},
            status_code=422,
        )

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        # FastAPI's default echoes the offending input back; it may be personal data.
        problems = [
            {
                "location": ".".join(str(part) for part in error.get("loc", ())),
                "message": error.get("msg", "invalid"),
            }
            for error in exc.errors()
        ]
        summary = "; ".join(f"{p['location']}: {p['message']}" for p in problems)
        if html and not _for_machines(request):
            return html(request, 422, f"The form was not filled in as expected: {summary}")
        return ErrorResponse(
            {"detail": f"invalid request: {summary}", "problems": problems}, status_code=422
        )

    document_errors(app)


# FastAPI's own schema of a 422 (``detail`` a list), which no answer here has.
_FASTAPI_422 = ("HTTPValidationError", "ValidationError")


def document_errors(app: FastAPI) -> None:
    """Make ``app.openapi()`` document every 422 with ``ErrorAnswer``, the schema the handlers
    above answer with, where an operation did not declare its own; a 401 on every operation
    that needs a token (any answers 401 without a valid one) and a 400 on every operation
    with a body (FastAPI answers 400 to one it cannot parse); and ``ErrorAnswer`` as the
    content of an error declared with a description only."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        answer = ErrorAnswer.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in answer.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components.setdefault("ErrorAnswer", answer)
        fastapi_ref = f"#/components/schemas/{_FASTAPI_422[0]}"
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for status, response in responses.items():
                    if status[0] in "45" and not response.get("content"):
                        response["content"] = error_content()
                if operation.get("security"):
                    responses.setdefault("401", errors(401)[401])
                if operation.get("requestBody"):
                    responses.setdefault("400", errors(400)[400])
                content = operation.get("responses", {}).get("422", {}).get("content", {})
                for media in content.values():
                    if media.get("schema", {}).get("$ref") == fastapi_ref:
                        media["schema"] = {"$ref": "#/components/schemas/ErrorAnswer"}
        for name in _FASTAPI_422:
            components.pop(name, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
