"""``dispo data ...``: build the demo corpus, convert public data sets, redact and validate files.

Heavy imports stay inside the handlers so that ``dispo --help`` is instant.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

from dispo.errors import ConfigError

logger = logging.getLogger(__name__)


def register_data(subcommands: Any) -> None:
    data = subcommands.add_parser("data", help="build, convert, redact and validate contact files")
    actions = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    build = actions.add_parser("build", help="compose a realistic labelled corpus of multi-turn contacts")
    build.add_argument("-n", "--n-contacts", type=int, default=10_000, help="how many contacts (default 10000)")
    build.add_argument("--seed", type=int, default=7, help="random seed; the same seed gives the same corpus")
    build.add_argument("-o", "--output", type=Path, required=True, help="output file (.jsonl, .csv or .parquet)")
    build.add_argument(
        "--utterances",
        default=None,
        metavar="bitext:PATH",
        help="take customer requests from real Bitext utterances (CSV) instead of the built-in phrase bank",
    )
    build.add_argument("--agent-error-rate", type=float, default=0.1, help="share of wrong agent dispositions")
    build.add_argument("--taxonomy", default=None, help="taxonomy YAML (default: the built-in retail taxonomy)")
    build.set_defaults(handler=_build)

    convert = actions.add_parser("convert", help="convert a public data set to dispo contacts")
    convert.add_argument("source", help="banking77, bitext, nlupp, uss or dstc11")
    convert.add_argument("path", type=Path, help="the data set's file or folder (e.g. ../shared/data/banking77)")
    convert.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    convert.add_argument("--seed", type=int, default=13, help="seed of the stratified split (sources without one)")
    convert.add_argument("--test-size", type=float, default=0.2, help="test share (sources without a split)")
    convert.set_defaults(handler=_convert)

    redact = actions.add_parser("redact", help="redact PII from a file of contacts, leaving everything else as is")
    redact.add_argument("input", help="input file, folder or glob (.jsonl, .csv, .parquet)")
    redact.add_argument("-o", "--output", type=Path, required=True, help="output file; format from its suffix")
    redact.add_argument("--rejects", type=Path, default=None, help="write invalid records here instead of stopping")
    redact.set_defaults(handler=_redact)

    validate = actions.add_parser("validate", help="check a file of contacts against the contract and a taxonomy")
    validate.add_argument("input", help="input file, folder or glob")
    validate.add_argument("--taxonomy", default=None, help="taxonomy YAML (default: the built-in retail taxonomy)")
    validate.add_argument("--rejects", type=Path, default=None, help="write invalid records here instead of stopping")
    validate.set_defaults(handler=_validate)


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

    summary = convert(args.source, args.path, args.output, seed=args.seed, test_size=args.test_size)
    logger.info("converted %s: %s", args.source, json.dumps(summary.to_dict().get("counts", {})))
    return 0


def _redact(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from dispo.io import ContactReader, ContactWriter
    from dispo.redact import Redactor

    redactor = Redactor()
    reader = ContactReader(args.input, rejects=args.rejects, scrub=redactor.redact_value)
    with ContactWriter(args.output) as writer:
        for contact in tqdm(reader, unit="contact", desc="redacting"):
            writer.write(redactor.redact_contact(contact))
    _log_accounting(reader.stats, args.output)
    return 0 if reader.stats.rejected == 0 else 1


def _validate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from dispo.io import ContactReader
    from dispo.taxonomy import load_taxonomy

    reader = ContactReader(args.input, taxonomy=load_taxonomy(args.taxonomy), rejects=args.rejects)
    for _ in tqdm(reader, unit="contact", desc="validating"):
        pass
    _log_accounting(reader.stats, None)
    return 0 if reader.stats.rejected == 0 else 1


def _log_accounting(stats: Any, output: Path | None) -> None:
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
