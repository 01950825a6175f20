"""Benchmark: how much of a small evaluation set's ECE is sampling noise?

The expected calibration error of a few hundred contacts is not 0 even for a perfectly calibrated
model: each confidence bin's accuracy is a binomial draw around its confidence. This script reads
the reliability bins of a ``dispo evaluate`` report (``report.json``: ``calibration.TASK.bins_after``),
draws each bin's accuracy from Binomial(count, confidence) many times, and reports the ECE such a
perfectly calibrated model would show on the same bins: its mean, its 95th percentile and the
chance that it is at most the target. An observed ECE above the 95th percentile is miscalibration,
not noise.

    python bench/calibration_floor.py   # the shipped model on the realistic test half
    python bench/calibration_floor.py --report DIR/report.json --target 0.05

Results go to ``bench/results/calibration_floor.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from dispo.cli import configure_logging

logger = logging.getLogger("bench.calibration_floor")
SHIPPED = Path("models/dispo-default")


def shipped_report() -> Path:
    """The promoted default model's report on the realistic test half."""
    version = (SHIPPED / "PROMOTED").read_text(encoding="utf-8").strip()
    return SHIPPED / version / "evaluations" / "realistic_test" / "report.json"


def ece_of_bins(counts: np.ndarray, confidences: np.ndarray, accuracies: np.ndarray) -> np.ndarray:
    """ECE for bins (last axis), weighted by count; broadcasts over draws."""
    return np.asarray((counts * np.abs(confidences - accuracies)).sum(axis=-1) / counts.sum())


def noise_floor(bins: list[dict[str, Any]], *, target: float, draws: int, seed: int) -> dict[str, Any]:
    filled = [b for b in bins if b["count"]]
    counts = np.array([b["count"] for b in filled], dtype=float)
    confidences = np.array([b["confidence"] for b in filled], dtype=float)
    observed = float(ece_of_bins(counts, confidences, np.array([b["accuracy"] for b in filled], dtype=float)))
    rng = np.random.default_rng(seed)
    simulated = ece_of_bins(
        counts, confidences, rng.binomial(counts.astype(int), confidences, (draws, len(counts))) / counts
    )
    return {
        "n": int(counts.sum()),
        "observed_ece": round(observed, 4),
        "calibrated_ece_mean": round(float(simulated.mean()), 4),
        "calibrated_ece_p95": round(float(np.percentile(simulated, 95)), 4),
        "chance_calibrated_at_most_target": round(float((simulated <= target).mean()), 3),
        "observed_above_p95": observed > float(np.percentile(simulated, 95)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--report", type=Path, default=None, help="default: the shipped model's realistic test half")
    parser.add_argument("--target", type=float, default=0.05)
    parser.add_argument("--draws", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--results", type=Path, default=Path("bench/results/calibration_floor.json"))
    args = parser.parse_args()
    configure_logging("INFO")
    args.report = args.report or shipped_report()
    report = json.loads(args.report.read_text(encoding="utf-8"))
    tasks = {
        task: noise_floor(part["bins_after"], target=args.target, draws=args.draws, seed=args.seed)
        for task, part in report["calibration"].items()
    }
    for task, floor in tasks.items():
        logger.info("%s: %s", task, floor)
    record = {"report": str(args.report), "model": report.get("meta", {}).get("model_version"), "target": args.target,
              "draws": args.draws, "tasks": tasks}  # fmt: skip
    args.results.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    logger.info("wrote %s", args.results)


if __name__ == "__main__":
    main()
