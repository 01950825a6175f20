"""Beyond pruning: what else confident learning could do with agent codes, on a dev corpus (issue 16).

``bench/label_noise.py`` reports gold vs naive vs prune on the seed-7 corpus. This script tries the
alternatives on a *different* built corpus (seed 21 by default, so that a choice made here is not
made on the reported figures), with the same TF-IDF + logistic-regression learner and the same
out-of-fold pass, and scores each on gold labels of the held-out 20% and on the realistic **dev**
half (never the test half), beside the share of the labels it trains on that are gold (``labels_right``):

- ``prune``: drop the codes cleanlab flags (``filter_by="both"``), as shipped;
- ``prune+half``: as ``prune``, and the codes only the looser noise-rate rule flags train at half weight;
- ``prune_loose``: drop those too;
- ``soft``: flagged codes train at weight 0.3 instead of being dropped;
- ``relabel``: a flagged code whose out-of-fold suggestion has probability >= 0.7 is replaced by it;
- ``prune_twice``: a second out-of-fold pass on the pruned labels, and its flags dropped too;
- ``correct``: every code replaced by its posterior true label under forward loss correction
  (``dispo train --label-noise correct``: training/noise_correction.py), reading the 3,000 TF-IDF
  1-2 grams most associated with the codes (chi-squared);
- ``correct_soft``: as ``correct``, but each text trains on every true label its posterior gives at
  least 0.05, weighted by it (cross-entropy against the posterior instead of its argmax);
- ``correct_sharp``: as ``correct_soft``, but the posterior sharpened first (each probability to the
  power 1 / ``SHARPEN_TEMPERATURE``, renormalised): the labels the correction is unsure of still
  share the text, with less weight than the plain posterior gives them;
- ``correct_confident``: as ``correct``, but a code whose posterior gives no label at least
  ``CONFIDENT`` is dropped instead (the correction unsure: neither the code nor a replacement is learnt);
- ``correct_prune``: as ``correct``, and a code cleanlab flags that the correction keeps is dropped
  (both readers doubt it, neither offers a better label);
- ``correct_lsa``: as ``correct``, reading a 300-dimension LSA projection of TF-IDF instead (the
  reader it had before);
- ``correct_wide``: as ``correct``, reading the ``WIDE_FEATURES`` most code-associated n-grams instead
  of 3,000;
- ``correct_encoded``: as ``correct``, reading beside the n-grams the frozen base encoder's mean-pooled
  vector of the customer's words (their first ``ENCODED_TOKENS`` tokens, weighted ``ENCODED_WEIGHT``):
  a reader that knows what the words mean, not only which they are. Session 29: tried, not adopted;
- ``correct_agent``: as ``correct``, and each code's own class weighed by its agent's estimated odds of
  coding right against everyone's (the one-coin EM below). Session 21: more labels right here, not
  better models on the seed-7 corpus or in the transformer, so not adopted (docs/quality.md);
- ``correct_habit``: as ``correct``, but each code's posterior weighs the text against its own agent's
  habits (Dawid and Skene with a structured confusion per agent): an agent codes right with its own
  accuracy, and a wrong code is either the agent's own habit (a code it over-uses whatever the
  contact, as the builder's lazy default codes are) or the population's confusions (cleanlab's T),
  in a mix of the agent's own; EM fits accuracy, mix and habit per agent, each shrunk towards the
  population (``HABIT_PRIOR``). Session 33: tried, not adopted;
- ``prune_posterior``: drop the codes whose chance of being right under the one-coin EM per agent
  (training/agent_accuracy.py) is below one half; ``weight_posterior``: train each code at that chance.

It also compares estimators of each provider's agent accuracy against the truth: the shipped one
(one-coin EM per agent at confident learning's level: training/agent_accuracy.py), the flags it
replaced (flagged 0, suspect 0.5, else 1), the posterior that a code is right given cleanlab's noise
matrix, and the per-provider calibrated confident joint. ``--variants`` merges the estimates too.

    python bench/label_noise_variants.py            # 20% agent-code errors; --rates 0.2 0.3 for more
    python bench/label_noise_variants.py --variants correct   # one variant, merged into the results
    python bench/label_noise_variants.py --variants gold correct correct_wide \
        --results bench/results/label_noise_correction_readers.json   # a new file: these alone
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from cleanlab.count import compute_confident_joint, estimate_py_and_noise_matrices_from_probabilities
from cleanlab.filter import find_label_issues
from label_noise import TASKS, built_split  # bench/ is on the path of a bench script
from sklearn.metrics import f1_score

from dispo.cli import configure_logging
from dispo.contact import Contact
from dispo.io import read_contacts
from dispo.model.baseline import BaselineModel, contact_text
from training.agent_accuracy import CodePosteriors, agent_key, code_posteriors
from training.evalset import half_path
from training.frozen_features import frozen_encoder_features
from training.labelsources import resolve_labels
from training.noise import CORRECTION_FEATURES, OutOfFold, correction_features, out_of_fold_probabilities
from training.noise_correction import correct_labels

logger = logging.getLogger("bench.label_noise_variants")
RESULTS = Path("bench/results/label_noise_variants.json")
VARIANTS = (
    "naive", "prune", "prune+half", "prune_loose", "soft", "relabel", "prune_twice", "correct",
    "prune_posterior", "weight_posterior", "correct_lsa", "correct_soft", "correct_confident", "correct_prune",
    "correct_wide", "correct_agent", "correct_sharp", "correct_encoded", "correct_habit",
)  # fmt: skip
SOFT_FLOOR = 0.05  # correct_soft: posterior labels below this share are not trained on
SHARPEN_TEMPERATURE = 0.5  # correct_sharp: the posterior's temperature (1 is correct_soft's)
CONFIDENT = 0.6  # correct_confident: a posterior whose best label is below this is not trained on
WIDE_FEATURES = 10_000  # correct_wide: how many n-grams its correction reads
ENCODED_TOKENS = 128  # correct_encoded: the customer's words the frozen encoder reads
ENCODED_WEIGHT = 0.5  # correct_encoded: the encoder's vector beside the n-grams (both rows L2-normalised)


def flags(y: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """cleanlab's strict flags (what ``prune`` drops) and the codes only the loose rule flags."""
    strict = np.asarray(find_label_issues(y, probs, filter_by="both", min_examples_per_class=5), dtype=bool)
    loose = np.asarray(find_label_issues(y, probs, filter_by="prune_by_noise_rate", min_examples_per_class=5), bool)
    return strict, loose & ~strict


def lsa_features(texts: Sequence[str], *, seed: int, dimensions: int = 300) -> np.ndarray:
    """The correction's earlier reader: TF-IDF 1-2 grams projected to ``dimensions`` (LSA), rows L2-normalised."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.preprocessing import normalize

    tfidf = BaselineModel(max_features=30_000).vectorizer().fit_transform(texts)
    return np.asarray(normalize(TruncatedSVD(dimensions, random_state=seed).fit_transform(tfidf)))


def one_coin(y: np.ndarray, probs: np.ndarray, agents: Sequence[str]) -> CodePosteriors:
    """The shipped one-coin EM per agent (training/agent_accuracy.py) at confident learning's level."""
    strict, suspect = flags(y, probs)
    level = float(np.mean(np.where(strict, 0.0, np.where(suspect, 0.5, 1.0))))
    noise_matrix = np.nan_to_num(estimate_py_and_noise_matrices_from_probabilities(y, probs)[1])
    return code_posteriors(probs, y, agents, level=level, noise_matrix=noise_matrix)


def weigh_by_agent(posterior: np.ndarray, codes: np.ndarray, accuracy: np.ndarray) -> np.ndarray:
    """``correct_agent``: the correction's posterior with the code's own class weighed by its agent's
    odds of coding right against everyone's (``accuracy``: the one-coin EM's, per code), since T is the
    population's: P(true j | text, code i, agent a) ∝ P(true j | text, code i) · (odds(a) / odds(all) if
    j = i else 1)."""
    accuracy = np.clip(np.asarray(accuracy, dtype=np.float64), 1e-3, 1 - 1e-3)
    population = float(accuracy.mean())
    out = np.array(posterior, dtype=np.float64, copy=True)
    out[np.arange(len(codes)), codes] *= (accuracy / (1 - accuracy)) / (population / (1 - population))
    return np.asarray(out / out.sum(axis=1, keepdims=True))


#: correct_habit: pseudo-counts of each agent's accuracy (towards the population's), of its habit
#: share of wrong codes (towards ``HABIT_SHARE``) and of its habit's spread (towards uniform).
HABIT_PRIOR = {"accuracy": 20.0, "share": 10.0, "habit": 0.5}
HABIT_SHARE = 0.1
HABIT_ITERATIONS = 50


def habit_posterior(clean: np.ndarray, codes: np.ndarray, matrix: np.ndarray, agents: Sequence[str]) -> np.ndarray:
    """``correct_habit``: P(true j | text, code i, agent a) ∝ P(true j | text) · T_a[i, j], where
    T_a[i, i] = acc_a and, for i ≠ j, T_a[i, j] = (1 - acc_a) · (λ_a · h_a(i) / (1 - h_a(j)) + (1 - λ_a) · M[i | j])
    (``M``: T's confusions, each column's off-diagonal renormalised; ``h_a``: the agent's habit)."""
    n, k = clean.shape
    groups = np.unique(np.asarray(agents, dtype=object).astype(str), return_inverse=True)[1]
    g = int(groups.max()) + 1
    rows = np.arange(n)
    confusion = np.array(matrix, dtype=np.float64, copy=True)
    np.fill_diagonal(confusion, 0.0)
    confusion /= np.clip(1.0 - np.diag(matrix), 1e-9, None)
    posterior = clean * matrix[codes]
    posterior /= posterior.sum(axis=1, keepdims=True).clip(1e-12)
    population = float(posterior[rows, codes].mean())
    accuracy, share, habit = np.full(g, population), np.full(g, HABIT_SHARE), np.full((g, k), 1.0 / k)
    sizes = np.bincount(groups, minlength=g)
    for _ in range(HABIT_ITERATIONS):
        own = habit[groups]
        habitual = share[groups, None] * own[rows, codes][:, None] / np.clip(1.0 - own, 1e-9, None)
        confused = (1.0 - share[groups, None]) * confusion[codes]
        likelihood = (1.0 - accuracy[groups, None]) * (habitual + confused)
        likelihood[rows, codes] = accuracy[groups]
        posterior = clean * likelihood
        posterior /= posterior.sum(axis=1, keepdims=True).clip(1e-12)
        right = posterior[rows, codes]
        wrong = posterior.copy()
        wrong[rows, codes] = 0.0
        by_habit = (wrong * habitual / np.clip(habitual + confused, 1e-12, None)).sum(axis=1)
        accuracy = (np.bincount(groups, right, g) + HABIT_PRIOR["accuracy"] * population) / (
            sizes + HABIT_PRIOR["accuracy"]
        )
        share = (np.bincount(groups, by_habit, g) + HABIT_PRIOR["share"] * HABIT_SHARE) / (
            np.bincount(groups, 1.0 - right, g) + HABIT_PRIOR["share"]
        )
        counts = np.zeros((g, k))
        np.add.at(counts, (groups, codes), by_habit)
        habit = (counts + HABIT_PRIOR["habit"] / k) / (counts.sum(axis=1, keepdims=True) + HABIT_PRIOR["habit"])
    return np.asarray(posterior)


def variant_labels(
    name: str,
    y: np.ndarray,
    probs: np.ndarray,
    texts: Sequence[str],
    *,
    seed: int,
    agents: Sequence[str],
    encoded: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The training rows under ``name``: which text, the class index it learns from, and its weight
    (0: not trained). Every text once, except ``correct_soft`` and ``correct_sharp`` (a text per label it may have)."""
    if name in ("correct_soft", "correct_sharp"):
        tfidf = BaselineModel(max_features=30_000).vectorizer().fit_transform(texts)
        posterior = correct_labels(correction_features(tfidf, y), y, seed=seed).posterior
        if name == "correct_sharp":
            posterior = posterior ** (1 / SHARPEN_TEMPERATURE)
            posterior /= posterior.sum(axis=1, keepdims=True)
        posterior = np.where(posterior >= SOFT_FLOOR, posterior, 0.0)
        posterior /= posterior.sum(axis=1, keepdims=True)
        rows, labels = np.nonzero(posterior)
        return rows, labels, posterior[rows, labels]
    every = np.arange(len(y))
    if name == "correct_encoded":
        from scipy import sparse

        if encoded is None:
            raise ValueError("correct_encoded: the customer's encoded words are required")
        tfidf = BaselineModel(max_features=30_000).vectorizer().fit_transform(texts)
        features = sparse.hstack([correction_features(tfidf, y), sparse.csr_matrix(encoded * ENCODED_WEIGHT)])
        labels = correct_labels(features.tocsr().astype(np.float32), y, seed=seed, jobs=2).labels
        return every, labels, np.ones(len(y))
    return (every, *_variant_labels(name, y, probs, texts, seed=seed, agents=agents))


def _variant_labels(
    name: str, y: np.ndarray, probs: np.ndarray, texts: Sequence[str], *, seed: int, agents: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    if name in ("correct", "correct_confident", "correct_prune", "correct_wide", "correct_agent", "correct_habit"):
        tfidf = BaselineModel(max_features=30_000).vectorizer().fit_transform(texts)
        features = WIDE_FEATURES if name == "correct_wide" else CORRECTION_FEATURES
        correction = correct_labels(correction_features(tfidf, y, features=features), y, seed=seed, jobs=2)
        weights = np.ones(len(y))
        if name == "correct_confident":
            weights[correction.posterior.max(axis=1) < CONFIDENT] = 0.0
        elif name == "correct_prune":
            weights[flags(y, probs)[0] & (correction.labels == y)] = 0.0
        elif name == "correct_habit":
            posterior = habit_posterior(correction.clean, y, correction.noise_matrix, agents)
            return posterior.argmax(axis=1), weights
        elif name == "correct_agent":
            accuracy = one_coin(y, probs, agents).accuracy
            return weigh_by_agent(correction.posterior, y, accuracy).argmax(axis=1), weights
        return correction.labels, weights
    if name == "correct_lsa":
        return correct_labels(lsa_features(texts, seed=seed), y, seed=seed).labels, np.ones(len(y))
    strict, suspect = flags(y, probs)
    labels, weights = y.copy(), np.ones(len(y))
    if name == "naive":
        return labels, weights
    if name in ("prune_posterior", "weight_posterior"):
        right = one_coin(y, probs, agents).right
        return labels, (right >= 0.5).astype(float) if name == "prune_posterior" else right
    weights[strict] = 0.3 if name == "soft" else 0.0
    if name == "prune+half":
        weights[suspect] = 0.5
    elif name == "prune_loose":
        weights[suspect] = 0.0
    elif name == "relabel":
        confident = strict & (probs.max(axis=1) >= 0.7)
        labels[confident] = probs[confident].argmax(axis=1)
        weights[confident] = 1.0
    elif name == "prune_twice":
        kept = np.flatnonzero(~strict)
        again = out_of_fold_probabilities([texts[i] for i in kept], y[kept], reader=OutOfFold(seed=seed + 1))
        weights[kept[flags(y[kept], again)[0]]] = 0.0
    return labels, weights


def score(task: str, model: Any, classes: list[str], contacts: Sequence[Contact]) -> float:
    """Reason accuracy or outcome macro-F1 against gold labels."""
    gold = [str(getattr(c.labels, task)) for c in contacts]
    predicted = [classes[k] for k in model.predict([contact_text(c) for c in contacts])]
    if task == "reason":
        return round(float(np.mean([p == g for p, g in zip(predicted, gold, strict=True)])), 4)
    return round(float(f1_score(gold, predicted, average="macro", labels=sorted(set(gold)))), 4)


def estimates(
    y: np.ndarray, probs: np.ndarray, truth: np.ndarray, providers: np.ndarray, agents: Sequence[str]
) -> dict[str, Any]:
    """Estimated minus true accuracy per provider, for each estimator."""
    strict, suspect = flags(y, probs)
    flagged = np.where(strict, 0.0, np.where(suspect, 0.5, 1.0))
    noise_matrix = estimate_py_and_noise_matrices_from_probabilities(y, probs)[1]  # P(given | true)
    shipped = code_posteriors(probs, y, agents, level=float(flagged.mean()), noise_matrix=np.nan_to_num(noise_matrix))
    rows = np.arange(len(y))
    posterior = noise_matrix[y, y] * probs[rows, y] / (noise_matrix[y, :] * probs).sum(axis=1)
    thresholds = np.array([probs[y == k, k].mean() for k in range(probs.shape[1])])
    out: dict[str, dict[str, float]] = {
        "one-coin EM per agent (shipped)": {}, "flags (before)": {}, "posterior": {}, "provider confident joint": {}
    }  # fmt: skip
    for provider in sorted(set(providers)):
        own = providers == provider
        true = float(truth[own].mean())
        joint = compute_confident_joint(y[own], probs[own], thresholds=thresholds, calibrate=False)
        counts = np.bincount(y[own], minlength=probs.shape[1])
        row_sums = joint.sum(axis=1, keepdims=True)
        calibrated = np.where(row_sums > 0, joint / np.maximum(row_sums, 1) * counts[:, None], 0.0)
        out["one-coin EM per agent (shipped)"][provider] = round(float(shipped.right[own].mean()) - true, 4)
        out["flags (before)"][provider] = round(float(flagged[own].mean()) - true, 4)
        out["posterior"][provider] = round(float(posterior[own].mean()) - true, 4)
        out["provider confident joint"][provider] = round(float(np.trace(calibrated) / own.sum()) - true, 4)
    result: dict[str, Any] = {
        name: {"errors": errors, "worst": max(abs(e) for e in errors.values())} for name, errors in out.items()
    }
    # Which codes an audit should read first: ranked by the one-coin chance of being right, or by the
    # out-of-fold probability of the code (self-confidence), against the codes that are wrong.
    wrong = ~truth
    for name, quality in (("one-coin chance", shipped.right), ("self-confidence", probs[rows, y])):
        order = np.argsort(quality, kind="stable")
        result.setdefault("ranking", {})[name] = {
            "precision_top_5pct": round(float(wrong[order[: len(y) // 20]].mean()), 4),
            "recall_top_20pct": round(float(wrong[order[: len(y) // 5]].sum() / max(1, wrong.sum())), 4),
        }
    return result


def rate_part(
    rate: float, n: int, seed: int, dev: Sequence[Contact], *, variants: Sequence[str] = ("gold", *VARIANTS)
) -> dict[str, Any]:
    train, held_out = built_split(rate, n, seed)
    agent = resolve_labels(train, priority=["agent"]).contacts
    texts = [contact_text(c) for c in agent]
    providers = np.array([c.provider for c in agent])
    agents = [agent_key(c) for c in agent]
    result: dict[str, Any] = {"agent_error_rate": rate, "methods": {v: {} for v in variants}}
    encoded = None
    if "correct_encoded" in variants:
        customer = [" ".join(t.text for t in c.turns if t.speaker == "customer") for c in agent]
        encoded = frozen_encoder_features(customer, max_tokens=ENCODED_TOKENS)
    for task in TASKS:
        given = [str(getattr(c.labels, task)) for c in agent]
        classes = sorted(set(given))
        y = np.array([classes.index(v) for v in given])
        started = time.perf_counter()
        probs = out_of_fold_probabilities(texts, y, reader=OutOfFold(seed=seed))
        logger.info("rate %.2f %s: out-of-fold pass %.0f s", rate, task, time.perf_counter() - started)
        gold_y = np.array([classes.index(str(getattr(c.labels, task))) for c in train])
        result.setdefault("estimates", {})[task] = estimates(y, probs, gold_y == y, providers, agents)
        for name in variants:
            rows, labels, weights = (np.arange(len(y)), gold_y, np.ones(len(y))) if name == "gold" else variant_labels(
                name, y, probs, texts, seed=seed, agents=agents, encoded=encoded)  # fmt: skip
            keep = np.flatnonzero(weights > 0)
            model = (
                BaselineModel()
                .task_pipeline()
                .fit([texts[i] for i in rows[keep]], labels[keep], logisticregression__sample_weight=weights[keep])
            )
            result["methods"][name][task] = {"built_held_out": score(task, model, classes, held_out),
                                             "realistic_dev": score(task, model, classes, dev),
                                             # of the labels trained on, the share that is gold
                                             "labels_right": round(float(np.mean(
                                                 labels[keep] == gold_y[rows[keep]])), 4)}  # fmt: skip
            logger.info("rate %.2f %s %s: %s", rate, task, name, result["methods"][name][task])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-n", "--n-contacts", type=int, default=10_000)
    parser.add_argument("--rates", type=float, nargs="+", default=[0.2])
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument(
        "--variants", nargs="+", choices=("gold", *VARIANTS), default=None,
        help="run these only and merge them into the --results of the same seed and rates (a --results "
        "file that does not exist yet gets these alone)",
    )  # fmt: skip
    args = parser.parse_args()
    configure_logging("INFO")
    dev = read_contacts(half_path("dev"))
    if args.variants and args.results.is_file():
        record = json.loads(args.results.read_text(encoding="utf-8"))
        if record["seed"] != args.seed or record["n_contacts"] != args.n_contacts:
            raise SystemExit(
                f"{args.results}: seed {record['seed']}, n {record['n_contacts']}; asked {args.seed}, {args.n_contacts}"
            )
        for part in record["rates"]:
            if part["agent_error_rate"] in args.rates:
                new = rate_part(part["agent_error_rate"], args.n_contacts, args.seed, dev, variants=args.variants)
                part["methods"].update(new["methods"])
                part["estimates"] = new["estimates"]
        args.results.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        logger.info("merged %s into %s", ", ".join(args.variants), args.results)
        return
    record = {
        "learner": "TF-IDF 1-2 grams + logistic regression (sample weights), whole transcript",
        "scores": "reason accuracy, outcome macro-F1 against gold: built held-out 20% and the realistic dev half",
        "n_contacts": args.n_contacts,
        "seed": args.seed,
        "rates": [
            rate_part(rate, args.n_contacts, args.seed, dev, variants=args.variants or ("gold", *VARIANTS))
            for rate in args.rates
        ],
    }
    args.results.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    logger.info("wrote %s", args.results)


if __name__ == "__main__":
    main()
