"""Benchmark: what the label-noise handling of ``dispo train`` costs, timed alone on a quiet machine.

``dispo train`` records the seconds of its noise handling in the bundle (``data.json``,
``label_noise``), but anything else running during those minutes inflates them. This times the same
call, :func:`training.noise.handle_label_noise`, on the same training file redacted as training
redacts it (names and PII), with the run's options, for each method, and writes the seconds beside
the training time of a bundle when one is given:

    python bench/noise_cost.py data/work/label-noise-0.2/train.jsonl --methods prune correct correct-prune \
        --seed 42 --max-features 200000 --bundle data/work/label-noise-0.2/models/noise-correct-prune/v1
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dispo.cli import configure_logging
from dispo.contact import Contact, Labels
from dispo.io import read_contacts
from dispo.redact import default_redactor
from training.labelsources import resolve_labels
from training.noise import NOISE_METHODS, NOISE_TASKS, OutOfFold, handle_label_noise

logger = logging.getLogger("bench.noise_cost")


def codes_left(contacts: Sequence[Contact], gold: dict[str, Labels]) -> dict[str, dict[str, int]]:
    """Per noise task, the training labels left after the handling and how many differ from gold
    (where the file has gold labels beside the agents' codes, as built corpora do)."""
    out: dict[str, dict[str, int]] = {}
    for task in NOISE_TASKS:
        left = [(c.contact_id, getattr(c.labels, task)) for c in contacts
                if c.labels is not None and getattr(c.labels, task) is not None]  # fmt: skip
        known = [(k, v) for k, v in left if k in gold and getattr(gold[k], task) is not None]
        out[task] = {"left": len(left), "wrong": sum(v != getattr(gold[k], task) for k, v in known)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("data", type=Path, help="training contacts with agent codes (JSONL)")
    parser.add_argument("--methods", nargs="+", default=["prune", "correct"], choices=NOISE_METHODS[:-1])
    parser.add_argument("--seed", type=int, default=42, help="the run's training.seed")
    parser.add_argument("--max-features", type=int, default=200_000, help="the run's baseline_max_features")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--bundle", type=Path, default=None, help="a bundle trained on DATA: its training seconds")
    parser.add_argument("--results", type=Path, default=Path("bench/results/noise_cost.json"))
    args = parser.parse_args()
    configure_logging("INFO")
    redactor = default_redactor()
    contacts = [redactor.redact_contact(c) for c in read_contacts(args.data)]
    agent = resolve_labels(contacts, priority=["agent"])
    gold = {c.contact_id: c.labels for c in contacts if c.labels is not None}
    as_given = codes_left(agent.contacts, gold)
    reader = OutOfFold(folds=args.folds, seed=args.seed, max_features=args.max_features)
    record: dict[str, Any] = {"data": str(args.data), "contacts": len(agent.contacts), "cores": os.cpu_count(),
                              "reader": {"folds": reader.folds, "seed": reader.seed,
                                         "max_features": reader.max_features, "parallel_folds": reader.parallel_folds},
                              "codes_as_given": as_given, "methods": {}}  # fmt: skip
    training_seconds = None
    if args.bundle is not None:
        training_seconds = json.loads((args.bundle / "metrics.json").read_text(encoding="utf-8"))["training"]["seconds"]
        record["bundle"], record["training_seconds"] = str(args.bundle), training_seconds
    for method in args.methods:
        outcome = handle_label_noise(agent.contacts, agent.sources, method=method, reader=reader)
        row = {"seconds": round(outcome.seconds, 1), "judging_seconds": round(outcome.report.seconds, 1),
               "corrected": outcome.corrected}  # fmt: skip
        if training_seconds:
            row["share_of_training"] = round(outcome.seconds / training_seconds, 3)
        row["codes_left"] = codes_left(outcome.contacts, gold)
        record["methods"][method] = row
        logger.info("%s: %s", method, row)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    logger.info("wrote %s", args.results)


if __name__ == "__main__":
    main()
