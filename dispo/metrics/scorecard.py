"""The outsourced-provider scorecard: one row per provider (in-house included), each metric against
its SLA target and against the other providers.

"Against the others" compares a provider with all other providers pooled (their counts summed, not
their rates averaged, so a small provider does not weigh as much as a large one): the others' value,
the difference, the provider's rank, and ``vs_others``: ``better`` or ``worse`` when the provider's
confidence interval lies entirely on one side of the others' value, else ``similar``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dispo.metrics.config import MetricsConfig
from dispo.metrics.definitions import METRIC_INDEX
from dispo.metrics.engine import Raw, aggregate, describe, finish_metric, subtract, unavailable_metrics
from dispo.metrics.source import MetricsSource, run


def meets_target(value: float | None, target: float | None, higher_is_better: bool | None) -> bool | None:
    if value is None or target is None or higher_is_better is None:
        return None
    return value >= target if higher_is_better else value <= target


def _versus(entry: dict[str, Any], others: float | None, higher_is_better: bool | None) -> str | None:
    low, high = entry.get("ci_low"), entry.get("ci_high")
    if others is None or entry["value"] is None or higher_is_better is None:
        return None
    if low is None or high is None:
        return "similar"
    if low > others:
        return "better" if higher_is_better else "worse"
    if high < others:
        return "worse" if higher_is_better else "better"
    return "similar"


def channel_shares(source: MetricsSource) -> dict[str | None, dict[str | None, int]]:
    """Contacts per provider (None: no provider) and channel."""
    with source.query() as con:
        rows = run(con, "SELECT provider, channel, count(*) FROM contacts GROUP BY ALL")
    counts: dict[str | None, dict[str | None, int]] = {}
    for provider, channel, n in rows:
        counts.setdefault(provider, {})[channel] = int(n)
    return counts


def provider_scorecard(source: MetricsSource, config: MetricsConfig | None = None) -> dict[str, Any]:
    """The scorecard as a JSON-serialisable dict: ``{"meta", "metrics", "channels", "overall", "rows"}``.

    Each row has the provider, ``in_house``, volume and its share, ``channel_share`` (the share of each
    channel's contacts this provider handled), ``channel_mix`` (how this provider's contacts split by
    channel) and per metric of ``config.scorecard_metrics``: value, counts, interval, target,
    ``meets_target``, ``others``, ``delta_vs_others``, ``vs_others`` and ``rank`` (1 is best).
    """
    config = config or MetricsConfig()
    unavailable = unavailable_metrics(source, config)
    [(_, total)] = aggregate(source, config)
    groups: list[tuple[str | None, Raw]] = [
        (key["provider"], raw) for key, raw in aggregate(source, config, "provider")
    ]
    counts = channel_shares(source)
    channels = sorted({c for per in counts.values() for c in per}, key=lambda c: (c is None, c or ""))
    channel_totals = {c: sum(per.get(c, 0) for per in counts.values()) for c in channels}
    n_total = int(total["contacts"][0])

    rows: list[dict[str, Any]] = []
    for provider, raw in groups:
        name = provider if provider is not None else config.no_provider_label
        volume = int(raw["contacts"][0])
        per = counts.get(provider, {})
        others_raw = subtract(total, raw)
        metrics: dict[str, Any] = {}
        for metric in config.scorecard_metrics:
            spec = METRIC_INDEX[metric]
            entry = _finished(spec, raw[metric], config, unavailable)
            others = _finished(spec, others_raw[metric], config, unavailable)["value"] if len(groups) > 1 else None
            target = config.targets.target(name, metric)
            entry.update(
                target=target,
                meets_target=meets_target(entry["value"], target, spec.higher_is_better),
                others=others,
                delta_vs_others=None if entry["value"] is None or others is None else entry["value"] - others,
                vs_others=_versus(entry, others, spec.higher_is_better),
            )
            metrics[metric] = entry
        rows.append(
            {
                "provider": name,
                "in_house": name in config.in_house_providers,
                "contacts": volume,
                "volume_share": volume / n_total if n_total else None,
                "channel_share": {
                    _channel(c): (per.get(c, 0) / channel_totals[c] if channel_totals[c] else None) for c in channels
                },
                "channel_mix": {_channel(c): (per.get(c, 0) / volume if volume else None) for c in channels},
                "metrics": metrics,
            }
        )
    _rank(rows, config)
    overall = {m: _finished(METRIC_INDEX[m], total[m], config, unavailable) for m in config.scorecard_metrics}
    return {
        "meta": describe(source, config),
        "metrics": list(config.scorecard_metrics),
        "channels": [_channel(c) for c in channels],
        "overall": {"contacts": n_total, "metrics": overall},
        "targets": config.targets.to_dict(),
        "rows": rows,
    }


def _channel(channel: str | None) -> str:
    return channel if channel is not None else "(no channel)"


def _rank(rows: list[dict[str, Any]], config: MetricsConfig) -> None:
    """Rank providers per metric, 1 the best; ties share a rank; providers with no value get None."""
    for metric in config.scorecard_metrics:
        spec = METRIC_INDEX[metric]
        values = [row["metrics"][metric]["value"] for row in rows]
        for row, value in zip(rows, values, strict=True):
            if value is None or spec.higher_is_better is None:
                row["metrics"][metric]["rank"] = None
                continue
            better = [v for v in values if v is not None and (v > value if spec.higher_is_better else v < value)]
            row["metrics"][metric]["rank"] = len(better) + 1


def _finished(spec: Any, raw: Any, config: MetricsConfig, unavailable: Mapping[str, str]) -> dict[str, Any]:
    """A metric's entry; null with the reason where the input cannot give it, never a count of nothing."""
    entry = finish_metric(spec, raw, config)
    if spec.name in unavailable:
        entry.update(value=None, ci_low=None, ci_high=None, unavailable=unavailable[spec.name])
    return entry
