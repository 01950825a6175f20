"""Domain errors -> HTTP status codes, in one place. Every error body is a :class:`Problem`."""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from dispo.batch.jobs import BatchJobError, JobNotDoneError, JobNotFoundError, UploadTooLargeError
from dispo.bundle import BundleError, BundleNotFoundError
from dispo.errors import DispoError, FieldProblem, TaxonomyError
from dispo.io import InputFormatError
from serve.inference import TooManySessionsError
from serve.store import ConflictError, InvalidValueError, NotFoundError

logger = logging.getLogger(__name__)


class UnauthorizedError(DispoError):
    """No API key, or one that is unknown or revoked."""


class ForbiddenError(DispoError):
    """The key's role may not do this."""


class RateLimitedError(DispoError):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limit exceeded; retry after {retry_after:.1f} s")
        self.retry_after = retry_after


class InvalidInputError(DispoError):
    """A body that passed the schema but not the contract (blank transcript, unknown label...)."""

    def __init__(self, message: str, problems: list[FieldProblem]) -> None:
        super().__init__(message)
        self.problems = problems


class TooLargeError(InvalidInputError):
    """Over a size limit: turns, characters, contacts per request, bytes."""


class NotReadyError(DispoError):
    """The model is not loaded (yet)."""


STATUS: list[tuple[type[Exception], int, str]] = [
    (JobNotFoundError, 404, "not_found"),
    (JobNotDoneError, 409, "not_done"),
    (UploadTooLargeError, 413, "too_large"),
    (BatchJobError, 422, "invalid_input"),
    (InputFormatError, 422, "invalid_input"),
    (UnauthorizedError, 401, "unauthorized"),
    (ForbiddenError, 403, "forbidden"),
    (NotFoundError, 404, "not_found"),
    (BundleNotFoundError, 404, "not_found"),
    (ConflictError, 409, "conflict"),
    (TooLargeError, 413, "too_large"),
    (InvalidInputError, 422, "invalid_input"),
    (InvalidValueError, 422, "invalid_input"),
    (TaxonomyError, 422, "invalid_label"),
    (RateLimitedError, 429, "rate_limited"),
    (NotReadyError, 503, "not_ready"),
    (TooManySessionsError, 503, "too_many_live_sessions"),
    (BundleError, 500, "bad_model_bundle"),
]


def problem(status: int, error: str, detail: str, problems: list[dict[str, Any]] | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail, "problems": problems or []}, status_code=status)


def status_for(exc: Exception) -> tuple[int, str]:
    for kind, status, error in STATUS:
        if isinstance(exc, kind):
            return status, error
    return 500, "internal"


def install_error_handlers(app: FastAPI) -> None:
    async def domain_error(request: Request, exc: Exception) -> JSONResponse:
        status, error = status_for(exc)
        if status >= 500:
            logger.error("%s %s failed: %s", request.method, request.url.path, exc)
        problems = [p.to_dict() for p in getattr(exc, "problems", [])]
        response = problem(status, error, str(exc), problems)
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
