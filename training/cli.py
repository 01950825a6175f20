"""``dispo data ...``: build the demo corpus, convert public data sets, redact and validate files.

Heavy imports stay inside the handlers so that ``dispo --help`` is instant.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from dispo.errors import ConfigError
from dispo.model.bundle import MANIFEST_FILE, METRICS_FILE

logger = logging.getLogger(__name__)


def register_data(subcommands: Any) -> None:
    data = subcommands.add_parser("data", help="build, convert, import, redact and validate contact files")
    actions = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    build = actions.add_parser("build", help="compose a realistic labelled corpus of multi-turn contacts")
    build.add_argument("-n", "--n-contacts", type=int, default=10_000, help="how many contacts (default 10000)")
    build.add_argument("--seed", type=int, default=7, help="random seed; the same seed gives the same corpus")
    build.add_argument("-o", "--output", type=Path, required=True, help="output file (.jsonl, .csv or .parquet)")
    build.add_argument(
        "--utterances",
        default=None,
        metavar="bitext:PATH",
        help="take customer requests from real Bitext utterances (CSV or its folder) instead of the phrase bank",
    )
    build.add_argument(
        "--responses", default=None, metavar="PATH",
        help="real agent language from the Bitext responses (../shared/data/bitext_responses: file or folder)",
    )  # fmt: skip
    build.add_argument("--agent-error-rate", type=float, default=0.1, help="share of wrong agent dispositions")
    build.add_argument("--taxonomy", default=None, help="taxonomy YAML (default: the built-in retail taxonomy)")
    build.set_defaults(handler=_build)

    convert = actions.add_parser("convert", help="convert a public data set to dispo contacts")
    convert.add_argument(
        "source",
        help="banking77, bitext, nlupp, uss, dstc11, goemotions, tweeteval, clinc150 or bitext_responses",
    )
    convert.add_argument("path", type=Path, help="the data set's file or folder (e.g. ../shared/data/banking77)")
    convert.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    convert.add_argument("--seed", type=int, default=13, help="seed of the stratified split (sources without one)")
    convert.add_argument("--test-size", type=float, default=0.2, help="test share (sources without a split)")
    convert.add_argument("--domain", default=None, help="nlupp only: banking, hotels or all")
    convert.add_argument("--corpora", default=None, help="uss only: comma-separated sub-corpora (e.g. MWOZ,SGD)")
    convert.add_argument(
        "--placeholders",
        choices=("fill", "keep"),
        default=None,
        help="bitext_responses only: fill {{...}} placeholders with plausible values (default) or keep them",
    )
    convert.set_defaults(handler=_convert)

    redact = actions.add_parser(
        "redact", help="redact PII from a file of contacts; the output is written in dispo's contact format"
    )
    redact.add_argument("input", help="input file, folder or glob (.jsonl, .csv, .parquet)")
    redact.add_argument("-o", "--output", type=Path, required=True, help="output file; format from its suffix")
    redact.add_argument("--rejects", type=Path, default=None, help="write invalid records here instead of stopping")
    redact.set_defaults(handler=_redact)

    validate = actions.add_parser("validate", help="check a file of contacts against the contract and a taxonomy")
    validate.add_argument("input", help="input file, folder or glob")
    validate.add_argument("--taxonomy", default=None, help="taxonomy YAML (default: the built-in retail taxonomy)")
    validate.add_argument("--rejects", type=Path, default=None, help="write invalid records here instead of stopping")
    validate.set_defaults(handler=_validate)

    platform = actions.add_parser(
        "import", help="read a contact-center platform's export into contacts (docs/data.md, Platform exports)"
    )
    platform.add_argument(
        "format",
        help="contact_lens, transcribe_call_analytics, twilio, zendesk, genesys, ccai, transcribe, diarized_json, "
        "speaker_text",
    )
    platform.add_argument("input", help="an exported file, a folder of them, or a glob")
    platform.add_argument("-o", "--output", type=Path, required=True, help="contacts file (.jsonl, .csv, .parquet)")
    platform.add_argument(
        "--codes", type=Path, default=None, help="YAML mapping the platform's wrap-up codes to labels"
    )
    platform.add_argument("--taxonomy", default=None, help="check labels against this taxonomy (default: retail)")
    platform.add_argument("--rejects", type=Path, default=None, help="write bad records here instead of stopping")
    platform.set_defaults(handler=_import)


def _build(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from dispo.io import ContactWriter
    from dispo.taxonomy import load_taxonomy
    from training.corpus.builder import CorpusBuilder, CorpusConfig

    utterances_path = None
    if args.utterances:
        kind, _, path = args.utterances.partition(":")
        if kind != "bitext" or not path:
            raise ConfigError(f"--utterances expects bitext:PATH, got {args.utterances!r}")
        utterances_path = path
    config = CorpusConfig(
        n_contacts=args.n_contacts,
        seed=args.seed,
        agent_error_rate=args.agent_error_rate,
        utterances_path=utterances_path,
        responses_path=args.responses,
    )
    builder = CorpusBuilder(config, load_taxonomy(args.taxonomy))
    started = time.perf_counter()
    with ContactWriter(args.output) as writer:
        for built in tqdm(builder.build(), total=config.n_contacts, unit="contact", desc="building"):
            writer.write(built.contact)
    logger.info("wrote %d contacts to %s in %.1f s", writer.count, args.output, time.perf_counter() - started)
    return 0


def _convert(args: argparse.Namespace) -> int:
    from training.sources import convert

    pairs = (("domain", args.domain), ("corpora", args.corpora), ("placeholders", args.placeholders))
    options = {k: v for k, v in pairs if v is not None}
    summary = convert(args.source, args.path, args.output, seed=args.seed, test_size=args.test_size, **options)
    logger.info("converted %s: %s", args.source, json.dumps(summary.to_dict().get("counts", {})))
    return 0


def _redact(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from dispo.io import ContactReader, ContactWriter, IdLedger

    reader = ContactReader(args.input, rejects=args.rejects, redact=True, ids=IdLedger())
    with ContactWriter(args.output) as writer:
        for contact in tqdm(reader, unit="contact", desc="redacting"):
            writer.write(contact)
    _log_accounting(reader.stats, args.output, args.input)
    return 0 if reader.stats.rejected == 0 else 1


def _validate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from dispo.io import ContactReader, IdLedger
    from dispo.taxonomy import load_taxonomy

    # The contacts are checked as given; only the rejects written out are scrubbed of PII.
    reader = ContactReader(
        args.input, taxonomy=load_taxonomy(args.taxonomy), rejects=args.rejects, scrub_rejects=True, ids=IdLedger()
    )
    for _ in tqdm(reader, unit="contact", desc="validating"):
        pass
    _log_accounting(reader.stats, None, args.input)
    return 0 if reader.stats.rejected == 0 else 1


def _import(args: argparse.Namespace) -> int:
    from dispo.io import ContactWriter, IdLedger, Rejected, RejectsWriter
    from dispo.platforms import CodeMap, iter_platform_records
    from dispo.redact import default_redactor
    from dispo.roles import ROLES_METADATA_KEY
    from dispo.taxonomy import load_taxonomy

    taxonomy = load_taxonomy(args.taxonomy)
    codes = CodeMap.from_yaml(args.codes, taxonomy=taxonomy) if args.codes else None
    records = iter_platform_records(args.format, args.input, taxonomy=taxonomy, codes=codes, ids=IdLedger())
    rejects = RejectsWriter(args.rejects, default_redactor().redact_value) if args.rejects else None
    read = accepted = 0
    inferred: Counter[str] = Counter()  # contacts whose speaker roles were inferred, by what decided them
    try:
        with ContactWriter(args.output) as writer:
            for record in records:
                read += 1
                if isinstance(record.item, Rejected):
                    if rejects is None:
                        raise record.item.error
                    rejects.write(record.item.error, record.item.raw)
                    continue
                writer.write(record.item)
                accepted += 1
                roles = record.item.metadata.get(ROLES_METADATA_KEY)
                if isinstance(roles, dict):
                    inferred[str(roles.get("decided_by"))] += 1
    finally:
        if rejects is not None:
            rejects.close()
    if read == 0:
        _warn_empty(args.input)
    logger.info("%d records read = %d imported -> %s + %d rejected%s", read, accepted, args.output,
                read - accepted, f" -> {args.rejects}" if args.rejects else "")  # fmt: skip
    if inferred:
        how = ", ".join(f"{n} by {decided_by}" for decided_by, n in sorted(inferred.items()))
        logger.info("speaker roles inferred for %d contacts (%s); see metadata.speaker_roles", inferred.total(), how)
    return 0 if read == accepted else 1


def _log_accounting(stats: Any, output: Path | None, inputs: Any) -> None:
    if stats.records == 0:
        _warn_empty(inputs)
    target = f" -> {output}" if output else ""
    logger.info(
        "%d records read: %d accepted%s, %d rejected%s",
        stats.records,
        stats.accepted,
        target,
        stats.rejected,
        f" -> {stats.rejects_path}" if stats.rejected else "",
    )
    if stats.errors_by_field:
        logger.info("rejections by field: %s", json.dumps(stats.errors_by_field))


def _warn_empty(inputs: Any) -> None:
    """An input without a single record is most often the wrong file or a truncated export: said
    loudly, though it is not an error (a day without contacts exists)."""
    logger.warning("%s holds no records: nothing was read", inputs)


def register_train(subcommands: Any) -> None:
    train = subcommands.add_parser("train", help="fine-tune a model and write a new version to the registry")
    train.add_argument("--config", type=Path, default=None, help="YAML/JSON with sections data, model, training")
    train.add_argument(
        "--set", nargs="+", default=[], metavar="SECTION.KEY=VALUE",
        help="override any config key, e.g. --set training.contrastive_epochs=1 model.max_turns=12",
    )  # fmt: skip
    train.add_argument("--data", nargs="+", default=None, help="training file(s); several sources may be mixed")
    train.add_argument("--eval", default=None, help="held-out test file, evaluated at the end")
    train.add_argument(
        "--validation", default=None,
        help="file that chooses the epoch and the temperatures (default: a random share of --data)",
    )  # fmt: skip
    train.add_argument(
        "--include-audits", nargs="+", default=None, metavar="FILE",
        help="audited contacts from `dispo audit export`: audited labels win over the training labels",
    )  # fmt: skip
    train.add_argument(
        "--labels", default=None, metavar="SOURCES",
        help="where training labels come from, first wins per contact and task: labels, audit, agent "
        "(e.g. 'agent' or 'labels,audit,agent'; default labels); audits win unless the list places them",
    )  # fmt: skip
    train.add_argument(
        "--label-noise", default=None,
        choices=("none", "prune", "correct", "correct-prune", "auto", "forward", "correct-soft", "correct-refine"),
        help="agent codes as labels: prune the ones confident learning flags, or correct each to its "
        "posterior true label (correct-prune: correct, then prune the flagged codes it kept; auto: per "
        "task, whichever reads the --validation labels best; forward: keep the codes and fine-tune "
        "through cleanlab's noise matrix; correct-soft: correct, and fine-tune on each corrected code's "
        "posterior instead of its argmax; correct-refine: correct, and after each epoch but the last "
        "relabel them by the posterior and the fine-tune's own reading together); writes "
        "label_issues.jsonl and agent_accuracy.json into the bundle",
    )  # fmt: skip
    train.add_argument("--taxonomy", default=None, help="taxonomy YAML (default: the built-in retail taxonomy)")
    train.add_argument("--base-model", default=None, help="encoder: local path or hub name (default all-MiniLM-L6-v2)")
    train.add_argument("--name", required=True, help="model name in the registry")
    train.add_argument("--models-dir", type=Path, default=None, help="registry folder (env DISPO_MODELS_DIR)")
    train.add_argument("--epochs", type=int, default=None)
    train.add_argument("--batch-size", type=int, default=None)
    train.add_argument("--learning-rate", type=float, default=None)
    train.add_argument("--seed", type=int, default=None)
    train.add_argument("--max-minutes", type=float, default=None, help="stop training after this many minutes")
    train.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    train.add_argument("--max-train-contacts", type=int, default=None)
    train.add_argument("--max-turn-tokens", type=int, default=None, help="tokens per segment")
    train.add_argument("--max-turns", type=int, default=None, help="segments read per contact")
    train.add_argument("--token-budget", type=int, default=None, help="tokens read per contact")
    train.add_argument("--freeze-layers", type=int, default=None, help="freeze this many bottom encoder layers")
    train.add_argument("--no-baseline", action="store_true", help="skip the scikit-learn baseline")
    train.add_argument("--no-redact", action="store_true", help="train on the text as given (already redacted)")
    train.set_defaults(handler=_train)


def _train(args: argparse.Namespace) -> int:
    from training.config import RunConfig
    from training.pipeline import train_model

    overrides: dict[str, dict[str, Any]] = {
        "data": {
            "train": args.data,
            "eval": args.eval,
            "validation": args.validation,
            "taxonomy": args.taxonomy,
            "max_train_contacts": args.max_train_contacts,
            "audits": args.include_audits,
            "labels": args.labels,
        },
        "model": {
            "base_model": args.base_model,
            "max_turn_tokens": args.max_turn_tokens,
            "max_turns": args.max_turns,
            "token_budget": args.token_budget,
            "freeze_encoder_layers": args.freeze_layers,
        },
        "training": {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "learning_rate": args.learning_rate,
            "seed": args.seed,
            "max_minutes": args.max_minutes,
            "threads": args.threads,
            "baseline": False if args.no_baseline else None,
            "label_noise": args.label_noise,
        },
    }
    for section, values in RunConfig.parse_settings(args.set).items():  # an option given by name wins
        overrides[section] = {**values, **{k: v for k, v in overrides.get(section, {}).items() if v is not None}}
    if args.config is not None:
        run = RunConfig.from_file(args.config, **overrides)
    else:
        if not args.data:
            raise ConfigError("dispo train needs --data (or --config with a data section)")
        run = RunConfig.from_sections({}, source="command line", **overrides)
    bundle = train_model(run, args.name, root=args.models_dir, redact=not args.no_redact)
    logger.info("model %s:%s written to %s", bundle.name, bundle.version, bundle.path)
    return 0


def register_models(subcommands: Any) -> None:
    models = subcommands.add_parser("models", help="trained model versions: list, show, promote, recalibrate, lexicon")
    models.add_argument("--models-dir", type=Path, default=None, help="registry folder (env DISPO_MODELS_DIR)")
    actions = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    actions.add_parser("list", help="every model with its versions").set_defaults(handler=_models_list)
    show = actions.add_parser("show", help="a version's manifest and headline metrics")
    show.add_argument("ref", help="NAME[:VERSION]")
    show.set_defaults(handler=_models_show)
    promote = actions.add_parser("promote", help="make a version the one serving loads")
    promote.add_argument("name")
    promote.add_argument("version")
    promote.set_defaults(handler=_models_promote)
    recalibrate = actions.add_parser(
        "recalibrate",
        help="a new version with blend weights, temperatures, class offsets and top-label maps chosen on validation "
        "files (weights unchanged)",
        description=(
            "Refit every head's temperature on validation files (e.g. the realistic dev halves), shift a head's class "
            "priors for macro-F1 as `training.class_offsets` does during training, and recalibrate its winning "
            "probability with a top-label map as `training.top_label_calibration` does; offsets and maps are kept only "
            "when they also help out of fold (across the files, when there are several: each file is a set)."
        ),
    )
    recalibrate.add_argument("ref", help="NAME[:VERSION] or a bundle folder")
    recalibrate.add_argument(
        "--validation", required=True, help="contacts with gold labels: a file, folder or glob (never a test half)"
    )
    recalibrate.add_argument(
        "--temperatures", action="store_true", help="refit every head's temperature (and so its offsets and maps)"
    )
    recalibrate.add_argument(
        "--blend", action="store_true", help="choose the baseline's blend weights again (and so every temperature)"
    )
    recalibrate.add_argument(
        "--offsets", default="", help="heads whose class offsets to choose, comma-separated (default: none)"
    )
    recalibrate.add_argument(
        "--top-label",
        default="",
        help="heads whose winning probability to recalibrate, comma-separated (default: none)",
    )
    recalibrate.set_defaults(handler=_models_recalibrate)
    lexicon = actions.add_parser(
        "lexicon",
        help="a new version that reads a lone customer message's sentiment with the VADER lexicon too (weights "
        "unchanged)",
        description=(
            "Fit a logistic regression over the sentiment head's calibrated probabilities and VADER's scores on "
            "labelled lone messages (one customer turn each: social posts, SMS, survey comments), and write a new "
            "version that applies it to such contacts; kept only when it raises macro-F1 and lowers the log-loss "
            "out of fold on them. Conversations are read as before."
        ),
    )
    lexicon.add_argument("ref", help="NAME[:VERSION] or a bundle folder")
    lexicon.add_argument(
        "--messages", required=True, help="lone messages with gold sentiment: a file, folder or glob (never trained on)"
    )
    lexicon.add_argument(
        "--priors",
        default=None,
        help="lone messages of the kind the model will read, with gold sentiment: class offsets on top of the blend "
        "are chosen there (kept when they help out of fold), e.g. data/eval/lone-messages/dev.jsonl",
    )
    lexicon.set_defaults(handler=_models_lexicon)


def _models_recalibrate(args: argparse.Namespace) -> int:
    from training.pipeline import recalibrate_bundle

    def heads(value: str) -> tuple[str, ...]:
        return tuple(t.strip() for t in value.split(",") if t.strip())

    bundle = recalibrate_bundle(
        args.ref, args.validation, blend=args.blend, temperatures=args.temperatures, offsets=heads(args.offsets),
        top_label=heads(args.top_label), root=args.models_dir,
    )  # fmt: skip
    logger.info("%s:%s: %s", bundle.name, bundle.version, bundle.metrics)
    return 0


def _models_lexicon(args: argparse.Namespace) -> int:
    from training.pipeline import lexicon_bundle

    bundle = lexicon_bundle(args.ref, args.messages, priors=args.priors, root=args.models_dir)
    if bundle is None:
        return 1  # not kept: the figures are logged, nothing written
    logger.info("%s:%s: %s", bundle.name, bundle.version, bundle.metrics)
    return 0


def _models_list(args: argparse.Namespace) -> int:
    from dispo.model.bundle import list_models

    models = list_models(args.models_dir)
    if not models:
        logger.info("no models yet (train one with `dispo train`)")
    for name, info in models.items():
        sys.stdout.write(f"{name}: {', '.join(info['versions'])} (promoted: {info['promoted'] or '-'})\n")
    return 0


def _models_show(args: argparse.Namespace) -> int:
    from dispo.model.bundle import read_json, resolve

    path = resolve(args.ref, args.models_dir)
    manifest = read_json(path, MANIFEST_FILE)
    metrics = read_json(path, METRICS_FILE)
    sys.stdout.write(f"{path}\n{json.dumps(manifest, indent=2)}\n")
    for line in served_figures(path, manifest, metrics):
        sys.stdout.write(line + "\n")
    return 0


def served_figures(path: Path, manifest: dict[str, Any], metrics: dict[str, Any]) -> list[str]:
    """Headline lines of a bundle, each labelled with what it measures. Served predictions blend the
    baseline into the transformer where the bundle has blend weights, so the head's own validation
    figures are not what is served; a derived version keeps its training run's validation figures
    (and the blend's only where the blend was not chosen again), while its tests are its own."""
    head = metrics.get("validation", {}).get("calibrated", {})
    blend = metrics.get("blend") or {}
    weights = blend.get("weights") or {}
    notes: list[str] = []
    blocks: list[tuple[str, dict[str, Any]]] = []
    if weights:
        if blend.get("validation"):
            blocks.append(("validation, served (transformer + baseline blend)", blend["validation"]))
        else:
            described = ", ".join(f"{task} {weight}" for task, weight in weights.items())
            notes.append(f"note: served predictions blend the TF-IDF baseline into the transformer ({described}); "
                         "no validation figures of that blend are recorded in this version's metrics")  # fmt: skip
        blocks.append(("validation, transformer head alone", head))
    else:
        blocks.append(("validation, served (transformer)", head))
    if manifest.get("derived_from"):
        notes.append(f"note: validation figures are of the training run ({manifest.get('trained_as', 'unknown')}); "
                     f"this version derives from {manifest['derived_from']} (see its model card)")  # fmt: skip
    report = path / "report" / "report.json"
    if report.is_file():
        blocks.append(("test, served", json.loads(report.read_text(encoding="utf-8")).get("model", {})))
    evaluations = path / "evaluations" / "summary.json"
    if evaluations.is_file():
        for label, entry in json.loads(evaluations.read_text(encoding="utf-8")).items():
            blocks.append((f"test {label}, served", entry.get("model", {})))
    lines = list(notes)
    for split, block in blocks:
        for task, values in block.items():
            if values.get("n"):
                lines.append(
                    f"{split} {task}: n={values['n']} accuracy={values['accuracy']:.4f} "
                    f"macro_f1={values.get('macro_f1', 0.0):.4f}"
                )
    return lines


def _models_promote(args: argparse.Namespace) -> int:
    from dispo.model.bundle import promote

    path = promote(args.name, args.version, args.models_dir)
    logger.info("promoted %s:%s (%s)", args.name, path.name, path)
    return 0
