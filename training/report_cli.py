"""``dispo evaluate``: a thin command over :func:`training.report.evaluate_bundle`.

Heavy imports stay inside the handler so that ``dispo --help`` is instant.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from dispo.errors import ConfigError

logger = logging.getLogger(__name__)


def register_evaluate(subcommands: Any) -> None:
    evaluate = subcommands.add_parser(
        "evaluate",
        help="score a model version on a labelled file and write a report (JSON, Markdown, pictures)",
    )
    evaluate.add_argument("ref", help="NAME[:VERSION] in the registry, or a bundle folder")
    evaluate.add_argument("--data", required=True, help="labelled contacts (file, folder or glob)")
    evaluate.add_argument("-o", "--output", type=Path, required=True, help="report folder (created if needed)")
    evaluate.add_argument("--models-dir", type=Path, default=None, help="registry folder (env DISPO_MODELS_DIR)")
    evaluate.add_argument(
        "--taxonomy", default=None, help="read the data with this taxonomy (default: the model's own)"
    )
    evaluate.add_argument("--batch-size", type=int, default=32, help="contacts per inference batch (default 32)")
    evaluate.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    redaction = evaluate.add_mutually_exclusive_group()
    redaction.add_argument(
        "--redact", dest="redact", action="store_true", default=None, help="redact PII before predicting"
    )
    redaction.add_argument("--no-redact", dest="redact", action="store_false", help="predict on the text as given")
    evaluate.add_argument("--no-pictures", action="store_true", help="skip the PNG pictures (numbers and CSV only)")
    evaluate.set_defaults(handler=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    if args.batch_size <= 0:
        raise ConfigError(f"--batch-size must be positive, got {args.batch_size}")
    if args.threads is not None:
        if args.threads <= 0:
            raise ConfigError(f"--threads must be positive, got {args.threads}")
        import torch

        torch.set_num_threads(args.threads)

    from training.report import evaluate_bundle

    report = evaluate_bundle(
        args.ref,
        args.data,
        args.output,
        root=args.models_dir,
        taxonomy=args.taxonomy,
        batch_size=args.batch_size,
        redact=args.redact,
        pictures=not args.no_pictures,
    )
    for task, values in report["model"].items():
        base = report["baseline"].get(task, {})
        score = "f1" if task == "upsell" else "macro_f1"
        logger.info(
            "%s: n=%d accuracy=%.4f %s=%.4f (baseline %s)",
            task,
            values["n"],
            values["accuracy"],
            score,
            values[score],
            f"{base['accuracy']:.4f} / {base[score]:.4f}" if base else "-",
        )
    logger.info("report: %s", Path(args.output) / "report.md")
    return 0
