"""Agreement between two analysts who audited the same contacts: Cohen's kappa.

Kappa compares the observed agreement p_o with the agreement p_e that two raters with the same
label frequencies would reach by chance: ``(p_o - p_e) / (1 - p_e)``. 1 is perfect agreement,
0 is chance level. When both raters used one and the same label for every item, p_e = 1 and
kappa is undefined (``None``), however much they agree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass


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
