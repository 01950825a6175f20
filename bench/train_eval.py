"""Benchmark: train dispo on a converted data set and evaluate on its test split.

Writes one JSON record per run to a results file (appending), with the test metrics of the
transformer and the baseline, the training time and the machine. Examples:

    # BANKING77, full training set (target: accuracy >= 0.937 in <= 15 min on 2 CPU cores)
    dispo data convert banking77 ../shared/data/banking77 -o data/converted/banking77
    python bench/train_eval.py --data data/converted/banking77 --name banking77 \
        --set training.epochs=3 training.batch_size=32 training.learning_rate=1e-4

    # few-shot: 10 examples per intent (target: accuracy >= 0.85)
    python bench/train_eval.py --data data/converted/banking77 --name b77-10shot --shots 10 \
        --config training/configs/few-shot.yaml
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from dispo.cli import configure_logging
from dispo.io import read_contacts, write_contacts
from training.config import RunConfig
from training.pipeline import train_model

logger = logging.getLogger("bench.train_eval")


def few_shot(train_file: Path, shots: int, seed: int, out: Path) -> Path:
    """Keep ``shots`` contacts per reason (seeded)."""
    by_reason: dict[str, list[Any]] = {}
    for contact in read_contacts(train_file):
        reason = contact.labels.reason if contact.labels else None
        if reason is not None:
            by_reason.setdefault(reason, []).append(contact)
    rng = random.Random(seed)
    kept = []
    for reason in sorted(by_reason):
        members = by_reason[reason][:]
        rng.shuffle(members)
        kept.extend(members[:shots])
    write_contacts(kept, out)
    return out


def build_split(n: int, seed: int, utterances: str | None, out: Path) -> Path:
    """Build ``n`` contacts and split them 80/20 (seeded) into out/train.jsonl and out/test.jsonl."""
    from dispo.taxonomy import load_taxonomy
    from training.corpus.builder import CorpusBuilder, CorpusConfig

    contacts = [b.contact for b in CorpusBuilder(CorpusConfig(n, seed=seed, utterances_path=utterances)).build()]
    random.Random(seed).shuffle(contacts)
    cut = int(0.8 * n)
    write_contacts(contacts[:cut], out / "train.jsonl")
    write_contacts(contacts[cut:], out / "test.jsonl")
    load_taxonomy().to_yaml(out / "taxonomy.yaml")
    return out


def transformer_alone(bundle: Path, test_file: Path) -> dict[str, float]:
    """Test accuracy of a blending bundle's transformer without its baseline, so the record shows
    what the blend adds (temperatures do not change which label wins)."""
    import numpy as np

    from dispo.model.predictor import Predictor

    predictor = Predictor.load(bundle)
    predictor.blend = None
    contacts = [c for c in read_contacts(test_file) if c.labels is not None]
    out: dict[str, float] = {}
    predictions = predictor.predict(contacts, batch_size=64)
    for task in ("reason", "outcome"):
        pairs = [
            (getattr(c.labels, task), p.reasons[0][0] if task == "reason" else (p.outcome.label if p.outcome else None))
            for c, p in zip(contacts, predictions, strict=True)
            if c.labels is not None and getattr(c.labels, task) is not None
        ]
        if pairs:
            out[f"{task}_accuracy"] = float(np.mean([gold == guess for gold, guess in pairs]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help="folder with train.jsonl, test.jsonl, taxonomy.yaml")
    parser.add_argument("--build", type=int, default=None, help="instead of --data: build this many contacts (80/20)")
    parser.add_argument("--utterances", default=None, help="with --build: real Bitext CSV for customer openings")
    parser.add_argument("--build-seed", type=int, default=7)
    parser.add_argument("--name", required=True)
    parser.add_argument("--results", type=Path, default=Path("bench/results/train_eval.jsonl"))
    parser.add_argument("--base-model", default="all-MiniLM-L6-v2")
    parser.add_argument("--shots", type=int, default=None, help="keep this many training contacts per reason")
    parser.add_argument("--config", type=Path, default=None, help="run config YAML (data section is filled in)")
    parser.add_argument("--set", nargs="*", default=[], help="overrides: section.key=value (YAML values)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models-dir", type=Path, default=None, help="default: a temporary folder")
    args = parser.parse_args()
    import torch  # after dispo, which sets OMP_WAIT_POLICY before torch loads OpenMP

    configure_logging("INFO")

    work = Path(tempfile.mkdtemp(prefix="dispo-bench-"))
    if args.build:
        args.data = build_split(args.build, args.build_seed, args.utterances, work / "built")
    if args.data is None:
        parser.error("give --data or --build")
    train_file = args.data / "train.jsonl"
    if args.shots:
        train_file = few_shot(train_file, args.shots, seed=13, out=work / "train-few-shot.jsonl")
    sections: dict[str, Any] = {"data": {}, "model": {}, "training": {}}
    if args.config:
        import yaml

        sections.update(yaml.safe_load(args.config.read_text()))
    for section, values in RunConfig.parse_settings(args.set).items():
        sections.setdefault(section, {}).update(values)
    sections["data"].update(
        {
            "train": [str(train_file)],
            "eval": str(args.data / "test.jsonl"),
            "taxonomy": str(args.data / "taxonomy.yaml"),
        }
    )
    sections["model"].setdefault("base_model", args.base_model)
    sections["training"]["device"] = args.device
    run = RunConfig.from_sections(sections, source="bench")
    started = time.perf_counter()
    bundle = train_model(run, args.name, root=args.models_dir or work / "models")
    seconds = time.perf_counter() - started
    metrics = bundle.metrics

    def headline(block: dict[str, Any]) -> dict[str, Any]:
        return {t: {k: v for k, v in m.items() if k != "per_class"} for t, m in block.items() if m.get("n")}

    record = {
        "name": args.name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "data": str(args.data)
        if not args.build
        else f"built n={args.build} seed={args.build_seed} utterances={args.utterances}",
        "shots": args.shots,
        "device": args.device if args.device != "cpu" else f"cpu x{torch.get_num_threads()} ({platform.processor()})",
        "cpu_count": os.cpu_count(),
        "config": run.to_dict(),
        "total_minutes": round(seconds / 60, 2),
        "training_minutes": round(metrics["training"]["seconds"] / 60, 2),
        "tokens_per_second": metrics["training"]["tokens_per_second"],
        "epochs_run": len(metrics["training"]["history"]),
        "test": headline(metrics.get("test", {})),
        "baseline_test": headline(metrics.get("baseline_test", {})),
        "validation": headline(metrics["validation"]["calibrated"]),
        "bundle": str(bundle.path),
    }
    if metrics.get("blend", {}).get("weights"):
        record["blend_weights"] = metrics["blend"]["weights"]
        record["test_transformer_alone"] = transformer_alone(bundle.path, args.data / "test.jsonl")
    args.results.parent.mkdir(parents=True, exist_ok=True)
    with args.results.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
    reason = record["test"].get("reason", {})
    logger.info(
        "%s: test reason accuracy %.4f (baseline %.4f), training %.1f min",
        args.name,
        reason.get("accuracy", float("nan")),
        record["baseline_test"].get("reason", {}).get("accuracy", float("nan")),
        record["training_minutes"],
    )


if __name__ == "__main__":
    main()
