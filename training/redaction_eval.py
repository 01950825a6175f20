"""Measure a :class:`~dispo.redact.Redactor` against a corpus with planted PII and decoys.

The corpus builder plants values and reports them as ground truth (objects with ``kind``,
``value`` and ``turn`` attributes; ``value`` is an exact substring of that turn's text). They are
taken duck-typed so this module does not depend on the builder.

* Recall, per PII kind: the fraction of planted values that no longer appear in the redacted
  turn *and* whose turn now holds that kind's placeholder (a value replaced by the wrong
  placeholder is a miss: downstream counts and audits rely on the type).
* False-positive rate, per decoy kind (order numbers, amounts, dates): the fraction of decoy
  values that no longer appear intact in the redacted turn.

Names are PII the redactor does not handle by design; they are counted and reported as such.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from dispo.contact import Contact, Turn
from dispo.redact import PII_KINDS, Redactor

log = logging.getLogger(__name__)

DECOY_KINDS: tuple[str, ...] = ("order_number", "amount", "date")
NOT_REDACTED_BY_DESIGN: tuple[str, ...] = ()  # names are redacted since dispo.redact.names


class PlantedLike(Protocol):
    """What the measurement needs of one planted value."""

    @property
    def kind(self) -> str: ...

    @property
    def value(self) -> str: ...

    @property
    def turn(self) -> Any: ...


@dataclass
class KindCount:
    """``hits`` out of ``total``: caught values (PII kinds) or destroyed values (decoy kinds)."""

    total: int = 0
    hits: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.hits / self.total if self.total else 0.0


@dataclass
class RedactionReport:
    recall: dict[str, KindCount]
    false_positive: dict[str, KindCount]
    by_design: dict[str, int]
    contacts: int
    turns: int
    seconds: float

    @property
    def turns_per_second(self) -> float:
        return self.turns / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: counts and rates per kind, throughput, and the first few misses."""
        return {
            "contacts": self.contacts,
            "turns": self.turns,
            "seconds": round(self.seconds, 3),
            "turns_per_second": round(self.turns_per_second, 1),
            "recall": {
                k: {"planted": c.total, "caught": c.hits, "rate": round(c.rate, 6), "misses": c.examples}
                for k, c in self.recall.items()
            },
            "false_positive": {
                k: {"planted": c.total, "redacted": c.hits, "rate": round(c.rate, 6), "examples": c.examples}
                for k, c in self.false_positive.items()
            },
            "not_redacted_by_design": dict(self.by_design),
        }

    def to_markdown(self) -> str:
        lines = ["| kind | measure | planted | result | rate |", "|---|---|---:|---:|---:|"]
        for kind, c in self.recall.items():
            lines.append(f"| {kind} | recall | {c.total} | {c.hits} caught | {c.rate:.2%} |")
        for kind, c in self.false_positive.items():
            lines.append(f"| {kind} | false positives | {c.total} | {c.hits} redacted | {c.rate:.2%} |")
        for kind, n in self.by_design.items():
            lines.append(f"| {kind} | not redacted by design | {n} | - | - |")
        lines.append("")
        lines.append(
            f"{self.contacts} contacts, {self.turns} turns redacted in {self.seconds:.2f} s "
            f"({self.turns_per_second:,.0f} turns/s)."
        )
        return "\n".join(lines)


def _turn_index(contact: Contact, turn: Any) -> int:
    """Accept an index, a :class:`Turn` or the original turn text as the planted item's ``turn``."""
    if isinstance(turn, int):
        return turn
    if isinstance(turn, Turn):
        return contact.turns.index(turn)
    if isinstance(turn, str):
        return next(i for i, t in enumerate(contact.turns) if t.text == turn)
    raise TypeError(f"planted item's turn must be an index, a Turn or a text, got {type(turn).__name__}")


def measure_redaction(
    built: Iterable[tuple[Contact, Sequence[PlantedLike]]], redactor: Redactor, *, max_examples: int = 5
) -> RedactionReport:
    """Redact every contact with ``redactor`` and score it against the planted values."""
    recall = {kind: KindCount() for kind in PII_KINDS}
    false_positive = {kind: KindCount() for kind in DECOY_KINDS}
    by_design = {kind: 0 for kind in NOT_REDACTED_BY_DESIGN}
    contacts = turns = 0
    seconds = 0.0
    for contact, planted in built:
        t0 = time.perf_counter()
        redacted = redactor.redact_contact(contact)
        seconds += time.perf_counter() - t0
        contacts += 1
        turns += len(contact.turns)
        for item in planted:
            kind, value = item.kind, item.value
            text = redacted.turns[_turn_index(contact, item.turn)].text
            if kind in recall:
                count = recall[kind]
                count.total += 1
                if value not in text and redactor.placeholder_for(kind) in text:
                    count.hits += 1
                elif len(count.examples) < max_examples:
                    count.examples.append(text)
            elif kind in false_positive:
                count = false_positive[kind]
                count.total += 1
                if value not in text:
                    count.hits += 1
                    if len(count.examples) < max_examples:
                        count.examples.append(f"{value!r} in {text!r}")
            elif kind in by_design:
                by_design[kind] += 1
            else:
                log.warning("planted kind %r is neither PII nor a decoy; ignored", kind)
    return RedactionReport(recall, false_positive, by_design, contacts, turns, seconds)


def merge_reports(reports: Sequence[RedactionReport], *, max_examples: int = 5) -> RedactionReport:
    """Pool several reports (e.g. one per seed): counts add up, rates are recomputed from them."""

    def pool(parts: list[dict[str, KindCount]]) -> dict[str, KindCount]:
        out: dict[str, KindCount] = {}
        for part in parts:
            for kind, c in part.items():
                acc = out.setdefault(kind, KindCount())
                acc.total += c.total
                acc.hits += c.hits
                acc.examples.extend(c.examples[: max(0, max_examples - len(acc.examples))])
        return out

    by_design: dict[str, int] = {}
    for r in reports:
        for kind, n in r.by_design.items():
            by_design[kind] = by_design.get(kind, 0) + n
    return RedactionReport(
        recall=pool([r.recall for r in reports]),
        false_positive=pool([r.false_positive for r in reports]),
        by_design=by_design,
        contacts=sum(r.contacts for r in reports),
        turns=sum(r.turns for r in reports),
        seconds=sum(r.seconds for r in reports),
    )
