"""Benchmark: lone customer messages of the target kind, read by dispo and its peers.

``data/eval/lone-messages`` holds hand-written messages to retailers that nobody has answered yet
(social posts and DMs, SMS and WhatsApp, first chat messages, single emails), labelled with reason
and sentiment and frozen by hash (training/evalset.py). The shipped model reads a lone message's
sentiment with its head and the VADER lexicon together (dispo/model/lexicon.py), a blend fitted on
tweets. This script reads one half (or both) with:

- ``dispo``: the model as it serves (the lexicon blend where the bundle has one);
- ``dispo_head``: the same model with the blend switched off (the sentiment head alone);
- ``tfidf_lr``: the bundle's TF-IDF + logistic regression baseline;
- ``vader``: VADER alone (compound >= 0.05 positive, <= -0.05 negative).

It reports reason accuracy (by channel), sentiment macro-F1 and ECE, and the outcome dispo gives (a
lone message is ``unresolved``: dispo/model/lone_messages.py), and appends the run to ``--results``:

    python bench/lone_messages_eval.py --model dispo-default --half test
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from realistic_eval import baseline_probs, dispo_probs, summarise, vader_probs  # bench/ is on the path

from dispo.cli import configure_logging
from dispo.contact import Contact
from dispo.io import ContactReader
from dispo.model.bundle import BASELINE_FILE, load_pickled
from dispo.model.predictor import Predictor
from dispo.redact import default_redactor
from training.evalset import HALVES, LONE_DIR, check_frozen, half_path

logger = logging.getLogger("bench.lone_messages_eval")


def read_halves(halves: list[str], folder: Path) -> tuple[list[Contact], dict[str, str]]:
    """The contacts of the frozen set's ``halves``, redacted as serving redacts them, and each half's hash."""
    manifest = check_frozen(folder)
    redactor = default_redactor()
    contacts: list[Contact] = []
    for half in halves:
        contacts += [redactor.redact_contact(c) for c in ContactReader(half_path(half, folder))]
    return contacts, {half: manifest["halves"][half]["sha256"] for half in halves}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model", default="dispo-default", help="NAME[:VERSION] or a bundle folder")
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--half", choices=[*HALVES, "all"], default="dev")
    parser.add_argument("--folder", type=Path, default=LONE_DIR)
    parser.add_argument("--results", type=Path, default=Path("bench/results/lone_messages.jsonl"))
    args = parser.parse_args()
    configure_logging("INFO")
    halves = list(HALVES) if args.half == "all" else [args.half]
    contacts, hashes = read_halves(halves, args.folder)
    predictor = Predictor.load(args.model, args.models_dir)
    labels = {task: list(names) for task, names in predictor.labels.items()}
    served = dispo_probs(predictor, contacts)
    outcomes = Counter(p.outcome.label for p in predictor.predict(contacts) if p.outcome is not None)
    lexicon, predictor.lexicon = predictor.lexicon, None
    head = dispo_probs(predictor, contacts)
    predictor.lexicon = lexicon
    readers: dict[str, dict[str, np.ndarray]] = {
        "dispo": {"reason": served["reason"], "sentiment": served["sentiment"]},
        "dispo_head": {"sentiment": head["sentiment"]},
        "vader": {"sentiment": vader_probs(contacts, labels["sentiment"])},
    }
    if predictor.path is not None and (predictor.path / BASELINE_FILE).is_file():
        baseline = baseline_probs(load_pickled(predictor.path / BASELINE_FILE), contacts, labels)
        readers["tfidf_lr"] = {task: baseline[task] for task in ("reason", "sentiment") if task in baseline}
    results: dict[str, Any] = {name: summarise(probs, contacts, labels) for name, probs in readers.items()}
    for name, summary in results.items():
        logger.info("%s: %s", name, json.dumps({t: v for t, v in summary.items() if t != "reason_accuracy_by"}))
    record = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "model": predictor.version,
        "lexicon_blend": lexicon is not None,
        "half": args.half,
        "sha256": hashes,
        "contacts": len(contacts),
        "gold_sentiment": dict(Counter(str(c.labels.sentiment) for c in contacts if c.labels is not None)),
        "dispo_outcomes": dict(outcomes),
        "readers": results,
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    with args.results.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
    logger.info("appended to %s", args.results)


if __name__ == "__main__":
    main()
