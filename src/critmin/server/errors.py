"""HTTP errors of the API: one JSON shape, the CLI's one-line messages.

Every error answers ``{"error": message, "field": name or null, "fix": text or null}``:

* a :class:`~critmin.errors.CritminError` (what the CLI prints after ``error:``) -> 400, or 404
  when it is an :class:`ApiError` built with ``status=404`` (an unknown scenario, job or run);
* a request FastAPI cannot read (malformed JSON, a wrong type) -> 422 with the first problem;
* anything unexpected -> 500 with a generic line (the traceback goes to the server log, never
  to the client).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from critmin.errors import CritminError, LocatedError, StoreError, shown

log = logging.getLogger("critmin.server")


class ApiError(CritminError):
    """An error with an HTTP status (``404`` unknown id, ``409`` not ready, ``413``, ``429``...)."""

    def __init__(
        self, status: int, message: str, *, field: str | None = None, fix: str | None = None
    ) -> None:
        self.status = status
        self.message = message
        self.field = field
        self.fix = fix
        super().__init__(message + (f". Fix: {fix}" if fix else ""))


class BodyTooLarge(Exception):
    """Raised from ``receive`` when a body passes its limit (:mod:`critmin.server.guard`): a 413."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(limit)


def too_large_body(limit: int) -> dict[str, Any]:
    """The 413 error document for a body over ``limit`` bytes."""
    return error_body(
        f"the request body is larger than the limit of {limit / 1024 / 1024:,.1f} MB",
        fix="send a smaller file, or restart the server with a larger --max-upload-mb",
    )


def one_line(text: str) -> str:
    """``text`` on one line (line breaks become ``; ``), as the CLI prints errors."""
    parts = [p.strip() for p in str(text).splitlines()]
    return "; ".join(p for p in parts if p)


def error_body(message: str, field: str | None = None, fix: str | None = None) -> dict[str, Any]:
    """The JSON document of an error."""
    return {"error": one_line(message), "field": field, "fix": fix}


def error_response(
    status: int, message: str, field: str | None = None, fix: str | None = None
) -> JSONResponse:
    """A JSON error response."""
    return JSONResponse(error_body(message, field, fix), status_code=status)


def from_critmin(exc: CritminError) -> JSONResponse:
    """The response for a critmin error: its message as the CLI prints it, its column and fix."""
    if isinstance(exc, ApiError):
        return error_response(exc.status, str(exc), exc.field, exc.fix)
    field = exc.column if isinstance(exc, LocatedError) else None
    fix = exc.fix if isinstance(exc, LocatedError) else None
    status = 503 if isinstance(exc, StoreError) else 400
    return error_response(status, str(exc), field, fix)


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    errors = exc.errors()
    if not errors:
        return "the request could not be read", None
    first = errors[0]
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
    field = ".".join(loc) or None
    if first.get("type") == "json_invalid":
        ctx = first.get("ctx") or {}
        return f"the request body is not valid JSON ({ctx.get('error', 'malformed')})", None
    msg = str(first.get("msg", "invalid value"))
    given = first.get("input")
    given_text = (
        f" (given {shown(given)})" if given is not None and not isinstance(given, dict | list) else ""
    )
    where = f"{field}: " if field else ""
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}{msg}{given_text}{more}", field


def install_handlers(app: FastAPI) -> None:
    """Register the handlers above on ``app``."""

    @app.exception_handler(CritminError)
    async def _critmin(_: Request, exc: CritminError) -> JSONResponse:
        return from_critmin(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, field = _validation_message(exc)
        return error_response(422, message, field, "see /api/v1/docs for the request's fields")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        text = exc.detail if isinstance(exc.detail, str) else "request refused"
        fix = "see /api/v1/docs for the endpoints" if exc.status_code in (404, 405) else None
        return error_response(exc.status_code, text, None, fix)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(_: Request, exc: BodyTooLarge) -> JSONResponse:
        return JSONResponse(too_large_body(exc.limit), status_code=413)

    @app.exception_handler(MemoryError)
    async def _memory(_: Request, exc: MemoryError) -> JSONResponse:
        return error_response(503, "out of memory", None, "run fewer paths or send a smaller file")

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return error_response(500, f"internal error ({type(exc).__name__})", None, "see the server log")
