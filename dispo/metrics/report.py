"""The metrics report: one HTML page with charts, CSV tables and a JSON file with every number.

``write_report(source, config, folder)`` writes:

- ``report.html``: the definitions used, data notes, headline metrics with intervals, agent codes
  beside model labels, the provider scorecard (table and heat map), the FCR trend, the reason mix,
  channel shares and the metrics by provider, channel, queue and month; charts are PNGs embedded
  in the page, so the file stands alone;
- ``metrics.json``: everything the page shows, and the slices it only links to;
- CSV tables: ``overall.csv``, ``by_<dimension>.csv`` (provider, channel, agent, queue, reason,
  category, day, week, month), ``provider_week.csv``, ``scorecard.csv``, ``label_sources.csv``,
  ``reason_mix.csv``.

Figures use matplotlib's object API on an Agg canvas (no pyplot state), safe in a server thread.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from dispo.metrics.config import MetricsConfig, SlaTargets
from dispo.metrics.definitions import DIMENSIONS, METRIC_INDEX, METRICS, OUTSOURCING_METRICS
from dispo.metrics.engine import compare_label_sources, compute_metrics, reason_mix
from dispo.metrics.scorecard import meets_target, provider_scorecard
from dispo.metrics.source import MetricsSource

logger = logging.getLogger(__name__)

HEADLINE = (
    "resolution_rate",
    "fcr",
    "repeat_rate",
    "escalation_rate",
    "transfer_rate",
    "callback_rate",
    "aht_s",
    "sentiment_score",
    "sentiment_negative",
    "sentiment_change",
    "upsell_rate",
    "agent_model_agreement_reason",
    "agent_accuracy_code",
    "model_accuracy_code",
)
#: Metrics shown for each label source: those that depend on the reason and outcome labels.
LABEL_DEPENDENT = ("resolution_rate", "fcr", "repeat_rate", "escalation_rate", "transfer_rate", "callback_rate")
PAGE_SLICES = ("provider", "channel", "queue", "month")
PAGE_SLICE_METRICS = ("contacts", "resolution_rate", "fcr", "repeat_rate", "escalation_rate", "aht_s", "upsell_rate")
DPI = 100


# -- formatting --------------------------------------------------------------------------------------
def format_value(metric: str, value: Any) -> str:
    """A metric value as the page shows it: rates in %, handle time in m:ss, scores signed."""
    if value is None:
        return "–"
    spec = METRIC_INDEX.get(metric)
    if spec is None or spec.kind == "count":
        return f"{int(value):,}" if isinstance(value, int | float) else str(value)
    if spec.unit == "%":
        return f"{100.0 * value:.1f}%"
    if spec.unit == "s":
        minutes, seconds = divmod(round(value), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
    if spec.unit == "/h":
        return f"{value:.2f}/h"
    if spec.unit == "cost":
        return f"{value:,.2f}"
    if spec.unit == "points":
        return f"{value:+.1f}"
    return f"{value:+.2f}"


def format_interval(metric: str, entry: Mapping[str, Any]) -> str:
    if entry.get("ci_low") is None or entry.get("ci_high") is None:
        return ""
    return f"{format_value(metric, entry['ci_low'])} – {format_value(metric, entry['ci_high'])}"


def flatten_metrics(metrics: Mapping[str, Mapping[str, Any]], names: Sequence[str] | None = None) -> dict[str, Any]:
    """CSV columns of a metrics dict: ``m`` (the value) and, for rates and means, ``m_k``, ``m_n``,
    ``m_ci_low``, ``m_ci_high``."""
    out: dict[str, Any] = {}
    for name in names or [m.name for m in METRICS]:
        entry = metrics[name]
        out[name] = entry["value"]
        if METRIC_INDEX[name].kind == "rate":
            out[f"{name}_k"] = entry["k"]
        if METRIC_INDEX[name].kind != "count":
            out[f"{name}_n"] = entry["n"]
            out[f"{name}_ci_low"] = entry["ci_low"]
            out[f"{name}_ci_high"] = entry["ci_high"]
        if METRIC_INDEX[name].kind == "ratio":
            out[f"{name}_hours"] = entry["hours"]
    return out


#: A text cell starting with one of these is a formula to a spreadsheet (CSV injection, OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell: empty for None; text a spreadsheet would run as a formula (an agent id,
    provider or queue name from the input) is prefixed with ``'``, so it shows as text. Numbers are
    written as they are (a negative score is a number, not a formula)."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(path: Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Rows of dicts as CSV; the header is the union of the keys in first-seen order."""
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[csv_cell(c) for c in columns])
        writer.writeheader()
        for row in rows:
            writer.writerow({csv_cell(k): csv_cell(row.get(k)) for k in columns})
    return path


# -- charts ----------------------------------------------------------------------------------------
def _png(figure: Figure) -> str:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def fcr_trend_png(
    overall: Sequence[Mapping[str, Any]], by_provider: Sequence[Mapping[str, Any]], min_n: int = 1
) -> str | None:
    """Weekly FCR: all providers with its confidence band, and one line per provider. Points with fewer
    than ``min_n`` decided issues are left out (the last weeks are mostly pending)."""
    points = [(g["key"]["week"], g["metrics"]["fcr"]) for g in overall if g["key"]["week"] is not None]
    points = [(week, entry) for week, entry in points if entry["value"] is not None and entry["n"] >= min_n]
    if not points:
        return None
    figure = Figure(figsize=(9.0, 4.2), layout="constrained")
    axes = figure.add_subplot()
    x = np.arange(len(points))
    weeks = [week for week, _ in points]
    index = {week: i for i, week in enumerate(weeks)}
    axes.fill_between(
        x, [e["ci_low"] for _, e in points], [e["ci_high"] for _, e in points], color="#bbbbbb", alpha=0.5, lw=0
    )
    axes.plot(x, [e["value"] for _, e in points], color="black", lw=2.2, label="all providers")
    providers = sorted({g["key"]["provider"] or "(no provider)" for g in by_provider})
    for provider in providers:
        series = [
            (index[g["key"]["week"]], g["metrics"]["fcr"]["value"])
            for g in by_provider
            if (g["key"]["provider"] or "(no provider)") == provider
            and g["key"]["week"] in index
            and g["metrics"]["fcr"]["value"] is not None
            and g["metrics"]["fcr"]["n"] >= min_n
        ]
        if series:
            axes.plot([p[0] for p in series], [p[1] for p in series], lw=1.2, marker="o", ms=3, label=provider)
    axes.set_xticks(x, labels=weeks, rotation=60, fontsize=7)
    axes.set_ylabel("first-contact resolution")
    axes.set_ylim(0, 1)
    axes.set_title("FCR by week of the issue's first contact (band: all providers' interval)", fontsize=10)
    axes.legend(fontsize=7, ncols=3, loc="lower left")
    axes.grid(alpha=0.3)
    return _png(figure)


def heatmap_png(scorecard: Mapping[str, Any]) -> str | None:
    """Providers x scorecard metrics, coloured by how far each provider is from the others (green is
    better, in the metric's own direction), annotated with the value and its target check."""
    rows = scorecard["rows"]
    metrics = [m for m in scorecard["metrics"] if any(r["metrics"][m]["value"] is not None for r in rows)]
    if not rows or not metrics:
        return None
    goodness = np.full((len(rows), len(metrics)), np.nan)
    for j, metric in enumerate(metrics):
        direction = METRIC_INDEX[metric].higher_is_better
        deltas = [r["metrics"][metric]["delta_vs_others"] for r in rows]
        scale = max((abs(d) for d in deltas if d is not None), default=0.0)
        for i, delta in enumerate(deltas):
            if delta is not None and direction is not None:
                goodness[i, j] = (delta / scale if scale else 0.0) * (1 if direction else -1)
    figure = Figure(figsize=(1.25 * len(metrics) + 2.5, 0.55 * len(rows) + 1.8), layout="constrained")
    axes = figure.add_subplot()
    axes.imshow(np.ma.masked_invalid(goodness), cmap="RdYlGn", vmin=-1, vmax=1, aspect="auto")
    for i, row in enumerate(rows):
        for j, metric in enumerate(metrics):
            entry = row["metrics"][metric]
            mark = {True: " ✓", False: " ✗"}.get(entry["meets_target"], "")
            axes.text(j, i, format_value(metric, entry["value"]) + mark, ha="center", va="center", fontsize=8)
    axes.set_xticks(range(len(metrics)), labels=[METRIC_INDEX[m].title for m in metrics], rotation=30, ha="right")
    axes.set_yticks(range(len(rows)), labels=[r["provider"] for r in rows])
    axes.set_title("Provider scorecard: against the other providers (✓ / ✗: SLA target met / missed)", fontsize=10)
    return _png(figure)


def reason_mix_png(mix: Mapping[str, Any], top: int = 15) -> str | None:
    """Share of contacts per reason as the model, the agents and the audits label them."""
    reasons = mix["reasons"][:top]
    if not reasons:
        return None
    sources = [s for s in mix["totals"] if s != "chosen" and mix["totals"][s]]
    figure = Figure(figsize=(9.0, 0.32 * len(reasons) + 1.5), layout="constrained")
    axes = figure.add_subplot()
    y = np.arange(len(reasons))
    height = 0.8 / max(1, len(sources))
    for k, src in enumerate(sources):
        axes.barh(y + k * height, [r[f"{src}_share"] or 0.0 for r in reasons], height=height, label=f"{src} labels")
    axes.set_yticks(y + height * (len(sources) - 1) / 2, labels=[r["reason"] for r in reasons], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel("share of contacts")
    axes.set_title(f"Reason mix (top {len(reasons)} by the chosen labels)")
    axes.legend(fontsize=8)
    axes.grid(axis="x", alpha=0.3)
    return _png(figure)


# -- the data and the files ------------------------------------------------------------------------
def _comparison_sources(source: MetricsSource, config: MetricsConfig) -> list[tuple[str, ...]]:
    sources: list[tuple[str, ...]] = []
    if "agent_reason" in source.columns or "agent_outcome" in source.columns:
        sources.append(("agent",))
    if "reason" in source.columns or "outcome" in source.columns:
        sources.append(("model",))
    if tuple(config.label_priority) not in sources:
        sources.append(tuple(config.label_priority))
    return sources


def report_data(
    source: MetricsSource, config: MetricsConfig | None = None, *, model_labels: str = "model"
) -> dict[str, Any]:
    """Everything the report shows, JSON-serialisable (this is ``metrics.json``). ``model_labels``:
    what the labels in the model's columns are called; a contact file's own labels take that place
    (``file``), and the report names them so, not "model"."""
    config = config or MetricsConfig()
    headline = compute_metrics(source, config)
    slices = {dim: compute_metrics(source, config, dim)["groups"] for dim in DIMENSIONS}
    trend = compute_metrics(source, config, ("provider", "week"))["groups"]
    comparison = compare_label_sources(source, config, _comparison_sources(source, config), slice_by="provider")
    data = {
        "meta": headline["meta"] | {"model_labels": model_labels},
        "config": config.to_dict(),
        "overall": headline["overall"],
        "slices": slices,
        "provider_week": trend,
        "scorecard": provider_scorecard(source, config),
        "label_sources": comparison,
        "reason_mix": reason_mix(source, config),
    }
    return data if model_labels == "model" else _model_labels_named(data, model_labels)


def _model_labels_named(data: dict[str, Any], name: str) -> dict[str, Any]:
    """A copy of ``data`` with the label source "model" called ``name`` wherever a source is named: every
    label priority, the data-quality counts of where each label came from, the label-source comparison
    (keyed by priorities joined with ``>``) and the reason mix (its columns ``model``, ``model_share``)."""

    def renamed(source: str) -> str:
        return ">".join(name if part == "model" else part for part in source.split(">"))

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "label_priority":
                out[key] = [renamed(s) for s in value]
            elif key in ("reason_label_source", "outcome_label_source", "totals"):
                out[key] = {renamed(k): v for k, v in value.items()}
            else:
                out[key] = walk(value)
        return out

    data = walk(data)  # a copy: the source's cached data quality is shared with other results
    comparison = data["label_sources"]
    comparison["sources"] = {renamed(key): value for key, value in comparison["sources"].items()}
    mix = data["reason_mix"]
    mix["reasons"] = [
        {(key.replace("model", name, 1) if key.startswith("model") else key): value for key, value in row.items()}
        for row in mix["reasons"]
    ]
    return data


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dispo metrics report</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
td.good { background: #e3f4e1; } td.bad { background: #fbe2e0; }
.small { color: #999; } .note { color: #555; font-size: 0.9em; }
img { max-width: 100%; }
</style></head><body>
<h1>Contact metrics</h1>
<p class="note">{{ meta.source }} · taxonomy {{ meta.taxonomy }} · labels {{ meta.label_priority|join(" over ") }}
 · repeat window {{ meta.window_mode|replace("_", " ") }} from the previous contact's {{ meta.window_from }}
 · data as of {{ meta.as_of }} ({{ meta.as_of_from }}) · periods in {{ meta.timezone }}
 · intervals {{ (100 * meta.confidence)|round|int }}% (Wilson for rates)</p>
<p class="note">Repeat windows (days):
{% for c, d in meta.windows_days.items() %}{{ c }} {{ d|round(1) }}{% if not loop.last %}, {% endif %}{% endfor %}.
 An issue is closed when its window has closed or a repeat has already come; issues with a single
 contact whose window is still open are pending and left out of FCR.</p>
{% if meta.notes %}<h3>Notes on the data</h3>
<ul class="note">{% for n in meta.notes %}<li>{{ n }}</li>{% endfor %}</ul>{% endif %}

<h2>Headline</h2>
<table><tr><th>metric</th><th>value</th><th>interval</th><th>count</th><th>definition</th></tr>
{% for m in headline %}{% set e = overall[m] %}<tr><td>{{ title(m) }}</td><td>{{ fmt(m, e.value) }}</td>
<td>{{ interval(m, e) }}</td><td>{% if e.k is defined %}{{ e.k }} / {% endif %}{{ e.n if e.n is defined else "" }}</td>
<td class="note" style="text-align:left">{{ e.unavailable or describe(m) }}</td></tr>
{% endfor %}<tr><td>Contacts</td><td>{{ overall.contacts.value }}</td><td></td><td></td><td></td></tr>
<tr><td>Issues (closed, of them repeated early; pending; no outcome)</td><td>{{ overall.issues.value }}</td><td></td>
<td>{{ overall.issues_closed.value }}, {{ overall.issues_repeat_early.value }};
{{ overall.issues_pending.value }}; {{ overall.issues_unknown_outcome.value }}</td><td></td></tr>
</table>

<h2>Agent codes beside {{ meta.model_labels }} labels</h2>
<p class="note">The same definitions computed from each label source:
contact centers usually compute these from agent codes.</p>
<table><tr><th>labels</th>{% for m in label_metrics %}<th>{{ title(m) }}</th>{% endfor %}</tr>
{% for name, res in label_sources.sources.items() %}<tr><td>{{ name }}</td>
{% for m in label_metrics %}<td>{{ fmt(m, res.overall[m].value) }}</td>{% endfor %}</tr>{% endfor %}</table>
<table><tr><th>FCR by provider</th>{% for name in label_sources.sources %}<th>{{ name }}</th>{% endfor %}</tr>
{% for p in fcr_by_source %}<tr><td>{{ p.provider }}</td>
{% for v in p["values"] %}<td>{{ fmt("fcr", v) }}</td>{% endfor %}</tr>{% endfor %}</table>

<h2>Provider scorecard</h2>
<table><tr><th>provider</th><th>contacts</th><th>volume share</th>
{% for m in scorecard.metrics %}<th>{{ title(m) }}</th>{% endfor %}</tr>
{% for r in scorecard.rows %}<tr><td>{{ r.provider }}{% if r.in_house %} (in-house){% endif %}</td>
<td>{{ r.contacts }}</td><td>{{ fmt("resolution_rate", r.volume_share) }}</td>
{% for m in scorecard.metrics %}{% set e = r.metrics[m] %}
<td class="{{ 'good' if e.meets_target == true else ('bad' if e.meets_target == false else '') }}"
 title="target {{ fmt(m, e.target) }}; others {{ fmt(m, e.others) }}; rank {{ e.rank }}; {{ e.vs_others }}">
{{ fmt(m, e.value) }}{% if e.small %} <span class="small">(n={{ e.n }})</span>{% endif %}
{% if e.vs_others in ("better", "worse") %}<br><span class="small">{{ e.vs_others }} than others</span>{% endif %}</td>
{% endfor %}</tr>{% endfor %}
<tr><td>all providers</td><td>{{ scorecard.overall.contacts }}</td><td>100.0%</td>
{% for m in scorecard.metrics %}<td>{{ fmt(m, scorecard.overall.metrics[m].value) }}</td>{% endfor %}</tr></table>
<p class="note">Green / red: the provider's SLA target is met / missed (hover for the target, the other
providers' value and the rank). "better / worse than others": the provider's interval lies entirely on one
side of the other providers' pooled value.</p>
{% if charts.heatmap %}<img alt="scorecard heat map" src="data:image/png;base64,{{ charts.heatmap }}">{% endif %}

<h3>Share of each channel's contacts handled by each provider</h3>
<table><tr><th>provider</th>{% for c in scorecard.channels %}<th>{{ c }}</th>{% endfor %}</tr>
{% for r in scorecard.rows %}<tr><td>{{ r.provider }}</td>
{% for c in scorecard.channels %}<td>{{ fmt("resolution_rate", r.channel_share[c]) }}</td>{% endfor %}</tr>
{% endfor %}</table>

<h2>FCR trend</h2>
{% if charts.trend %}<img alt="FCR trend" src="data:image/png;base64,{{ charts.trend }}">
<p class="note">Weeks and providers with fewer than {{ trend_min_n }} decided issues are left out of the chart
(the last weeks are mostly pending); every week is in by_week.csv and provider_week.csv.</p>
{% else %}<p class="note">No week with a decided issue.</p>{% endif %}

<h2>Outsourcing measures by provider and week</h2>
{% if outsourcing.metrics %}
<table><tr><th>provider</th><th>week</th>{% for m in outsourcing.metrics %}<th>{{ title(m) }}</th>{% endfor %}</tr>
{% for r in outsourcing.rows %}<tr><td>{{ r.provider }}</td><td>{{ r.week }}</td>
{% for m in outsourcing.metrics %}{% set e = r.metrics[m] %}
<td{% if e.meets_target is true %} class="good"{% elif e.meets_target is false %} class="bad"{% endif %}>
{{ fmt(m, e.value) }}{% if e.small and e.value is not none %} <span class="small">(n={{ e.n }})</span>{% endif %}
</td>{% endfor %}</tr>{% endfor %}</table>
<p class="note">Green / red: the provider's SLA target is met / missed. Contacts per hour are per {{ meta.cph_basis }}.
Absent measures ({{ outsourcing.absent | join(", ") or "none" }}) have no inputs in the data; see the notes.</p>
{% else %}<p class="note">No queue events, agent hours, rate cards or surveys in the data.</p>{% endif %}

<h2>Reason mix</h2>
{% if charts.reasons %}<img alt="reason mix" src="data:image/png;base64,{{ charts.reasons }}">{% endif %}

{% for dim, groups in page_slices.items() %}<h2>By {{ dim }}</h2>
<table><tr><th>{{ dim }}</th>{% for m in slice_metrics %}<th>{{ title(m) }}</th>{% endfor %}</tr>
{% for g in groups %}<tr><td>{{ g.key[dim] if g.key[dim] is not none else "(none)" }}</td>
{% for m in slice_metrics %}{% set e = g.metrics[m] %}<td>{{ fmt(m, e.value) }}
{% if e.small %} <span class="small">(n={{ e.n }})</span>{% endif %}</td>{% endfor %}</tr>{% endfor %}</table>
{% endfor %}

<h2>Tables</h2><ul>{% for f in csv_files %}<li><a href="{{ f }}">{{ f }}</a></li>{% endfor %}</ul>
</body></html>
"""


def write_report(
    source: MetricsSource,
    config: MetricsConfig | None,
    folder: str | Path,
    *,
    charts: bool = True,
    model_labels: str = "model",
) -> dict[str, Path]:
    """Write the report files into ``folder`` (created); returns their paths by name. ``model_labels``:
    see :func:`report_data`."""
    config = config or MetricsConfig()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = report_data(source, config, model_labels=model_labels)
    if not data["overall"]["contacts"]["value"]:
        logger.warning("%s holds no contacts: every figure of the report is empty", source.description)
    paths: dict[str, Path] = {}

    paths["overall.csv"] = write_csv(folder / "overall.csv", [flatten_metrics(data["overall"])])
    for dim, groups in data["slices"].items():
        rows = [{**g["key"], **flatten_metrics(g["metrics"])} for g in groups]
        paths[f"by_{dim}.csv"] = write_csv(folder / f"by_{dim}.csv", rows)
    paths["provider_week.csv"] = write_csv(
        folder / "provider_week.csv", [{**g["key"], **flatten_metrics(g["metrics"])} for g in data["provider_week"]]
    )
    paths["scorecard.csv"] = write_csv(folder / "scorecard.csv", scorecard_rows(data["scorecard"]))
    label_rows = []
    for name, result in data["label_sources"]["sources"].items():
        label_rows.append({"labels": name, "provider": "(all)", **flatten_metrics(result["overall"], LABEL_DEPENDENT)})
        for group in result["groups"]:
            label_rows.append({"labels": name, **group["key"], **flatten_metrics(group["metrics"], LABEL_DEPENDENT)})
    paths["label_sources.csv"] = write_csv(folder / "label_sources.csv", label_rows)
    paths["reason_mix.csv"] = write_csv(folder / "reason_mix.csv", data["reason_mix"]["reasons"])
    json_path = folder / "metrics.json"
    json_path.write_text(json.dumps(data, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    paths["metrics.json"] = json_path

    images: dict[str, str | None] = {"trend": None, "heatmap": None, "reasons": None}
    if charts:
        images = {
            "trend": fcr_trend_png(data["slices"]["week"], data["provider_week"], _trend_min_n(config)),
            "heatmap": heatmap_png(data["scorecard"]),
            "reasons": reason_mix_png(data["reason_mix"]),
        }
    html = render_html(data, images, sorted(p for p in paths if p.endswith(".csv")), _trend_min_n(config))
    paths["report.html"] = folder / "report.html"
    paths["report.html"].write_text(html, encoding="utf-8")
    logger.info("wrote the metrics report to %s (%d files)", folder, len(paths))
    return paths


def scorecard_rows(scorecard: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The scorecard as flat CSV rows."""
    rows = []
    for row in scorecard["rows"]:
        flat: dict[str, Any] = {
            "provider": row["provider"],
            "in_house": row["in_house"],
            "contacts": row["contacts"],
            "volume_share": row["volume_share"],
        }
        flat.update({f"channel_share_{c}": v for c, v in row["channel_share"].items()})
        flat.update({f"channel_mix_{c}": v for c, v in row["channel_mix"].items()})
        for metric, entry in row["metrics"].items():
            fields = ("value", "k", "n", "ci_low", "ci_high", "target", "meets_target", "others", "delta_vs_others")
            for field in fields:
                if field != "k" or "k" in entry:  # a rate's count; a mean has none
                    flat[metric if field == "value" else f"{metric}_{field}"] = entry.get(field)
            flat[f"{metric}_vs_others"] = entry["vs_others"]
            flat[f"{metric}_rank"] = entry["rank"]
        rows.append(flat)
    return rows


def _trend_min_n(config: MetricsConfig) -> int:
    return max(1, config.small_group_n)


def outsourcing_by_week(data: Mapping[str, Any]) -> dict[str, Any]:
    """The outsourcing measures the data can give, per provider and week, each against its target."""
    unavailable = {m: e.get("unavailable") for m, e in data["overall"].items()}
    names = [m.name for m in OUTSOURCING_METRICS]
    shown = [m for m in names if not unavailable.get(m)]
    targets = SlaTargets.from_dict(data["config"]["targets"])
    rows = []
    for group in data["provider_week"]:
        provider = group["key"]["provider"] or data["config"]["no_provider_label"]
        metrics = {}
        for name in shown:
            entry = dict(group["metrics"][name])
            target = targets.target(provider, name)
            entry["meets_target"] = meets_target(entry["value"], target, METRIC_INDEX[name].higher_is_better)
            metrics[name] = entry
        rows.append({"provider": provider, "week": group["key"]["week"], "metrics": metrics})
    return {"metrics": shown, "absent": [m for m in names if m not in shown], "rows": rows}


def render_html(
    data: Mapping[str, Any], images: Mapping[str, str | None], csv_files: Sequence[str], trend_min_n: int = 1
) -> str:
    environment = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    template = environment.from_string(_TEMPLATE)
    sources = data["label_sources"]["sources"]
    providers: dict[str, list[Any]] = {}
    for k, result in enumerate(sources.values()):
        for group in result["groups"]:
            name = group["key"]["provider"] or "(no provider)"
            providers.setdefault(name, [None] * len(sources))[k] = group["metrics"]["fcr"]["value"]
    return template.render(
        meta=data["meta"],
        overall=data["overall"],
        headline=HEADLINE,
        label_sources=data["label_sources"],
        label_metrics=LABEL_DEPENDENT,
        fcr_by_source=[{"provider": p, "values": v} for p, v in sorted(providers.items())],
        scorecard=data["scorecard"],
        outsourcing=outsourcing_by_week(data),
        page_slices={dim: data["slices"][dim] for dim in PAGE_SLICES},
        slice_metrics=PAGE_SLICE_METRICS,
        charts=images,
        csv_files=csv_files,
        trend_min_n=trend_min_n,
        fmt=format_value,
        interval=format_interval,
        title=lambda m: METRIC_INDEX[m].title,
        describe=lambda m: METRIC_INDEX[m].description,
    )
