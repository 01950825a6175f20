"""Domain errors -> HTTP status codes, in one place. Every error body is a :class:`Problem`."""

from __future__ import annotations

import logging
import math
import re
from typing import Any, ClassVar

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
# later; 44xx mirror the HTTP statuses where WebSocket has none. Errors of the HTTP exchange itself
# (size and media type of a body, not the domain's) are the ProtocolErrors below, with their status.
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


class ProtocolError(StarletteHTTPException):
    """An error of the HTTP exchange itself, not of the domain: the body's size or media type. An
    HTTPException, so FastAPI lets it through while it reads the body (it turns anything else
    raised there into a bare 400); answered with its own status and ``code``."""

    code: ClassVar[str] = "http_error"

    def __init__(self, status: int, detail: str, problems: list[dict[str, Any]] | None = None) -> None:
        super().__init__(status, detail)
        self.problems = problems or []


class BodyTooLargeError(ProtocolError):
    """A request body over its limit: declared by its Content-Length, or counted while it streams in."""

    code = TooLargeError.code

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over {limit} bytes")


class UnsupportedMediaTypeError(ProtocolError):
    """A body sent with a media type the operation does not read."""

    code = "unsupported_media_type"

    def __init__(self, found: str | None, expected: str) -> None:
        sent = f"Content-Type {found!r}" if found else "no Content-Type"
        super().__init__(
            415,
            f"the body must be sent as Content-Type: {expected}, not with {sent}",
            [{"field": "Content-Type", "expected": expected, "found": found}],
        )


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


#: pydantic's error types that only say "the body is not of this kind".
_WRONG_KIND = frozenset({"list_type", "model_type", "model_attributes_type", "dict_type"})


def _branch_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The errors of a body that may take one of several shapes (a contact or a list of them),
    without the other shapes' "not a list" / "not an object": one contact with a bad channel gets
    the channel's problem, not also that it is not a list."""

    def other_shape(error: dict[str, Any]) -> bool:  # ("body", "list[Contact]"): a union member's tag
        loc = error.get("loc", ())
        tag = str(loc[1]) if len(loc) == 2 else ""
        return error.get("type") in _WRONG_KIND and (tag[:1].isupper() or "[" in tag)

    kept = [e for e in errors if not other_shape(e)]
    return kept or errors


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
        for err in _branch_errors(list(exc.errors())):
            location = [str(part) for part in err.get("loc", ())]
            problems.append({"field": ".".join(location), "expected": err.get("msg", ""), "found": _short(err)})
        detail = "; ".join(f"{p['field']}: {p['expected']}" for p in problems[:5])
        return problem(422, "invalid_input", detail, problems)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if isinstance(exc, ProtocolError):
            return problem(exc.status_code, exc.code, str(exc.detail), exc.problems)
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
