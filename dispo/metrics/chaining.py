"""Step 1 of the metric engine: label, map and chain every contact, in DuckDB.

:func:`chained_table` (computed once per configuration and cached on the source: two temporary
tables, the labelled contacts and their links, paired by a view). Each contact gets its labels from
the configured label priority, its category, repeat window and resolved flag from the taxonomy
(passed in as two small tables), the boolean columns behind every contact rate
(:func:`contact_flags`), and then, over the contacts of the same customer (and, in
``same_category`` mode, the same category) ordered by start time: ``is_repeat`` (it starts within
the window after the previous contact), ``followed`` (the next contact is a repeat of it),
``window_closed`` (its window ended by ``as_of``). A contact that is not a repeat opens an issue,
which is ``pending`` while its window is open, ``unknown`` without an outcome, ``fcr`` when resolved
and not followed by a repeat, else ``not_fcr``. Windows are inclusive: a contact exactly ``window``
days after the previous one is a repeat.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import count
from typing import Any

import duckdb
import pyarrow as pa

from dispo.errors import ConfigError
from dispo.metrics.config import MetricsConfig
from dispo.metrics.source import MetricsSource, first_row, run

logger = logging.getLogger(__name__)

DAY_S = 86_400.0
_LABEL_COLUMNS = {
    "reason": {"audit": "a.audit_reason", "agent": "c.agent_reason", "model": "c.model_reason"},
    "outcome": {"audit": "a.audit_outcome", "agent": "c.agent_outcome", "model": "c.model_outcome"},
}
_TABLE_IDS = count(1)


def sql_literal(value: str) -> str:
    """A SQL string literal (config values are plain names; quotes are doubled all the same)."""
    return "'" + value.replace("'", "''") + "'"


def _sql_in_list(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(sql_literal(v) for v in values)})" if values else "false"


@dataclass(frozen=True)
class Chained:
    """A materialised chaining: the table's name and what it was computed with."""

    table: str
    as_of: datetime | None
    windows_days: dict[str, float]
    default_window_days: float
    data_quality: dict[str, Any]


def _windows(source: MetricsSource, config: MetricsConfig) -> tuple[dict[str, float], float]:
    """Repeat window in days per category, and the window of contacts without a category."""
    taxonomy = source.taxonomy
    categories = {c.name for c in taxonomy.categories}
    unknown = sorted(set(config.category_windows) - categories)
    if unknown:
        raise ConfigError(
            f"category_windows: categories {unknown} are not in taxonomy {taxonomy.name!r} "
            f"(known: {', '.join(sorted(categories))})"
        )
    default = config.window_days if config.window_days is not None else taxonomy.default_repeat_window_days
    if config.window_mode == "any_reason":
        return {c: default for c in sorted(categories)}, default
    windows = {}
    for category in taxonomy.categories:
        days = config.category_windows.get(category.name)
        if days is None:
            days = config.window_days if config.window_days is not None else category.repeat_window_days
        windows[category.name] = days
    return windows, default


def _check_outcomes(source: MetricsSource, config: MetricsConfig) -> None:
    known = set(source.taxonomy.outcome_names)
    for key in ("escalation_outcomes", "transfer_outcomes", "callback_outcomes"):
        unknown = [o for o in getattr(config, key) if o not in known]
        if unknown:
            raise ConfigError(
                f"{key}: outcomes {unknown} are not in taxonomy {source.taxonomy.name!r} "
                f"(known: {', '.join(sorted(known))}); set {key} to the taxonomy's names, or [] for none"
            )


def chain_key(config: MetricsConfig) -> tuple[Any, ...]:
    """Every configuration field the chained table depends on (flags included)."""
    return (
        config.label_priority,
        config.window_mode,
        config.window_days,
        tuple(sorted(config.category_windows.items())),
        config.window_from,
        config.as_of,
        tuple(sorted(config.sentiment_scores.items())),
        config.upsell_threshold,
        config.escalation_outcomes,
        config.transfer_outcomes,
        config.callback_outcomes,
        repr(config.targets.answer_within_s),
        tuple(sorted(config.targets.rate_cards.items())),
        config.timezone,
    )


def chained_table(source: MetricsSource, config: MetricsConfig) -> Chained:
    """Label, map and chain every contact (step 1 of the module docstring); cached per configuration.

    Built in three statements so that the window functions sort only a narrow table (row id, customer,
    chain key, times): carrying the wide rows through the sort costs several times more.
    """
    config = config.fitted_to(source.taxonomy.outcome_names)
    key = chain_key(config)
    with source.query() as con:
        cached = source.cache.get(("chained", key))
        if cached is not None:
            return cached
        _check_outcomes(source, config)
        windows, default_days = _windows(source, config)
        n = next(_TABLE_IDS)
        reason_map, outcome_map = f"reason_map_{n}", f"outcome_map_{n}"
        base, links, table = f"base_{n}", f"links_{n}", f"chained_{n}"
        taxonomy = source.taxonomy
        con.register(
            reason_map,
            pa.table(
                {
                    "reason": [r.name for r in taxonomy.reasons],
                    "category": [r.category for r in taxonomy.reasons],
                    "window_s": [windows[r.category] * DAY_S for r in taxonomy.reasons],
                }
            ),
        )
        con.register(
            outcome_map,
            pa.table({"outcome": list(taxonomy.outcome_names), "resolved": [o.resolved for o in taxonomy.outcomes]}),
        )
        if config.as_of is not None:
            as_of: datetime | None = config.as_of
        else:
            # As epoch seconds: DuckDB needs pytz to hand a TIMESTAMPTZ to Python.
            (latest,) = first_row(con, "SELECT epoch(max(started_at)) FROM contacts")
            as_of = datetime.fromtimestamp(latest, tz=UTC) if latest is not None else None
            if as_of is not None and as_of > datetime.now(UTC):
                logger.warning(
                    "the last contact starts in the future (%s) and the data's end (as_of) defaults to it, which "
                    "closes every issue's window: check started_at, or give as_of",
                    as_of.isoformat(),
                )
        as_of_sql = "'-infinity'::DOUBLE" if as_of is None else repr(as_of.timestamp())
        try:
            run(con, _base_sql(source, config, base, reason_map, outcome_map, default_days))
        finally:
            con.unregister(reason_map)
            con.unregister(outcome_map)
        source.temporary.append(("TABLE", base))
        run(con, _links_sql(links, base, config, as_of_sql))
        source.temporary.append(("TABLE", links))
        run(con, _chained_sql(table, base, links, positional=True))
        source.temporary.append(("VIEW", table))
        # The view pairs the two tables by position: check that the row ids line up (they do when
        # DuckDB keeps insertion order, its default), else pay for a join on the row id instead.
        (misaligned,) = first_row(con, f"SELECT count(*) FROM {table} WHERE base_rid <> links_rid")
        if misaligned:
            logger.warning("row order of %s and %s differs; joining on the row id", base, links)
            run(con, f"DROP VIEW {table}")
            run(con, _chained_sql(table, base, links, positional=False))
        quality = _data_quality(con, table, config, as_of_sql)
        chained = Chained(table, as_of, windows, default_days, quality)
        source.cache[("chained", key)] = chained
        logger.debug("chained contacts into %s (as of %s)", table, as_of)
        return chained


def _score_sql(column: str, scores: Mapping[str, float]) -> str:
    cases = " ".join(f"WHEN {sql_literal(s)} THEN {float(v)!r}" for s, v in scores.items())
    return f"(CASE {column} {cases} ELSE NULL END)"


def _source_sql(field: str, priority: Sequence[str]) -> tuple[str, str]:
    columns = [_LABEL_COLUMNS[field][s] for s in priority]
    label = columns[0] if len(columns) == 1 else f"coalesce({', '.join(columns)})"
    which = " ".join(f"WHEN {c} IS NOT NULL THEN {sql_literal(s)}" for c, s in zip(columns, priority, strict=True))
    return label, f"(CASE {which} ELSE NULL END)"


@dataclass(frozen=True)
class _Flags:
    """The boolean columns behind the contact rates, each distinct condition once (several rates share
    a denominator), and per rate the (numerator, denominator) column names."""

    columns: dict[str, str]  # column name -> SQL
    rates: dict[str, tuple[str, str]]


def contact_flags(config: MetricsConfig) -> _Flags:
    by_sql: dict[str, str] = {}
    rates: dict[str, tuple[str, str]] = {}
    for name, (hit, base) in _contact_rate_sql(config).items():
        names = []
        for sql in (f"coalesce(({base}) AND ({hit}), false)", f"coalesce({base}, false)"):
            names.append(by_sql.setdefault(sql, f"f{len(by_sql)}"))
        rates[name] = (names[0], names[1])
    return _Flags({column: sql for sql, column in by_sql.items()}, rates)


def _base_sql(
    source: MetricsSource,
    config: MetricsConfig,
    table: str,
    reason_map: str,
    outcome_map: str,
    default_days: float,
) -> str:
    reason, reason_source = _source_sql("reason", config.label_priority)
    outcome, outcome_source = _source_sql("outcome", config.label_priority)
    same_category = config.window_mode == "same_category"
    if config.window_from == "end":
        anchor = "epoch(CASE WHEN l.ended_at >= l.started_at THEN l.ended_at ELSE l.started_at END)"
    else:
        anchor = "epoch(l.started_at)"
    end_score = _score_sql("l.sentiment_end", config.sentiment_scores)
    if source.has_sentiment_start:
        change = f"{end_score} - {_score_sql('l.sentiment_start', config.sentiment_scores)}"
    else:
        change = "NULL::DOUBLE"
    if source.has_label_issues:
        estimates = (
            "i.est_reason_right, i.est_outcome_right, i.est_reason_right * i.est_outcome_right AS est_code_right"
        )
        joins = " LEFT JOIN label_issues i ON i.contact_id = c.contact_id"
    else:
        estimates = (
            "NULL::DOUBLE AS est_reason_right, NULL::DOUBLE AS est_outcome_right, NULL::DOUBLE AS est_code_right"
        )
        joins = ""
    if source.has_surveys:
        surveys = "s.nps AS survey_nps, s.csat AS survey_csat"
        joins += " LEFT JOIN surveys s ON s.contact_id = c.contact_id"
    else:
        surveys = "NULL::DOUBLE AS survey_nps, NULL::DOUBLE AS survey_csat"
    if source.has_audits:
        audits = (
            "a.audit_reason, a.audit_outcome, coalesce(a.audit_uniform, false) AS audit_uniform, "
            f"{estimates}, {surveys} FROM contacts c LEFT JOIN audits a ON a.contact_id = c.contact_id{joins}"
        )
    else:  # no join to pay for
        audits = (
            "NULL::VARCHAR AS audit_reason, NULL::VARCHAR AS audit_outcome, false AS audit_uniform, "
            f"{estimates}, {surveys} FROM contacts c{joins}"
        )
        reason = reason.replace("a.audit_reason", "NULL::VARCHAR")
        outcome = outcome.replace("a.audit_outcome", "NULL::VARCHAR")
        reason_source = reason_source.replace("a.audit_reason", "NULL::VARCHAR")
        outcome_source = outcome_source.replace("a.audit_outcome", "NULL::VARCHAR")
    return f"""
CREATE TEMP TABLE {table} AS
WITH labelled AS (
    SELECT c.*, {reason} AS reason_label, {reason_source} AS reason_source,
        {outcome} AS outcome_label, {outcome_source} AS outcome_source, {audits}
), mapped AS (
    SELECT l.*, rm.category, om.resolved,
        coalesce(rm.window_s, {default_days * DAY_S!r}) AS window_s,
        epoch(l.started_at) AS start_s,
        {anchor} AS anchor_s,
        coalesce(l.abandoned, false) AS is_abandoned,
        coalesce(l.blocked, false) AS is_blocked,
        NOT coalesce(l.abandoned OR l.blocked, false) AS handled,
        CASE WHEN l.ended_at >= l.started_at AND NOT coalesce(l.abandoned OR l.blocked, false)
            THEN epoch(l.ended_at) - epoch(l.started_at) END AS handle_s,
        CASE WHEN l.answered_at >= l.queued_at THEN epoch(l.answered_at) - epoch(l.queued_at) END AS wait_s,
        {_answer_within_sql(config)} AS answer_within_s,
        NOT coalesce(l.blocked, false) AND (l.abandoned IS NOT NULL OR l.answered_at IS NOT NULL) AS queue_known,
        bool_or(l.answered_at >= l.queued_at) OVER (PARTITION BY l.provider) AS answers_recorded,
        CAST(timezone({sql_literal(config.timezone)}, l.started_at) AS DATE) AS work_day,
        {end_score} AS sent_end_score,
        {change} AS sent_change,
        (l.customer_id IS NOT NULL AND l.started_at IS NOT NULL AND NOT coalesce(l.abandoned OR l.blocked, false)
            {"AND rm.category IS NOT NULL" if same_category else ""}) AS chainable
    FROM labelled l
    LEFT JOIN {reason_map} rm ON rm.reason = l.reason_label
    LEFT JOIN {outcome_map} om ON om.outcome = l.outcome_label
), staffed AS (
    SELECT m.*, {_hours_sql(source)} AS cph_hours
    FROM mapped m{_agent_days_join(config) if source.has_agent_hours else ""}
)
SELECT contact_id, customer_id, provider, channel, agent_id, queue, started_at,
    reason_label, reason_source, category, outcome_label, outcome_source,
    resolved, window_s, start_s, anchor_s, handle_s, sent_end_score, sent_change, chainable,
    sentiment_end IS NOT NULL AND sent_end_score IS NULL AS sentiment_unscored,
    est_reason_right, est_outcome_right, est_code_right,
    ended_at IS NULL AS no_end, coalesce(ended_at < started_at, false) AS bad_end,
    CASE WHEN NOT is_abandoned THEN wait_s END AS answer_wait_s,
    handled AND cph_hours IS NOT NULL AS cph_contact, cph_hours,
    {_cost_sql(config)} AS cost,
    CASE WHEN survey_nps >= 9 THEN 100.0 WHEN survey_nps <= 6 THEN -100.0 WHEN survey_nps IS NOT NULL THEN 0.0
        END AS nps_score,
    {", ".join(f"{sql} AS {column}" for column, sql in contact_flags(config).columns.items())}
FROM staffed
"""


def _answer_within_sql(config: MetricsConfig) -> str:
    """The service level's target wait of each contact: its queue's, else its channel's, else the default."""
    targets = config.targets.answer_within_s
    cases = [f"WHEN l.queue = {sql_literal(q)} THEN {s!r}" for q, s in targets.queues.items()]
    cases += [f"WHEN l.channel = {sql_literal(c)} THEN {s!r}" for c, s in targets.channels.items()]
    return f"(CASE {' '.join(cases)} ELSE {targets.default!r} END)" if cases else repr(targets.default)


def _hours_sql(source: MetricsSource) -> str:
    """The hours a handled contact stands for in contacts per hour: its share of its agent's logged-in
    hours that day (shared evenly among the agent's handled contacts of the day) when agent hours are
    given, else its own handle time."""
    if not source.has_agent_hours:
        return "CASE WHEN m.handled THEN m.handle_s / 3600.0 END"
    return (
        "CASE WHEN m.handled AND m.agent_id IS NOT NULL THEN ah.hours / sum(CASE WHEN m.handled THEN 1 ELSE 0 END) "
        "OVER (PARTITION BY m.agent_id, m.work_day) END"
    )


def _agent_days_join(config: MetricsConfig) -> str:
    """Logged-in hours per agent and day of the login, in the report's time zone."""
    day = f"CAST(timezone({sql_literal(config.timezone)}, logged_in_at) AS DATE)"
    return (
        f" LEFT JOIN (SELECT agent_id, {day} AS day, sum(hours) AS hours FROM agent_hours GROUP BY 1, 2) ah "
        "ON ah.agent_id = m.agent_id AND ah.day = m.work_day"
    )


def _cost_sql(config: MetricsConfig) -> str:
    """What a handled contact cost under its provider's rate card; NULL without a card (never free)."""
    cards = config.targets.rate_cards
    if not cards:
        return "NULL::DOUBLE"
    per = {"contact": "1.0", "minute": "handle_s / 60.0", "hour": "cph_hours"}
    cases = " ".join(f"WHEN provider = {sql_literal(p)} THEN {c.amount!r} * {per[c.per]}" for p, c in cards.items())
    return f"CASE WHEN handled THEN (CASE {cases} END) END"


def _links_sql(table: str, base: str, config: MetricsConfig, as_of: str) -> str:
    """Per contact, in row-id order: is it a repeat, is it followed by one, has its window closed.

    Only the narrow columns go through the sort of the window functions."""
    key = "category" if config.window_mode == "same_category" else "''"
    return f"""
CREATE TEMP TABLE {table} AS
SELECT rid,
    coalesce(chainable AND start_s - prev_anchor_s <= window_s, false) AS is_repeat,
    coalesce(chainable AND next_start_s - anchor_s <= window_s, false) AS followed,
    coalesce(chainable AND anchor_s + window_s <= {as_of}, false) AS window_closed,
    coalesce(chainable AND next_start_s - anchor_s <= window_s AND next_start_s <= {as_of}, false) AS repeat_seen
FROM (
    SELECT rowid AS rid, chainable, start_s, anchor_s, window_s,
        lag(anchor_s) OVER w AS prev_anchor_s, lead(start_s) OVER w AS next_start_s
    FROM {base}
    WINDOW w AS (PARTITION BY chainable, customer_id, {key} ORDER BY start_s, contact_id)
)
ORDER BY rid
"""


def _chained_sql(table: str, base: str, links: str, positional: bool) -> str:
    """The chained contacts: the base table beside its links, with the issue states as booleans (cheaper to
    count than a state string; :func:`contact_issues` spells the state out)."""
    join = f"{base} b POSITIONAL JOIN {links} l" if positional else f"{base} b JOIN {links} l ON l.rid = b.rowid"
    return f"""
CREATE TEMP VIEW {table} AS
WITH joined AS (
    SELECT b.*, b.rowid AS base_rid, l.rid AS links_rid, l.is_repeat, l.followed, l.window_closed,
        l.repeat_seen, b.chainable AND NOT l.is_repeat AS is_first,
        b.chainable AND NOT l.is_repeat AND (l.window_closed OR l.repeat_seen) AS issue_closed
    FROM {join}
)
SELECT *,
    is_first AND NOT issue_closed AS issue_pending,
    issue_closed AND NOT window_closed AS issue_repeat_early,
    issue_closed AND resolved IS NULL AS issue_unknown,
    coalesce(is_first AND window_closed AND resolved AND NOT followed, false) AS issue_fcr,
    issue_closed AND resolved IS NOT NULL AS issue_decided,
    chainable AND (repeat_seen OR window_closed) AS repeat_decided
FROM joined
"""


def _data_quality(con: duckdb.DuckDBPyConnection, table: str, config: MetricsConfig, as_of: str) -> dict[str, Any]:
    """Counts that say which contacts could not feed which numbers, and where the labels came from."""
    sources = [f"coalesce(count_if(reason_source = {sql_literal(s)}), 0)" for s in config.label_priority]
    outcome_sources = [f"coalesce(count_if(outcome_source = {sql_literal(s)}), 0)" for s in config.label_priority]
    row = first_row(
        con,
        f"""SELECT count(*),
            coalesce(count_if(customer_id IS NULL), 0),
            coalesce(count_if(started_at IS NULL), 0),
            coalesce(count_if(no_end), 0),
            coalesce(count_if(bad_end), 0),
            coalesce(count_if(reason_label IS NULL), 0),
            coalesce(count_if(reason_label IS NOT NULL AND category IS NULL), 0),
            coalesce(count_if(outcome_label IS NULL), 0),
            coalesce(count_if(outcome_label IS NOT NULL AND resolved IS NULL), 0),
            coalesce(count_if(NOT chainable), 0),
            coalesce(count_if(sentiment_unscored), 0),
            coalesce(count_if(start_s > {as_of}), 0),
            {", ".join(sources)}, {", ".join(outcome_sources)}
        FROM {table}""",
    )
    names = (
        "contacts",
        "no_customer_id",
        "no_started_at",
        "no_ended_at",
        "ended_before_started",
        "no_reason_label",
        "reason_outside_taxonomy",
        "no_outcome_label",
        "outcome_outside_taxonomy",
        "not_chainable",
        "sentiment_outside_scores",
        "started_after_as_of",
    )
    values = list(row or ())
    quality: dict[str, Any] = {name: int(values[i]) for i, name in enumerate(names)}
    k = len(names)
    p = len(config.label_priority)
    quality["reason_label_source"] = {s: int(values[k + i]) for i, s in enumerate(config.label_priority)}
    quality["outcome_label_source"] = {s: int(values[k + p + i]) for i, s in enumerate(config.label_priority)}
    return quality


def _contact_rate_sql(config: MetricsConfig) -> dict[str, tuple[str, str]]:
    """(numerator condition, denominator condition) of every rate of a single contact."""
    known = "resolved IS NOT NULL AND handled"  # an abandoned or blocked contact was never handled
    agent_code = "agent_reason IS NOT NULL AND agent_outcome IS NOT NULL"
    audit_code = "audit_reason IS NOT NULL AND audit_outcome IS NOT NULL"
    model_code = "model_reason IS NOT NULL AND model_outcome IS NOT NULL"
    return {
        "resolution_rate": ("resolved", known),
        "escalation_rate": (_sql_in_list("outcome_label", config.escalation_outcomes), known),
        "transfer_rate": (_sql_in_list("outcome_label", config.transfer_outcomes), known),
        "callback_rate": (_sql_in_list("outcome_label", config.callback_outcomes), known),
        "sentiment_negative": ("sent_end_score < 0", "sent_end_score IS NOT NULL"),
        "sentiment_positive": ("sent_end_score > 0", "sent_end_score IS NOT NULL"),
        "upsell_rate": (f"upsell_probability >= {float(config.upsell_threshold)!r}", "upsell_probability IS NOT NULL"),
        "service_level": (
            "NOT is_abandoned AND wait_s <= answer_within_s",
            # an abandoned contact counts only beside answered ones whose waits its provider records
            "queue_known AND answers_recorded AND (is_abandoned OR wait_s IS NOT NULL)",
        ),
        "abandonment_rate": ("is_abandoned", "queue_known"),
        "blockage_rate": ("is_blocked", "blocked IS NOT NULL"),
        "csat": ("survey_csat >= 4", "survey_csat IS NOT NULL"),
        "agent_model_agreement_reason": (
            "agent_reason = model_reason",
            "agent_reason IS NOT NULL AND model_reason IS NOT NULL",
        ),
        "agent_model_agreement_outcome": (
            "agent_outcome = model_outcome",
            "agent_outcome IS NOT NULL AND model_outcome IS NOT NULL",
        ),
        "agent_accuracy_reason": (
            "agent_reason = audit_reason",
            "agent_reason IS NOT NULL AND audit_reason IS NOT NULL AND audit_uniform",
        ),
        "agent_accuracy_outcome": (
            "agent_outcome = audit_outcome",
            "agent_outcome IS NOT NULL AND audit_outcome IS NOT NULL AND audit_uniform",
        ),
        "agent_accuracy_code": (
            "agent_reason = audit_reason AND agent_outcome = audit_outcome",
            f"{agent_code} AND {audit_code} AND audit_uniform",
        ),
        "model_accuracy_reason": (
            "model_reason = audit_reason",
            "model_reason IS NOT NULL AND audit_reason IS NOT NULL AND audit_uniform",
        ),
        "model_accuracy_outcome": (
            "model_outcome = audit_outcome",
            "model_outcome IS NOT NULL AND audit_outcome IS NOT NULL AND audit_uniform",
        ),
        "model_accuracy_code": (
            "model_reason = audit_reason AND model_outcome = audit_outcome",
            f"{model_code} AND {audit_code} AND audit_uniform",
        ),
    }
