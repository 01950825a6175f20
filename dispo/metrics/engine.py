"""The metric engine: every metric, as DuckDB queries over the chained contacts.

Two steps, both in SQL (no Python loop touches a contact):

1. **Chaining** (:mod:`dispo.metrics.chaining`): every contact labelled, mapped to the taxonomy and
   chained to the customer's other contacts (repeats, issues, FCR), once per configuration.
2. **Aggregation** (:func:`aggregate`): one GROUP BY per slicing computes, for every metric of
   :data:`dispo.metrics.definitions.METRICS`, the counts behind it (k and n of a rate; n, sum and sum
   of squares of a mean); :func:`finish` turns them into values with confidence intervals.

Issue metrics in a slice belong to the issue's first contact: FCR by provider is the FCR of the
issues the provider opened. The repeat rate is charged to the contact that was repeated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from dispo.errors import ConfigError
from dispo.metrics.chaining import DAY_S, chain_key, chained_table, contact_flags, sql_literal
from dispo.metrics.config import MetricsConfig
from dispo.metrics.definitions import DIMENSIONS, ISSUE_COUNTS, METRICS, PERIODS, MetricSpec
from dispo.metrics.source import MetricsSource, first_row, label_issue_coverage, run
from dispo.metrics.stats import mean_interval, poisson_rate_interval, wilson_interval

Raw = dict[str, tuple[float, ...]]


#: (numerator column, denominator column) of the rates that depend on the chaining.
_CHAIN_RATES: dict[str, tuple[str, str]] = {
    "fcr": ("issue_fcr", "issue_decided"),
    "repeat_rate": ("repeat_seen", "repeat_decided"),
    "repeat_share": ("is_repeat", "chainable"),
}


_COUNT_COLUMNS = {
    "contacts": None,
    "issues": "is_first",
    "issues_closed": "issue_closed",
    "issues_pending": "issue_pending",
    "issues_repeat_early": "issue_repeat_early",
    "issues_unknown_outcome": "issue_unknown",
}
_MEAN_SQL = {
    "aht_s": "handle_s",
    "sentiment_score": "sent_end_score",
    "sentiment_change": "sent_change",
    "agent_accuracy_estimated_reason": "est_reason_right",
    "agent_accuracy_estimated_outcome": "est_outcome_right",
    "agent_accuracy_estimated_code": "est_code_right",
    "asa_s": "answer_wait_s",
    "cpc": "cost",
    "nps": "nps_score",
}
#: (count column, exposure column) of the metrics of kind "ratio".
_RATIO_SQL = {"cph": ("cph_contact", "cph_hours")}


def _count_true(column: str) -> str:
    """Rows where a boolean column is true. count_if is about three times cheaper than a FILTER clause;
    the flag columns are never NULL, and the coalesce covers an empty table."""
    return f"coalesce(count_if({column}), 0)"


def _aggregate_columns(config: MetricsConfig) -> tuple[list[str], list[tuple[str, list[int]]]]:
    """The distinct SELECT expressions of every metric's counts over a chained table, and per metric the
    positions of its values (a count; k and n of a rate; n, sum and sum of squares of a mean)."""
    rates = {**contact_flags(config).rates, **_CHAIN_RATES}
    exprs: dict[str, int] = {}

    def at(expr: str) -> int:
        return exprs.setdefault(expr, len(exprs))

    layout: list[tuple[str, list[int]]] = []
    for spec in METRICS:
        if spec.kind == "count":
            column = _COUNT_COLUMNS[spec.name]
            layout.append((spec.name, [at("count(*)" if column is None else _count_true(column))]))
        elif spec.kind == "rate":
            k, n = rates[spec.name]
            layout.append((spec.name, [at(_count_true(k)), at(_count_true(n))]))
        elif spec.kind == "ratio":
            k, exposure = _RATIO_SQL[spec.name]
            layout.append((spec.name, [at(_count_true(k)), at(f"coalesce(sum({exposure}), 0)")]))
        else:
            column = _MEAN_SQL[spec.name]
            values = [f"count({column})", f"coalesce(sum({column}), 0)", f"coalesce(sum({column} * {column}), 0)"]
            layout.append((spec.name, [at(v) for v in values]))
    return list(exprs), layout


def dimension_sql(dimension: str, config: MetricsConfig) -> str:
    """The SQL expression of a slicing dimension over a chained table."""
    tz = sql_literal(config.timezone)
    expressions = {
        "provider": "provider",
        "channel": "channel",
        "agent": "agent_id",
        "queue": "queue",
        "reason": "reason_label",
        "category": "category",
        "day": f"CAST(timezone({tz}, started_at) AS DATE)",
        "week": f"CAST(date_trunc('week', timezone({tz}, started_at)) AS DATE)",
        "month": f"CAST(date_trunc('month', timezone({tz}, started_at)) AS DATE)",
    }
    try:
        return expressions[dimension]
    except KeyError:
        raise ConfigError(f"unknown slice dimension {dimension!r}; known: {', '.join(DIMENSIONS)}") from None


def normalise_slices(slice_by: str | Sequence[str] | None) -> tuple[str, ...]:
    if slice_by is None:
        return ()
    dims = (slice_by,) if isinstance(slice_by, str) else tuple(slice_by)
    for dim in dims:
        if dim not in DIMENSIONS:
            raise ConfigError(f"unknown slice dimension {dim!r}; known: {', '.join(DIMENSIONS)}")
    if len(set(dims)) != len(dims):
        raise ConfigError(f"slice_by names a dimension twice: {list(dims)}")
    return dims


def _key_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def aggregate(
    source: MetricsSource, config: MetricsConfig, slice_by: str | Sequence[str] | None = None
) -> list[tuple[dict[str, Any], Raw]]:
    """(group key, raw counts) per group of ``slice_by`` (one group with an empty key when None).

    Cached on the source (the groups are few), so a report asking for the overall numbers beside
    every slicing scans the contacts once per slicing."""
    dims = normalise_slices(slice_by)
    config = config.fitted_to(source.taxonomy.outcome_names)  # as chained_table reads it
    chained = chained_table(source, config)
    periods = any(d in PERIODS for d in dims)
    cache_key = ("aggregate", chain_key(config), dims, config.timezone if periods else None)
    with source.query():
        cached = source.cache.get(cache_key)
    if cached is not None:
        return [(dict(key), dict(raw)) for key, raw in cached]
    exprs, layout = _aggregate_columns(config)
    keys = [f"{dimension_sql(d, config)} AS k{i}" for i, d in enumerate(dims)]
    group = f" GROUP BY {', '.join(str(i + 1) for i in range(len(dims)))}" if dims else ""
    order = f" ORDER BY {', '.join(f'{i + 1} NULLS LAST' for i in range(len(dims)))}" if dims else ""
    sql = f"SELECT {', '.join([*keys, *exprs])} FROM {chained.table}{group}{order}"
    with source.query() as con:
        rows = run(con, sql)
    groups: list[tuple[dict[str, Any], Raw]] = []
    for row in rows:
        key = {d: _key_value(row[i]) for i, d in enumerate(dims)}
        values = row[len(dims) :]
        raw: Raw = {name: tuple(float(values[i]) for i in positions) for name, positions in layout}
        groups.append((key, raw))
    with source.query():
        source.cache[cache_key] = groups
    return [(dict(key), dict(raw)) for key, raw in groups]


def subtract(total: Raw, part: Raw) -> Raw:
    """The raw counts of everything in ``total`` but not in ``part`` (e.g. the other providers)."""
    return {name: tuple(t - p for t, p in zip(values, part[name], strict=True)) for name, values in total.items()}


def finish_metric(spec: MetricSpec, values: tuple[float, ...], config: MetricsConfig) -> dict[str, Any]:
    """The reported form of one metric from its raw counts."""
    if spec.kind == "count":
        return {"value": int(values[0])}
    if spec.kind == "rate":
        k, n = int(values[0]), int(values[1])
        interval = wilson_interval(k, n, config.confidence)
        return {
            "value": k / n if n else None,
            "k": k,
            "n": n,
            "ci_low": interval[0] if interval else None,
            "ci_high": interval[1] if interval else None,
            "small": n < config.small_group_n,
        }
    if spec.kind == "ratio":
        k, exposure = int(values[0]), values[1]
        interval = poisson_rate_interval(k, exposure, config.confidence) if exposure > 1e-12 else None
        return {
            "value": k / exposure if exposure > 1e-12 else None,
            "n": k,
            "hours": exposure,
            "ci_low": interval[0] if interval else None,
            "ci_high": interval[1] if interval else None,
            "small": k < config.small_group_n,
        }
    n = int(values[0])
    total, total_sq = values[1], values[2]
    interval = mean_interval(n, total, total_sq, config.confidence)
    if interval is not None:
        low, high = spec.bounds
        interval = (
            interval[0] if low is None else max(low, interval[0]),
            interval[1] if high is None else min(high, interval[1]),
        )
    return {
        "value": total / n if n else None,
        "n": n,
        "ci_low": interval[0] if interval else None,
        "ci_high": interval[1] if interval else None,
        "small": n < config.small_group_n,
    }


def finish(raw: Raw, config: MetricsConfig, unavailable: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every metric of a group: value, counts, confidence interval, small-group flag, and why not when unavailable."""
    out: dict[str, Any] = {}
    for spec in METRICS:
        entry = finish_metric(spec, raw[spec.name], config)
        if unavailable and spec.name in unavailable:  # null with the reason, never a count of nothing
            entry.update(value=None, ci_low=None, ci_high=None, unavailable=unavailable[spec.name])
        out[spec.name] = entry
    return out


def unavailable_metrics(source: MetricsSource, config: MetricsConfig) -> dict[str, str]:
    """Metrics the input cannot give, with the reason (reported beside a null value, never invented)."""
    missing = set(source.missing_columns)
    reasons: dict[str, str] = {}
    if not source.has_sentiment_start:
        reasons["sentiment_change"] = (
            "the table has no sentiment_start column (only the end-of-contact sentiment), so the change "
            "from the start of the contact cannot be measured"
        )
    if not source.has_values("sentiment_end"):
        for name in ("sentiment_score", "sentiment_negative", "sentiment_positive"):
            reasons[name] = "the table has no sentiment" + (" column" if "sentiment" in missing else " values")
    if not source.has_values("upsell_probability"):
        reasons["upsell_rate"] = "the table has no upsell_probability" + (
            " column" if "upsell_probability" in missing else " values"
        )
    if not source.has_values("ended_at"):
        reasons["aht_s"] = "the table has no ended_at" + (" column" if "ended_at" in missing else " values")
    if not source.has_values("customer_id"):
        for name in ("fcr", "repeat_rate", "repeat_share", *ISSUE_COUNTS):
            reasons[name] = (
                f"the table has no customer_id {'column' if 'customer_id' in missing else 'values'}, so contacts "
                "cannot be chained into issues"
            )
    agent = sorted(c for c in ("agent_reason", "agent_outcome") if not source.has_values(c))
    if agent:
        for name in (
            "agent_model_agreement_reason",
            "agent_model_agreement_outcome",
            "agent_accuracy_reason",
            "agent_accuracy_outcome",
            "agent_accuracy_code",
        ):
            reasons[name] = f"the table has no {' / '.join(agent)} values"
    model = sorted(c for c in ("reason", "outcome") if not source.has_values(f"model_{c}"))
    if model:
        for name in ("agent_model_agreement_reason", "agent_model_agreement_outcome"):
            reasons.setdefault(name, f"the table has no model {' / '.join(model)} labels")
    if not source.has_audits:
        for name in (
            "agent_accuracy_reason",
            "agent_accuracy_outcome",
            "agent_accuracy_code",
            "model_accuracy_reason",
            "model_accuracy_outcome",
            "model_accuracy_code",
        ):
            reasons.setdefault(name, "no audits were given (accuracy is measured against QA audits)")
    queue_times = [c for c in ("queued_at", "answered_at") if not source.has_values(c)]
    if queue_times:
        for name in ("service_level", "asa_s"):
            reasons[name] = f"the contacts carry no {' / '.join(queue_times)} (queue events)"
    if not source.has_values("abandoned") and not source.has_values("answered_at"):
        reasons["abandonment_rate"] = "the contacts carry no abandoned flag or answered_at time (queue events)"
    if not source.has_values("blocked"):
        reasons["blockage_rate"] = "the export records no refused or overflowed contacts (no blocked flag)"
    if not source.has_values("ended_at") and not source.has_agent_hours:
        reasons["cph"] = "no handle times (ended_at) and no agent hours were given"
    fitted = config.fitted_to(source.taxonomy.outcome_names)
    for rate, key in (("escalation_rate", "escalation_outcomes"), ("transfer_rate", "transfer_outcomes"),
                      ("callback_rate", "callback_outcomes")):  # fmt: skip
        if not getattr(fitted, key):
            named = " or ".join(getattr(config, key))
            reasons[rate] = (
                f"taxonomy {source.taxonomy.name!r} has no outcome named {named}: set {key} in the metrics config"
                if named
                else f"{key} names no outcome"
            )
    if not config.targets.rate_cards:
        reasons["cpc"] = "no provider has a rate card (rate_cards in the targets YAML)"
    for name in ("nps", "csat"):
        if name not in source.has_surveys:
            reasons[name] = (
                f"the survey file has no {name} column" if source.has_surveys else "no survey answers were given"
            )
    estimated = ("agent_accuracy_estimated_reason", "agent_accuracy_estimated_outcome", "agent_accuracy_estimated_code")
    if not source.has_label_issues:
        for name in estimated:
            reasons[name] = "no label issues were given (label_issues.jsonl of `dispo train --label-noise`)"
    elif not label_issue_coverage(source).found:
        for name in estimated:
            reasons[name] = "the label issues given judge none of the contacts in the data"
    else:  # a run may judge one task only (too few codes of the other to read)
        for task in sorted({"reason", "outcome"} - label_issue_coverage(source).tasks):
            why = f"the label issues given judge no {task} code of the contacts in the data"
            reasons[f"agent_accuracy_estimated_{task}"] = reasons["agent_accuracy_estimated_code"] = why
    return reasons


def describe(source: MetricsSource, config: MetricsConfig) -> dict[str, Any]:
    """What the numbers were computed from and with: the ``meta`` block of every result."""
    chained = chained_table(source, config)
    notes = [f"{name}: {why}" for name, why in unavailable_metrics(source, config).items()]
    quality = chained.data_quality
    if quality["not_chainable"]:
        notes.append(
            f"{quality['not_chainable']} contacts could not be chained into issues (no customer_id, no started_at"
            + (", no reason in the taxonomy" if config.window_mode == "same_category" else "")
            + ", or never answered: abandoned or blocked) and are left out of FCR and repeat rates"
        )
    if quality["started_after_as_of"]:
        notes.append(
            f"{quality['started_after_as_of']} contacts start after as_of ({chained.as_of}): they count in the contact "
            "metrics, and no repeat after as_of is seen, so the issues they would close stay pending"
        )
    if chained.as_of is not None and chained.as_of > datetime.now(UTC):
        notes.append(f"as_of ({chained.as_of}) is in the future: every issue's window counts as closed")
    if source.has_agent_hours:
        with source.query() as con:
            total, used = first_row(
                con, f"SELECT (SELECT sum(hours) FROM agent_hours), (SELECT sum(cph_hours) FROM {chained.table})"
            )
        if total and total - (used or 0.0) > 1e-6:
            notes.append(
                f"{total - (used or 0.0):.1f} of {total:.1f} logged-in hours fall on agent-days with no handled "
                "contact in the data and do not count in contacts per hour (a session counts on the day it "
                "started"
                + (
                    "; no agent id matched: are the ids pseudonymised in one file and not the other?)"
                    if not used
                    else ")"
                )
            )
    if quality["ended_before_started"]:
        notes.append(f"{quality['ended_before_started']} contacts end before they start and are left out of AHT")
    coverage = label_issue_coverage(source).describe() if source.has_label_issues else None
    if coverage:
        notes.append(f"label issues: {coverage}")
    return {
        "source": source.description,
        "taxonomy": source.taxonomy.name,
        "label_priority": list(config.label_priority),
        "window_mode": config.window_mode,
        "window_from": config.window_from,
        "windows_days": chained.windows_days,
        "default_window_days": chained.default_window_days,
        "as_of": chained.as_of.isoformat() if chained.as_of is not None else None,
        "as_of_from": "config" if config.as_of is not None else "last contact start",
        "timezone": config.timezone,
        "confidence": config.confidence,
        "upsell_threshold": config.upsell_threshold,
        "cph_basis": "agent logged-in hours" if source.has_agent_hours else "handled hours (no agent hours given)",
        "answer_within_s": config.targets.answer_within_s.to_dict(),
        "sentiment_from": "sentiment_end"
        if "sentiment_end" in source.columns
        else "sentiment (read as end of contact)",
        "data_quality": quality,
        "notes": notes,
    }


# -- the public functions (one per service endpoint) -------------------------------------------------
def compute_metrics(
    source: MetricsSource, config: MetricsConfig | None = None, slice_by: str | Sequence[str] | None = None
) -> dict[str, Any]:
    """Every metric overall and, with ``slice_by`` (one dimension or several), per group.

    Returns JSON-serialisable ``{"meta": ..., "slice_by": [...], "overall": {metric: ...},
    "groups": [{"key": {dim: value}, "metrics": {metric: ...}}]}``.
    """
    config = config or MetricsConfig()
    dims = normalise_slices(slice_by)
    unavailable = unavailable_metrics(source, config)
    [(_, overall_raw)] = aggregate(source, config)
    groups = [{"key": key, "metrics": finish(raw, config, unavailable)} for key, raw in aggregate(source, config, dims)]
    return {
        "meta": describe(source, config),
        "slice_by": list(dims),
        "overall": finish(overall_raw, config, unavailable),
        "groups": groups if dims else [],
    }


def compare_label_sources(
    source: MetricsSource,
    config: MetricsConfig | None = None,
    sources: Sequence[str | Sequence[str]] = ("agent", "model"),
    slice_by: str | Sequence[str] | None = None,
) -> dict[str, Any]:
    """The same metrics computed from different labels: agent codes beside model codes (beside audits).

    Each entry of ``sources`` is a source name or a priority list; the result has one entry per
    source, named by its priority joined with ``>`` (``"agent"``, ``"audit>model"``).
    """
    config = config or MetricsConfig()
    out: dict[str, Any] = {}
    for entry in sources:
        priority = (entry,) if isinstance(entry, str) else tuple(entry)
        result = compute_metrics(source, config.with_labels(*priority), slice_by)
        out[">".join(priority)] = {"overall": result["overall"], "groups": result["groups"], "meta": result["meta"]}
    return {"slice_by": list(normalise_slices(slice_by)), "sources": out}


def reason_mix(source: MetricsSource, config: MetricsConfig | None = None) -> dict[str, Any]:
    """Contacts per reason as the model, the agents, the audits and the configured priority label them."""
    config = config or MetricsConfig()
    chained = chained_table(source, config)
    sql = f"""
    WITH r AS (
        SELECT model_reason AS reason, 'model' AS src FROM contacts
        UNION ALL SELECT agent_reason, 'agent' FROM contacts
        UNION ALL SELECT a.audit_reason, 'audit' FROM audits a JOIN contacts c ON c.contact_id = a.contact_id
        UNION ALL SELECT reason_label, 'chosen' FROM {chained.table}
    )
    SELECT reason, count(*) FILTER (WHERE src = 'model'), count(*) FILTER (WHERE src = 'agent'),
        count(*) FILTER (WHERE src = 'audit'), count(*) FILTER (WHERE src = 'chosen')
    FROM r WHERE reason IS NOT NULL GROUP BY reason ORDER BY 5 DESC, 2 DESC, reason
    """
    with source.query() as con:
        rows = run(con, sql)
    taxonomy = source.taxonomy
    totals = {"model": 0, "agent": 0, "audit": 0, "chosen": 0}
    out_rows = []
    for reason, model, agent, audit, chosen in rows:
        counts = {"model": int(model), "agent": int(agent), "audit": int(audit), "chosen": int(chosen)}
        for k, v in counts.items():
            totals[k] += v
        category = taxonomy.category_of(reason) if taxonomy.has_reason(reason) else None
        out_rows.append({"reason": reason, "category": category, **counts})
    for row in out_rows:
        for k in ("model", "agent", "audit", "chosen"):
            row[f"{k}_share"] = row[k] / totals[k] if totals[k] else None
    return {"label_priority": list(config.label_priority), "totals": totals, "reasons": out_rows}


def contact_issues(source: MetricsSource, config: MetricsConfig | None = None) -> pa.Table:
    """One row per contact: its labels, its issue (the contact_id of the issue's first contact) and its
    repeat flags; for drill-down (which contacts were repeats) and for checking the chaining."""
    config = config or MetricsConfig()
    chained = chained_table(source, config)
    key = "category" if config.window_mode == "same_category" else "''"
    sql = f"""
    SELECT contact_id, customer_id, started_at, reason_label AS reason, reason_source, category,
        outcome_label AS outcome, outcome_source, resolved, chainable,
        CASE WHEN chainable THEN last_value(CASE WHEN is_first THEN contact_id END IGNORE NULLS) OVER (
            PARTITION BY chainable, customer_id, {key} ORDER BY start_s, contact_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) END AS issue_id,
        is_repeat, followed AS followed_by_repeat, window_closed, window_s / {DAY_S!r} AS window_days,
        CASE
            WHEN NOT is_first THEN NULL
            WHEN issue_pending THEN 'pending'
            WHEN issue_unknown THEN 'unknown'
            WHEN issue_fcr THEN 'fcr'
            ELSE 'not_fcr'
        END AS fcr_state
    FROM {chained.table}
    ORDER BY customer_id NULLS LAST, start_s NULLS LAST, contact_id
    """
    with source.query() as con:
        return con.sql(sql).to_arrow_table()
