"""The results file of bench/label_noise_transformer.sh: each method's figures and its gap to gold.

For every method trained under ``DIR`` (``DIR/models/noise-METHOD``, its realistic evaluation in
``DIR/realistic-METHOD``; a replicate with another seed is one more METHOD, e.g. correct-seed43):
reason accuracy and outcome macro-F1 on the built held-out split and the realistic test half, the
training and noise-handling seconds, and the gap to the gold-trained model of the same seed
(``gold-seed43`` for the seed-43 replicates, when it was trained; else ``gold``) with a 95% paired
bootstrap interval over the contacts (the same contacts resampled for both models), which says how
large a gap each evaluation set can resolve. A method recorded in ``--results`` whose models are not
under ``DIR`` (trained on another machine or in an earlier checkout) keeps its recorded row; without
both models' predictions under ``DIR``, the gap is between the recorded figures, without an interval.
Where ``DIR/realistic-b-METHOD`` holds a method's evaluation on set B's test half (``dispo evaluate
noise-METHOD --data data/eval/realistic-b/test.jsonl``), that split (``realistic_b_test``) is added;
the same for set C (``DIR/realistic-c-METHOD``, ``realistic_c_test``).
Where naive training was run too, every other method also gets its lead over it (``over_naive``: method
minus naive of the same seed where there is one, e.g. ``naive-seed43``, with the same kind of
interval), what the issue asks at every error rate. Each rate has
its own results file (``bench/results/label_noise_transformer_RATE.json``); a method without a gold
run at its rate has no gap to gold.

    python bench/label_noise_transformer_report.py data/work/label-noise-0.2 0.2  # -> ..._0.2.json
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score

from dispo.cli import configure_logging

logger = logging.getLogger("bench.label_noise_transformer_report")
METHODS = ("gold", "naive", "prune", "correct", "correct-prune", "forward", "correct-soft", "correct-refine")
NOISE_KEYS = (
    "method", "judged", "flagged", "corrected", "soft_targets", "refined", "judging_seconds", "seconds",
)  # fmt: skip


def read_predictions(path: Path) -> dict[str, dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return {row["contact_id"]: row for row in map(json.loads, lines)}


def figures(rows: list[dict[str, Any]]) -> dict[str, float]:
    reason = np.mean([r["predicted"]["reason"] == r["gold"]["reason"] for r in rows])
    outcome = f1_score([r["gold"]["outcome"] for r in rows], [r["predicted"]["outcome"] for r in rows],
                       average="macro", zero_division=0)  # fmt: skip
    return {"reason_accuracy": round(float(reason), 4), "outcome_macro_f1": round(float(outcome), 4)}


def paired_gap(
    gold: dict[str, dict[str, Any]], other: dict[str, dict[str, Any]], *, draws: int = 2000, seed: int = 0
) -> dict[str, dict[str, float]]:
    """gold minus other, with the 2.5th and 97.5th percentiles over contacts resampled together."""
    ids = sorted(gold)
    rng = np.random.default_rng(seed)
    point = {k: figures([gold[i] for i in ids])[k] - figures([other[i] for i in ids])[k]
             for k in ("reason_accuracy", "outcome_macro_f1")}  # fmt: skip
    samples: dict[str, list[float]] = {k: [] for k in point}
    for _ in range(draws):
        picked = [ids[j] for j in rng.integers(0, len(ids), len(ids))]
        a, b = figures([gold[i] for i in picked]), figures([other[i] for i in picked])
        for k in point:
            samples[k].append(a[k] - b[k])
    return {k: {"gap": round(point[k], 4), "low": round(float(np.percentile(samples[k], 2.5)), 4),
                "high": round(float(np.percentile(samples[k], 97.5)), 4)} for k in point}  # fmt: skip


def reference(method: str, methods: Iterable[str], *, base: str = "gold") -> str:
    """The run of ``base`` (gold, or naive) a method is measured against: the one trained with the
    method's own seed when there is one (``correct-seed43`` -> ``gold-seed43``), else ``base``."""
    _, replicate, seed = method.rpartition("-seed")
    own = f"{base}-seed{seed}" if replicate else base
    return own if own in methods else base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("work", type=Path)
    parser.add_argument("rate", type=float)
    parser.add_argument(
        "--results", type=Path, default=None, help="default: bench/results/label_noise_transformer_RATE.json"
    )
    args = parser.parse_args()
    if args.results is None:
        args.results = Path(f"bench/results/label_noise_transformer_{args.rate:g}.json")
    configure_logging("INFO")
    rows: dict[str, Any] = {}
    predictions: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    found = {path.name.removeprefix("realistic-") for path in args.work.glob("realistic-*")}
    found = {name for name in found if not name.startswith(("b-", "c-"))}  # realistic-b-METHOD, -c-: sets B, C
    for method in [*METHODS, *sorted(found - set(METHODS))]:  # replicates such as correct-seed43 last
        realistic = args.work / f"realistic-{method}"
        if not (realistic / "predictions.jsonl").is_file():
            continue
        bundle = sorted((args.work / "models" / f"noise-{method}").glob("v*"))[-1]
        predictions[method] = {"built_held_out": read_predictions(bundle / "report" / "predictions.jsonl"),
                               "realistic_test": read_predictions(realistic / "predictions.jsonl")}  # fmt: skip
        for other in ("b", "c"):
            path = args.work / f"realistic-{other}-{method}" / "predictions.jsonl"
            if path.is_file():
                predictions[method][f"realistic_{other}_test"] = read_predictions(path)
        noise = json.loads((bundle / "data.json").read_text(encoding="utf-8")).get("label_noise")
        rows[method] = {
            **{split: figures(list(rows_.values())) for split, rows_ in predictions[method].items()},
            "training_seconds": json.loads((bundle / "metrics.json").read_text(encoding="utf-8"))["training"][
                "seconds"
            ],
            "label_noise": noise and {k: noise[k] for k in NOISE_KEYS if noise.get(k) is not None},
        }
    if args.results.is_file():
        earlier = json.loads(args.results.read_text(encoding="utf-8"))
        if earlier.get("agent_error_rate") != args.rate:
            raise SystemExit(
                f"{args.results} holds the rate {earlier.get('agent_error_rate')}, not {args.rate}: "
                "name another --results"
            )
        kept = {m: row for m, row in earlier["methods"].items() if m not in rows}
        logger.info("kept the recorded rows of %s (not under %s)", ", ".join(kept) or "none", args.work)
        merged = {**kept, **rows}
        order = [*METHODS, *sorted(set(merged) - set(METHODS))]
        rows = {m: merged[m] for m in order if m in merged}
    for method, row in rows.items():
        if method == "gold" or method.startswith("gold-seed"):
            continue
        naive = reference(method, predictions, base="naive")
        if not method.startswith("naive") and method in predictions and naive in predictions:
            row["over_naive"] = {split: paired_gap(predictions[method][split], predictions[naive][split])
                                 for split in predictions[method] if split in predictions[naive]}  # fmt: skip
            row["naive_reference"] = naive
        ref = reference(method, rows)
        if ref not in rows:
            continue  # no gold run at this rate: nothing to measure the gap to
        if method in predictions and ref in predictions:
            row["gap_to_gold"] = {split: paired_gap(predictions[ref][split], predictions[method][split])
                                  for split in predictions[method] if split in predictions[ref]}  # fmt: skip
        elif method in predictions or row.get("gap_reference") != ref or "gap_to_gold" not in row:
            # no predictions of one of the pair here: the gap between the recorded figures, without an interval
            row["gap_to_gold"] = {
                split: {k: {"gap": round(rows[ref][split][k] - v, 4)} for k, v in row[split].items()}
                for split in ("built_held_out", "realistic_test")
            }
        row["gap_reference"] = ref
    record = {"agent_error_rate": args.rate, "learner": "dispo transformer (5 frozen layers, 320-token budget)",
              "gap_interval": "95% paired bootstrap over contacts, 2,000 draws", "methods": rows}  # fmt: skip
    args.results.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    logger.info("wrote %s", args.results)


if __name__ == "__main__":
    main()
