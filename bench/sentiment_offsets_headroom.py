"""How far a shift of the sentiment classes' priors could move a model on one kind of text.

The end-sentiment head's class offsets are fitted on the realistic dev halves. Tweets are labelled
by other annotators, with other class shares, so a model may read them with the wrong priors rather
than the wrong words. This script adds an offset to the log-probability of each class but neutral
(a grid), and reports macro-F1 on a test file:
- ``chosen``: the offsets that read the ``--dev`` file best, applied to ``--test`` (what a shift
  chosen honestly would give);
- ``oracle``: the offsets that read ``--test`` best (no shift can do better; not a result to ship).

If the oracle stays below a target, no calibration of the priors reaches it: the head must read the
text better. Results are written to ``--results``.

    python bench/sentiment_offsets_headroom.py --model dispo-default \
        --dev data/work/default-model/tweeteval/held_out.jsonl \
        --test data/work/default-model/tweeteval/test.jsonl \
        --results bench/results/sentiment_offsets_headroom.json
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
from realistic_eval import dispo_probs  # bench/ is on the path of a bench script
from sklearn.metrics import f1_score

from dispo.cli import configure_logging
from dispo.io import read_contacts
from dispo.model.predictor import Predictor

logger = logging.getLogger("bench.sentiment_offsets_headroom")
GRID = np.round(np.arange(-1.5, 1.51, 0.1), 2)  # offsets tried for each class but neutral


def read(predictor: Predictor, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Sentiment probabilities (columns in the head's label order) and gold classes of one file."""
    contacts = list(read_contacts(path))
    labels = list(predictor.labels["sentiment"])
    gold = np.array([labels.index(str(c.labels.sentiment)) for c in contacts if c.labels is not None])
    if len(gold) != len(contacts):
        raise SystemExit(f"{path}: every contact needs a sentiment label")
    return dispo_probs(predictor, contacts)["sentiment"], gold


def macro_f1(probs: np.ndarray, gold: np.ndarray, offsets: np.ndarray) -> float:
    shifted = np.log(probs.clip(1e-12)) + offsets
    return float(f1_score(gold, shifted.argmax(axis=1), average="macro"))


def best_offsets(probs: np.ndarray, gold: np.ndarray, neutral: int) -> tuple[np.ndarray, float]:
    """The grid's offsets (neutral's held at 0) that read ``probs`` best."""
    others = [k for k in range(probs.shape[1]) if k != neutral]
    best: tuple[np.ndarray, float] | None = None
    for first in GRID:
        for second in GRID:
            offsets = np.zeros(probs.shape[1])
            offsets[others] = (first, second)
            score = macro_f1(probs, gold, offsets)
            if best is None or score > best[1]:
                best = (offsets, score)
    assert best is not None
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model", default="dispo-default")
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--dev", type=Path, required=True, help="labelled contacts that choose the offsets")
    parser.add_argument("--test", type=Path, required=True, help="labelled contacts the offsets are scored on")
    parser.add_argument("--results", type=Path, required=True)
    args = parser.parse_args()
    configure_logging("INFO")
    predictor = Predictor.load(args.model, args.models_dir)
    labels = list(predictor.labels["sentiment"])
    if len(labels) != 3 or "neutral" not in labels:
        raise SystemExit(f"expected the sentiment labels negative, neutral and positive, got {labels}")
    neutral = labels.index("neutral")
    dev, dev_gold = read(predictor, args.dev)
    test, test_gold = read(predictor, args.test)
    chosen, dev_score = best_offsets(dev, dev_gold, neutral)
    oracle, oracle_score = best_offsets(test, test_gold, neutral)
    none = np.zeros(len(labels))
    record = {
        "model": predictor.version,
        "labels": labels,
        "dev": {"data": str(args.dev), "n": len(dev_gold), "as_is": round(macro_f1(dev, dev_gold, none), 4)},
        "test": {"data": str(args.test), "n": len(test_gold), "as_is": round(macro_f1(test, test_gold, none), 4)},
        "chosen_on_dev": {
            "offsets": chosen.round(2).tolist(),
            "dev": round(dev_score, 4),
            "test": round(macro_f1(test, test_gold, chosen), 4),
        },
        "oracle_on_test": {"offsets": oracle.round(2).tolist(), "test": round(oracle_score, 4)},
    }
    args.results.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    logger.info("%s", json.dumps(record))


if __name__ == "__main__":
    main()
