"""Proxy: would character n-grams help the blended TF-IDF baseline read realistic reasons?

The served reason is 0.9 of the way the TF-IDF + logistic-regression baseline (whole transcript),
so its features matter. This fits the baseline on the default model's reason sources (the built
training split, and the Bitext requests and request-answer pairs, sampled as the recipe samples
them) with word 1-2 grams (as shipped) and with word 1-2 grams plus char_wb 3-5 grams (typos and
ASR misrecognitions share character n-grams), and scores reason accuracy on the realistic dev half
(redacted, as served), overall and per channel. Needs the recipe's converted sources in
data/work/default-model (`make default-model` writes them).

    python bench/baseline_features.py
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline, make_union

from dispo.cli import configure_logging
from dispo.io import read_contacts
from dispo.model.baseline import contact_text
from dispo.redact import default_redactor
from training.evalset import half_path

logger = logging.getLogger("bench.baseline_features")
WORK = Path("data/work/default-model")
SOURCES = {"built-train.jsonl": None, "bitext/train.jsonl": 6000, "bitext_responses/train.jsonl": 6000}
RESULTS = Path("bench/results/baseline_features.json")


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None).parse_args()
    configure_logging("INFO")
    train = []
    for name, sample in SOURCES.items():
        contacts = read_contacts(WORK / name)
        if sample and sample < len(contacts):
            contacts = random.Random(name).sample(contacts, sample)
        train += [c for c in contacts if c.labels is not None and c.labels.reason]
    redactor = default_redactor()
    dev = [redactor.redact_contact(c) for c in read_contacts(half_path("dev"))]
    texts, labels = [contact_text(c) for c in train], [c.labels.reason for c in train]  # type: ignore[union-attr]
    dev_texts = [contact_text(c) for c in dev]
    gold = [c.labels.reason if c.labels else None for c in dev]
    words = {"ngram_range": (1, 2), "sublinear_tf": True, "max_features": 30_000}
    variants = {
        "word 1-2 grams (shipped)": TfidfVectorizer(**words),
        "word 1-2 + char_wb 3-5 grams": make_union(
            TfidfVectorizer(**words),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, max_features=30_000),
        ),
    }
    variant_results: dict[str, Any] = {}
    results = {"train_contacts": len(train), "dev_contacts": len(dev), "variants": variant_results}
    for name, vectorizer in variants.items():
        started = time.perf_counter()
        model = make_pipeline(vectorizer, LogisticRegression(C=10.0, max_iter=2000)).fit(texts, labels)
        right = [p == g for p, g in zip(model.predict(dev_texts), gold, strict=True)]
        by_channel = {
            channel: round(float(np.mean([r for r, c in zip(right, dev, strict=True) if c.channel == channel])), 3)
            for channel in sorted({c.channel or "" for c in dev})
        }
        variant_results[name] = {"reason_accuracy": round(float(np.mean(right)), 4), "by_channel": by_channel,
                                     "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
        logger.info("%s: %s", name, variant_results[name])
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    logger.info("wrote %s", RESULTS)


if __name__ == "__main__":
    main()
