"""Domain errors. Each names what went wrong and where; the HTTP layer maps them to status codes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class DispoError(Exception):
    """Base class of every error dispo raises on purpose."""


class TaxonomyError(DispoError):
    """A taxonomy file is invalid, or a label is not in the taxonomy."""


class ConfigError(DispoError):
    """A configuration value is invalid."""


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


class RecordError(DispoError):
    """A record of an input file is invalid. Carries the file, the line (or row) and the problems."""

    def __init__(self, source: str, line: int | None, problems: list[FieldProblem]) -> None:
        self.source = source
        self.line = line
        self.problems = problems
        where = source if line is None else f"{source}:{line}"
        super().__init__(f"{where}: " + "; ".join(p.describe() for p in problems))
