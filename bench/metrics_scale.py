"""Benchmark: the full metric set and the provider scorecard over 1,000,000 labelled contacts.

Generates a synthetic labelled-contact table (the columns of ``dispo.labelled.LABELLED_SCHEMA``)
with numpy, vectorised: customers who come back about the same issue (more often after an
unresolved outcome, mostly about the same reason, sometimes another reason of the same category,
sometimes something else, some after the window has closed), five providers with different
resolution rates, agents, queues, channels, handle times (1% without ``ended_at``), end sentiment,
upsell probabilities, agent codes with mistakes, and a 2% QA audit sample (some contacts audited
twice). Writes it to Parquet, then times, from Parquet with DuckDB:

- ``core``: opening the source (schema and uniqueness checks), chaining, every metric overall and
  per provider, channel, agent, queue, reason, category, day, week and month, and the scorecard;
- ``report_extras``: FCR and the rest from agent codes beside model codes, and the reason mix.

    python bench/metrics_scale.py --contacts 1000000 --threads 2 --out bench/results/metrics_scale.json

Target (issue 7): the core set in at most 10 s for 1,000,000 contacts on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dispo.cli import configure_logging
from dispo.labelled import LABELLED_SCHEMA
from dispo.metrics.config import MetricsConfig
from dispo.metrics.definitions import DIMENSIONS
from dispo.metrics.engine import compare_label_sources, compute_metrics, reason_mix
from dispo.metrics.scorecard import provider_scorecard
from dispo.metrics.source import open_source
from dispo.taxonomy import Taxonomy, load_taxonomy

logger = logging.getLogger("bench.metrics_scale")

TARGET_S = 10.0
START = datetime(2026, 1, 5, tzinfo=UTC)
PROVIDERS = ("inhouse", "bluepeak_bpo", "teleserve_global", "orbit_cx", "meridian_contact")
PROVIDER_RESOLVED = np.array([0.62, 0.55, 0.44, 0.52, 0.58])
AGENTS_PER_PROVIDER = np.array([16, 14, 14, 10, 8])
CHANNELS = ("voice", "chat", "email", "sms", "social", "mobile_app")
CHANNEL_MIX = np.array([0.36, 0.28, 0.14, 0.07, 0.05, 0.10])
QUEUES = ("orders", "billing", "accounts", "general")
# Outcomes other than resolved, in the taxonomy's order, and how they share the unresolved mass.
OTHER_OUTCOMES = ("escalated", "transferred", "callback_scheduled", "unresolved")
OTHER_SHARE = np.array([0.27, 0.25, 0.22, 0.26])
FOLLOW_UP = {"resolved": 0.05, "other": 0.35}


def _strings(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pa.array(numbers).cast(pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, "")


def _take(names: tuple[str, ...] | list[str], index: np.ndarray) -> pa.Array:
    """Strings from a small vocabulary by index, built as a dictionary array (no Python loop)."""
    indices = pa.array(index.astype(np.int32))
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(names))).cast(pa.string())


def _outcomes(rng: np.random.Generator, provider: np.ndarray) -> np.ndarray:
    """Index into ("resolved", *OTHER_OUTCOMES): resolved with the provider's rate, else by OTHER_SHARE."""
    resolved = rng.random(provider.size) < PROVIDER_RESOLVED[provider]
    other = rng.choice(len(OTHER_OUTCOMES), size=provider.size, p=OTHER_SHARE) + 1
    return np.where(resolved, 0, other)


def synthetic_labelled(n: int, seed: int, taxonomy: Taxonomy, days: int = 90) -> tuple[pa.Table, pa.Table]:
    """``n`` labelled contacts and their QA audits, vectorised (see the module docstring)."""
    rng = np.random.default_rng(seed)
    # Over-generate, then keep the first n by start time: the data ends mid-stream, as an export does,
    # with follow-ups of the last days cut off (their issues are pending).
    wanted, n = n, int(n * 1.05) + 10
    reasons = list(taxonomy.reason_names)
    categories = [c.name for c in taxonomy.categories]
    reason_cat = np.array([categories.index(taxonomy.category_of(r)) for r in reasons])
    reason_p = rng.dirichlet(np.full(len(reasons), 2.0))
    # Same-category siblings as a padded matrix, to draw "another reason of the same category" vectorised.
    members = [np.flatnonzero(reason_cat == c) for c in range(len(categories))]
    width = max(len(m) for m in members)
    sibling = np.array([np.resize(m, width) for m in members])
    n_siblings = np.array([len(m) for m in members])

    n_first = int(n * 0.82)
    customers = rng.integers(0, int(n_first * 0.75), n_first)
    start = rng.uniform(0, days * 86_400.0, n_first)
    reason = rng.choice(len(reasons), size=n_first, p=reason_p)
    parts = [(customers, start, reason)]
    # Two rounds of follow-ups: repeats of first contacts, then repeats of those repeats.
    provisional = rng.random(n_first) < 0.55  # resolved or not, only to weigh who comes back
    remaining = n - n_first
    parent_c, parent_s, parent_r, parent_res = customers, start, reason, provisional
    for share in (0.8, 1.0):
        k = int(remaining * share) if share < 1.0 else remaining
        remaining -= k
        weight = np.where(parent_res, FOLLOW_UP["resolved"], FOLLOW_UP["other"])
        pick = rng.choice(parent_c.size, size=k, p=weight / weight.sum())
        delay = rng.exponential(3.0 * 86_400.0, k) + 3_600.0
        u = rng.random(k)
        same_cat = sibling[
            reason_cat[parent_r[pick]], rng.integers(0, 1 << 30, k) % n_siblings[reason_cat[parent_r[pick]]]
        ]
        new_reason = np.where(u < 0.72, parent_r[pick], np.where(u < 0.88, same_cat, rng.integers(0, len(reasons), k)))
        parts.append((parent_c[pick], parent_s[pick] + delay, new_reason))
        parent_c, parent_s, parent_r = parent_c[pick], parent_s[pick] + delay, new_reason
        parent_res = rng.random(k) < 0.45

    customer = np.concatenate([p[0] for p in parts])
    start = np.concatenate([p[1] for p in parts])
    reason = np.concatenate([p[2] for p in parts])
    order = np.argsort(start, kind="stable")[:wanted]
    customer, start, reason = customer[order], start[order], reason[order]
    n = wanted

    provider_of_agent = np.repeat(np.arange(len(PROVIDERS)), AGENTS_PER_PROVIDER)
    provider_p = np.array([0.30, 0.25, 0.20, 0.15, 0.10])
    provider = rng.choice(len(PROVIDERS), size=n, p=provider_p)
    first_agent = np.concatenate([[0], np.cumsum(AGENTS_PER_PROVIDER)[:-1]])
    agent = first_agent[provider] + rng.integers(0, 1 << 30, n) % AGENTS_PER_PROVIDER[provider]
    assert (provider_of_agent[agent] == provider).all()
    channel = rng.choice(len(CHANNELS), size=n, p=CHANNEL_MIX)
    queue = reason_cat % len(QUEUES)
    outcome = _outcomes(rng, provider)
    handle = rng.lognormal(np.log(420.0), 0.6, n) * np.where(channel == CHANNELS.index("email"), 4.0, 1.0)
    has_end = rng.random(n) >= 0.01
    start_us = (START.timestamp() + start) * 1e6
    end_us = start_us + handle * 1e6
    resolved = outcome == 0
    u = rng.random(n)
    sentiment = np.where(
        resolved, np.select([u < 0.10, u < 0.50], [0, 1], 2), np.select([u < 0.50, u < 0.90], [0, 1], 2)
    )
    wrong_reason = rng.random(n) < 0.12
    sib = sibling[reason_cat[reason], rng.integers(0, 1 << 30, n) % n_siblings[reason_cat[reason]]]
    agent_reason = np.where(wrong_reason, np.where(rng.random(n) < 0.6, sib, rng.integers(0, len(reasons), n)), reason)
    agent_outcome = np.where(rng.random(n) < 0.07, rng.integers(0, 5, n), outcome)
    outcome_names = ["resolved", *OTHER_OUTCOMES]
    model_reason = np.where(rng.random(n) < 0.05, sib, reason)  # the model is wrong less often than agents

    ids = np.arange(1, n + 1)
    contacts = pa.table(
        {
            "contact_id": _strings("B-", ids, 8),
            "customer_id": _strings("K-", customer, 7),
            "channel": _take(CHANNELS, channel),
            "provider": _take(PROVIDERS, provider),
            "agent_id": _strings("AG-", agent, 3),
            "queue": _take(QUEUES, queue[reason]),
            "started_at": pa.array(start_us.astype(np.int64), pa.timestamp("us", tz="UTC")),
            "ended_at": pa.array(end_us.astype(np.int64), pa.timestamp("us", tz="UTC"), mask=~has_end),
            "n_turns": pa.array(rng.integers(2, 80, n).astype(np.int32)),
            "model_version": pa.array(np.full(n, "bench-v1")),
            "reason": _take(reasons, model_reason),
            "reason_probability": pa.array(rng.uniform(0.4, 1.0, n).astype(np.float32)),
            "outcome": _take(outcome_names, outcome),
            "sentiment": _take(list(taxonomy.sentiments), sentiment),
            "upsell_probability": pa.array(rng.beta(0.6, 3.0, n).astype(np.float32)),
            "agent_reason": _take(reasons, agent_reason),
            "agent_outcome": _take(outcome_names, agent_outcome),
        }
    )
    missing = [f for f in LABELLED_SCHEMA if f.name not in contacts.column_names]
    for f in missing:
        contacts = contacts.append_column(f, pa.nulls(n, f.type))
    contacts = contacts.select(LABELLED_SCHEMA.names).cast(LABELLED_SCHEMA)

    audited = np.flatnonzero(rng.random(n) < 0.02)
    twice = audited[rng.random(audited.size) < 0.1]
    rows = np.concatenate([audited, twice])
    decided = (np.concatenate([end_us[audited] + 2 * 86_400e6, end_us[twice] + 86_400e6])).astype(np.int64)
    audit_reason = np.where(rng.random(rows.size) < 0.03, sib[rows], reason[rows])
    audits = pa.table(
        {
            "contact_id": _strings("B-", ids[rows], 8),
            "audit_reason": _take(reasons, audit_reason),
            "audit_outcome": _take(outcome_names, outcome[rows]),
            "decided_at": pa.array(decided, pa.timestamp("us", tz="UTC")),
        }
    )
    return contacts, audits


def core_metrics(data: Path, audits: Path, config: MetricsConfig, threads: int) -> dict[str, Any]:
    """What the core timing covers: open, every metric overall and by every dimension, the scorecard."""
    with open_source(data, audits=audits, threads=threads) as source:
        results = {dim: compute_metrics(source, config, slice_by=dim) for dim in DIMENSIONS}
        scorecard = provider_scorecard(source, config)
    return {"slices": results, "scorecard": scorecard}


def report_extras(data: Path, audits: Path, config: MetricsConfig, threads: int) -> dict[str, Any]:
    with open_source(data, audits=audits, threads=threads) as source:
        compute_metrics(source, config)  # chaining of the configured labels, as the report has it
        return {
            "comparison": compare_label_sources(source, config, ("agent", "model"), slice_by="provider"),
            "reason_mix": reason_mix(source, config),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; the median is reported")
    parser.add_argument("--work", type=Path, default=None, help="folder for the Parquet files (default: a temp dir)")
    parser.add_argument("--out", type=Path, default=Path("bench/results/metrics_scale.json"))
    args = parser.parse_args()
    configure_logging("INFO")

    taxonomy = load_taxonomy()
    t0 = time.perf_counter()
    contacts, audits = synthetic_labelled(args.contacts, args.seed, taxonomy)
    generate_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        data_path, audit_path = work / "labelled.parquet", work / "audits.parquet"
        pq.write_table(contacts, data_path)
        pq.write_table(audits, audit_path)
        logger.info(
            "generated %d contacts and %d audit decisions in %.1f s (%.1f MB of Parquet)",
            contacts.num_rows,
            audits.num_rows,
            generate_s,
            data_path.stat().st_size / 1e6,
        )
        config = MetricsConfig()
        core_times, core_cpu, extra_times = [], [], []
        result: dict[str, Any] = {}
        load_before = os.getloadavg()
        for _ in range(args.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            result = core_metrics(data_path, audit_path, config, args.threads)
            core_times.append(time.perf_counter() - t0)
            core_cpu.append(time.process_time() - c0)
            t0 = time.perf_counter()
            report_extras(data_path, audit_path, config, args.threads)
            extra_times.append(time.perf_counter() - t0)
            logger.info("core %.2f s (%.2f CPU-s), report extras %.2f s", core_times[-1], core_cpu[-1], extra_times[-1])
        load_after = os.getloadavg()
    overall = result["slices"]["provider"]["overall"]
    core_median = float(np.median(core_times))
    summary = {
        "benchmark": "metrics_scale",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), "python": platform.python_version()},
        "duckdb_threads": args.threads,
        "contacts": contacts.num_rows,
        "audit_decisions": audits.num_rows,
        "seed": args.seed,
        "generate_s": round(generate_s, 2),
        "core_s": {"median": round(core_median, 3), "runs": [round(t, 3) for t in core_times]},
        # CPU time of the process (all DuckDB threads): what the work costs whatever else runs on the machine.
        "core_cpu_s": {"median": round(float(np.median(core_cpu)), 3), "runs": [round(t, 3) for t in core_cpu]},
        "load_average_1min": {"before": round(load_before[0], 2), "after": round(load_after[0], 2)},
        "report_extras_s": {
            "median": round(float(np.median(extra_times)), 3),
            "runs": [round(t, 3) for t in extra_times],
        },
        "core_covers": ["open + checks", "chaining", "overall", *[f"by {d}" for d in DIMENSIONS], "scorecard"],
        "target_s": TARGET_S,
        "meets_target": core_median <= TARGET_S,
        "headline": {
            name: overall[name]["value"]
            for name in ("resolution_rate", "fcr", "repeat_rate", "issues", "issues_pending", "aht_s")
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    logger.info(
        "%d contacts: core metric set + scorecard %.2f s (target %.0f s), report extras %.2f s; wrote %s",
        contacts.num_rows,
        core_median,
        TARGET_S,
        summary["report_extras_s"]["median"],
        args.out,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
