"""Benchmark: training on agent codes (issue 16). Gold vs naive vs confident-learning pruning.

Part 1, built corpus: ``-n`` contacts at each agent-code error rate (the builder's realistic
mistakes: confusable reasons, lazy default codes, outcome slips), split 80/20. Each method trains
the same learner on the 80% and is scored on gold labels of the held-out 20% and of the test halves
of both hand-written realistic sets (A: ``realistic_test``, B: ``realistic_b_test``):

- ``gold``: the builder's true labels (the ceiling);
- ``naive``: the agents' codes as they are (``dispo train --labels agent``);
- ``prune``: the codes confident learning flags are dropped (``--label-noise prune``);
- ``correct``: each code replaced by its posterior true label under forward loss correction
  (``--label-noise correct``). The learner fits each task on its own, so a run that corrects
  reasons and prunes outcomes scores the ``correct`` reason and the ``prune`` outcome;
- ``correct-prune``: as ``correct``, and the flagged codes the correction kept are dropped
  (``--label-noise correct-prune``).

It also scores the estimated agent accuracy per provider (no audits) against the true accuracy,
and times the noise handling against the learner's training.

Part 2, BANKING77: 20% and 40% of the training labels flipped, half uniformly and half to each
intent's most confusable one (from a clean model's out-of-fold confusions); test accuracy of clean,
naive, pruned and corrected training (``correct``: forward loss correction on frozen-encoder
features, each label replaced by its posterior given the text and the flipped label; see
training/noise_correction.py). The final learner is the same TF-IDF pipeline throughout.

The learner is the TF-IDF baseline (minutes for the whole table); the transformer's figures at
one rate come from ``dispo train --labels agent [--label-noise prune]`` on the same files (docs/quality.md).

    python bench/label_noise.py --shared ../shared/data
    python bench/label_noise.py --shared ../shared/data --skip-built   # BANKING77 only
    python bench/label_noise.py --skip-banking                         # the built corpus only

The recorded built part (``bench/results/label_noise.json``) reads the corpus of sessions 12-15, from
before the builder's bitter and curt closes: add ``--builder-option bitter_close_share=0
--builder-option curt_close_share=0`` to reproduce it, and to ``--export`` the split the transformer's
20% runs trained on.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score

from dispo.cli import configure_logging
from dispo.contact import Contact
from dispo.io import read_contacts, write_contacts
from dispo.model.baseline import BaselineModel, contact_text
from training.agent_accuracy import estimate_agent_accuracy
from training.corpus.builder import CorpusBuilder, CorpusConfig
from training.evalset import check_frozen_sets, half_path, set_dir
from training.frozen_features import frozen_encoder_features
from training.labelsources import resolve_labels
from training.noise import (
    FILTER_BY,
    OutOfFold,
    correct,
    find_label_issues,
    judge_labels,
    out_of_fold_probabilities,
    prune,
)
from training.noise_correction import correct_labels

logger = logging.getLogger("bench.label_noise")
TASKS = ("reason", "outcome")


def scores(model: BaselineModel, contacts: Sequence[Contact]) -> dict[str, float]:
    """Reason accuracy and outcome macro-F1 against the gold labels."""
    texts = [contact_text(c) for c in contacts]
    out: dict[str, float] = {}
    for task in TASKS:
        gold = [str(getattr(c.labels, task)) for c in contacts]
        predicted = [str(p) for p in model.predict(task, texts)]
        if task == "reason":
            out["reason_accuracy"] = round(float(np.mean([p == g for p, g in zip(predicted, gold, strict=True)])), 4)
        else:
            out["outcome_macro_f1"] = round(
                float(f1_score(gold, predicted, average="macro", labels=sorted(set(gold)))), 4
            )
    return out


def fit(contacts: Sequence[Contact], max_features: int) -> tuple[BaselineModel, float]:
    started = time.perf_counter()
    labels = {t: [getattr(c.labels, t) if c.labels else None for c in contacts] for t in TASKS}
    model = BaselineModel(max_features=max_features).fit([contact_text(c) for c in contacts], labels)
    return model, time.perf_counter() - started


def provider_estimates(corpus: Sequence[Contact], estimates: dict[str, Any]) -> dict[str, Any]:
    """Estimated vs true agent accuracy per provider (reason, outcome, whole code)."""
    out: dict[str, Any] = {}
    for provider, est in estimates["groups"]["provider"].items():
        own = [c for c in corpus if c.provider == provider]
        truth = {
            "reason": np.mean([c.agent_labels.reason == c.labels.reason for c in own]),  # type: ignore[union-attr]
            "outcome": np.mean([c.agent_labels.outcome == c.labels.outcome for c in own]),  # type: ignore[union-attr]
        }
        truth["code"] = np.mean([c.agent_labels.reason == c.labels.reason  # type: ignore[union-attr]
                                 and c.agent_labels.outcome == c.labels.outcome for c in own])  # type: ignore[union-attr]  # fmt: skip
        out[provider] = {
            task: {"estimated": est[task]["value"], "low": est[task]["low"], "high": est[task]["high"],
                   "true": round(float(truth[task]), 4), "error": round(est[task]["value"] - float(truth[task]), 4)}
            for task in ("reason", "outcome", "code")
        }  # fmt: skip
    return out


def built_split(
    rate: float, n: int, seed: int, *, builder: Mapping[str, float] | None = None
) -> tuple[list[Contact], list[Contact]]:
    """The built corpus at an agent-code error rate, shuffled and split 80/20 (train, held out);
    ``builder``: CorpusConfig options beside the rate (``--builder-option``)."""
    builder = builder or {}
    config = CorpusConfig(n_contacts=n, seed=seed, agent_error_rate=rate, **builder)  # type: ignore[arg-type]
    corpus = [b.contact for b in CorpusBuilder(config).build()]
    random.Random(seed).shuffle(corpus)
    cut = int(0.8 * len(corpus))
    return corpus[:cut], corpus[cut:]


def built_part(
    rate: float, n: int, seed: int, realistic: dict[str, list[Contact]], max_features: int,
    builder: Mapping[str, float] | None = None,
) -> dict[str, Any]:  # fmt: skip
    train, held_out = built_split(rate, n, seed, builder=builder)
    actual = {t: round(float(np.mean([getattr(c.agent_labels, t) != getattr(c.labels, t) for c in train])), 4)
              for t in TASKS}  # fmt: skip
    agent = resolve_labels(train, priority=["agent"])
    reader = OutOfFold(seed=seed, max_features=max_features)
    report = find_label_issues(agent.contacts, agent.sources, reader=reader)
    started = time.perf_counter()
    corrected, _ = correct(agent.contacts, agent.sources, reader=reader)
    correct_seconds = time.perf_counter() - started
    variants = {"gold": train, "naive": agent.contacts, "prune": prune(agent.contacts, report), "correct": corrected,
                "correct-prune": prune(corrected, report, unless_changed=True)}  # fmt: skip
    methods: dict[str, Any] = {}
    fit_seconds = 0.0
    for name, data in variants.items():
        model, seconds = fit(data, max_features)
        fit_seconds = max(fit_seconds, seconds)
        methods[name] = {"built_held_out": scores(model, held_out)}
        methods[name].update({split: scores(model, contacts) for split, contacts in realistic.items()})
        logger.info("rate %.2f %s: %s", rate, name, methods[name])
    flagged = {t: report.flagged.get(t, 0) for t in TASKS}
    precision = {}
    for task in TASKS:
        gold = {c.contact_id: getattr(c.labels, task) for c in train}
        flags = [i for i in report.issues if i.task == task and i.issue]
        precision[task] = round(sum(i.given != gold[i.contact_id] for i in flags) / max(1, len(flags)), 4)
    providers = provider_estimates(train, estimate_agent_accuracy(train, report))
    worst = max(abs(v[t]["error"]) for v in providers.values() for t in ("reason", "outcome"))
    return {
        "agent_error_rate": rate,
        "actual_label_error": actual,
        "n_train": len(train),
        "n_held_out": len(held_out),
        "methods": methods,
        "flagged": flagged,
        "flag_precision": precision,
        "noise_seconds": round(report.seconds, 1),
        "correct_seconds": round(correct_seconds, 1),
        "baseline_fit_seconds": round(fit_seconds, 1),
        "provider_accuracy_estimates": providers,
        "worst_provider_error": round(worst, 4),
    }


def read_banking(path: Path) -> tuple[list[str], list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [r["text"] for r in rows], [r["category"] for r in rows]


def banking_part(folder: Path, rates: Sequence[float], seed: int, max_features: int) -> dict[str, Any]:
    texts, labels = read_banking(folder / "train.csv")
    test_texts, test_labels = read_banking(folder / "test.csv")
    classes = sorted(set(labels))
    y = np.array([classes.index(v) for v in labels])
    # The most confusable intent of each intent: where a clean model's out-of-fold mistakes go most.
    reader = OutOfFold(seed=seed, max_features=max_features)
    clean_probs = out_of_fold_probabilities(texts, y, reader=reader)
    confusions: dict[int, Counter[int]] = {k: Counter() for k in range(len(classes))}
    for true, guess in zip(y, clean_probs.argmax(axis=1), strict=True):
        if true != guess:
            confusions[int(true)][int(guess)] += 1
    nearest = {k: (c.most_common(1)[0][0] if c else (k + 1) % len(classes)) for k, c in confusions.items()}

    def accuracy(train_texts: Sequence[str], train_labels: Sequence[str]) -> float:
        model = BaselineModel(max_features=max_features).task_pipeline().fit(list(train_texts), list(train_labels))
        return round(float(np.mean(model.predict(test_texts) == np.array(test_labels))), 4)

    started = time.perf_counter()
    features = frozen_encoder_features(texts)
    encode_seconds = time.perf_counter() - started
    out: dict[str, Any] = {"clean": accuracy(texts, labels), "encode_seconds": round(encode_seconds, 1), "rates": {}}
    for rate in rates:
        rng = np.random.default_rng(seed)
        noisy = list(labels)
        flipped = rng.choice(len(labels), size=int(rate * len(labels)), replace=False)
        for n, i in enumerate(flipped):
            if n % 2 == 0:  # uniformly to another intent
                noisy[i] = classes[(y[i] + rng.integers(1, len(classes))) % len(classes)]
            else:  # to the most confusable intent
                noisy[i] = classes[nearest[int(y[i])]]
        started = time.perf_counter()
        flags = judge_labels(texts, noisy, reader=reader).flags
        seconds = time.perf_counter() - started
        keep = [i for i in range(len(texts)) if not flags[i]]
        wrong = np.array(noisy) != np.array(labels)
        started = time.perf_counter()
        correction = correct_labels(
            features, np.array([classes.index(v) for v in noisy]), seed=seed, jobs=reader.parallel_folds
        )
        correct_seconds = time.perf_counter() - started
        corrected = [classes[k] for k in correction.labels]
        result: dict[str, Any] = {
            "naive": accuracy(texts, noisy),
            "prune": accuracy([texts[i] for i in keep], [noisy[i] for i in keep]),
            "correct": accuracy(texts, corrected),
            "flagged": int(flags.sum()),
            "flag_precision": round(float(wrong[flags].mean()), 4),
            "flag_recall": round(float(flags[wrong].mean()), 4),
            "noise_seconds": round(seconds, 1),
            "label_accuracy": {"given": round(float(np.mean(~wrong)), 4),
                               "corrected": round(float(np.mean(np.array(corrected) == np.array(labels))), 4)},
            "correct_weight_decay": correction.weight_decay,
            "correct_seconds": round(correct_seconds + encode_seconds, 1),
        }  # fmt: skip
        result["gap_to_clean"] = {m: round(out["clean"] - result[m], 4) for m in ("naive", "prune", "correct")}
        out["rates"][str(rate)] = result
        logger.info("banking77 %.2f: %s", rate, result)
    return out


def builder_option(text: str) -> tuple[str, float]:
    key, sep, value = text.partition("=")
    if not sep or key not in CorpusConfig.__dataclass_fields__:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE with KEY a CorpusConfig field, got {text!r}")
    return key, float(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("-n", "--n-contacts", type=int, default=10_000)
    parser.add_argument("--rates", type=float, nargs="+", default=[0.1, 0.2, 0.3])
    parser.add_argument("--banking-rates", type=float, nargs="+", default=[0.2, 0.4])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-features", type=int, default=30_000)
    parser.add_argument(
        "--skip-banking", action="store_true", help="re-run the built part only; BANKING77 kept from --results"
    )
    parser.add_argument(
        "--skip-built", action="store_true", help="re-run BANKING77 only, keeping the built part of --results"
    )
    parser.add_argument("--results", type=Path, default=Path("bench/results/label_noise.json"))
    parser.add_argument(
        "--export", type=Path, default=None, metavar="DIR",
        help="only write DIR/train.jsonl and DIR/held_out.jsonl of the first --rates (for dispo train runs)",
    )  # fmt: skip
    parser.add_argument(
        "--builder-option", action="append", default=[], metavar="KEY=VALUE", type=builder_option,
        help="a CorpusConfig option of the built corpus, e.g. bitter_close_share=0 and curt_close_share=0 "
        "build the corpus of sessions 12-15, before the builder's bitter and curt closes",
    )  # fmt: skip
    args = parser.parse_args()
    configure_logging("INFO")
    if args.export is not None:
        train, held_out = built_split(args.rates[0], args.n_contacts, args.seed, builder=dict(args.builder_option))
        write_contacts(train, args.export / "train.jsonl")
        write_contacts(held_out, args.export / "held_out.jsonl")
        logger.info("wrote %d + %d contacts to %s", len(train), len(held_out), args.export)
        return
    record: dict[str, Any]
    if args.skip_built:  # BANKING77 only: the built part of the existing results file is kept
        record = json.loads(args.results.read_text(encoding="utf-8"))
    else:
        manifests = check_frozen_sets()
        realistic = {"realistic_test": read_contacts(half_path("test")),  # set A: the figures reported first
                     "realistic_b_test": read_contacts(half_path("test", set_dir("b")))}  # fmt: skip
        record = {
            "learner": f"TF-IDF 1-2 grams ({args.max_features} features) + logistic regression, whole transcript",
            "noise_handling": f"cleanlab find_label_issues (filter_by={FILTER_BY}), 5-fold out-of-fold TF-IDF",
            "metrics": "reason accuracy, outcome macro-F1 against gold labels",
            "realistic_test_sha256": manifests["a"]["halves"]["test"]["sha256"],
            "realistic_b_test_sha256": manifests["b"]["halves"]["test"]["sha256"],
            "n_contacts": args.n_contacts,
            "seed": args.seed,
            "builder_options": dict(args.builder_option),
            "built": [
                built_part(r, args.n_contacts, args.seed, realistic, args.max_features, dict(args.builder_option))
                for r in args.rates
            ],
        }
    if not args.skip_banking:
        record["banking77"] = banking_part(args.shared / "banking77", args.banking_rates, args.seed, args.max_features)
    elif args.results.is_file() and "banking77" in (kept := json.loads(args.results.read_text(encoding="utf-8"))):
        record["banking77"] = kept["banking77"]
    args.results.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    logger.info("wrote %s", args.results)


if __name__ == "__main__":
    main()
