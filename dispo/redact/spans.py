"""What a detector finds: a span of a kind, and the kinds in overlap priority."""

from __future__ import annotations

from dataclasses import dataclass

#: Every kind this module detects, in overlap-resolution priority: when two findings overlap,
#: the one whose kind comes first wins (an IBAN contains digit runs that look like phones, a
#: card number contains runs that look like SSNs, and so on).
PII_KINDS: tuple[str, ...] = ("email", "iban", "card", "ssn", "phone", "address", "name")
DEFAULT_PLACEHOLDER = "[{KIND}]"


@dataclass(frozen=True)
class PIISpan:
    """One finding: ``text == source[start:end]``."""

    kind: str
    start: int
    end: int
    text: str
