"""Errors the service raises on purpose, and how every error becomes an HTTP answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from matcher.errors import InputError


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


def _for_machines(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/auth/"))


def install_handlers(app: FastAPI, html: HtmlError | None = None) -> None:
    """JSON answers under /api/ and /auth/; pages get ``html(request, status, message)``."""

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> Response:
        if html and not _for_machines(request):
            return html(request, exc.status_code, exc.message)
        return JSONResponse({"detail": exc.message, **exc.extra}, status_code=exc.status_code)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if html and not _for_machines(request):
            return html(request, exc.status_code, str(exc.detail))
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(InputError)
    async def input_error(request: Request, exc: InputError) -> Response:
        if html and not _for_machines(request):
            return html(request, 422, "; ".join(str(p) for p in exc.problems[:10]))
        problems = [p.as_row() for p in exc.problems]
        return JSONResponse(
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
        return JSONResponse(
            {"detail": f"invalid request: {summary}", "problems": problems}, status_code=422
        )
