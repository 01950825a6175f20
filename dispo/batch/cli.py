"""``dispo label INPUT... -o OUTPUT.parquet --model NAME[:VERSION]``: batch labelling.

Registered under the ``dispo.commands`` entry points as ``label = "dispo.batch.cli:register_label"``;
``python -m dispo.batch label ...`` runs the same command without the entry point.
Heavy imports stay inside the handler so that ``dispo --help`` is instant.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def register_label(subcommands: Any) -> None:
    label = subcommands.add_parser(
        "label",
        help="label contacts in bulk (resumable): one Parquet row per contact, invalid records to a rejects file",
        description=(
            "Read contacts (JSONL, CSV or Parquet: files, folders or globs), redact, predict and write one row per "
            "contact. Killed at any point, the same command resumes where it stopped; the output then holds every "
            "input contact exactly once, and records read = rows written + records rejected."
        ),
    )
    label.add_argument("inputs", nargs="+", help="input files, folders or globs (.jsonl, .csv, .parquet)")
    label.add_argument("-o", "--output", type=Path, required=True, help="output Parquet file")
    label.add_argument(
        "--model", default="dispo-default", help="NAME[:VERSION] or a bundle folder (default dispo-default)"
    )
    label.add_argument("--models-dir", type=Path, default=None, help="registry folder (env DISPO_MODELS_DIR)")
    label.add_argument(
        "--backend",
        default="auto",
        help="encoder: auto (the ONNX/int8 variant where its recorded agreement allows), torch, onnx_fp32, "
        "onnx_int8 or torch_int8 (default auto)",
    )
    label.add_argument("--engine", choices=["local", "ray"], default="local", help="local (default) or ray")
    label.add_argument(
        "--workers",
        type=int,
        default=None,
        help="local: worker processes (default: one per core); ray: actors (default: one per CPU of the cluster)",
    )
    label.add_argument("--threads", type=int, default=None, help="torch threads per worker (default: cores / workers)")
    label.add_argument("--ray-address", default=None, help="Ray cluster to join (default: start a local Ray)")
    label.add_argument("--chunk-size", type=int, default=None, help="records per chunk, the unit of resumption (1024)")
    label.add_argument("--batch-size", type=int, default=None, help="contacts per model batch (default 256)")
    label.add_argument("--top-k", type=int, default=3, help="reasons kept per contact (default 3)")
    label.add_argument(
        "--rejects", type=Path, default=None, help="rejects file (default: OUTPUT with .rejects.jsonl for its suffix)"
    )
    label.add_argument("--work-dir", type=Path, default=None, help="chunk parts and progress (default OUTPUT.work)")
    label.add_argument("--restart", action="store_true", help="discard an earlier run's progress and start over")
    label.add_argument("--keep-parts", action="store_true", help="keep the chunk parts after the final merge")
    label.add_argument("--no-redact", action="store_true", help="the input is already redacted")
    label.add_argument("--no-progress", action="store_true", help="no progress bar")
    label.add_argument(
        "--format", default=None, metavar="PLATFORM",
        help="the inputs are a platform's exports, in a format of `dispo data import` (e.g. contact_lens, zendesk)",
    )  # fmt: skip
    label.add_argument(
        "--pseudonymize", action="store_true",
        help="replace customer and agent ids by keyed hashes; the key is read from DISPO_PSEUDONYM_KEY",
    )  # fmt: skip
    label.set_defaults(handler=label_command)


def label_command(args: argparse.Namespace) -> int:
    from dispo.batch.job import DEFAULT_BATCH_SIZE, DEFAULT_CHUNK_SIZE, LabelJob, run_label_job
    from dispo.errors import ConfigError
    from dispo.redact.pseudonym import KEY_ENV as PSEUDONYM_KEY_ENV

    key = os.environ.get(PSEUDONYM_KEY_ENV) if args.pseudonymize else None
    if args.pseudonymize and not key:
        raise ConfigError(f"--pseudonymize needs the key in {PSEUDONYM_KEY_ENV} (never on the command line)")
    job = LabelJob(
        inputs=args.inputs,
        output=args.output,
        model=args.model,
        models_dir=args.models_dir,
        backend=args.backend,
        engine=args.engine,
        workers=args.workers,
        threads=args.threads,
        chunk_size=args.chunk_size or DEFAULT_CHUNK_SIZE,
        batch_size=args.batch_size or DEFAULT_BATCH_SIZE,
        top_k=args.top_k,
        redact=not args.no_redact,
        rejects=args.rejects,
        work_dir=args.work_dir,
        restart=args.restart,
        keep_parts=args.keep_parts,
        progress=not args.no_progress,
        ray_address=args.ray_address,
        pseudonym_key=key,
        platform=args.format,
    )
    summary = run_label_job(job)
    if summary.records and not summary.outputs:
        logger.error("no record of %d was labelled: every one was rejected (reasons in %s)", summary.records,
                     summary.rejects_path)  # fmt: skip
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m dispo.batch label ...``: the command without the plugin entry point."""
    from dispo.cli import add_log_level, run

    parser = argparse.ArgumentParser(prog="python -m dispo.batch")
    add_log_level(parser)
    register_label(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    return run(parser, argv)
