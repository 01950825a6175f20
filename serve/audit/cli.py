"""``dispo audit import | export | accuracy | queue``: fill the audit queue, export audited contacts
as training data, estimate agent accuracy, and look at the queue from a terminal (an entry-point
plugin, like ``dispo serve``).

Heavy imports stay inside the handlers so that ``dispo --help`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from serve.cli import _store, database_commands

logger = logging.getLogger(__name__)


def register_audit(subcommands: Any) -> None:
    actions = database_commands(subcommands, "audit", summary="the QA audit queue: import, export, accuracy, queue")

    load = actions.add_parser(
        "import",
        help="queue contacts for audit: from a labelled table (`dispo label`), by predicting them, or from live",
        description=(
            "Queue contacts for the QA audit. With --labelled, the predictions come from the labelled table that "
            "`dispo label` wrote and --contacts gives the transcripts; with --model (and no --labelled), the contacts "
            "are predicted here; with --live, the service's stored suggestions that have an agent decision are queued. "
            "Transcripts are redacted before they are stored. Contacts already queued are skipped."
        ),
    )
    load.add_argument("--tenant", required=True, help="tenant id")
    load.add_argument("--contacts", default=None, help="contacts file (JSONL, CSV or Parquet; file, folder or glob)")
    load.add_argument("--labelled", type=Path, default=None, help="the labelled table (Parquet) for those contacts")
    load.add_argument("--model", default=None, help="NAME[:VERSION]: predict the contacts here (no --labelled)")
    load.add_argument(
        "--label-issues", type=Path, default=None, metavar="FILE",
        help="label_issues.jsonl of `dispo train --label-noise` (in the bundle): queue the training contacts by "
        "how likely their agent code is wrong, no model run",
    )  # fmt: skip
    load.add_argument(
        "--taxonomy", type=Path, default=None, metavar="YAML",
        help="with --label-issues: the taxonomy that renders the codes (default: the bundle's, beside the file)",
    )  # fmt: skip
    load.add_argument("--models-dir", type=Path, default=None, help="registry folder (env DISPO_MODELS_DIR)")
    load.add_argument("--live", action="store_true", help="queue the service's decided live/API suggestions")
    load.add_argument("--method", default="self_confidence", choices=["self_confidence", "normalized_margin"])
    load.add_argument("--seed", type=int, default=None, help="seed of the random sample keys (default: random)")
    load.add_argument("--no-redact", action="store_true", help="the contacts are already redacted")
    load.set_defaults(handler=_import)

    export = actions.add_parser(
        "export",
        help="write the audited contacts as training data (JSONL, audited labels win)",
        description=(
            "Write every audited contact of a tenant in the contact contract, with the latest audit decision as its "
            "reason and outcome labels (they win over the agent's code) and the audit trail in metadata.audit. "
            "`dispo train --data` reads the file like any other."
        ),
    )
    export.add_argument("--tenant", required=True)
    export.add_argument("-o", "--output", type=Path, default=None, help="training data (.jsonl, .csv or .parquet)")
    export.add_argument(
        "--audits-table",
        type=Path,
        default=None,
        help="also (or only) the audits as Parquet for `dispo report --audits`: contact_id, audit_reason, "
        "audit_outcome, audit_code, audited_at, analyst, decisions, in_uniform_sample",
    )
    export.set_defaults(handler=_export)

    accuracy = actions.add_parser(
        "accuracy",
        help="agent-disposition accuracy estimated from the audited uniform random sample (JSON)",
        description=(
            "Agent code accuracy with Wilson intervals, estimated only on the uniform random sample (the random "
            "queue's order up to the first contact not yet audited), overall or per agent/provider/queue/channel."
        ),
    )
    accuracy.add_argument("--tenant", required=True)
    accuracy.add_argument("--group-by", default=None, choices=["agent", "provider", "queue", "channel"])
    accuracy.add_argument("--confidence", type=float, default=0.95)
    accuracy.add_argument("-o", "--output", type=Path, default=None, help="write the JSON here (default stdout)")
    accuracy.set_defaults(handler=_accuracy)

    queue = actions.add_parser("queue", help="print the top of the audit queue as JSON lines")
    queue.add_argument("--tenant", required=True)
    # the queue's sorts (serve.audit.store.SORTS, not imported here: registering commands stays light)
    queue.add_argument(
        "--sort", default="suspicion", choices=["suspicion", "random", "confidence", "started_at", "agent"]
    )
    queue.add_argument("--status", default="pending", choices=["pending", "audited", "all"])
    queue.add_argument("--limit", type=int, default=20)
    for name in ("provider", "agent-id", "queue", "channel", "reason", "outcome"):
        queue.add_argument(f"--{name}", default=None)
    queue.set_defaults(handler=_queue)


def _audit_store(args: argparse.Namespace) -> Any:
    from serve.audit.store import AuditStore

    return AuditStore(_store(args).engine)


def _import(args: argparse.Namespace) -> int:
    from dispo.audit.ranking import RankingConfig
    from dispo.errors import ConfigError

    given = [flag for flag, value in (("--labelled", args.labelled), ("--model", args.model),
                                      ("--label-issues", args.label_issues)) if value is not None]  # fmt: skip
    if len(given) > 1 or (args.live and (given or args.contacts)):
        used = [*given, *(["--contacts"] if args.live and args.contacts else [])]
        raise ConfigError(
            f"dispo audit import: {' and '.join(['--live', *used] if args.live else used)} cannot be used together; "
            "give --live alone, or --contacts with one of --labelled, --model, --label-issues"
        )
    store = _store(args)
    store.ensure_tenant(args.tenant)
    audit = _audit_store(args)
    config = RankingConfig(method=args.method)
    if args.live:
        stats = audit.enqueue_live(args.tenant, config)
    else:
        if not args.contacts:
            raise ConfigError(
                "dispo audit import: give --contacts (with --labelled, --model or --label-issues), or --live"
            )
        if args.labelled is None and args.model is None and args.label_issues is None:
            raise ConfigError(
                "dispo audit import: --contacts needs --labelled TABLE.parquet, --model NAME or --label-issues FILE"
            )
        if args.taxonomy is not None and args.label_issues is None:
            raise ConfigError("dispo audit import: --taxonomy goes with --label-issues (a model brings its own)")
        rows, not_queued = import_rows(
            args.contacts,
            labelled=args.labelled,
            label_issues=args.label_issues,
            taxonomy=args.taxonomy,
            model=args.model,
            models_dir=args.models_dir,
            config=config,
            redact=not args.no_redact,
            seed=args.seed,
        )
        stats = audit.add_items(args.tenant, rows)
        stats = replace(stats, without_code=stats.without_code + not_queued["without_code"])
        if not_queued["without_turns"]:
            logger.info("%d contacts have no transcript (abandoned or blocked): nothing to audit, not queued",
                        not_queued["without_turns"])  # fmt: skip
    logger.info(
        "queued %d contacts for tenant %s (%d already queued, %d without an agent code)",
        stats.added,
        args.tenant,
        stats.skipped,
        stats.without_code,
    )
    return 0


def import_rows(
    contacts: str,
    *,
    labelled: Path | None = None,
    label_issues: Path | None = None,
    taxonomy: Path | None = None,
    model: str | None = None,
    models_dir: Path | None = None,
    config: Any = None,
    redact: bool = True,
    seed: int | None = None,
    batch_size: int = 32,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Audit-item rows for a contacts file, from a labelled table, from the label issues of a
    training run, or by predicting here; and how many contacts were not queued, by why
    (``without_code``: no agent code to audit; ``without_turns``: never answered)."""
    import pyarrow.parquet as pq

    from dispo.audit.items import item_from_labelled
    from dispo.errors import ConfigError
    from dispo.io import ContactReader, IdLedger
    from dispo.labelled import labelled_row
    from dispo.redact import default_redactor

    rng = random.Random(seed)
    redactor = default_redactor() if redact else None
    reader = ContactReader(contacts, ids=IdLedger())
    rows: list[dict[str, Any]] = []
    not_queued = {"without_code": 0, "without_turns": 0}
    if labelled is not None:
        try:
            read = pq.read_table(labelled)
        except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
            raise ConfigError(f"{labelled}: not a labelled table (Parquet written by `dispo label`): {exc}") from None
        lacking = sorted({"contact_id", "model_version", "reasons"} - set(read.column_names))
        if lacking:
            raise ConfigError(f"{labelled}: not a labelled table (written by `dispo label`): no column {lacking}")
        table = {row["contact_id"]: row for row in read.to_pylist()}
        missing = 0
        for contact in reader:
            row = table.get(contact.contact_id)
            if row is None:
                missing += 1
                continue
            clean = redactor.redact_contact(contact) if redactor else contact
            item = item_from_labelled(clean.to_json_dict(), row, config, rng)
            if item is not None:
                rows.append(item)
            else:
                not_queued["without_turns" if not contact.turns else "without_code"] += 1
        if missing:
            logger.warning("%d contacts of %s are not in %s and were not queued", missing, contacts, labelled)
        return rows, not_queued
    if label_issues is not None:
        return _label_issue_rows(reader, label_issues, redactor, config, rng, taxonomy=taxonomy), not_queued
    if model is None:
        raise ConfigError("import_rows needs a labelled table, label issues or a model")
    from dispo.model.predictor import Predictor

    predictor = Predictor.load(model, models_dir)
    batch: list[Any] = []

    def flush() -> None:
        predictions = predictor.predict(batch, batch_size=batch_size)
        for contact, prediction in zip(batch, predictions, strict=True):
            row = labelled_row(contact, prediction, predictor.taxonomy)
            if prediction.outcome is not None:  # every outcome's probability, for --method normalized_margin
                row["outcome_probabilities"] = prediction.outcome.probabilities
            item = item_from_labelled(contact.to_json_dict(), row, config, rng)
            if item is not None:
                rows.append(item)
            else:
                not_queued["without_code"] += 1
        batch.clear()

    for contact in reader:
        if not contact.turns:  # abandoned or blocked: no agent code to audit, nothing to classify
            not_queued["without_turns"] += 1
            continue
        batch.append(redactor.redact_contact(contact) if redactor else contact)
        if len(batch) >= 256:
            flush()
    if batch:
        flush()
    return rows, not_queued


def _label_issue_rows(
    contacts: Any, path: Path, redactor: Any, config: Any, rng: random.Random, *, taxonomy: Path | None = None
) -> list[dict[str, Any]]:
    """Items for the contacts that ``label_issues.jsonl`` judged; its bundle (the folder around it)
    gives the taxonomy that renders the codes and the version the items name."""
    from dispo.audit.items import item_from_label_issues
    from dispo.errors import InvalidInputError, TaxonomyError
    from dispo.label_issues import check_given_codes, read_label_issues, same_code
    from dispo.model.bundle import MANIFEST_FILE, TAXONOMY_FILE
    from dispo.taxonomy import Taxonomy, load_taxonomy

    issues = read_label_issues(path)
    folder = path.parent
    if taxonomy is not None:
        rendering = load_taxonomy(taxonomy)
    elif (folder / TAXONOMY_FILE).is_file():
        rendering = Taxonomy.from_yaml(folder / TAXONOMY_FILE)
    else:
        logger.warning("%s is not inside a model bundle: its codes are rendered with the default taxonomy "
                       "(--taxonomy to give the model's)", path)  # fmt: skip
        rendering = load_taxonomy()
    version = "label issues"
    if (folder / MANIFEST_FILE).is_file():
        manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
        version = f"{manifest.get('name')}:{manifest.get('version')} label issues"

    def code(reason: str | None, outcome: str | None) -> str | None:
        if reason is None or outcome is None:
            return None
        try:
            return rendering.render_code(reason, outcome)
        except TaxonomyError as exc:
            raise InvalidInputError(f"{path}: {exc}: give the model's taxonomy with --taxonomy") from None

    rows = []
    codes: dict[str, dict[str, str | None]] = {}
    for contact in contacts:
        coded = contact.agent_labels
        codes[contact.contact_id] = {task: getattr(coded, task) if coded else None for task in ("reason", "outcome")}
        judged = issues.get(contact.contact_id)
        if not judged:
            continue
        if not all(same_code(issue["given"], codes[contact.contact_id][task]) for task, issue in judged.items()):
            continue  # refused below, with every such code counted
        clean = redactor.redact_contact(contact) if redactor else contact
        agent = contact.agent_labels
        suggested = {task: judged[task]["suggested"] if task in judged else None for task in ("reason", "outcome")}
        item = item_from_label_issues(
            clean.to_json_dict(), judged, model_version=version, config=config, rng=rng,
            agent_code=code(agent.reason, agent.outcome) if agent is not None else None,
            model_code=code(suggested["reason"], suggested["outcome"]),
        )  # fmt: skip
        if item is not None:
            rows.append(item)
    coverage = check_given_codes(issues, codes, path=path)
    logger.info("%d of %d judged contacts found in the contacts file", coverage.found, coverage.judged)
    if coverage.describe():
        logger.warning("%s: %s", path, coverage.describe())
    return rows


def _export(args: argparse.Namespace) -> int:
    from dispo.errors import ConfigError
    from dispo.io import write_contacts
    from serve.audit.store import audited_training_contacts

    if args.output is None and args.audits_table is None:
        raise ConfigError("dispo audit export: give -o TRAINING_FILE and/or --audits-table TABLE.parquet")
    store = _audit_store(args)
    audited = audited_training_contacts(store, args.tenant)
    if args.output is not None:
        n = write_contacts([contact for _, _, contact in audited], args.output)
        changed = sum(
            1
            for item, last, _ in audited
            if (last["reason"], last["outcome"]) != (item.agent_reason, item.agent_outcome)
        )
        logger.info("wrote %d audited contacts to %s (%d with a code other than the agent's)", n, args.output, changed)
    if args.audits_table is not None:
        write_audits_table(store, args.tenant, audited, args.audits_table)
    return 0


def write_audits_table(store: Any, tenant_id: str, audited: list[Any], path: Path) -> None:
    """The audits as the metrics' audits table. ``in_uniform_sample`` marks the contacts of the
    uniform random sample: only those estimate agent accuracy without bias (the ranked queue
    audits mostly wrong codes)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sample = store.uniform_sample_ids(tenant_id)
    rows = [
        {
            "contact_id": item.contact_id,
            "audit_reason": last["reason"],
            "audit_outcome": last["outcome"],
            "audit_code": last["code"],
            "audited_at": last["created_at"],
            "analyst": last["analyst_name"],
            "decisions": contact.metadata["audit"]["decisions"],
            "in_uniform_sample": item.id in sample,
        }
        for item, last, contact in audited
    ]
    schema = pa.schema(
        [
            ("contact_id", pa.string()),
            ("audit_reason", pa.string()),
            ("audit_outcome", pa.string()),
            ("audit_code", pa.string()),
            ("audited_at", pa.string()),
            ("analyst", pa.string()),
            ("decisions", pa.int32()),
            ("in_uniform_sample", pa.bool_()),
        ]
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    logger.info("wrote %d audits to %s (%d in the uniform sample)", len(rows), path, len(sample))


def _accuracy(args: argparse.Namespace) -> int:
    result = _audit_store(args).accuracy(args.tenant, None, args.group_by, args.confidence)
    text = json.dumps(result, indent=2, default=str) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
        logger.info("wrote %s (%d contacts in the sample)", args.output, result["sample_size"])
    return 0


def _queue(args: argparse.Namespace) -> int:
    from serve.audit.store import QueueQuery

    query = QueueQuery(
        provider=args.provider,
        agent_id=args.agent_id,
        queue=args.queue,
        channel=args.channel,
        reason=args.reason,
        outcome=args.outcome,
        status=args.status,
        sort=args.sort,
        limit=args.limit,
    )
    page = _audit_store(args).queue(args.tenant, query)
    for row in page.items:
        sys.stdout.write(json.dumps(row, default=str) + "\n")
    logger.info("%d of %d items", len(page.items), page.total)
    if not page.total:  # a misspelt tenant, reason or agent reads as an empty queue: say what was asked
        asked = {k: v for k, v in vars(query).items() if v is not None and k not in ("sort", "limit", "offset")}
        logger.warning("no audit item of tenant %r matches %s", args.tenant, asked)
    return 0
