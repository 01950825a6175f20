"""PII redaction: find personal data in transcript text and replace it with typed placeholders.

Redaction runs on ingestion, before a contact is stored, trained on or logged, so it has to be
both thorough (a missed card number is a compliance incident) and precise (order numbers,
amounts and dates carry the meaning a disposition classifier learns from). Every detector pairs
a pattern with a validity check (Luhn for cards, mod-97 for IBANs, SSA rules for SSNs) or with
context words, because patterns alone cannot tell a 10-digit order id from a phone number.
Context is read in the turn itself (the cue words bound to the number) and, when those say
nothing, in the question of the previous turn ("what's the order number?" vs "a callback number?").
International phones follow E.164 (a real country code, a national number of that country's length).

Voice transcripts come from ASR, where digits are often spelled out ("five five five one two
three ..."). Those are normalised to digit strings while keeping, for every digit, the character
span of the word it came from, so a finding maps back to exact offsets in the original text.
IBANs read out letter by letter ("d e eight nine three seven oh four ...", or in the NATO
alphabet) are normalised the same way and checked against the registry length and mod-97.

Kinds and placeholders: ``email`` -> ``[EMAIL]``, ``phone`` -> ``[PHONE]``, ``card`` -> ``[CARD]``,
``ssn`` -> ``[SSN]``, ``iban`` -> ``[IBAN]``, ``address`` -> ``[ADDRESS]``, ``name`` -> ``[NAME]``
(found where names are given, see :mod:`dispo.redact.names`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from dispo.contact import Contact, Turn
from dispo.errors import ConfigError
from dispo.redact.checks import iban_valid, luhn_valid
from dispo.redact.context import _NO_CONTEXT, _Context
from dispo.redact.names import find_names, may_hold_name
from dispo.redact.spans import DEFAULT_PLACEHOLDER, PII_KINDS, PIISpan
from dispo.redact.spoken import SPOKEN_DIGITS, _find_spoken
from dispo.redact.written import _find_addresses, _find_cards, _find_emails, _find_ibans, _find_phones, _find_ssns

#: Every kind this module detects, in overlap-resolution priority: when two findings overlap,
#: the one whose kind comes first wins (an IBAN contains digit runs that look like phones, a
#: card number contains runs that look like SSNs, and so on).
# -- the redactor ---------------------------------------------------------------------------------
_DETECTORS: dict[str, Callable[[str, _Context], Iterator[PIISpan]]] = {
    "email": _find_emails,
    "iban": _find_ibans,
    "card": _find_cards,
    "ssn": _find_ssns,
    "phone": _find_phones,
    "address": _find_addresses,
    "name": find_names,
}
_PRIORITY = {kind: i for i, kind in enumerate(PII_KINDS)}
_MAY_HOLD_PII_RE = re.compile(r"[\d@]|\b(?:dot|box|" + "|".join(SPOKEN_DIGITS) + r")\b", re.IGNORECASE)


class Redactor:
    """Finds and replaces PII of the enabled ``kinds``.

    ``placeholder`` is a format string with ``{KIND}`` (upper case) and/or ``{kind}`` fields,
    e.g. the default ``"[{KIND}]"`` or ``"<{kind}>"``.
    """

    def __init__(self, kinds: Iterable[str] = PII_KINDS, placeholder: str = DEFAULT_PLACEHOLDER) -> None:
        chosen = tuple(kinds)
        unknown = sorted(set(chosen) - set(PII_KINDS))
        if unknown:
            raise ConfigError(f"unknown PII kinds {unknown}; known: {list(PII_KINDS)}")
        try:
            self._placeholders = {k: placeholder.format(KIND=k.upper(), kind=k) for k in PII_KINDS}
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(
                f"placeholder {placeholder!r} must be a format string using only {{KIND}} or {{kind}}: {exc}"
            ) from None
        self.kinds: tuple[str, ...] = tuple(k for k in PII_KINDS if k in chosen)
        self.placeholder = placeholder
        self._spoken = bool({"phone", "card", "ssn"} & set(self.kinds))
        self._names = "name" in self.kinds

    def placeholder_for(self, kind: str) -> str:
        return self._placeholders[kind]

    def find(self, text: str, context: str = "") -> list[PIISpan]:
        """All PII findings in ``text``: sorted by start, never overlapping.

        ``context`` is text said just before (the previous turn): "Can I get the order number?"
        followed by a turn holding only "4829301746" makes that number an order id, not a phone.
        Only its last words are used, and nothing in it is ever reported.
        """
        if not text:
            return []
        ctx = _Context(context) if context else _NO_CONTEXT
        if _MAY_HOLD_PII_RE.search(text) is None and not (self._names and may_hold_name(text, ctx)):
            return []
        return self._find(text, ctx)

    def _find(self, text: str, ctx: _Context) -> list[PIISpan]:
        candidates: list[PIISpan] = []
        for kind in self.kinds:
            candidates.extend(_DETECTORS[kind](text, ctx))
        if self._spoken:
            candidates.extend(s for s in _find_spoken(text, ctx) if s.kind in self.kinds)
        if not candidates:
            return []
        # Highest-priority kind first, then longest: the first claim on a character wins.
        candidates.sort(key=lambda s: (_PRIORITY[s.kind], -(s.end - s.start), s.start))
        chosen: list[PIISpan] = []
        for span in candidates:
            if all(span.end <= c.start or span.start >= c.end for c in chosen):
                chosen.append(span)
        chosen.sort(key=lambda s: s.start)
        return chosen

    def redact_text(self, text: str, context: str = "") -> str:
        """``text`` with every finding replaced by its kind's placeholder (see :meth:`find`)."""
        spans = self.find(text, context)
        if not spans:
            return text
        parts: list[str] = []
        pos = 0
        for span in spans:
            parts.append(text[pos : span.start])
            parts.append(self._placeholders[span.kind])
            pos = span.end
        parts.append(text[pos:])
        return "".join(parts)

    def redact_value(self, value: Any) -> Any:
        """Redact every string inside nested dicts, lists and tuples; keys and other values stay."""
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, dict):
            return {k: self.redact_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.redact_value(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.redact_value(v) for v in value)
        return value

    def redact_turn(self, turn: Turn, previous: Turn | None) -> Turn:
        """``turn`` redacted, read in the context of the ``previous`` turn as redacted."""
        return turn.model_copy(update={"text": self.redact_text(turn.text, previous.text if previous else "")})

    def redact_contact(self, contact: Contact) -> Contact:
        """A new contact with every turn's text and every metadata string redacted.

        Each turn is read with the previous turn, as redacted, as its context (an answer to
        "what's the order number?" is an order number): the one rule for a whole contact and a
        live session alike, which keeps no raw turn. Ids, times, channel, labels and turn
        speakers/offsets are carried over unchanged; the input contact is not modified.
        """
        turns: list[Turn] = []
        for turn in contact.turns:
            turns.append(self.redact_turn(turn, turns[-1] if turns else None))
        return contact.model_copy(update={"turns": turns, "metadata": self.redact_value(contact.metadata)})


__all__ = [
    "DEFAULT_PLACEHOLDER", "PII_KINDS", "PIISpan", "Redactor",
    "default_redactor", "iban_valid", "luhn_valid", "redact_contact", "redact_text",
]  # fmt: skip

_DEFAULT = Redactor()


def default_redactor() -> Redactor:
    """The redactor dispo uses wherever it redacts (every kind, ``[KIND]`` placeholders): one
    instance, so a file, a batch job, a live session and training redact alike."""
    return _DEFAULT


def redact_contact(contact: Contact) -> Contact:
    """Redact ``contact`` with the default redactor (all kinds, ``[KIND]`` placeholders)."""
    return _DEFAULT.redact_contact(contact)


def redact_text(text: str) -> str:
    """Redact ``text`` with the default redactor."""
    return _DEFAULT.redact_text(text)
