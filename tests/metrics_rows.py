"""Rows of the labelled-contacts table for the metrics tests, and the metrics computed on them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from dispo.labelled import LABELLED_SCHEMA
from dispo.metrics import (
    MetricsConfig,
    compute_metrics,
    contact_issues,
    open_source,
)

T0 = "2026-03-02T10:00:00+00:00"


def at(base: str, days: float = 0, minutes: float = 0, seconds: float = 0) -> datetime:
    return datetime.fromisoformat(base) + timedelta(days=days, minutes=minutes, seconds=seconds)


def row(
    contact_id: str,
    customer_id: str | None,
    started_at: datetime | None,
    *,
    reason: str | None = "track_order",
    outcome: str | None = "resolved",
    minutes: float | None = 10,
    ended_at: datetime | None = None,
    provider: str | None = "acme",
    channel: str | None = "voice",
    agent_id: str | None = "a1",
    queue: str | None = "orders",
    sentiment: str | None = "neutral",
    upsell_probability: float | None = 0.1,
    agent_reason: str | None = None,
    agent_outcome: str | None = None,
) -> dict[str, Any]:
    if ended_at is None and started_at is not None and minutes is not None:
        ended_at = started_at + timedelta(minutes=minutes)
    return {
        "contact_id": contact_id,
        "customer_id": customer_id,
        "channel": channel,
        "provider": provider,
        "agent_id": agent_id,
        "queue": queue,
        "started_at": started_at,
        "ended_at": ended_at,
        "reason": reason,
        "outcome": outcome,
        "sentiment": sentiment,
        "upsell_probability": upsell_probability,
        "agent_reason": agent_reason,
        "agent_outcome": agent_outcome,
    }


def table(rows: Iterable[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=LABELLED_SCHEMA)


def issues(rows: list[dict[str, Any]], config: MetricsConfig | None = None, **kw: Any) -> dict[str, dict[str, Any]]:
    with open_source(table(rows), **kw) as source:
        return {r["contact_id"]: r for r in contact_issues(source, config or MetricsConfig()).to_pylist()}


def overall(rows: list[dict[str, Any]], config: MetricsConfig | None = None, **kw: Any) -> dict[str, Any]:
    with open_source(table(rows), **kw) as source:
        return compute_metrics(source, config or MetricsConfig())["overall"]


def kn(entry: dict[str, Any]) -> tuple[int, int]:
    return entry["k"], entry["n"]


LATE = MetricsConfig(as_of=at(T0, days=60))  # every window closed
