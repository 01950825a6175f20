"""Domain errors, in a few categories.

Every error dispo raises on purpose derives from one category below, and the service maps the
categories (not the individual errors) to HTTP statuses and WebSocket close codes in one place
(``serve/errors.py``). A new error therefore needs no new mapping: it picks its category.
Each error names what went wrong and where; :class:`InvalidInputError` carries the problems field
by field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


class DispoError(Exception):
    """Base class of every error dispo raises on purpose. ``code``: the machine-readable name an
    error body carries; a subclass may refine its category's."""

    code: ClassVar[str] = "internal"


@dataclass(frozen=True)
class FieldProblem:
    """One invalid field of one record: where it is, what was expected, what was found."""

    field: str
    expected: str
    found: Any
    too_large: bool = False  # a size limit, not a malformed value (HTTP 413 rather than 422)

    def describe(self) -> str:
        found = self.found
        if isinstance(found, str) and len(found) > 80:
            found = found[:77] + "..."
        return f"field '{self.field}': expected {self.expected}, found {found!r}"

    def to_dict(self) -> dict[str, Any]:
        found = self.found if isinstance(self.found, str | int | float | bool | type(None)) else repr(self.found)
        return {"field": self.field, "expected": self.expected, "found": found}


# --- categories -------------------------------------------------------------------------------
class InvalidInputError(DispoError):
    """Input that cannot be used as given: a malformed record, an unknown label, a bad request.
    ``problems``: the fields at fault, when known."""

    code = "invalid_input"

    def __init__(self, message: str, problems: list[FieldProblem] | None = None) -> None:
        super().__init__(message)
        self.problems: list[FieldProblem] = list(problems or [])


class TooLargeError(InvalidInputError):
    """Over a size limit: turns, characters, contacts per request, bytes."""

    code = "too_large"


class NotFoundError(DispoError):
    """The thing asked for does not exist (for this tenant)."""

    code = "not_found"


class ConflictError(DispoError):
    """The request contradicts the state of what it names (a duplicate, a job not finished yet)."""

    code = "conflict"


class UnavailableError(DispoError):
    """Not possible now, possibly later: no model loaded, every slot taken, a cluster unreachable."""

    code = "unavailable"


class ConfigError(DispoError):
    """A configuration value, a model bundle or the deployment is invalid: the operator's input,
    not the caller's (a server error when a request meets it)."""

    code = "misconfigured"


class AccessError(DispoError):
    """The caller may not do this: unauthenticated, forbidden, or over its rate."""

    code = "forbidden"


class UnauthorizedError(AccessError):
    """No API key, or one that is unknown or revoked."""

    code = "unauthorized"


class ForbiddenError(AccessError):
    """The key's role (or tenant) may not do this."""

    code = "forbidden"


class RateLimitedError(AccessError):
    code = "rate_limited"

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limit exceeded; retry after {retry_after:.1f} s")
        self.retry_after = retry_after


CATEGORIES: tuple[type[DispoError], ...] = (
    TooLargeError, InvalidInputError, NotFoundError, ConflictError, UnavailableError, ConfigError,
    UnauthorizedError, RateLimitedError, AccessError,
)  # fmt: skip


# --- errors shared by several packages --------------------------------------------------------
class TaxonomyError(InvalidInputError):
    """A taxonomy file is invalid, or a label is not in the taxonomy."""

    code = "invalid_label"


class RecordError(InvalidInputError):
    """A record of an input file is invalid. Carries the file, the line (or row) and the problems."""

    def __init__(self, source: str, line: int | None, problems: list[FieldProblem]) -> None:
        self.source = source
        self.line = line
        where = source if line is None else f"{source}:{line}"
        super().__init__(f"{where}: " + "; ".join(p.describe() for p in problems), problems)
