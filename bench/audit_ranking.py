"""Benchmark: does the audit queue find the wrong agent codes, and is a decision fast enough?

1. Builds contacts with the corpus builder; its ``agent_labels`` carry injected agent mistakes
   (``agent_error_rate``, 10% of contacts by default: confusable reasons, lazy default codes,
   wrong outcomes, and sentiment/upsell slips that do not change the code). A *wrong code* is an
   agent (reason, outcome) that differs from the true one.
2. Gets out-of-sample probabilities for them: from a trained bundle (``--model``, built with a
   seed it was not trained on; its calibrated transformer and its TF-IDF baseline), and/or
   (``--cv-baseline``) from dispo's TF-IDF + logistic-regression baseline with cross-validated
   (out-of-fold) probabilities, temperature-calibrated by cross-fitting.
3. Ranks the agent codes by each method and measures precision of the top 5% and recall within
   the top 20% against the injected mistakes, beside a uniform random sample of the same sizes
   (the expectation over 1,000 permutations and one seeded draw in the same run).
4. Estimates agent accuracy from 200 simulated audits of a uniform random sample (Wilson interval)
   and, to show the bias, from the 200 most suspicious contacts.
5. Times an analyst decision server-side (``--time-decisions``): the service in-process with the
   model, every contact queued, an analyst posting a decision on the contact page and loading
   the next one, as the browser does (POST -> 303 -> GET).

    python bench/audit_ranking.py --contacts 5000 --seed 101 --model dispo-default --cv-baseline --time-decisions 40

Results go to ``bench/results/audit_ranking.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from dispo.audit.ranking import (
    label_quality_matrix,
    precision_at,
    ranking,
    recall_at,
    suspicion_scores,
)
from dispo.audit.sampling import wilson_interval
from dispo.cli import configure_logging
from dispo.contact import Contact
from dispo.model.bundle import BASELINE_FILE, load_pickled
from training.evaluation import expected_calibration_error

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "audit_ranking.json"
logger = logging.getLogger("bench.audit_ranking")
TOP, WITHIN = 0.05, 0.20


# -- data ----------------------------------------------------------------------------------------------
def build(n: int, seed: int, error_rate: float, utterances: str | None = None) -> list[Contact]:
    from training.corpus.builder import CorpusBuilder, CorpusConfig

    config = CorpusConfig(n_contacts=n, seed=seed, agent_error_rate=error_rate, utterances_path=utterances)
    return [b.contact for b in CorpusBuilder(config).build()]


def truth(contacts: list[Contact]) -> dict[str, np.ndarray]:
    gold = [(c.labels.reason, c.labels.outcome) for c in contacts]  # type: ignore[union-attr]
    agent = [(c.agent_labels.reason, c.agent_labels.outcome) for c in contacts]  # type: ignore[union-attr]
    any_label = [c.labels != c.agent_labels for c in contacts]
    return {
        "wrong_code": np.array([g != a for g, a in zip(gold, agent, strict=True)]),
        "wrong_reason": np.array([g[0] != a[0] for g, a in zip(gold, agent, strict=True)]),
        "wrong_outcome": np.array([g[1] != a[1] for g, a in zip(gold, agent, strict=True)]),
        "any_wrong_label": np.array(any_label),
    }


# -- probabilities -------------------------------------------------------------------------------------
Probabilities = dict[str, tuple[np.ndarray, list[str]]]  # task -> ([N, K] probabilities, label names)


def predictor_probabilities(predictor: Any, contacts: list[Contact]) -> tuple[Probabilities, list[Any]]:
    started = time.perf_counter()
    predictions = []
    for start in range(0, len(contacts), 256):
        predictions += predictor.predict(contacts[start : start + 256], batch_size=64)
        logger.info("predicted %d / %d contacts", len(predictions), len(contacts))
    logger.info("model predictions: %.1f s", time.perf_counter() - started)
    reasons = predictor.labels["reason"]
    outcomes = predictor.labels["outcome"]
    p_reason = np.array([[p.reason_probabilities[r] for r in reasons] for p in predictions])
    p_outcome = np.array([[p.outcome.probabilities[o] for o in outcomes] for p in predictions])
    return {"reason": (p_reason, reasons), "outcome": (p_outcome, outcomes)}, predictions


def bundle_baseline_probabilities(predictor: Any, contacts: list[Contact]) -> Probabilities | None:

    from dispo.model.baseline import contact_text

    path = predictor.path / BASELINE_FILE if predictor.path else None
    if path is None or not path.is_file():
        return None
    baseline = load_pickled(path)
    texts = [contact_text(c) for c in contacts]
    return {
        task: (baseline.predict_proba(task, texts), list(baseline.classes_[task])) for task in ("reason", "outcome")
    }


def cv_baseline_probabilities(contacts: list[Contact], folds: int, seed: int) -> tuple[Probabilities, Probabilities]:
    """Out-of-fold probabilities of dispo's baseline (TF-IDF + LR) trained on the true labels,
    raw and temperature-calibrated by cross-fitting (halves calibrate each other)."""
    from sklearn.model_selection import StratifiedKFold

    from dispo.model.baseline import BaselineModel, contact_text

    texts = np.array([contact_text(c) for c in contacts], dtype=object)
    raw: Probabilities = {}
    calibrated: Probabilities = {}
    for task in ("reason", "outcome"):
        labels = np.array([getattr(c.labels, task) for c in contacts])
        classes = sorted(set(labels))
        out = np.zeros((len(contacts), len(classes)))
        started = time.perf_counter()
        for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(texts, labels):
            model = BaselineModel().fit(list(texts[train]), {task: list(labels[train])})
            assert model.classes_[task] == classes
            out[test] = model.predict_proba(task, list(texts[test]))
        logger.info("cross-validated baseline %s: %.1f s", task, time.perf_counter() - started)
        raw[task] = (out, classes)
        calibrated[task] = (cross_fitted_temperature(out, labels, classes, seed), classes)
    return raw, calibrated


def cross_fitted_temperature(
    probabilities: np.ndarray, labels: np.ndarray, classes: list[str], seed: int
) -> np.ndarray:
    from training.calibration import fit_temperature

    logits = np.log(np.clip(probabilities, 1e-12, 1.0))
    targets = np.array([classes.index(label) for label in labels])
    half = np.random.default_rng(seed).permutation(len(labels)) < len(labels) // 2
    out = np.zeros_like(probabilities)
    for fit, apply in ((half, ~half), (~half, half)):
        temperature = fit_temperature(logits[fit], targets[fit])
        scaled = logits[apply] / temperature
        scaled -= scaled.max(axis=1, keepdims=True)
        out[apply] = np.exp(scaled) / np.exp(scaled).sum(axis=1, keepdims=True)
        logger.info("temperature %.3f", temperature)
    return out


# -- rankings ------------------------------------------------------------------------------------------
def evaluate(
    probabilities: Probabilities, contacts: list[Contact], facts: dict[str, np.ndarray], seed: int
) -> dict[str, Any]:
    wrong = facts["wrong_code"]
    given: dict[str, np.ndarray] = {}
    for task, (_, classes) in probabilities.items():
        index = {label: i for i, label in enumerate(classes)}
        given[task] = np.array([index[getattr(c.agent_labels, task)] for c in contacts])
    p_reason, reasons = probabilities["reason"]
    p_outcome, outcomes = probabilities["outcome"]
    model_reason = np.array(reasons)[p_reason.argmax(axis=1)]
    model_outcome = np.array(outcomes)[p_outcome.argmax(axis=1)]
    agent_reason = np.array([c.agent_labels.reason for c in contacts])  # type: ignore[union-attr]
    agent_outcome = np.array([c.agent_labels.outcome for c in contacts])  # type: ignore[union-attr]
    disagrees = (model_reason != agent_reason) | (model_outcome != agent_outcome)
    confidence = p_reason.max(axis=1)
    quality = {
        method: [label_quality_matrix(probabilities[t][0], given[t], method) for t in ("reason", "outcome")]
        for method in ("self_confidence", "normalized_margin")
    }
    orders = {
        "self_confidence (reason x outcome; dispo's default)": ranking(suspicion_scores(quality["self_confidence"])),
        "normalized_margin (reason x outcome)": ranking(suspicion_scores(quality["normalized_margin"])),
        "self_confidence, reason only": ranking(1 - quality["self_confidence"][0]),
        "disagreement, then most confident model": ranking(disagrees.astype(float), confidence),
        "least confident model": ranking(-confidence),
    }
    gold_reason = np.array([c.labels.reason for c in contacts])  # type: ignore[union-attr]
    gold_outcome = np.array([c.labels.outcome for c in contacts])  # type: ignore[union-attr]
    results: dict[str, Any] = {
        "expected_calibration_error": {
            "reason": ece(p_reason, model_reason == gold_reason),
            "outcome": ece(p_outcome, model_outcome == gold_outcome),
        },
        "model_accuracy": {
            "reason": float(np.mean(model_reason == np.array([c.labels.reason for c in contacts]))),  # type: ignore[union-attr]
            "outcome": float(np.mean(model_outcome == np.array([c.labels.outcome for c in contacts]))),  # type: ignore[union-attr]
        },
        "disagreement_rate": float(disagrees.mean()),
        "methods": {},
    }
    for name, order in orders.items():
        results["methods"][name] = metrics(order, facts)
    rng = np.random.default_rng(seed)
    permutations = [rng.permutation(len(contacts)) for _ in range(1000)]
    expected = {
        f"precision_top_{TOP:.0%}": float(np.mean([precision_at(o, wrong, TOP) for o in permutations])),
        f"recall_within_top_{WITHIN:.0%}": float(np.mean([recall_at(o, wrong, WITHIN) for o in permutations])),
    }
    results["methods"]["random sample (expected over 1,000 draws)"] = expected
    results["methods"]["random sample (one seeded draw, same run)"] = metrics(permutations[0], facts)
    return results


def ece(probabilities: np.ndarray, correct: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error of the top label's probability (equal-width bins)."""
    return round(expected_calibration_error(probabilities.max(axis=1), correct, bins), 4)


def metrics(order: np.ndarray, facts: dict[str, np.ndarray]) -> dict[str, float]:
    wrong = facts["wrong_code"]
    out = {
        f"precision_top_{TOP:.0%}": precision_at(order, wrong, TOP),
        f"recall_within_top_{WITHIN:.0%}": recall_at(order, wrong, WITHIN),
        "precision_top_10%": precision_at(order, wrong, 0.10),
        "recall_within_top_10%": recall_at(order, wrong, 0.10),
        "recall_within_top_20%_of_wrong_reasons": recall_at(order, facts["wrong_reason"], WITHIN),
        "recall_within_top_20%_of_wrong_outcomes": recall_at(order, facts["wrong_outcome"], WITHIN),
    }
    return {k: round(v, 4) for k, v in out.items()}


def accuracy_estimates(
    probabilities: Probabilities, contacts: list[Contact], facts: dict[str, np.ndarray], seed: int, n: int = 200
) -> dict[str, Any]:
    """Agent code accuracy: the truth, a uniform sample of ``n`` audits, and the ``n`` most suspicious."""
    correct = ~facts["wrong_code"]
    sample = np.random.default_rng(seed + 1).choice(len(contacts), size=min(n, len(contacts)), replace=False)
    given = {}
    for task, (_, classes) in probabilities.items():
        index = {label: i for i, label in enumerate(classes)}
        given[task] = np.array([index[getattr(c.agent_labels, task)] for c in contacts])
    scores = suspicion_scores([label_quality_matrix(probabilities[t][0], given[t]) for t in ("reason", "outcome")])
    top = ranking(scores)[:n]
    uniform = wilson_interval(int(correct[sample].sum()), len(sample))
    ranked = wilson_interval(int(correct[top].sum()), len(top))
    return {
        "true_agent_code_accuracy": round(float(correct.mean()), 4),
        "uniform_sample": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in uniform.to_dict().items()},
        "ranked_queue_top (biased, never used for estimates)": {
            k: (round(v, 4) if isinstance(v, float) else v) for k, v in ranked.to_dict().items()
        },
    }


# -- decision round trip -------------------------------------------------------------------------------
def time_decisions(
    model: str, models_dir: Path | None, contacts: list[Contact], predictions: list[Any], n: int, think_s: float
) -> dict[str, Any]:
    """Server time of an analyst decision on the contact page: POST the form, follow the 303 to
    the next contact and render it (in-process, no network)."""
    from fastapi.testclient import TestClient

    from dispo.audit.items import item_from_labelled
    from dispo.labelled import labelled_row
    from dispo.redact import default_redactor
    from serve.app import create_app
    from serve.audit.deps import COOKIE
    from serve.audit.store import AuditStore
    from serve.settings import Settings

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings.from_env(
            {}, database_url=f"sqlite:///{folder}/audit.db", model=model,
            models_dir=str(models_dir) if models_dir else None, rate_limit_burst=100_000,
        )  # fmt: skip
        with TestClient(create_app(settings), base_url="http://testserver") as client:
            state: Any = client.app.state  # type: ignore[attr-defined]
            taxonomy = state.inference.taxonomy
            redactor = default_redactor()
            rng = random.Random(0)
            rows = []
            for contact, prediction in zip(contacts, predictions, strict=True):
                row = labelled_row(contact, prediction, taxonomy)
                row["outcome_probabilities"] = prediction.outcome.probabilities
                rows.append(item_from_labelled(redactor.redact_contact(contact).to_json_dict(), row, rng=rng))
            key = state.store.create_key("bench", "analyst", "bench analyst").secret
            started = time.perf_counter()
            AuditStore(state.store.engine).add_items("bench", [r for r in rows if r is not None])
            import_s = time.perf_counter() - started
            client.cookies.set(COOKIE, key)
            origin = {"Origin": "http://testserver"}
            location = client.get("/ui/audit/next?sort=suspicion", follow_redirects=False).headers["location"]
            first = time.perf_counter()
            assert client.get(location).status_code == 200
            first_page_ms = (time.perf_counter() - first) * 1000
            post_ms, get_ms, total_ms = [], [], []
            for _ in range(n):
                time.sleep(think_s)  # the analyst reads; the next contacts are explained meanwhile
                item_id = location.split("/ui/audit/")[1].split("?")[0]
                t0 = time.perf_counter()
                response = client.post(
                    f"/ui/audit/{item_id}/decide?sort=suspicion",
                    data={"action": "confirm"},
                    headers=origin,
                    follow_redirects=False,
                )
                t1 = time.perf_counter()
                assert response.status_code == 303, response.text
                location = response.headers["location"]
                page = client.get(location)
                t2 = time.perf_counter()
                assert page.status_code == 200
                post_ms.append((t1 - t0) * 1000)
                get_ms.append((t2 - t1) * 1000)
                total_ms.append((t2 - t0) * 1000)
            # What an analyst faster than the prefetch would see: explanations computed on demand.
            cold = []
            for item_id in AuditStore(state.store.engine).next_items("bench", _query("confidence"), None, 10):
                t0 = time.perf_counter()
                assert client.get(f"/ui/audit/{item_id}?sort=confidence").status_code == 200
                cold.append((time.perf_counter() - t0) * 1000)
    return {
        "items_queued": len(rows),
        "import_seconds": round(import_s, 2),
        "decisions": n,
        "think_time_s": think_s,
        "first_page_ms (explanation computed on demand)": round(first_page_ms, 1),
        "post_decision_ms": summary(post_ms),
        "next_page_ms": summary(get_ms),
        "decision_round_trip_ms (POST + next page)": summary(total_ms),
        "page_with_explanation_computed_on_demand_ms": summary(cold),
    }


def _query(sort: str) -> Any:
    from serve.audit.store import QueueQuery

    return QueueQuery(sort=sort)


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 1),
        "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
        "max": round(ordered[-1], 1),
        "mean": round(statistics.fmean(ordered), 1),
    }


# -- main ----------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=101, help="corpus seed (not the seed the model was trained on)")
    parser.add_argument("--agent-error-rate", type=float, default=0.1)
    parser.add_argument(
        "--utterances", default=None, help="real Bitext CSV for customer openings (as the model was trained with)"
    )
    parser.add_argument("--model", default=None, help="a trained bundle NAME[:VERSION] (out of sample for --seed)")
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--cv-baseline", action="store_true", help="also the cross-validated TF-IDF + LR baseline")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--time-decisions", type=int, default=0, help="analyst decisions to time (needs --model)")
    parser.add_argument("--think-time", type=float, default=1.0, help="seconds between page load and decision")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    configure_logging("INFO")

    contacts = build(args.contacts, args.seed, args.agent_error_rate, args.utterances)
    facts = truth(contacts)
    result: dict[str, Any] = {
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "corpus": {
            "contacts": len(contacts),
            "seed": args.seed,
            "utterances": args.utterances,
            "agent_error_rate": args.agent_error_rate,
            "contacts_with_any_wrong_agent_label": round(float(facts["any_wrong_label"].mean()), 4),
            "wrong_agent_codes": round(float(facts["wrong_code"].mean()), 4),
            "wrong_agent_reasons": round(float(facts["wrong_reason"].mean()), 4),
            "wrong_agent_outcomes": round(float(facts["wrong_outcome"].mean()), 4),
        },
        "targets": {f"precision_top_{TOP:.0%}": 0.8, f"recall_within_top_{WITHIN:.0%}": 0.7},
        "probability_sources": {},
    }
    predictions: list[Any] = []
    if args.model:
        from dispo.model.predictor import Predictor

        predictor = Predictor.load(args.model, args.models_dir, backend=args.backend)
        probabilities, predictions = predictor_probabilities(predictor, contacts)
        name = f"{predictor.version} transformer (temperature-calibrated)"
        result["probability_sources"][name] = evaluate(probabilities, contacts, facts, args.seed)
        result["accuracy_estimates"] = accuracy_estimates(probabilities, contacts, facts, args.seed)
        baseline = bundle_baseline_probabilities(predictor, contacts)
        if baseline is not None:
            result["probability_sources"][f"{predictor.version} TF-IDF + LR baseline (uncalibrated)"] = evaluate(
                baseline, contacts, facts, args.seed
            )
    if args.cv_baseline:
        raw, calibrated = cv_baseline_probabilities(contacts, args.folds, args.seed)
        result["probability_sources"][f"TF-IDF + LR, {args.folds}-fold out-of-fold, temperature-calibrated"] = evaluate(
            calibrated, contacts, facts, args.seed
        )
        result["probability_sources"][f"TF-IDF + LR, {args.folds}-fold out-of-fold, uncalibrated"] = evaluate(
            raw, contacts, facts, args.seed
        )
        result.setdefault("accuracy_estimates", accuracy_estimates(calibrated, contacts, facts, args.seed))
    if args.time_decisions and args.model:
        subset = list(range(len(contacts)))
        result["decision_timing"] = time_decisions(
            args.model, args.models_dir, [contacts[i] for i in subset], [predictions[i] for i in subset],
            args.time_decisions, args.think_time,
        )  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for source, evaluation in result["probability_sources"].items():
        default = evaluation["methods"]["self_confidence (reason x outcome; dispo's default)"]
        logger.info("%s: %s", source, default)
    logger.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
