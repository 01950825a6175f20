"""Benchmark: a dispo model and its peers, side by side, on the hand-written realistic set.

One run scores, on the same contacts:

* the dispo model (calibrated probabilities, as served: blended when the bundle blends);
* its own TF-IDF + logistic-regression baseline (``baseline.joblib``, whole transcript);
* frozen all-MiniLM-L6-v2 + logistic regression: mean-pooled embeddings of the whole transcript
  (first 256 tokens, what a plain sentence-embedding pipeline reads), fitted on a sample of the
  model's own training files (data.json);
* VADER (sentiment only): the compound score of the customer's last three turns, with VADER's
  standard thresholds (>= 0.05 positive, <= -0.05 negative).

Per model: reason accuracy and ECE, outcome macro-F1 and per-outcome recall, end-sentiment macro-F1,
upsell F1, and reason accuracy by channel and by number of turns. With ``--tweeteval`` also the
sentiment macro-F1 on a converted tweeteval test split. Results are appended to the results file.
``--sets`` picks the frozen realistic sets (A: ``data/eval/realistic``, B: ``data/eval/realistic-b``,
C: ``data/eval/realistic-c``);
more than one pools their halves.

    python bench/realistic_eval.py --model dispo-default --half test
    python bench/realistic_eval.py --model dispo-default --half test --sets b --no-frozen
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dispo.cli import configure_logging
from dispo.contact import Contact
from dispo.io import read_contacts
from dispo.model.baseline import contact_text
from dispo.model.bundle import BASELINE_FILE, RUN_CONFIG_FILE, TAXONOMY_FILE, load_pickled
from dispo.model.lexicon import VADER_SCORES, lexicon_scores
from dispo.model.predictor import Predictor
from training.evalset import SET_DIRS, read_pooled_half
from training.evaluation import binary_metrics, multiclass_metrics
from training.frozen_features import frozen_encoder_features
from training.report import TURN_BUCKETS, length_bucket

logger = logging.getLogger("bench.realistic_eval")
TASKS = ("reason", "outcome", "sentiment", "upsell")


def targets(contacts: Sequence[Contact], task: str, labels: Sequence[str]) -> np.ndarray:
    out = []
    for contact in contacts:
        value = getattr(contact.labels, task) if contact.labels else None
        if value is None:
            out.append(-1)
        elif task == "upsell":
            out.append(int(bool(value)))
        else:
            out.append(list(labels).index(value))
    return np.array(out)


def summarise(
    probs: dict[str, np.ndarray], contacts: Sequence[Contact], labels: dict[str, list[str]]
) -> dict[str, Any]:
    """Headline metrics per task and reason accuracy by channel and turn bucket."""
    out: dict[str, Any] = {}
    for task, p in probs.items():
        y = targets(contacts, task, labels.get(task, []))
        if (y >= 0).sum() == 0:
            continue
        if task == "upsell":
            m = binary_metrics(p, y)
            out[task] = {"n": int((y >= 0).sum()), "f1": m.get("f1"), "accuracy": m.get("accuracy")}
            continue
        m = multiclass_metrics(p, y, labels[task])
        cell = {"n": m["n"], "accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "ece": m["ece"]}
        if task == "outcome":
            cell["recall"] = {name: m["per_class"][name]["recall"] for name in labels[task] if name in m["per_class"]}
        out[task] = cell
    y = targets(contacts, "reason", labels["reason"])
    if "reason" in probs and (y >= 0).any():
        hit = probs["reason"].argmax(-1) == y
        groups: dict[str, dict[str, list[bool]]] = {"channel": {}, "turns": {}}
        for contact, ok, known in zip(contacts, hit, y >= 0, strict=True):
            if not known:
                continue
            groups["channel"].setdefault(contact.channel or "unknown", []).append(bool(ok))
            groups["turns"].setdefault(length_bucket(len(contact.turns), TURN_BUCKETS), []).append(bool(ok))
        out["reason_accuracy_by"] = {
            dim: {k: {"n": len(v), "accuracy": round(float(np.mean(v)), 4)} for k, v in sorted(g.items())}
            for dim, g in groups.items()
        }
    return out


def dispo_probs(predictor: Predictor, contacts: Sequence[Contact]) -> dict[str, np.ndarray]:
    predictions = predictor.predict(contacts)
    labels = predictor.labels
    out: dict[str, np.ndarray] = {"reason": np.array([[p.reason_probabilities[n] for n in labels["reason"]]
                                                      for p in predictions])}  # fmt: skip
    for task in ("outcome", "sentiment"):
        if task in labels:
            out[task] = np.array([[getattr(p, task).probabilities[n] for n in labels[task]] for p in predictions])
    out["upsell"] = np.array([p.upsell_probability for p in predictions])
    return out


def baseline_probs(baseline: Any, contacts: Sequence[Contact], labels: dict[str, list[str]]) -> dict[str, np.ndarray]:
    texts = [contact_text(c) for c in contacts]
    out: dict[str, np.ndarray] = {}
    for task in baseline.tasks_:
        p = baseline.predict_proba(task, texts)
        classes = [str(c) for c in baseline.classes_[task]]
        if task == "upsell":
            out[task] = p[:, classes.index("True")]
            continue
        full = np.zeros((len(texts), len(labels[task])))
        for column, name in enumerate(classes):
            full[:, labels[task].index(name)] = p[:, column]
        out[task] = full
    return out


def frozen_probs(
    train: Sequence[Contact], contacts: Sequence[Contact], labels: dict[str, list[str]]
) -> dict[str, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    x_train = frozen_encoder_features([contact_text(c) for c in train])
    x_eval = frozen_encoder_features([contact_text(c) for c in contacts])
    out: dict[str, np.ndarray] = {}
    for task in TASKS:
        y = targets(train, task, labels.get(task, []))
        known = y >= 0
        if len(set(y[known])) < 2:
            continue
        model = LogisticRegression(C=10.0, max_iter=3000).fit(x_train[known], y[known])
        p = model.predict_proba(x_eval)
        if task == "upsell":
            out[task] = p[:, list(model.classes_).index(1)]
            continue
        full = np.zeros((len(contacts), len(labels[task])))
        full[:, model.classes_] = p
        out[task] = full
    return out


def vader_probs(contacts: Sequence[Contact], labels: list[str]) -> np.ndarray:
    """VADER alone on the customer's last three turns: its compound score, at the usual +-0.05 cut."""
    texts = [
        " ".join([t.text for t in contact.turns if t.speaker == "customer"][-3:] or [contact.turns[-1].text])
        for contact in contacts
    ]
    compound = lexicon_scores(texts)[:, VADER_SCORES.index("compound")]
    out = np.zeros((len(contacts), len(labels)))
    for row, score in enumerate(compound):
        label = "positive" if score >= 0.05 else "negative" if score <= -0.05 else "neutral"
        out[row, labels.index(label)] = 1.0
    return out


def training_sample(bundle: Path, n: int, seed: int) -> list[Contact]:
    """A sample of the contacts the model was trained on: its files, each sampled as the run did
    (run_config.json), then ``n`` of them. A missing file is an error (use --no-frozen)."""
    from dispo.taxonomy import load_taxonomy
    from training.pipeline import read_training_contacts

    run = json.loads((bundle / RUN_CONFIG_FILE).read_text(encoding="utf-8"))
    missing = [p for p in run["data"]["train"] if not Path(p).is_file()]
    if missing:
        raise SystemExit(f"the frozen-encoder peer needs the model's training files; missing: {missing}")
    data, seed_run = run["data"], run["training"]["seed"]
    taxonomy = load_taxonomy(bundle / TAXONOMY_FILE)
    contacts = read_training_contacts(
        data["train"], taxonomy, None, sample_sizes=data.get("sample_sizes"), seed=seed_run
    )
    random.Random(seed).shuffle(contacts)
    logger.info("frozen-encoder peer: %d of %d training contacts", min(n, len(contacts)), len(contacts))
    return contacts[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model", required=True, help="NAME[:VERSION] or a bundle folder")
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--half", choices=("dev", "test"), default="test")
    parser.add_argument("--sets", nargs="+", choices=sorted(SET_DIRS), default=["a"], help="realistic sets (pooled)")
    parser.add_argument("--tweeteval", type=Path, default=None, help="a converted tweeteval test.jsonl")
    parser.add_argument("--frozen-train", type=int, default=3000, help="training contacts for the frozen peer")
    parser.add_argument("--no-frozen", action="store_true", help="skip the frozen-encoder peer")
    parser.add_argument("--results", type=Path, default=Path("bench/results/realistic_eval.jsonl"))
    args = parser.parse_args()
    configure_logging("INFO")
    started = time.perf_counter()
    contacts, hashes = read_pooled_half(args.half, args.sets)
    predictor = Predictor.load(args.model, args.models_dir)
    assert predictor.path is not None
    labels = {task: list(names) for task, names in predictor.labels.items()}
    pooled = "" if args.sets == ["a"] else "_" + "".join(args.sets)  # set A alone keeps its historical name
    sets: dict[str, list[Contact]] = {f"realistic{pooled}_{args.half}": contacts}
    if args.tweeteval is not None:
        sets["tweeteval_test"] = read_contacts(args.tweeteval)
    train = [] if args.no_frozen else training_sample(predictor.path, args.frozen_train, seed=13)
    record: dict[str, Any] = {
        "model": predictor.version,
        "bundle": str(predictor.path),
        "realistic_sha256": hashes,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "sets": {},
    }

    baseline = load_pickled(predictor.path / BASELINE_FILE) if (predictor.path / BASELINE_FILE).is_file() else None
    for name, members in sets.items():
        peers: dict[str, Any] = {"dispo": summarise(dispo_probs(predictor, members), members, labels)}
        if baseline is not None:
            peers["tfidf_lr"] = summarise(baseline_probs(baseline, members, labels), members, labels)
        if train:
            peers["frozen_minilm_lr"] = summarise(frozen_probs(train, members, labels), members, labels)
        peers["vader"] = summarise({"sentiment": vader_probs(members, labels["sentiment"])}, members, labels)
        record["sets"][name] = {"n": len(members), "peers": peers}
        for peer, values in peers.items():
            logger.info("%s %s: %s", name, peer, json.dumps({t: {k: v for k, v in m.items() if k in (
                "accuracy", "macro_f1", "f1", "ece")} for t, m in values.items() if t in TASKS}))  # fmt: skip
    record["seconds"] = round(time.perf_counter() - started, 1)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    with args.results.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
    logger.info("appended to %s", args.results)


if __name__ == "__main__":
    main()
