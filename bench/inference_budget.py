"""Benchmark: would a trained model read long calls better with another reading budget at inference?

The transformer reads at most ``max_turns`` segments and ``token_budget`` tokens of a contact
(``model_config.json``); a 1,500-word call holds several times that, and the 600+ word bucket is
the weakest on the realistic sets. The budget can be changed without retraining, so this script
copies a bundle once per budget, changes only those numbers, and scores each copy on the dev
half of every realistic set and on all of them pooled (never a test half). The dev halves chose the
bundle's blend weights and temperatures at its trained budget, so they favour the trained budget. A budget
is ``MAX_TURNS:TOKEN_BUDGET[:CLOSING][/TASK=MAX_TURNS:TOKEN_BUDGET,...]``, CLOSING being how many of
the customer's last segments are always read (``closing_customer_segments``; the bundle's own value
when left out), and each TASK after ``/`` reading a narrower selection among those segments
(``task_reading``: ``20:640:2/sentiment=12:320`` reads reasons in 20 segments, the end sentiment in 12).

    python bench/inference_budget.py --model dispo-default --budgets 12:320:0 12:320:1 12:320:2 12:320:3 16:448:0

Results go to ``bench/results/inference_budget.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from dispo.cli import configure_logging
from dispo.model.bundle import MODEL_CONFIG_FILE, resolve
from dispo.model.modeling import ModelConfig
from training.evalset import SET_DIRS, check_frozen, dev_halves, half_path
from training.report import evaluate_bundle

logger = logging.getLogger("bench.inference_budget")


Budget = tuple[int, int, int | None, dict[str, list[int]]]


def budget(spec: str) -> Budget:
    """``MAX_TURNS:TOKEN_BUDGET[:CLOSING][/TASK=MAX_TURNS:TOKEN_BUDGET,...]``: the contact's reading and
    the tasks that read a narrower selection of it (``task_reading`` in the model config)."""
    reading, _, narrow = spec.partition("/")
    parts = reading.split(":")
    if len(parts) not in (2, 3) or not all(part.isdigit() for part in parts):
        raise argparse.ArgumentTypeError(
            f"expected MAX_TURNS:TOKEN_BUDGET[:CLOSING][/TASK=MAX_TURNS:TOKEN_BUDGET,...] such as 16:448, 12:320:2 "
            f"or 20:640:2/sentiment=12:320, got {spec!r}"
        )
    tasks: dict[str, list[int]] = {}
    for item in filter(None, narrow.split(",")):
        task, _, numbers = item.partition("=")
        values = numbers.split(":")
        if not task or len(values) != 2 or not all(value.isdigit() for value in values):
            raise argparse.ArgumentTypeError(f"expected TASK=MAX_TURNS:TOKEN_BUDGET after '/', got {item!r}")
        tasks[task] = [int(values[0]), int(values[1])]
    return int(parts[0]), int(parts[1]), int(parts[2]) if len(parts) == 3 else None, tasks


def closing(config: dict[str, Any]) -> int:
    """The bundle's closing anchor, as the bundle is read (0 when it predates the setting)."""
    return ModelConfig.from_dict(config).closing_customer_segments


def headline(report: dict[str, Any]) -> dict[str, Any]:
    model = report["model"]
    by_length = report["breakdown"]["length_words"]
    voice = report["breakdown"]["channel"].get("voice", {}).get("tasks", {}).get("reason")
    long_calls = report["breakdown"]["length_turns"].get("16+", {}).get("tasks", {}).get("reason")
    return {
        "reason_accuracy": round(model["reason"]["accuracy"], 4),
        "reason_ece": round(model["reason"]["ece"], 4),
        "outcome_macro_f1": round(model["outcome"]["macro_f1"], 4),
        "sentiment_macro_f1": round(model["sentiment"]["macro_f1"], 4),
        "upsell_f1": round(model["upsell"]["f1"], 4),
        "reason_accuracy_600_plus_words": round(by_length["600+"]["tasks"]["reason"]["model"]["accuracy"], 4),
        "reason_accuracy_voice": voice and round(voice["model"]["accuracy"], 4),
        "reason_accuracy_16_plus_turns": long_calls and round(long_calls["model"]["accuracy"], 4),
        "tokens_per_contact": round(report["throughput"]["tokens"] / report["throughput"]["contacts"], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model", required=True, help="NAME[:VERSION] or a bundle folder")
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument(
        "--budgets",
        type=budget,
        nargs="+",
        default=[(12, 320, None, {}), (14, 384, None, {}), (16, 448, None, {}), (20, 512, None, {})],
    )
    parser.add_argument("--results", type=Path, default=Path("bench/results/inference_budget.json"))
    args = parser.parse_args()
    configure_logging("INFO")
    source = resolve(args.model, args.models_dir)
    trained = json.loads((source / MODEL_CONFIG_FILE).read_text(encoding="utf-8"))
    record: dict[str, Any] = {
        "model": str(source),
        "trained_budget": f"{trained['max_turns']}:{trained['token_budget']}:{closing(trained)}",
        "dev_sha256": {name: check_frozen(folder)["halves"]["dev"]["sha256"] for name, folder in SET_DIRS.items()},
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "budgets": {},
    }
    with tempfile.TemporaryDirectory() as scratch:
        for turns, tokens, anchored, narrow in args.budgets:
            config = dict(trained, max_turns=turns, token_budget=tokens, task_reading=narrow)
            config["closing_customer_segments"] = closing(trained) if anchored is None else anchored
            ModelConfig.from_dict(config)  # a bad budget fails here, before any copy
            key = f"{turns}:{tokens}:{config['closing_customer_segments']}"
            key += "/" + ",".join(f"{task}={t}:{b}" for task, (t, b) in narrow.items()) if narrow else ""
            copy = Path(scratch) / f"budget-{len(record['budgets'])}"
            shutil.copytree(source, copy, ignore=shutil.ignore_patterns("evaluations", "report"))
            (copy / MODEL_CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
            scores = {}
            for name, folder in SET_DIRS.items():
                report = evaluate_bundle(copy, half_path("dev", folder), Path(scratch) / "reports", pictures=False)
                scores[f"{name}_dev"] = headline(report)
            pooled = evaluate_bundle(copy, dev_halves(), Path(scratch) / "reports", pictures=False)
            scores["pooled_dev"] = headline(pooled)
            record["budgets"][key] = scores
            logger.info("budget %s (segments:tokens:closing): %s", key, json.dumps(scores))
    args.results.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    logger.info("wrote %s", args.results)


if __name__ == "__main__":
    main()
