"""Agreement between two analysts who audited the same contacts: Cohen's kappa.

Kappa compares the observed agreement p_o with the agreement p_e that two raters with the same
label frequencies would reach by chance: ``(p_o - p_e) / (1 - p_e)``. 1 is perfect agreement,
0 is chance level. When both raters used one and the same label for every item, p_e = 1 and
kappa is undefined (``None``), however much they agree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Agreement:
    n: int
    observed: float | None
    expected: float | None
    kappa: float | None

    def to_dict(self) -> dict[str, float | int | None]:
        return {"n": self.n, "observed": self.observed, "expected": self.expected, "kappa": self.kappa}


def cohen_kappa(first: Sequence[Hashable], second: Sequence[Hashable]) -> Agreement:
    """Cohen's kappa of two raters' labels on the same items (``first[i]`` and ``second[i]``)."""
    if len(first) != len(second):
        raise ValueError(f"the two raters must label the same items: {len(first)} labels against {len(second)}")
    n = len(first)
    if n == 0:
        return Agreement(0, None, None, None)
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    counts_a, counts_b = Counter(first), Counter(second)
    expected = sum(counts_a[label] * counts_b[label] for label in counts_a) / (n * n)
    if expected >= 1.0:
        return Agreement(n, observed, expected, None)
    return Agreement(n, observed, expected, (observed - expected) / (1.0 - expected))


def analyst_agreement(decisions_per_item: Iterable[Sequence[Mapping[str, Any]]]) -> dict[str, Any]:
    """Kappa on the audited codes of items audited by two or more analysts: overall (each item's
    first two analysts) and per pair of analysts.

    ``decisions_per_item``: for each audited item its decisions, oldest first, each with
    ``analyst_key_id``, ``analyst_name``, ``reason`` and ``outcome``; an analyst's last decision
    on an item is theirs."""
    per_item: list[dict[str, str]] = []  # analyst -> code, in the order the analysts first decided
    names: dict[str, str] = {}
    for decisions in decisions_per_item:
        latest: dict[str, str] = {}
        first_seen: dict[str, int] = {}
        for index, d in enumerate(decisions):
            latest[d["analyst_key_id"]] = code_label(d["reason"], d["outcome"])
            first_seen.setdefault(d["analyst_key_id"], index)
            names[d["analyst_key_id"]] = d["analyst_name"]
        if len(latest) >= 2:
            per_item.append({k: latest[k] for k in sorted(latest, key=first_seen.__getitem__)})
    firsts = [list(v.values())[:2] for v in per_item]
    overall = cohen_kappa([pair[0] for pair in firsts], [pair[1] for pair in firsts])
    pairs: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    for labels in per_item:
        analysts = sorted(labels)
        for i, a in enumerate(analysts):
            for b in analysts[i + 1 :]:
                left, right = pairs.setdefault((a, b), ([], []))
                left.append(labels[a])
                right.append(labels[b])
    return {
        "items": len(per_item),
        "overall": overall.to_dict(),
        "pairs": [
            {"analysts": [names[a], names[b]], "analyst_key_ids": [a, b], **cohen_kappa(x, y).to_dict()}
            for (a, b), (x, y) in sorted(pairs.items())
        ],
    }


def code_label(reason: str | None, outcome: str | None) -> str:
    """A disposition code as one comparable label (``-`` for a missing part)."""
    return f"{reason or '-'}/{outcome or '-'}"
