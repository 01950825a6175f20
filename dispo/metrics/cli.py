"""``dispo report``: the metrics report of a labelled-contact table (HTML with charts, CSV, JSON).

Registered as a plugin of the ``dispo.commands`` entry-point group. Options on the command line
override the same keys of ``--config``. Heavy imports stay inside the handler so that ``dispo
--help`` is instant.
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from dispo.errors import ConfigError

logger = logging.getLogger(__name__)


def register_report(subcommands: Any) -> None:
    report = subcommands.add_parser(
        "report",
        help="resolution rate, FCR and the provider scorecard of a labelled table, as HTML, CSV and JSON",
    )
    report.add_argument(
        "--data", required=True,
        help="labelled-contact Parquet (a file, a folder or a glob), or contact files (JSONL, JSON, CSV, contact "
        "Parquet; a file, a folder or a glob): then no model is needed, the labels are the agents' codes and the "
        "file's own labels",
    )  # fmt: skip
    report.add_argument(
        "--format", default=None, metavar="PLATFORM",
        help="--data is a platform's exports, in a format of `dispo data import` (e.g. contact_lens, zendesk)",
    )  # fmt: skip
    report.add_argument("--audits", default=None, help="QA audits Parquet (contact_id, audit_reason, audit_outcome)")
    report.add_argument(
        "--label-issues", default=None, type=Path, metavar="FILE",
        help="label_issues.jsonl of a model trained with --label-noise: estimated agent accuracy without audits",
    )  # fmt: skip
    report.add_argument(
        "--surveys", default=None, type=Path, metavar="FILE",
        help="survey answers (CSV, JSONL or Parquet: contact_id and nps 0-10 and/or csat 1-5) for NPS and CSAT",
    )  # fmt: skip
    report.add_argument(
        "--agent-hours", default=None, type=Path, metavar="FILE",
        help="agent login sessions (agent_id, logged_in_at, logged_out_at): contacts per logged-in hour",
    )  # fmt: skip
    report.add_argument("-o", "--output", type=Path, default=Path("metrics-report"), help="report folder")
    report.add_argument("--config", type=Path, default=None, help="metrics configuration YAML (see docs/metrics.md)")
    report.add_argument(
        "--targets", type=Path, default=None,
        help="SLA targets YAML (default, providers, answer_within_s, rate_cards)",
    )  # fmt: skip
    report.add_argument("--taxonomy", default=None, help="taxonomy YAML or built-in name (default: retail)")
    report.add_argument(
        "--labels",
        default=None,
        metavar="SOURCES",
        help="label priority, comma-separated, e.g. audit,agent,model (default) or model",
    )
    report.add_argument("--window-mode", choices=["same_category", "any_reason"], default=None)
    report.add_argument("--window-days", type=float, default=None, help="one repeat window for every category")
    report.add_argument("--as-of", default=None, help="end of the data, ISO-8601 with a zone")
    report.add_argument("--timezone", default=None, help="IANA time zone of the periods (default UTC)")
    report.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all cores)")
    report.add_argument("--no-charts", action="store_true", help="skip the charts (tables only)")
    report.set_defaults(handler=_report)


def is_contact_file(data: str) -> bool:
    """A contact file (the contract: JSONL, JSON, CSV, or Parquet with turns), or a folder of them,
    rather than a labelled table."""
    import glob

    from dispo.io import FORMAT_BY_SUFFIX

    path = Path(data)
    if path.is_dir():
        files = [p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in FORMAT_BY_SUFFIX]
    elif not path.exists() and glob.has_magic(data):
        files = [Path(p) for p in glob.glob(data, recursive=True) if Path(p).is_file()]
    else:
        return _holds_contacts(path)
    return bool(files) and all(_holds_contacts(p) for p in files)


def _holds_contacts(path: Path) -> bool:
    from dispo.io import FORMAT_BY_SUFFIX

    if FORMAT_BY_SUFFIX.get(path.suffix.lower()) != "parquet":
        return path.suffix.lower() in FORMAT_BY_SUFFIX
    if path.is_file():
        import pyarrow.parquet as pq

        return "turns" in pq.read_schema(path).names
    return False


def contact_file_table(
    data: str, words: list[str] | None, *, taxonomy: str | None, platform: str | None = None
) -> tuple[Any, list[str]]:
    """A contact file as a labelled table with no model run, and the label priority in the table's
    words: ``labels`` (the file's own labels; ``file``, the report's name for them, is the same)
    fills the columns a model would, so it stands where ``model`` stands (default: audit, agent,
    labels); ``model`` itself is refused."""
    from dispo.io import ContactReader
    from dispo.labelled import contact_row, labelled_table
    from dispo.taxonomy import load_taxonomy

    words = ["labels" if s == "file" else s for s in words or ["audit", "agent", "labels"]]  # the report's name
    unknown = sorted(set(words) - {"audit", "agent", "labels", "model"})
    if unknown:
        raise ConfigError(
            f"--labels: unknown sources {unknown}; a contact file's sources are audit, agent and labels "
            "(its own labels, which the report calls file)"
        )
    if "model" in words:
        raise ConfigError(
            f"{data}: a contact file has no model labels; label it with `dispo label` first, or use the "
            "file's own labels (--labels labels) or the agents' codes (--labels agent)"
        )
    tax = load_taxonomy(taxonomy)
    if platform is not None:
        from dispo.io import Rejected
        from dispo.platforms import iter_platform_records

        contacts = []
        for record in iter_platform_records(platform, data, taxonomy=tax):
            if isinstance(record.item, Rejected):
                raise record.item.error
            contacts.append(record.item)
    else:
        contacts = list(ContactReader(data, taxonomy=tax))
    # sentiment and upsell come from the file whatever the priority, which chooses reason and outcome
    file_labels = ("reason", "outcome", "sentiment", "upsell") if "labels" in words else ("sentiment", "upsell")
    rows = [contact_row(c, tax, file_labels=file_labels) for c in contacts]
    logger.info("read %d contacts from %s (labels: %s)", len(rows), data, " over ".join(words))
    return labelled_table(rows), ["model" if s == "labels" else s for s in words]


def config_from_args(args: argparse.Namespace) -> Any:
    """The :class:`MetricsConfig` of ``--config`` with the command-line options applied over it."""
    from dispo.metrics.config import MetricsConfig, SlaTargets

    raw: dict[str, Any] = {}
    if args.config is not None:
        raw = MetricsConfig.from_yaml(args.config).to_dict()
    overrides = {
        "label_priority": [s.strip() for s in args.labels.split(",") if s.strip()] if args.labels else None,
        "window_mode": args.window_mode,
        "window_days": args.window_days,
        "as_of": args.as_of,
        "timezone": args.timezone,
    }
    raw.update({k: v for k, v in overrides.items() if v is not None})
    config = MetricsConfig.from_dict(raw, source="command line")
    if args.targets is not None:
        config = replace(config, targets=SlaTargets.from_yaml(args.targets))
    return config


def _report(args: argparse.Namespace) -> int:
    if args.threads is not None and args.threads <= 0:
        raise ConfigError(f"--threads must be positive, got {args.threads}")
    from dispo.metrics.report import write_report
    from dispo.metrics.source import open_source

    started = time.perf_counter()
    data: Any = args.data
    words = [s.strip() for s in args.labels.split(",") if s.strip()] if args.labels else None
    contact_file = args.format is not None or is_contact_file(args.data)
    if contact_file:
        data, words = contact_file_table(args.data, words, taxonomy=args.taxonomy, platform=args.format)
    elif words and ("labels" in words or "file" in words):
        raise ConfigError(
            "--labels labels (or file) names a contact file's own labels; a labelled table has model labels"
        )
    args.labels = ",".join(words) if words else None
    config = config_from_args(args)
    inputs = {name: getattr(args, name) for name in ("audits", "label_issues", "surveys", "agent_hours")}
    with open_source(data, taxonomy=args.taxonomy, threads=args.threads, **inputs) as source:
        if not contact_file:
            check_model_labels(source, data)
        paths = write_report(
            source, config, args.output, charts=not args.no_charts, model_labels="file" if contact_file else "model"
        )
    logger.info("wrote the metrics report in %.1f s: open %s", time.perf_counter() - started, paths["report.html"])
    return 0


def check_model_labels(source: Any, data: str) -> None:
    """A model's labels are always in its own taxonomy: a labelled table whose model labels are not in
    the report's was labelled by a model with another taxonomy, and every rate would be wrong."""
    from dispo.metrics.chaining import sql_literal

    tax = source.taxonomy
    with source.query() as con:
        for task, names in (("reason", tax.reason_names), ("outcome", tax.outcome_names)):
            known = ", ".join(sql_literal(n) for n in names) or "NULL"
            outside, total, example = con.execute(
                f"SELECT count_if(model_{task} NOT IN ({known})), count(model_{task}), "
                f"min(model_{task}) FILTER (WHERE model_{task} NOT IN ({known})) FROM contacts"
            ).fetchone() or (0, 0, None)
            if outside:
                raise ConfigError(
                    f"{data}: {outside} of {total} model {task} labels are not in taxonomy {tax.name!r} (e.g. "
                    f"{example!r}): the table was labelled by a model with another taxonomy; give it with --taxonomy"
                )
