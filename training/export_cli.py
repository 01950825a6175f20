"""``dispo export NAME[:VERSION] --data eval.jsonl``: add checked fast inference variants to a bundle.

Heavy imports stay inside the handler so that ``dispo --help`` is instant.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from dispo.errors import ConfigError

logger = logging.getLogger(__name__)


def register_export(subcommands: Any) -> None:
    export = subcommands.add_parser(
        "export",
        help="export a model's turn encoder to ONNX (fp32, int8) and record where the variants agree with PyTorch",
    )
    export.add_argument("ref", help="NAME[:VERSION] (default version: the promoted one, else the newest) or a folder")
    export.add_argument("--data", required=True, help="evaluation contacts (file, folder or glob) to check agreement")
    export.add_argument("--models-dir", type=Path, default=None, help="registry folder (env DISPO_MODELS_DIR)")
    export.add_argument("--batch-size", type=int, default=32, help="batch size of the checks and timings (default 32)")
    export.add_argument("--threads", type=int, default=None, help="CPU threads while measuring (default: torch's)")
    export.add_argument("--max-contacts", type=int, default=None, help="check on the first N contacts only")
    export.add_argument(
        "--min-agreement", type=float, default=None, help="argmax agreement a variant needs on every task (0.995)"
    )
    export.add_argument(
        "--variants", nargs="+", default=None, help="onnx_fp32, onnx_int8, torch_int8 (default: all three)"
    )
    export.add_argument("--no-redact", action="store_true", help="check on the text as given (already redacted)")
    export.add_argument("--force", action="store_true", help="replace an existing runtime.json and variant files")
    export.set_defaults(handler=_export)


def _export(args: argparse.Namespace) -> int:
    from dispo.io import ContactReader
    from dispo.model.bundle import resolve
    from dispo.model.export import DEFAULT_MIN_AGREEMENT, export_bundle
    from dispo.model.runtime import VARIANTS

    if args.max_contacts is not None and args.max_contacts <= 0:
        raise ConfigError(f"--max-contacts must be positive, got {args.max_contacts}")
    bundle = resolve(args.ref, args.models_dir)
    contacts = []
    # Labels are not needed (agreement is with the PyTorch model), so any valid contact will do.
    for contact in ContactReader(args.data, redact=not args.no_redact):
        contacts.append(contact)
        if args.max_contacts is not None and len(contacts) >= args.max_contacts:
            break
    record = export_bundle(
        bundle,
        contacts,
        batch_size=args.batch_size,
        threads=args.threads,
        min_agreement=args.min_agreement if args.min_agreement is not None else DEFAULT_MIN_AGREEMENT,
        variants=tuple(args.variants) if args.variants else VARIANTS,
        force=args.force,
    )
    usable = [name for name, entry in record["variants"].items() if entry.get("usable")]
    logger.info(
        "%s: usable variants %s (torch fp32 %.1f contacts/s)",
        bundle,
        ", ".join(usable) or "none",
        record["reference"]["contacts_per_s"],
    )
    return 0
