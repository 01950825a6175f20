"""Benchmark: does a calibration fitted on one hand-written set hold on the other?

The realistic sets A and B were written apart (other writers, other companies). This script reads a
model's scores on both dev halves (never a test half) and, for each head, fits the temperature (and a
top-label map on top of it, for the multi-class heads) on one set's dev half and scores the other's:
ECE and log-loss with the temperature alone and with the map. A map that only helps inside the set
it was fitted on is fitting that set; training keeps a map only when it helps across the sets
(``training.calibration.out_of_fold_splits``).

    python bench/calibration_across_sets.py                      # the shipped model
    python bench/calibration_across_sets.py --model NAME[:VERSION] --results FILE

Results go to ``bench/results/calibration_across_sets.json``. Calibration never changes the winner,
so the figures depend only on the weights, baseline and blend, not on the bundle's calibration.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from dispo.cli import configure_logging
from dispo.model.calibration import softmax
from dispo.model.features import LabelEncoder
from dispo.model.predictor import Predictor
from dispo.redact import default_redactor
from training.calibration import ece_and_log_loss, fit_temperature, fit_top_label_map
from training.evalset import SET_DIRS, half_path
from training.pipeline import read_validation

logger = logging.getLogger("bench.calibration_across_sets")
RESULTS = Path("bench/results/calibration_across_sets.json")
MULTI_CLASS = ("reason", "outcome", "sentiment")


def dev_scores(predictor: Predictor, folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per multi-class head: the blended scores of a set's dev half and the gold label indices."""
    contacts, _ = read_validation(str(half_path("dev", folder)), predictor.taxonomy, default_redactor())
    raws = list(predictor.logits(contacts))
    targets = LabelEncoder(predictor.taxonomy).encode(contacts)
    out = {}
    for task in MULTI_CLASS:
        y = targets[task].numpy()
        scores = np.stack([raw["logits"][task] for raw in raws])
        out[task] = (scores[y >= 0], y[y >= 0])
    return out


def across(fit: tuple[np.ndarray, np.ndarray], score: tuple[np.ndarray, np.ndarray]) -> dict[str, Any]:
    temperature = fit_temperature(*fit)
    mapping = fit_top_label_map(softmax(fit[0], temperature), fit[1])
    scaled = softmax(score[0], temperature)
    (ece_t, loss_t), (ece_m, loss_m) = (
        ece_and_log_loss(scaled, score[1]),
        ece_and_log_loss(mapping.apply(scaled), score[1]),
    )
    return {
        "temperature": round(temperature, 4),
        "map": mapping.to_dict(),
        "ece_temperature": round(ece_t, 4),
        "ece_map": round(ece_m, 4),
        "log_loss_temperature": round(loss_t, 4),
        "log_loss_map": round(loss_m, 4),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model", default="dispo-default")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    configure_logging("INFO")
    predictor = Predictor.load(args.model)
    sets = {name: dev_scores(predictor, folder) for name, folder in SET_DIRS.items()}
    results: dict[str, Any] = {"model": predictor.version, "heads": {}}
    for task in MULTI_CLASS:
        results["heads"][task] = {
            f"{a} dev -> {b} dev": across(sets[a][task], sets[b][task]) for a in sets for b in sets if a != b
        }
        logger.info("%s: %s", task, results["heads"][task])
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    logger.info("wrote %s", args.results)


if __name__ == "__main__":
    main()
