"""Agent codes as training labels: find the ones that are probably wrong, before the fine-tune.

Confident learning (cleanlab): out-of-fold probabilities from the TF-IDF baseline (minutes, not
another fine-tune), then :func:`cleanlab.filter.find_label_issues` flags the codes the text
disagrees with (:data:`FILTER_BY`), most likely wrong first. Only labels whose source is
the agent are judged: gold and audited labels are trusted. ``prune`` drops the label of that task
on a flagged contact (the masked loss skips it; the contact still trains the other heads).
``correct`` instead replaces each agent code by its posterior true label (forward loss correction:
training/noise_correction.py); ``correct-prune`` does both: it corrects, then drops the flagged codes
the correction kept (both readers doubt them and neither offers a better label). ``correct-soft``
corrects too, but the fine-tune learns each agent-coded contact from the whole posterior instead of
its argmax (a correction unsure between two reasons teaches both). ``correct-refine`` corrects, and
after each epoch but the last the fine-tune relabels the agent-coded contacts by weighing the
posterior against its own reading of them (a second reader whose errors are not TF-IDF's). ``forward`` keeps
the codes and has the fine-tune learn through cleanlab's noise matrix instead (forward loss
correction in the transformer: training/noise_correction.py's ForwardLoss).

The same pass gives each agent code its chance of being right (training/agent_accuracy.py), which
estimates each agent's, provider's and queue's accuracy without a single audit and ranks the codes
most likely wrong first, where QA should look first.
"""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from dispo.contact import Contact
from dispo.errors import ConfigError
from dispo.model.baseline import BaselineModel, contact_text
from dispo.model.bundle import AGENT_ACCURACY_FILE, LABEL_ISSUES_FILE
from training.agent_accuracy import agent_key, code_posteriors, estimate_agent_accuracy
from training.noise_correction import ForwardLoss, SoftTargets, correct_labels

logger = logging.getLogger(__name__)

NOISE_TASKS: tuple[str, ...] = ("reason", "outcome")
#: Per task: the codes present, and each agent-coded contact's posterior over them (by contact id).
Posteriors = dict[str, tuple[list[str], dict[str, np.ndarray]]]
#: ``none``: train on the labels as resolved; ``prune``: drop the flagged agent codes; ``correct``:
#: replace each agent code by its posterior true label (forward loss correction,
#: training/noise_correction.py); ``correct-prune``: correct, then drop the flagged codes the
#: correction kept; ``auto``: the one of these that reads a gold/audited validation split best (the
#: baseline decides: seconds), else prune; ``forward``: keep the codes, and the fine-tune learns the
#: true labels through the noise matrix; ``correct-soft``: as ``correct``, and the fine-tune learns
#: each corrected code from its posterior; ``correct-refine``: as ``correct``, and after each epoch
#: but the last the fine-tune relabels the agent-coded contacts by weighing the posterior against its
#: own reading (none of the three is an ``auto`` candidate: only the fine-tune reads them).
NOISE_METHODS: tuple[str, ...] = (
    "none", "prune", "correct", "correct-prune", "auto", "forward", "correct-soft", "correct-refine"
)  # fmt: skip
#: How many TF-IDF 1-2 grams the correction reads: those most associated with the codes (chi-squared).
#: A model on 3,000 trains in seconds, one on all 30,000 in an hour (both sparse). On the seed-21 dev
#: corpus (bench/label_noise_variants.py) it corrected reasons to 0.845 built / 0.739 realistic dev,
#: against 0.812 / 0.733 for a 300-dimension LSA projection, which blurs the few words that tell
#: confusable reasons apart.
CORRECTION_FEATURES = 3000
#: cleanlab's filter: "both" flags a code only when the noise-rate and the per-class rules agree.
#: On a built dev corpus (4,000 contacts, 20% agent errors, seed 21) it flagged fewer codes at
#: higher precision than prune_by_noise_rate (0.72 vs 0.54 for reasons) and the pruned baseline
#: read a held-out gold split better (0.783 vs 0.775; naive 0.772, gold 0.803).
FILTER_BY = "both"


@dataclass(frozen=True)
class OutOfFold:
    """How the noise pass reads the codes: each text by a TF-IDF baseline (``max_features`` 1-2
    grams) fitted on the other ``folds`` - 1 folds, shuffled by ``seed``. The folds are fitted
    ``jobs`` at a time (processes; default: one per core, at most ``folds``): a fold's fit runs on
    one core."""

    folds: int = 5
    seed: int = 0
    max_features: int = 30_000
    jobs: int | None = None

    def __post_init__(self) -> None:
        if self.folds < 2:
            raise ConfigError(f"label noise: folds must be >= 2, got {self.folds}")
        if self.max_features < 1:
            raise ConfigError(f"label noise: max_features must be positive, got {self.max_features}")
        if self.jobs is not None and self.jobs < 1:
            raise ConfigError(f"label noise: jobs must be positive, got {self.jobs}")

    @property
    def parallel_folds(self) -> int:
        return min(self.folds, self.jobs or os.cpu_count() or 1)


@dataclass
class LabelIssue:
    """One judged agent code: the given label, what the text suggests and how sure the pass is."""

    contact_id: str
    task: str
    given: str
    suggested: str
    self_confidence: float  # out-of-fold probability of the given label
    issue: bool  # flagged as probably wrong (pruned by ``prune``)
    suspect: bool = False  # flagged by the looser noise-rate rule only
    estimated_right: float = 1.0  # P(code right | text, code, agent): training/agent_accuracy.py

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class NoiseReport:
    judged: dict[str, int] = field(default_factory=dict)  # task -> agent codes judged
    flagged: dict[str, int] = field(default_factory=dict)  # task -> agent codes flagged
    suspects: dict[str, int] = field(default_factory=dict)  # task -> codes only the loose rule flags
    unjudged: dict[str, int] = field(default_factory=dict)  # task -> agent codes too few to judge, kept as given
    issues: list[LabelIssue] = field(default_factory=list)  # every judged code, most likely wrong first
    temperatures: dict[str, float] = field(default_factory=dict)  # task -> the estimates' tempering
    # task -> (the codes' classes, cleanlab's T[i, j] = P(code i | true j) over them)
    noise_matrices: dict[str, tuple[list[str], np.ndarray]] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        rates = {t: round(self.flagged[t] / n, 4) for t, n in self.judged.items() if n}
        return {"judged": self.judged, "flagged": self.flagged, "suspects": self.suspects,
                "flagged_rate": rates, **({"unjudged": self.unjudged} if self.unjudged else {}),
                "seconds": round(self.seconds, 1)}  # fmt: skip


def too_few_to_read(task: str, given: Sequence[str], folds: int, codes: int) -> bool:
    """Whether a task's labels are too few for an out-of-fold pass (no label has a contact in every
    fold, so no fold could learn it): the ``codes`` agent codes are then kept as given, with a warning."""
    largest = max(Counter(given).values())
    if largest >= folds:
        return False
    logger.warning(
        "label noise: %s: not judged: its most frequent label has %d contacts, fewer than the %d folds of the "
        "out-of-fold pass; its %d agent codes are kept as given", task, largest, folds, codes,
    )  # fmt: skip
    return True


def find_label_issues(
    contacts: Sequence[Contact],
    sources: Sequence[dict[str, str]],
    *,
    tasks: Sequence[str] = NOISE_TASKS,
    reader: OutOfFold = OutOfFold(),
) -> NoiseReport:
    """Judge the agent-sourced labels of ``tasks`` (``sources[i][task] == "agent"``).

    The out-of-fold model reads every contact labelled for the task (trusted labels too: they make
    the model better), and only the agent codes are judged."""
    started = time.perf_counter()
    report = NoiseReport()
    texts = [contact_text(c) for c in contacts]
    for task in tasks:
        rows = [i for i, c in enumerate(contacts) if c.labels is not None and getattr(c.labels, task) is not None]
        judged = [k for k, i in enumerate(rows) if sources[i].get(task) == "agent"]
        given = [str(getattr(contacts[i].labels, task)) for i in rows]
        if not judged or len(set(given)) < 2:
            continue
        if too_few_to_read(task, given, reader.folds, len(judged)):
            report.unjudged[task] = len(judged)
            continue
        judgement = judge_labels([texts[i] for i in rows], given, reader=reader)
        flagged, probs, classes = judgement.flags, judgement.probabilities, judgement.classes
        codes = np.array([classes.index(given[k]) for k in judged])
        level = 1.0 - float(np.mean(flagged[judged] + 0.5 * judgement.suspects[judged]))
        posteriors = code_posteriors(probs[judged], codes, [agent_key(contacts[rows[k]]) for k in judged],
                                     level=level, noise_matrix=judgement.noise_matrix)  # fmt: skip
        report.temperatures[task] = round(posteriors.temperature, 4)
        # over the agent codes alone: the judgement's T also counts trusted labels, no agent's codes
        report.noise_matrices[task] = (classes, noise_matrix(probs[judged], codes))
        for k, code, right in zip(judged, codes, posteriors.right, strict=True):
            issue = LabelIssue(contacts[rows[k]].contact_id, task, given[k], classes[int(probs[k].argmax())],
                               round(float(probs[k, code]), 6), bool(flagged[k]), bool(judgement.suspects[k]),
                               round(float(right), 6))  # fmt: skip
            report.issues.append(issue)
        report.judged[task] = len(judged)
        report.flagged[task] = int(flagged[judged].sum())
        report.suspects[task] = int(judgement.suspects[judged].sum())
        logger.info("label noise: %s: %d of %d agent codes flagged", task, report.flagged[task], len(judged))
    report.issues.sort(key=lambda issue: (issue.estimated_right, issue.self_confidence))
    report.seconds = time.perf_counter() - started
    return report


def noise_matrix(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """cleanlab's T[i, j] = P(label i | true j) from out-of-fold ``probabilities``; NaNs zeroed. A
    class no label uses gets an empty column (``column_stochastic`` takes it as coded right)."""
    from cleanlab.count import estimate_py_and_noise_matrices_from_probabilities

    return np.nan_to_num(estimate_py_and_noise_matrices_from_probabilities(labels, probabilities)[1])


@dataclass
class Judgement:
    flags: np.ndarray  # probably wrong: cleanlab's FILTER_BY rule
    suspects: np.ndarray  # wrong by the noise-rate rule only
    probabilities: np.ndarray  # out-of-fold, one column per class
    classes: list[str]
    noise_matrix: np.ndarray  # cleanlab's estimate of P(given i | true j)


def judge_labels(texts: Sequence[str], given: Sequence[str], *, reader: OutOfFold = OutOfFold()) -> Judgement:
    """Which of ``given`` are probably wrong, from out-of-fold baseline probabilities.

    ``flags``: cleanlab's :data:`FILTER_BY` rule (what ``prune`` drops); ``suspects``: flagged by
    ``prune_by_noise_rate`` alone, which flags more codes at lower precision. Classes with fewer
    than 5 examples keep all their labels."""
    from cleanlab.filter import find_label_issues as cleanlab_issues

    classes = sorted(set(given))
    y = np.array([classes.index(v) for v in given])
    probs = out_of_fold_probabilities(texts, y, reader=reader)
    flags = np.asarray(cleanlab_issues(y, probs, filter_by=FILTER_BY, min_examples_per_class=5), dtype=bool)
    loose = np.asarray(cleanlab_issues(y, probs, filter_by="prune_by_noise_rate", min_examples_per_class=5), dtype=bool)
    return Judgement(flags, loose & ~flags, probs, classes, noise_matrix(probs, y))


def out_of_fold_probabilities(texts: Sequence[str], y: np.ndarray, *, reader: OutOfFold = OutOfFold()) -> np.ndarray:
    """Probabilities of every class for each text from the baseline fitted without it. A class
    rarer than ``folds`` is missing from some folds' training data; its column is 0 there."""
    pipeline = BaselineModel(max_features=reader.max_features).task_pipeline()
    splitter = StratifiedKFold(n_splits=reader.folds, shuffle=True, random_state=reader.seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*least populated class.*")
        warnings.filterwarnings("ignore", message=".*[Nn]umber of classes in training fold.*")
        probabilities = cross_val_predict(pipeline, list(texts), y, cv=splitter, method="predict_proba",
                                          n_jobs=reader.parallel_folds)  # fmt: skip
        return np.asarray(probabilities)


def prune(contacts: Sequence[Contact], report: NoiseReport, *, unless_changed: bool = False) -> list[Contact]:
    """``contacts`` with the flagged labels removed (that task only). With ``unless_changed``, a
    flagged label is removed only where ``contacts`` still hold the code that was judged (a label
    the correction replaced stays)."""
    drop: dict[str, set[str]] = defaultdict(set)
    holds = {c.contact_id: c.labels for c in contacts}
    for issue in report.issues:
        kept = getattr(holds.get(issue.contact_id), issue.task, None) == issue.given
        if issue.issue and (kept or not unless_changed):
            drop[issue.contact_id].add(issue.task)
    out = []
    for contact in contacts:
        tasks = drop.get(contact.contact_id)
        if tasks and contact.labels is not None:
            contact = contact.model_copy(update={"labels": contact.labels.model_copy(update=dict.fromkeys(tasks))})
        out.append(contact)
    return out


def correction_features(tfidf: Any, codes: np.ndarray, *, features: int = CORRECTION_FEATURES) -> Any:
    """What the correction reads for one task: the ``features`` columns of ``tfidf`` most associated
    with the codes (chi-squared), rows L2-normalised, kept sparse: a contact uses about 1% of them,
    so the correction's fits run 2.5x (forward-corrected, the same probabilities) and 10x (its plain
    reader, whose solver stops at slightly different ones) faster than on the dense matrix."""
    from sklearn.feature_selection import SelectKBest, chi2
    from sklearn.preprocessing import normalize

    selected = SelectKBest(chi2, k=min(features, tfidf.shape[1])).fit_transform(tfidf, codes)
    return normalize(selected).astype(np.float32).tocsr()


def correct(
    contacts: Sequence[Contact],
    sources: Sequence[dict[str, str]],
    *,
    tasks: Sequence[str] = NOISE_TASKS,
    reader: OutOfFold = OutOfFold(),
) -> tuple[list[Contact], dict[str, int], Posteriors]:
    """``contacts`` with each agent code of ``tasks`` replaced by its posterior true label, read from
    the text's most telling n-grams (trusted labels stay as they are); how many changed; and per task
    the posteriors themselves (the codes present, and each agent-coded contact's distribution over them)."""
    vectorizer = BaselineModel(max_features=reader.max_features).vectorizer()
    tfidf = vectorizer.fit_transform([contact_text(c) for c in contacts])
    updates: dict[int, dict[str, str]] = defaultdict(dict)
    changed: dict[str, int] = {}
    posteriors: Posteriors = {}
    for task in tasks:
        rows = [i for i, c in enumerate(contacts) if c.labels is not None and getattr(c.labels, task) is not None]
        given = [str(getattr(contacts[i].labels, task)) for i in rows]
        agent = [k for k, i in enumerate(rows) if sources[i].get(task) == "agent"]
        if not agent or len(set(given)) < 2 or too_few_to_read(task, given, reader.folds, len(agent)):
            continue
        classes = sorted(set(given))
        codes = np.array([classes.index(v) for v in given])
        features = correction_features(tfidf[rows], codes)
        posterior = correct_labels(
            features, codes, folds=reader.folds, seed=reader.seed, jobs=reader.parallel_folds
        ).posterior
        corrected = posterior.argmax(axis=1)
        posteriors[task] = (classes, {contacts[rows[k]].contact_id: posterior[k] for k in agent})
        for k in agent:
            if corrected[k] != codes[k]:
                updates[rows[k]][task] = classes[int(corrected[k])]
        changed[task] = sum(task in u for u in updates.values())
        logger.info("label noise: %s: %d of %d agent codes corrected", task, changed[task], len(agent))
    out = list(contacts)
    for i, update in updates.items():
        labels = contacts[i].labels
        assert labels is not None
        out[i] = contacts[i].model_copy(update={"labels": labels.model_copy(update=update)})
    return out, changed, posteriors


def check_method(method: str) -> str:
    if method not in NOISE_METHODS:
        raise ConfigError(f"label_noise: expected one of {', '.join(NOISE_METHODS)}, got {method!r}")
    return method


@dataclass
class NoiseOutcome:
    """What the noise handling did to a run's training contacts, for the bundle and its card."""

    contacts: list[Contact]  # the training contacts as trained on
    report: NoiseReport
    method: str  # one of NOISE_METHODS but auto, or per task ("reason: correct, outcome: prune")
    chosen_by: str
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # auto: validation scores per method
    estimates: dict[str, Any] = field(default_factory=dict)
    corrected: dict[str, int] = field(default_factory=dict)  # task -> agent codes changed by ``correct``
    pruned: dict[str, int] = field(default_factory=dict)  # task -> agent codes dropped (prune, correct-prune)
    seconds: float = 0.0  # the whole noise handling: judging, estimates, and pruning or correcting
    posteriors: Posteriors = field(default_factory=dict)  # correct-soft/-refine: what the fine-tune reads
    refined: dict[str, list[int]] = field(default_factory=dict)  # correct-refine: labels changed per epoch

    def forward_loss(self, labels: Mapping[str, Sequence[str]]) -> ForwardLoss | None:
        """With ``forward``, what the fine-tune's loss needs, over the heads' ``labels``."""
        if self.method != "forward":
            return None
        noisy: dict[str, set[str]] = defaultdict(set)
        for issue in self.report.issues:
            noisy[issue.task].add(issue.contact_id)
        return ForwardLoss.embed(self.report.noise_matrices, labels, {t: frozenset(ids) for t, ids in noisy.items()})

    def soft_targets(self, labels: Mapping[str, Sequence[str]]) -> SoftTargets | None:
        """With ``correct-soft``, each corrected agent code's posterior over the heads' ``labels``."""
        if self.method != "correct-soft":
            return None
        return self._posterior_targets(labels)

    def refine_priors(self, labels: Mapping[str, Sequence[str]]) -> SoftTargets | None:
        """With ``correct-refine``, the posteriors the fine-tune weighs its own reading against."""
        if self.method != "correct-refine":
            return None
        return self._posterior_targets(labels)

    def _posterior_targets(self, labels: Mapping[str, Sequence[str]]) -> SoftTargets:
        return SoftTargets.embed({task: found for task, found in self.posteriors.items() if found[1]}, labels)

    @property
    def summary(self) -> dict[str, Any]:
        return {"method": self.method, "chosen_by": self.chosen_by, "validation_scores": self.scores,
                **self.report.summary(), "judging_seconds": round(self.report.seconds, 1),
                "seconds": round(self.seconds, 1), "corrected": self.corrected, "pruned": self.pruned,
                "soft_targets": {task: len(rows) for task, (_, rows) in self.posteriors.items()
                                 if self.method == "correct-soft"},
                "refined": self.refined,
                **({"estimate_note": self.estimates["note"]} if "note" in self.estimates else {}),
                "files": [LABEL_ISSUES_FILE, AGENT_ACCURACY_FILE]}  # fmt: skip

    def write(self, folder: Path) -> None:
        with (folder / LABEL_ISSUES_FILE).open("w", encoding="utf-8") as out:
            for issue in self.report.issues:
                out.write(json.dumps(issue.to_dict()) + "\n")
        (folder / AGENT_ACCURACY_FILE).write_text(json.dumps(self.estimates, indent=2) + "\n", encoding="utf-8")


def handle_label_noise(
    contacts: list[Contact],
    sources: Sequence[dict[str, str]],
    *,
    method: str,
    reader: OutOfFold = OutOfFold(),
    validation: Sequence[Contact] = (),
) -> NoiseOutcome:
    """Judge the agent codes, estimate agent accuracy, and prune or correct when ``method`` says so.
    ``auto`` applies, per task, whichever of none, prune, correct and correct-prune makes a baseline
    read ``validation`` (trusted labels: gold or audited) best, ties going to prune, then none, then
    correct; without trusted labels it prunes (cleanlab's estimate decides)."""
    check_method(method)
    started = time.perf_counter()
    outcome = _apply_method(contacts, sources, method=method, reader=reader, validation=validation)
    outcome.pruned = _dropped_labels(contacts, outcome.contacts)
    outcome.seconds = time.perf_counter() - started
    logger.info("label noise: %s in %.1f s", outcome.method, outcome.seconds)
    return outcome


def _apply_method(
    contacts: list[Contact],
    sources: Sequence[dict[str, str]],
    *,
    method: str,
    reader: OutOfFold,
    validation: Sequence[Contact],
) -> NoiseOutcome:
    report = find_label_issues(contacts, sources, reader=reader)
    estimates = estimate_agent_accuracy(contacts, report)
    if method in ("none", "forward"):
        return NoiseOutcome(contacts, report, method, "config", estimates=estimates)
    if method == "prune":
        return NoiseOutcome(prune(contacts, report), report, "prune", "config", estimates=estimates)
    if method in ("correct", "correct-prune", "correct-soft", "correct-refine"):
        corrected, changed, posteriors = correct(contacts, sources, reader=reader)
        if method == "correct-prune":
            corrected = prune(corrected, report, unless_changed=True)
        return NoiseOutcome(corrected, report, method, "config", estimates=estimates, corrected=changed,
                            posteriors=posteriors if method in ("correct-soft", "correct-refine") else {})  # fmt: skip
    trusted = [c for c in validation if c.labels is not None and any(getattr(c.labels, t) for t in NOISE_TASKS)]
    if len(trusted) < 30:
        logger.info("label noise: %d trusted validation contacts (< 30): pruning as cleanlab estimates", len(trusted))
        return NoiseOutcome(
            prune(contacts, report), report, "prune", "no trusted validation labels", estimates=estimates
        )
    fixed, fixed_counts, _ = correct(contacts, sources, reader=reader)
    options: dict[str, tuple[list[Contact], dict[str, int]]] = {
        "prune": (prune(contacts, report), {}),
        "none": (contacts, {}),
        "correct": (fixed, fixed_counts),
        "correct-prune": (prune(fixed, report, unless_changed=True), fixed_counts),
    }
    scores = {name: _baseline_score(data, trusted, reader.max_features) for name, (data, _) in options.items()}
    # Per task (the baseline fits each on its own): ties go to the first, prune, as before, then none.
    chosen = {task: max(options, key=lambda name: scores[name].get(task, 0.0)) for task in NOISE_TASKS}
    logger.info("label noise: auto chose %s on %d trusted validation contacts: %s", chosen, len(trusted), scores)
    if len(set(chosen.values())) == 1:
        best = chosen[NOISE_TASKS[0]]
        return NoiseOutcome(options[best][0], report, best, "validation", scores, estimates, options[best][1])
    combined = []
    for i, contact in enumerate(contacts):
        if contact.labels is None:
            combined.append(contact)
            continue
        update = {task: getattr(options[name][0][i].labels, task) for task, name in chosen.items()}
        combined.append(contact.model_copy(update={"labels": contact.labels.model_copy(update=update)}))
    changed = {task: n for task, n in fixed_counts.items() if chosen.get(task, "").startswith("correct")}
    method = ", ".join(f"{task}: {name}" for task, name in chosen.items())
    return NoiseOutcome(combined, report, method, "validation", scores, estimates, changed)


def _dropped_labels(before: Sequence[Contact], after: Sequence[Contact]) -> dict[str, int]:
    """Per noise task, how many labels ``before`` has that ``after`` no longer has (pruned)."""
    dropped = {
        task: sum(
            a.labels is not None and getattr(a.labels, task) is not None and getattr(b.labels, task, None) is None
            for a, b in zip(before, after, strict=True)
        )
        for task in NOISE_TASKS
    }
    return {task: n for task, n in dropped.items() if n}


def _baseline_score(train: Sequence[Contact], validation: Sequence[Contact], max_features: int) -> dict[str, float]:
    """Accuracy of the baseline per noise task on the validation labels (the cheap referee)."""
    labels = {t: [getattr(c.labels, t) if c.labels else None for c in train] for t in NOISE_TASKS}
    model = BaselineModel(max_features=max_features).fit([contact_text(c) for c in train], labels)
    out: dict[str, float] = {}
    for task in model.tasks_:
        known = [c for c in validation if c.labels is not None and getattr(c.labels, task) is not None]
        if known:
            predicted = model.predict(task, [contact_text(c) for c in known])
            right = [p == getattr(c.labels, task) for p, c in zip(predicted, known, strict=True)]
            out[task] = round(float(np.mean(right)), 4)
    return out
