"""Contact-center metrics from labelled contacts: resolution rate, first-contact resolution, repeat,
escalation, transfer and callback rates, handle time, sentiment, upsell, label agreement and
accuracy, by any slice, and the outsourced-provider scorecard. Definitions: docs/metrics.md.

For a service, one call per endpoint (every result is a JSON-serialisable dict)::

    from dispo.metrics import MetricsConfig, open_source, compute_metrics, provider_scorecard

    source = open_source("labelled.parquet", audits=audits_table)   # Parquet path/glob or Arrow table
    config = MetricsConfig(label_priority=("audit", "agent", "model"))

    compute_metrics(source, config)                          # GET /v1/metrics             (overall)
    compute_metrics(source, config, slice_by="provider")     # GET /v1/metrics/by/provider (any of DIMENSIONS,
    compute_metrics(source, config, ("provider", "week"))    #      or several: provider x week)
    provider_scorecard(source, config)                       # GET /v1/metrics/scorecard
    compare_label_sources(source, config, ("agent", "model"))  # GET /v1/metrics/labels (agent vs model FCR)
    reason_mix(source, config)                               # GET /v1/metrics/reasons
    contact_issues(source, config)                           # drill-down: issue of each contact (Arrow table)
    report_data(source, config)                              # the dashboard page: everything above at once

A source caches its chained contacts and aggregates per configuration, so keep one open per data
snapshot (it is thread-safe: queries hold ``source.lock``) and open a new one when the data changes.
``dispo report`` (:mod:`dispo.metrics.cli`) writes the same as an HTML page with CSV tables.
"""

from __future__ import annotations

from dispo.metrics.config import MetricsConfig, SlaTargets
from dispo.metrics.definitions import DIMENSIONS, METRICS, MetricSpec
from dispo.metrics.engine import compare_label_sources, compute_metrics, contact_issues, reason_mix
from dispo.metrics.report import report_data, write_report
from dispo.metrics.scorecard import provider_scorecard
from dispo.metrics.source import MetricsInputError, MetricsSource, open_source

__all__ = [
    "DIMENSIONS",
    "METRICS",
    "MetricSpec",
    "MetricsConfig",
    "MetricsInputError",
    "MetricsSource",
    "SlaTargets",
    "compare_label_sources",
    "compute_metrics",
    "contact_issues",
    "open_source",
    "provider_scorecard",
    "reason_mix",
    "report_data",
    "write_report",
]
