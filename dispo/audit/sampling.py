"""Estimating agent accuracy without bias: a uniform random sample and a binomial interval.

The ranked queue sends analysts to the contacts most likely to be wrong, so the share of wrong
codes among ranked audits says nothing about an agent's accuracy. Every audit item therefore gets
a random key when it is stored; the random queue serves items in key order, which is a uniform
sample without replacement of whatever population the filters select. Accuracy is estimated on
that sample only (see :func:`sample_prefix`) with a Wilson score interval, which behaves at
0 and 100 % and on small samples, where the normal approximation does not.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from dispo.errors import ConfigError
from dispo.metrics import stats

T = TypeVar("T")


@dataclass(frozen=True)
class Proportion:
    """``successes`` of ``n`` with a two-sided Wilson interval at ``confidence``."""

    successes: int
    n: int
    confidence: float
    low: float | None
    high: float | None

    @property
    def value(self) -> float | None:
        return self.successes / self.n if self.n else None

    def to_dict(self) -> dict[str, float | int | None]:
        return {
            "value": self.value,
            "successes": self.successes,
            "n": self.n,
            "ci_low": self.low,
            "ci_high": self.high,
            "confidence": self.confidence,
        }


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> Proportion:
    """The Wilson score interval of a binomial proportion (``low``/``high`` are None when n = 0),
    computed by :func:`dispo.metrics.stats.wilson_interval` like every rate of the metrics."""
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence must be in (0, 1), got {confidence!r}")
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    low, high = stats.wilson_interval(successes, n, confidence) or (None, None)
    return Proportion(successes, n, confidence, low, high)


def sample_prefix(keyed: Iterable[tuple[float, T, bool]]) -> list[T]:
    """The uniform sample inside ``(random_key, item, audited)`` triples: the items, in key
    order, before the first one not yet audited.

    Items are audited in key order by the random queue (which skips items the ranked queue has
    already audited), so this prefix is a uniform random subset of the population, complete,
    and independent of how suspicious its items looked.
    """
    out: list[T] = []
    for _, item, audited in sorted(keyed, key=lambda triple: triple[0]):
        if not audited:
            break
        out.append(item)
    return out


GROUPS = ("agent", "provider", "queue", "channel")  # what agent accuracy can be grouped by


def accuracy_by_group(
    judged: Iterable[tuple[str | None, bool, bool]], *, confidence: float = 0.95
) -> list[dict[str, Any]]:
    """Agent accuracy per group from ``(group, code right, reason right)`` of each audited item of
    the uniform sample: the code (reason and outcome) and the reason alone, each with its Wilson
    interval. Groups in name order; the ungrouped (None) last."""
    code: dict[str | None, list[bool]] = defaultdict(list)
    reason: dict[str | None, list[bool]] = defaultdict(list)
    for group, code_right, reason_right in judged:
        code[group].append(code_right)
        reason[group].append(reason_right)
    return [
        {
            "group": group,
            "code_accuracy": wilson_interval(sum(code[group]), len(code[group]), confidence).to_dict(),
            "reason_accuracy": wilson_interval(sum(reason[group]), len(reason[group]), confidence).to_dict(),
        }
        for group in sorted(code, key=lambda g: (g is None, g or ""))
    ]
