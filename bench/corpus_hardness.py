"""Benchmark: how hard (and how transferable) is the synthetic corpus?

Builds a corpus with the corpus builder, then measures what a bag-of-words baseline (TF-IDF word
1-2 grams + logistic regression) can learn from it: macro-F1 of reason, outcome and sentiment and
the positive-class F1 of upsell on an 80/20 split of the contacts. A corpus on which the baseline
scores ~1.0 teaches templates, not language.

With ``--transfer-bitext`` it also trains the reason baseline on *all* built contacts and predicts
the reason of real single-utterance customer requests from a Bitext CSV (a seeded sample): the
accuracy and macro-F1 there say whether the phrase bank teaches the language real customers use.
The file is only read from where it lies. When the corpus itself draws openings from the same file
(``--utterances``), that number is in-distribution, not transfer, and is flagged as such.

Results are merged into ``--out`` under the variant name (``phrase_bank`` or ``bitext_openings``)::

    python bench/corpus_hardness.py --contacts 10000 --seed 7 \\
        --transfer-bitext /work/shared/data/bitext_cs_20k/bitext_cs_20k.csv --out bench/results/corpus_hardness.json
    python bench/corpus_hardness.py --contacts 10000 --seed 7 \\
        --utterances /work/shared/data/bitext_cs_20k/bitext_cs_20k.csv \\
        --transfer-bitext /work/shared/data/bitext_cs_20k/bitext_cs_20k.csv --out bench/results/corpus_hardness.json
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import logging
import platform
import random
import time
from pathlib import Path
from typing import Any

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import Pipeline, make_pipeline

from dispo.cli import configure_logging
from training.corpus import BuiltContact, CorpusBuilder, CorpusConfig

logger = logging.getLogger("bench.corpus_hardness")

#: Bitext intent names that differ from the taxonomy's reason names.
BITEXT_INTENT_ALIASES = {"check_invoice": "check_invoices"}


def transcript(built: BuiltContact) -> str:
    return "\n".join(t.text for t in built.contact.turns)


def baseline() -> Pipeline:
    return make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=200_000),
        LogisticRegression(max_iter=1000, C=4.0),
    )


def split(n: int, seed: int, test_share: float = 0.2) -> tuple[list[int], list[int]]:
    order = list(range(n))
    random.Random(seed).shuffle(order)
    cut = int(n * (1 - test_share))
    return order[:cut], order[cut:]


def label_of(built: BuiltContact, task: str) -> str:
    labels = built.contact.labels
    assert labels is not None
    value = getattr(labels, task)
    return str(value)


def hardness(built: list[BuiltContact], seed: int) -> dict[str, Any]:
    texts = [transcript(b) for b in built]
    train, test = split(len(built), seed)
    out: dict[str, Any] = {}
    for task in ("reason", "outcome", "sentiment", "upsell"):
        y = [label_of(b, task) for b in built]
        model = baseline().fit([texts[i] for i in train], [y[i] for i in train])
        pred = list(model.predict([texts[i] for i in test]))
        gold = [y[i] for i in test]
        result: dict[str, float] = {
            "macro_f1": round(float(f1_score(gold, pred, average="macro")), 4),
            "accuracy": round(float(accuracy_score(gold, pred)), 4),
        }
        if task == "upsell":
            result["f1_positive"] = round(float(f1_score(gold, pred, pos_label="True", average="binary")), 4)
        out[task] = result
        logger.info("%s: %s", task, result)
    return out


def read_bitext(path: Path, reasons: set[str], n: int, seed: int) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            intent = (row.get("intent") or "").strip()
            intent = BITEXT_INTENT_ALIASES.get(intent, intent)
            text = (row.get("utterance") or "").strip()
            if text and intent in reasons:
                rows.append((text, intent))
    rng = random.Random(seed)
    return rng.sample(rows, min(n, len(rows)))


def transfer(built: list[BuiltContact], path: Path, n: int, seed: int) -> dict[str, Any]:
    texts = [transcript(b) for b in built]
    y = [label_of(b, "reason") for b in built]
    model = baseline().fit(texts, y)
    sample = read_bitext(path, set(y), n, seed)
    gold = [r for _, r in sample]
    pred = list(model.predict([t for t, _ in sample]))
    per_reason = f1_score(gold, pred, average=None, labels=sorted(set(gold)))
    worst = sorted(zip(sorted(set(gold)), per_reason, strict=True), key=lambda x: x[1])[:5]
    result = {
        "n": len(sample),
        "accuracy": round(float(accuracy_score(gold, pred)), 4),
        "macro_f1": round(float(f1_score(gold, pred, average="macro")), 4),
        "worst_reasons_f1": {r: round(float(f), 3) for r, f in worst},
    }
    logger.info("transfer to real utterances: %s", result)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--utterances", type=Path, default=None, help="Bitext CSV to draw openings from")
    parser.add_argument("--transfer-bitext", type=Path, default=None, help="Bitext CSV of real requests")
    parser.add_argument("--transfer-n", type=int, default=3000)
    parser.add_argument("--out", type=Path, default=Path("bench/results/corpus_hardness.json"))
    parser.add_argument("--variant", default=None, help="key in the results file (default from --utterances)")
    args = parser.parse_args()
    configure_logging("INFO")

    variant = args.variant or ("bitext_openings" if args.utterances else "phrase_bank")
    config = CorpusConfig(
        n_contacts=args.contacts,
        seed=args.seed,
        utterances_path=str(args.utterances) if args.utterances else None,
    )
    started = time.perf_counter()
    built = list(CorpusBuilder(config).build())
    build_s = time.perf_counter() - started
    logger.info("built %d contacts in %.1f s", len(built), build_s)

    n = len(built)
    distribution: dict[str, dict[str, float]] = {}
    for task in ("reason", "outcome", "sentiment", "upsell", "channel"):
        if task == "channel":
            counts = collections.Counter(str(b.contact.channel) for b in built)
        else:
            counts = collections.Counter(label_of(b, task) for b in built)
        distribution[task] = {k: round(v / n, 4) for k, v in sorted(counts.items())}
    pii = collections.Counter(p.kind for b in built for p in b.pii)
    pii_per_1000 = {k: round(v * 1000 / n, 1) for k, v in sorted(pii.items())}

    result: dict[str, Any] = {
        "variant": variant,
        "contacts": n,
        "seed": args.seed,
        "utterances": str(args.utterances) if args.utterances else None,
        "build_seconds": round(build_s, 2),
        "label_distribution": distribution,
        "planted_per_1000_contacts": pii_per_1000,
        "tfidf_lr_80_20": hardness(built, args.seed),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
    }
    if args.transfer_bitext is not None:
        t = transfer(built, args.transfer_bitext, args.transfer_n, args.seed)
        t["in_distribution"] = args.utterances is not None
        if args.utterances is not None:
            t["note"] = "openings were drawn from Bitext itself: not a transfer measure"
        result["transfer_bitext_reason"] = t

    results: dict[str, Any] = {}
    if args.out.is_file():
        try:
            results = json.loads(args.out.read_text())
        except json.JSONDecodeError:
            logger.warning("%s is not JSON; overwriting it", args.out)
    results[variant] = result
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    logger.info("wrote %s (%s)", args.out, variant)


if __name__ == "__main__":
    main()
