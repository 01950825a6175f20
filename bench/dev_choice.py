"""Benchmark: which of several trained models the realistic dev halves prefer, by a rule fixed in advance.

Each model is scored on the dev halves of the frozen realistic sets, each set alone and all pooled
(never a test half). The first model is the reference; a candidate is preferred when, on the pooled
dev halves, the mean of reason accuracy, outcome macro-F1, end-sentiment macro-F1 and upsell F1 is
at least the reference's and no one of them is more than ``--max-drop`` points below it. This is the
rule that chose v6 over two full retrainings (docs/quality.md, "v6: the customer's last words"):

    python bench/dev_choice.py --models dispo-default \\
        data/work/default-model-v6/models/dispo-default/v1 data/work/default-model-v6/models/dispo-default/v2

Results go to ``bench/results/dev_choice.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from dispo.cli import configure_logging
from dispo.model.bundle import MANIFEST_FILE, resolve
from training.evalset import EVAL_ROOT, SET_DIRS, check_frozen, half_path
from training.report import HEADLINE_METRIC, evaluate_bundle

logger = logging.getLogger("bench.dev_choice")


def headline(report: dict[str, Any]) -> dict[str, float]:
    """The four headline figures and their mean (what the rule reads), and the reason ECE beside them."""
    scores = {task: round(report["model"][task][key], 4) for task, key in HEADLINE_METRIC.items()}
    ece = round(report["model"]["reason"]["ece"], 4)
    return {**scores, "mean": round(sum(scores.values()) / len(scores), 4), "reason_ece": ece}


def preferred(
    candidate: dict[str, float], reference: dict[str, float], *, max_drop: float, mean_slack: float = 0.0
) -> bool:
    """The rule: a mean at least the reference's (less ``mean_slack`` points, for a candidate chosen
    for something the four figures do not see), and no task more than ``max_drop`` points below it."""
    lowest = min(candidate[task] - reference[task] for task in HEADLINE_METRIC)
    return candidate["mean"] >= reference["mean"] - mean_slack / 100 - 1e-9 and lowest >= -max_drop / 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--models", nargs="+", required=True, help="NAME[:VERSION] or bundle folders; first: reference")
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--max-drop", type=float, default=2.0, help="points a task may fall (default 2)")
    parser.add_argument(
        "--mean-slack",
        type=float,
        default=0.0,
        help="points the pooled mean may fall below the reference's (default 0)",
    )
    parser.add_argument("--results", type=Path, default=Path("bench/results/dev_choice.json"))
    args = parser.parse_args()
    configure_logging("INFO")
    sets: dict[str, str | Path] = {name: half_path("dev", folder) for name, folder in SET_DIRS.items()}
    record: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "dev_sha256": {name: check_frozen(folder)["halves"]["dev"]["sha256"] for name, folder in SET_DIRS.items()},
        "rule": f"pooled mean >= reference's - {args.mean_slack} points and no task more than {args.max_drop} "
        "points below",
        "models": {},
    }
    pooled = str(EVAL_ROOT / "realistic*" / "dev.jsonl")  # every frozen set's dev half
    with tempfile.TemporaryDirectory() as scratch:
        for index, ref in enumerate(args.models):
            path = resolve(ref, args.models_dir)
            version = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8")).get("version")
            scores: dict[str, Any] = {}
            for name, dev in [*sets.items(), ("pooled", pooled)]:
                report = evaluate_bundle(path, dev, Path(scratch) / f"{index}-{name}", args.models_dir, pictures=False)
                scores[name] = headline(report)
            record["models"][str(path)] = {"version": version, "dev": scores}
            logger.info("%s (%s): %s", path, version, json.dumps(scores["pooled"]))
    reference = next(iter(record["models"].values()))["dev"]["pooled"]
    for entry in list(record["models"].values())[1:]:
        entry["preferred_to_reference"] = preferred(
            entry["dev"]["pooled"], reference, max_drop=args.max_drop, mean_slack=args.mean_slack
        )
    args.results.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    logger.info("wrote %s", args.results)


if __name__ == "__main__":
    main()
