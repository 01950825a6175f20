"""Benchmark: how confident a model is on requests that no reason fits (CLINC150 out-of-scope).

A contact center's transcripts include contacts about things its taxonomy has no code for. The
model always names a reason; what matters is that it is not sure of it. This script measures:

* **the model as served** (calibrated, blended): the winning reason's probability on a sample of
  CLINC150's out-of-scope test requests (weather, travel, small talk, ... and the ``oos`` list;
  ``training/sources/clinc150.py``) against the realistic dev half's contacts, which all have a
  reason: mean confidence, the share at 0.5 and 0.9 or more, and the AUROC of the confidence as an
  in-scope detector;
* **outlier exposure on the TF-IDF baseline** (Hendrycks et al. 2019), as a cheap proxy of training
  with out-of-scope requests: the reason baseline refitted on the model's own reason training files,
  as given and with CLINC's out-of-scope *training* requests added at a uniform target over the
  reasons (each request a row per reason at ``weight / K``), scored on the dev half (accuracy, ECE)
  and on the out-of-scope sample. Raw text, temperature 1: the proxy ranks the options, it is not the
  served model.

    python bench/out_of_scope.py --shared ../shared/data
    python bench/out_of_scope.py --model BUNDLE --no-proxy --results OUT.json   # another model

Outlier exposure in the transformer itself: ``bash bench/out_of_scope_transformer.sh``.

It needs the model's training files (``make default-model`` writes them under data/work/). Results go
to ``bench/results/out_of_scope.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from realistic_eval import training_sample  # bench/ is on the path of a bench script
from sklearn.metrics import roc_auc_score

from dispo.cli import configure_logging
from dispo.contact import Contact
from dispo.io import ContactReader
from dispo.model.baseline import BaselineModel, contact_text
from dispo.model.predictor import Predictor
from dispo.redact import default_redactor
from training.default_model import convert_source
from training.evalset import half_path
from training.evaluation import expected_calibration_error
from training.labelsources import is_out_of_scope
from training.report import predict_with_throughput

logger = logging.getLogger("bench.out_of_scope")
RESULTS = Path("bench/results/out_of_scope.json")


def confidence_summary(confidence: np.ndarray) -> dict[str, float]:
    return {
        "n": len(confidence),
        "mean_confidence": round(float(confidence.mean()), 4),
        "share_at_least_0.5": round(float((confidence >= 0.5).mean()), 4),
        "share_at_least_0.9": round(float((confidence >= 0.9).mean()), 4),
    }


def in_scope_auroc(in_scope: np.ndarray, out_of_scope: np.ndarray) -> float:
    truth = np.r_[np.ones(len(in_scope)), np.zeros(len(out_of_scope))]
    return round(float(roc_auc_score(truth, np.r_[in_scope, out_of_scope])), 4)


def served(predictor: Predictor, dev: Sequence[Contact], outside: Sequence[Contact]) -> dict[str, Any]:
    """The winning reason's calibrated probability, redacted as served."""
    redactor = default_redactor()
    probabilities = {}
    for name, contacts in (("realistic_dev", dev), ("out_of_scope", outside)):
        logits, _, _ = predict_with_throughput(predictor, [redactor.redact_contact(c) for c in contacts], 64)
        probabilities[name] = predictor.probabilities(logits)["reason"]
    names = np.array(predictor.labels["reason"])
    gold = np.array([c.labels.reason if c.labels else None for c in dev])
    right = (names[probabilities["realistic_dev"].argmax(axis=1)] == gold).astype(float)
    confidence = {name: p.max(axis=1) for name, p in probabilities.items()}
    return {
        "realistic_dev": {
            "reason_accuracy": round(float(right.mean()), 4),
            "reason_ece": round(expected_calibration_error(confidence["realistic_dev"], right), 4),
            **confidence_summary(confidence["realistic_dev"]),
        },
        "out_of_scope": confidence_summary(confidence["out_of_scope"]),
        "auroc_in_scope": in_scope_auroc(confidence["realistic_dev"], confidence["out_of_scope"]),
    }


def exposure_proxy(
    train: Sequence[Contact],
    exposure: Sequence[Contact],
    dev: Sequence[Contact],
    outside: Sequence[Contact],
    *,
    weights: Sequence[float],
    max_features: int,
) -> dict[str, Any]:
    """The reason baseline with out-of-scope requests at a uniform target, for each weight (0: none)."""
    texts = [contact_text(c) for c in train if c.labels is not None and c.labels.reason is not None]
    reasons = [c.labels.reason for c in train if c.labels is not None and c.labels.reason is not None]
    classes = sorted(set(reasons))
    exposed = [contact_text(c) for c in exposure]
    dev_texts, dev_gold = [contact_text(c) for c in dev], np.array([c.labels.reason if c.labels else None for c in dev])
    outside_texts = [contact_text(c) for c in outside]
    out: dict[str, Any] = {}
    for weight in weights:
        started = time.perf_counter()
        rows = texts + ([t for t in exposed for _ in classes] if weight else [])
        labels = reasons + ([k for _ in exposed for k in classes] if weight else [])
        sample_weight = np.r_[np.ones(len(texts)), np.full(len(rows) - len(texts), weight / len(classes))]
        pipeline = BaselineModel(max_features=max_features).task_pipeline()
        pipeline.fit(rows, labels, logisticregression__sample_weight=sample_weight)
        names = pipeline.classes_
        on_dev, on_outside = pipeline.predict_proba(dev_texts), pipeline.predict_proba(outside_texts)
        right = (names[on_dev.argmax(axis=1)] == dev_gold).astype(float)
        out[f"weight {weight:g}"] = {
            "realistic_dev": {
                "reason_accuracy": round(float(right.mean()), 4),
                "reason_ece": round(expected_calibration_error(on_dev.max(axis=1), right), 4),
                **confidence_summary(on_dev.max(axis=1)),
            },
            "out_of_scope": confidence_summary(on_outside.max(axis=1)),
            "auroc_in_scope": in_scope_auroc(on_dev.max(axis=1), on_outside.max(axis=1)),
            "seconds": round(time.perf_counter() - started, 1),
        }
        logger.info("outlier exposure at weight %g: %s", weight, out[f"weight {weight:g}"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model", default="dispo-default", help="NAME[:VERSION] or a bundle folder")
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"), help="public data sets")
    parser.add_argument("--work", type=Path, default=Path("data/work/default-model"), help="converted sets")
    parser.add_argument("--sample", type=int, default=1000, help="out-of-scope test requests scored")
    parser.add_argument("--exposure", type=int, default=3000, help="out-of-scope training requests (proxy)")
    parser.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.5, 1.0], help="proxy weights")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-proxy", action="store_true", help="the model only, not the baseline proxy")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    configure_logging("INFO")
    clinc = convert_source("clinc150", args.shared / "clinc150", args.work, {})
    predictor = Predictor.load(args.model)
    assert predictor.path is not None

    def out_of_scope(split: str, n: int, seed: int) -> list[Contact]:
        found = [c for c in ContactReader(clinc / f"{split}.jsonl", taxonomy=predictor.taxonomy) if is_out_of_scope(c)]
        return random.Random(seed).sample(found, min(n, len(found)))

    outside = out_of_scope("test", args.sample, args.seed)
    dev = [
        c
        for c in ContactReader(half_path("dev"), taxonomy=predictor.taxonomy)
        if c.turns and c.labels is not None and c.labels.reason is not None
    ]
    record: dict[str, Any] = {
        "model": predictor.version,
        "out_of_scope_test": f"{len(outside)} CLINC150 out-of-scope test requests (seed {args.seed})",
        "served": served(predictor, dev, outside),
    }
    logger.info("served: %s", record["served"])
    if args.no_proxy:
        args.results.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        logger.info("wrote %s", args.results)
        return
    train = training_sample(predictor.path, 10**9, args.seed)
    exposure = out_of_scope("train", args.exposure, args.seed + 1)
    record["exposure_proxy"] = {
        "learner": "TF-IDF 1-2 grams + logistic regression (the reason baseline), raw text, temperature 1",
        "exposure": f"{len(exposure)} CLINC150 out-of-scope training requests at a uniform reason target",
        "results": exposure_proxy(train, exposure, dev, outside, weights=args.weights, max_features=30_000),
    }
    args.results.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    logger.info("wrote %s", args.results)


if __name__ == "__main__":
    main()
