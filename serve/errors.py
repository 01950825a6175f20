"""Domain errors -> HTTP status codes, in one place. Every error body is a :class:`Problem`."""

from __future__ import annotations

import logging
import math
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from dispo.errors import (
    AccessError,
    ConfigError,
    ConflictError,
    DispoError,
    InvalidInputError,
    NotFoundError,
    RateLimitedError,
    TooLargeError,
    UnauthorizedError,
    UnavailableError,
)

logger = logging.getLogger(__name__)


class NotReadyError(UnavailableError):
    """The model is not loaded (yet)."""

    code = "not_ready"


# The one mapping of error categories to HTTP statuses and WebSocket close codes (the first
# match wins, so a subclass comes before its category). The body's ``error`` is the error's
# ``code``. Close codes: 1008 policy violation, 1009 too big, 1011 server error, 1013 try again
# later; 44xx mirror the HTTP statuses where WebSocket has none.
STATUS: list[tuple[type[DispoError], int, int]] = [
    (TooLargeError, 413, 1009),
    (InvalidInputError, 422, 1008),
    (NotFoundError, 404, 4404),
    (ConflictError, 409, 4409),
    (UnauthorizedError, 401, 4401),
    (RateLimitedError, 429, 4429),
    (AccessError, 403, 4403),
    (UnavailableError, 503, 1013),
    (ConfigError, 500, 1011),
]


def problem(status: int, error: str, detail: str, problems: list[dict[str, Any]] | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail, "problems": problems or []}, status_code=status)


_SERVER_PATH = re.compile(r"(?<![\w.])/(?!v1/|ui/)(?:[\w.@+-]+/){2,}([\w.@+-]*)")  # not the API's own paths


def public_detail(message: str) -> str:
    """An error message as a caller may see it: absolute server paths cut to their last part."""
    return _SERVER_PATH.sub(lambda m: m.group(1) or "<folder>", message)


def status_for(exc: Exception) -> tuple[int, str]:
    """The HTTP status and the ``error`` name of an exception (500 ``internal`` when unexpected)."""
    for kind, status, _ in STATUS:
        if isinstance(exc, kind):
            return status, exc.code
    return 500, exc.code if isinstance(exc, DispoError) else "internal"


def close_code_for(exc: Exception) -> int:
    """The WebSocket close code for an error that ends a connection."""
    return next((code for kind, _, code in STATUS if isinstance(exc, kind)), 1011)


def install_error_handlers(app: FastAPI) -> None:
    async def domain_error(request: Request, exc: Exception) -> JSONResponse:
        status, error = status_for(exc)
        if status >= 500:
            # The operator reads the whole message in the log; the caller learns what failed, not
            # how the server is laid out.
            logger.error("%s %s failed: %s", request.method, request.url.path, exc)
            detail = f"the service cannot do this now ({error}); the operator's log has the details"
        else:
            detail = public_detail(str(exc))
        problems = [p.to_dict() for p in getattr(exc, "problems", [])]
        response = problem(status, error, detail, problems)
        if isinstance(exc, RateLimitedError):
            response.headers["Retry-After"] = str(max(1, round(exc.retry_after + 0.5)))
        if isinstance(exc, UnauthorizedError):
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = []
        for err in exc.errors():
            location = [str(part) for part in err.get("loc", ())]
            problems.append({"field": ".".join(location), "expected": err.get("msg", ""), "found": _short(err)})
        detail = "; ".join(f"{p['field']}: {p['expected']}" for p in problems[:5])
        return problem(422, "invalid_input", detail, problems)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return problem(exc.status_code, "http_error", str(exc.detail))

    app.add_exception_handler(DispoError, domain_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)


def _short(err: dict[str, Any]) -> Any:
    """The offending input as the error body shows it: short, and always valid JSON (a NaN or a lone
    surrogate is exactly what may have been refused, and must not break the answer)."""
    value = err.get("input")
    if isinstance(value, dict | list):
        return type(value).__name__
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        value = value.encode("utf-8", "backslashreplace").decode("utf-8")
        return value[:77] + "..." if len(value) > 80 else value
    return value if isinstance(value, int | float | bool | type(None)) else repr(value)[:80]
