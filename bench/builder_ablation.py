"""Benchmark: what each corpus-builder change does to a model trained on its contacts, judged on
the realistic dev half (text the builder did not write).

For each variant the builder makes the same number of contacts with the same seed; a TF-IDF +
logistic-regression reader (dispo's baseline: minutes, not a fine-tune) is fitted on them and
scored on the dev half. The reader is a proxy: it ranks builder changes, it does not predict the
transformer's figures.

    python bench/builder_ablation.py --shared ../shared/data -n 4000
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from dispo.cli import configure_logging
from dispo.io import read_contacts
from dispo.model.baseline import BaselineModel, contact_text
from training.corpus.builder import CorpusBuilder, CorpusConfig
from training.evalset import check_frozen, half_path
from training.pipeline import baseline_labels

logger = logging.getLogger("bench.builder_ablation")


def variants(shared: Path) -> dict[str, dict[str, Any]]:
    utterances = str(shared / "bitext_cs_20k")
    responses = str(shared / "bitext_responses")
    return {
        "phrase bank": {"scene_share": 0.0},
        "bitext openings": {"utterances_path": utterances, "scene_share": 0.0},
        "+ agent responses": {"utterances_path": utterances, "responses_path": responses, "scene_share": 0.0},
        "+ scenes": {"utterances_path": utterances, "scene_share": 0.5},
        "+ responses + scenes": {"utterances_path": utterances, "responses_path": responses, "scene_share": 0.5},
        "phrase bank + scenes": {"scene_share": 0.5},
        "phrase bank + responses + scenes": {"responses_path": responses, "scene_share": 0.5},
        "half bank, half Bitext openings + scenes": {
            "utterances_path": utterances,
            "utterance_share": 0.5,
            "scene_share": 0.5,
        },
    }


def score(contacts: list[Any], dev: list[Any]) -> dict[str, float]:
    baseline = BaselineModel().fit([contact_text(c) for c in contacts], baseline_labels(contacts))
    texts = [contact_text(c) for c in dev]
    out: dict[str, float] = {}
    for task in ("reason", "outcome", "sentiment", "upsell"):
        predicted = baseline.predict(task, texts)
        gold = [getattr(c.labels, task) for c in dev]
        out[task] = round(float(np.mean([str(p) == str(g) for p, g in zip(predicted, gold, strict=True)])), 4)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("-n", "--n-contacts", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--results", type=Path, default=Path("bench/results/builder_ablation.json"))
    args = parser.parse_args()
    configure_logging("INFO")
    manifest = check_frozen()
    dev = read_contacts(half_path("dev"))
    rows: dict[str, Any] = {}
    for name, options in variants(args.shared).items():
        started = time.perf_counter()
        config = CorpusConfig(n_contacts=args.n_contacts, seed=args.seed, **options)
        contacts = [b.contact for b in CorpusBuilder(config).build()]
        rows[name] = {"accuracy_on_dev": score(contacts, dev), "seconds": round(time.perf_counter() - started, 1)}
        logger.info("%s: %s", name, rows[name])
    record = {"reader": "TF-IDF 1-2 grams + logistic regression (dispo.model.baseline), whole transcript",
              "metric": "accuracy on the realistic dev half", "dev_sha256": manifest["halves"]["dev"]["sha256"],
              "n_contacts": args.n_contacts, "seed": args.seed, "variants": rows}  # fmt: skip
    args.results.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    logger.info("wrote %s", args.results)


if __name__ == "__main__":
    main()
