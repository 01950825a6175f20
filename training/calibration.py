"""Temperature scaling (Guo et al. 2017): one scalar per head, fitted on the validation split
by minimising the negative log-likelihood, so that a 0.8 probability is right 80% of the time.
It divides the logits, so it never changes which label is predicted.

Class offsets (:func:`fit_class_offsets`, for the heads a run names) do change it: a shift of
the label priors chosen on the validation split for macro-F1, kept only when it also helps out
of fold on that split (see :mod:`dispo.model.calibration`).

A top-label map (:func:`fit_top_label`, for the heads a run names) recalibrates the winner's
probability after both: Platt scaling of its log-odds against whether it was right. It is kept only
when it lowers both the calibration error and the log-loss out of fold on the validation split.

"Out of fold" depends on what the validation split is made of. From one set of contacts, it is ten
shuffles of five folds. From several sets written apart (``groups``: e.g. the dev halves of two
hand-written sets, by other writers about other companies), each set is scored by what the others
chose: a calibration that holds only within the set it was fitted on is fitting that set, not the
model, and real contacts are another set again."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from scipy.optimize import minimize
from sklearn.model_selection import KFold, LeaveOneGroupOut, StratifiedKFold

from dispo.errors import ConfigError
from dispo.model.calibration import TopLabelMap, log_odds, offset_vectors, softmax, task_probabilities
from dispo.model.lexicon import LexiconBlend
from training.evaluation import expected_calibration_error

MIN_TEMPERATURE, MAX_TEMPERATURE = 0.05, 20.0


def fit_temperature(logits: np.ndarray, targets: np.ndarray, binary: bool = False) -> float:
    known = targets >= 0
    if known.sum() < 2:
        return 1.0
    x = torch.tensor(logits[known], dtype=torch.float64)
    y = torch.tensor(targets[known])
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        scaled = x / log_t.exp()
        if binary:
            loss = torch.nn.functional.binary_cross_entropy_with_logits(scaled, y.double())
        else:
            loss = torch.nn.functional.cross_entropy(scaled, y.long())
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(np.clip(log_t.exp().item(), MIN_TEMPERATURE, MAX_TEMPERATURE))


Splits = list[tuple[np.ndarray, np.ndarray]]


def out_of_fold_splits(
    targets: np.ndarray, groups: np.ndarray | None = None, *, seed: int = 0, stratify: bool = False
) -> list[Splits]:
    """The repeats of (fit, score) index splits that check a calibration choice: one leave-one-group-out
    pass where ``groups`` holds two or more sets, else ten shuffles of five folds (stratified by
    ``targets`` when ``stratify`` and every label has five contacts)."""
    if groups is not None and len(np.unique(groups)) >= 2:
        return [list(LeaveOneGroupOut().split(targets, groups=groups))]
    splitter = StratifiedKFold if stratify and np.bincount(targets).min() >= 5 else KFold
    return [list(splitter(5, shuffle=True, random_state=seed + repeat).split(targets, targets)) for repeat in range(10)]


#: Class offsets searched per label (log-prior shifts), and the most labels a task may have for the
#: exhaustive search (3: sentiment; 36 x 36 points).
OFFSET_GRID: tuple[float, ...] = tuple(round(-1.0 + 0.1 * i, 1) for i in range(36))
MAX_OFFSET_LABELS = 3
MIN_OFFSET_CONTACTS = 20  # labelled validation contacts needed to choose offsets at all


@dataclass
class OffsetChoice:
    """Class offsets of one task, chosen on the validation split, and what they are worth there
    out of fold (:func:`out_of_fold_splits`). They are kept only when the out-of-fold macro-F1 is
    above the one without offsets."""

    offsets: dict[str, float]
    macro_f1_before: float
    macro_f1_after: float  # in sample: the offsets were chosen on these contacts
    macro_f1_out_of_fold: float  # the honest estimate: chosen on 4/5 of the split, scored on the rest
    kept: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def macro_f1(targets: np.ndarray, predicted: np.ndarray, n_labels: int) -> float:
    """Macro-F1 over the labels present in ``targets`` or ``predicted`` (as scikit-learn computes it)."""
    confusion = np.bincount(targets * n_labels + predicted, minlength=n_labels * n_labels).reshape(n_labels, -1)
    true_positive = np.diag(confusion).astype(float)
    support, predicted_count = confusion.sum(1), confusion.sum(0)
    present = (support + predicted_count) > 0
    f1 = np.divide(2 * true_positive, support + predicted_count, out=np.zeros(n_labels), where=present)
    return float(f1[present].mean()) if present.any() else 0.0


def _best_offsets(log_probs: np.ndarray, targets: np.ndarray, reference: int) -> np.ndarray:
    n_labels = log_probs.shape[1]
    free = [i for i in range(n_labels) if i != reference]
    best: tuple[float, float] | None = None
    chosen = np.zeros(n_labels)
    for values in itertools.product(OFFSET_GRID, repeat=len(free)):
        offsets = np.zeros(n_labels)
        offsets[free] = values
        score = macro_f1(targets, (log_probs + offsets).argmax(1), n_labels)
        key = (round(score, 9), -float(np.abs(offsets).sum()))  # ties: the smallest shift
        if best is None or key > best:
            best, chosen = key, offsets
    return chosen


def fit_class_offsets(
    probabilities: np.ndarray,
    targets: np.ndarray,
    labels: list[str],
    *,
    groups: np.ndarray | None = None,
    seed: int = 0,
) -> OffsetChoice:
    """Class offsets that maximise macro-F1 on a validation split (``targets`` -1 where unknown;
    ``groups``: the set each contact comes from, see :func:`out_of_fold_splits`); the most frequent
    label's offset is 0."""
    if len(labels) > MAX_OFFSET_LABELS:
        raise ConfigError(
            f"class offsets are searched for tasks of at most {MAX_OFFSET_LABELS} labels, not {len(labels)}"
        )
    known = targets >= 0
    log_probs, y = np.log(np.clip(probabilities[known], 1e-12, None)), targets[known].astype(int)
    sets = groups[known] if groups is not None else None
    n_labels = len(labels)
    if len(y) < MIN_OFFSET_CONTACTS:  # too few to choose, let alone to check out of fold
        before = macro_f1(y, log_probs.argmax(1), n_labels) if len(y) else 0.0
        return OffsetChoice({}, round(before, 4), round(before, 4), round(before, 4), kept=False)
    reference = int(np.bincount(y, minlength=n_labels).argmax())
    offsets = _best_offsets(log_probs, y, reference)
    before, after = macro_f1(y, log_probs.argmax(1), n_labels), macro_f1(y, (log_probs + offsets).argmax(1), n_labels)
    out_of_fold_f1 = []
    for splits in out_of_fold_splits(y, sets, seed=seed, stratify=True):
        out_of_fold = np.zeros(len(y), dtype=int)
        for train, test in splits:
            out_of_fold[test] = (log_probs[test] + _best_offsets(log_probs[train], y[train], reference)).argmax(1)
        out_of_fold_f1.append(macro_f1(y, out_of_fold, n_labels))
    kept = float(np.mean(out_of_fold_f1)) > before
    return OffsetChoice(
        offsets={label: float(offsets[i]) for i, label in enumerate(labels)} if kept else {},
        macro_f1_before=round(before, 4),
        macro_f1_after=round(after, 4),
        macro_f1_out_of_fold=round(float(np.mean(out_of_fold_f1)), 4),
        kept=kept,
    )


def choose_class_offsets(
    scores: Mapping[str, np.ndarray],
    targets: Mapping[str, np.ndarray],
    labels: Mapping[str, Sequence[str]],
    temperatures: Mapping[str, float],
    tasks: Sequence[str],
    *,
    groups: np.ndarray | None = None,
) -> dict[str, OffsetChoice]:
    """The class offsets of ``tasks`` fitted on a validation split: its (blended) ``scores``, its
    ``targets`` (label indices, -1 where unknown), the model's ``labels`` and the set each contact
    comes from (``groups``, optional); the offsets apply after ``temperatures``. Training and
    ``dispo models recalibrate`` both choose them here."""
    _check_heads(scores, tasks, "class_offsets")
    return {
        task: fit_class_offsets(
            softmax(scores[task], temperatures.get(task, 1.0)), targets[task], list(labels[task]), groups=groups
        )
        for task in tasks
    }


def _check_heads(scores: Mapping[str, np.ndarray], tasks: Sequence[str], option: str) -> None:
    missing = [task for task in tasks if task not in scores]
    if missing:
        raise ConfigError(f"{option}: the model has no {missing} head")


MIN_TOP_LABEL_CONTACTS = 20  # labelled validation contacts needed to fit a top-label map


@dataclass
class TopLabelChoice:
    """A top-label map of one task, fitted on the validation split, and what it is worth there out
    of fold (:func:`out_of_fold_splits`): the temperature alone against the temperature and the map,
    both refitted on each fold's fitting part (scored in sample, the temperature would have the
    advantage of having seen the contacts it is scored on). Kept only when the map lowers both the
    ECE and the log-loss."""

    slope: float
    intercept: float
    ece_temperature: float  # out of fold, as every figure here
    ece_top_label: float
    log_loss_temperature: float
    log_loss_top_label: float
    kept: bool

    @property
    def mapping(self) -> TopLabelMap | None:
        return TopLabelMap(self.slope, self.intercept) if self.kept else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fit_top_label_map(probabilities: np.ndarray, targets: np.ndarray) -> TopLabelMap:
    """The slope and intercept on the winner's log-odds that minimise the log-loss of "the winner
    is right" (every target known)."""
    x = log_odds(probabilities.max(axis=1))
    right = (probabilities.argmax(axis=1) == targets).astype(float)

    def loss(w: np.ndarray) -> float:
        z = w[0] * x + w[1]
        return float(np.mean(right * np.logaddexp(0.0, -z) + (1.0 - right) * np.logaddexp(0.0, z)))

    fitted = minimize(loss, np.array([1.0, 0.0]), method="L-BFGS-B", bounds=[(0.05, 20.0), (-10.0, 10.0)])
    return TopLabelMap(float(fitted.x[0]), float(fitted.x[1]))


def ece_and_log_loss(probabilities: np.ndarray, targets: np.ndarray) -> tuple[float, float]:
    correct = (probabilities.argmax(axis=1) == targets).astype(float)
    ece = expected_calibration_error(probabilities.max(axis=1), correct)
    log_loss = -float(np.mean(np.log(np.clip(probabilities[np.arange(len(targets)), targets], 1e-12, None))))
    return ece, log_loss


def fit_top_label(
    probabilities: np.ndarray, targets: np.ndarray, *, groups: np.ndarray | None = None, seed: int = 0
) -> TopLabelChoice:
    """A top-label map for calibrated ``probabilities`` of a validation split (``targets`` -1 where
    unknown; ``groups``: the set each contact comes from), checked out of fold."""
    known = targets >= 0
    p, y = probabilities[known], targets[known].astype(int)
    sets = groups[known] if groups is not None else None
    if len(y) < MIN_TOP_LABEL_CONTACTS:
        ece, log_loss = ece_and_log_loss(p, y) if len(y) else (0.0, 0.0)
        return TopLabelChoice(1.0, 0.0, round(ece, 4), round(ece, 4), round(log_loss, 4), round(log_loss, 4), False)
    fitted = fit_top_label_map(p, y)
    log_p = np.log(np.clip(p, 1e-12, None))
    before, after = [], []
    for splits in out_of_fold_splits(y, sets, seed=seed):
        rescaled, mapped = np.zeros_like(p), np.zeros_like(p)
        for train, test in splits:
            temperature = fit_temperature(log_p[train], y[train])
            rescaled[test] = softmax(log_p[test], temperature)
            mapping = fit_top_label_map(softmax(log_p[train], temperature), y[train])
            mapped[test] = mapping.apply(rescaled[test])
        before.append(ece_and_log_loss(rescaled, y))
        after.append(ece_and_log_loss(mapped, y))
    ece_temperature, log_loss_temperature = (float(v) for v in np.mean(before, axis=0))
    ece_top_label, log_loss_top_label = (float(v) for v in np.mean(after, axis=0))
    return TopLabelChoice(
        slope=round(fitted.slope, 4),
        intercept=round(fitted.intercept, 4),
        ece_temperature=round(ece_temperature, 4),
        ece_top_label=round(ece_top_label, 4),
        log_loss_temperature=round(log_loss_temperature, 4),
        log_loss_top_label=round(log_loss_top_label, 4),
        kept=ece_top_label < ece_temperature and log_loss_top_label < log_loss_temperature,
    )


def choose_top_label(
    scores: Mapping[str, np.ndarray],
    targets: Mapping[str, np.ndarray],
    labels: Mapping[str, Sequence[str]],
    temperatures: Mapping[str, float],
    offsets: Mapping[str, Mapping[str, float]],
    tasks: Sequence[str],
    *,
    groups: np.ndarray | None = None,
) -> dict[str, TopLabelChoice]:
    """The top-label maps of ``tasks`` fitted on a validation split (as for
    :func:`choose_class_offsets`), each after its head's temperature and kept class ``offsets``."""
    _check_heads(scores, tasks, "top_label_calibration")
    heads = {task: list(labels[task]) for task in tasks}
    own = {task: by_label for task, by_label in offsets.items() if task in heads}  # a map follows its head's offsets
    probabilities = task_probabilities({task: scores[task] for task in tasks}, temperatures, offset_vectors(own, heads))
    return {task: fit_top_label(probabilities[task], targets[task], groups=groups) for task in tasks}


MIN_LEXICON_MESSAGES = 100  # labelled lone messages needed to fit a lexicon blend
LEXICON_C = 1.0  # the logistic regression's inverse regularisation (scikit-learn's default, not tuned)


@dataclass
class LexiconChoice:
    """A lexicon blend for lone customer messages (:mod:`dispo.model.lexicon`), fitted on labelled
    messages, and what it is worth there out of fold (ten shuffles of five folds, stratified): the
    head's probabilities as they are against the blend fitted on each fold's other four fifths. Kept
    only when it raises the macro-F1 and lowers the log-loss."""

    messages: int
    macro_f1_head: float
    macro_f1_blend: float  # out of fold
    log_loss_head: float
    log_loss_blend: float  # out of fold
    kept: bool
    blend: LexiconBlend | None = None
    # class offsets chosen on messages of the kind the model reads (:func:`training.pipeline.choose_lexicon`)
    priors: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        record = {k: v for k, v in asdict(self).items() if k != "blend"}
        return {**record, "blend": self.blend.to_dict() if self.blend is not None else None}


def _fit_blend(features: np.ndarray, targets: np.ndarray, labels: Sequence[str]) -> LexiconBlend:
    """A multinomial logistic regression over every label (each present in ``targets``)."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=LEXICON_C, max_iter=5000).fit(features, targets)
    order = [list(model.classes_).index(k) for k in range(len(labels))]
    coef, intercept = model.coef_[order], model.intercept_[order]
    return LexiconBlend(
        tuple(labels),
        tuple(tuple(round(float(v), 6) for v in row) for row in coef),
        tuple(round(float(v), 6) for v in intercept),
    )


def fit_lexicon_blend(
    probabilities: np.ndarray, texts: Sequence[str], targets: np.ndarray, labels: Sequence[str], *, seed: int = 0
) -> LexiconChoice:
    """A lexicon blend over calibrated sentiment ``probabilities`` of lone messages (``texts``,
    ``targets`` -1 where unknown), checked out of fold; not kept with fewer than
    :data:`MIN_LEXICON_MESSAGES` labelled messages or fewer than five of any label."""
    known = targets >= 0
    p, y = probabilities[known], targets[known].astype(int)
    kept_texts = [text for text, k in zip(texts, known, strict=True) if k]
    head_f1 = macro_f1(y, p.argmax(axis=1), len(labels)) if len(y) else 0.0
    head_loss = ece_and_log_loss(p, y)[1] if len(y) else 0.0
    if len(y) < MIN_LEXICON_MESSAGES or np.bincount(y, minlength=len(labels)).min() < 5:
        f1, loss = round(head_f1, 4), round(head_loss, 4)
        return LexiconChoice(len(y), f1, f1, loss, loss, kept=False)
    features = LexiconBlend.features(p, kept_texts)
    f1s, losses = [], []
    for splits in out_of_fold_splits(y, seed=seed, stratify=True):
        blended = np.zeros_like(p)
        for train, test in splits:
            blended[test] = _fit_blend(features[train], y[train], labels).apply_features(features[test])
        f1s.append(macro_f1(y, blended.argmax(axis=1), len(labels)))
        losses.append(ece_and_log_loss(blended, y)[1])
    blend_f1, blend_loss = float(np.mean(f1s)), float(np.mean(losses))
    kept = blend_f1 > head_f1 and blend_loss < head_loss
    return LexiconChoice(
        messages=len(y),
        macro_f1_head=round(head_f1, 4),
        macro_f1_blend=round(blend_f1, 4),
        log_loss_head=round(head_loss, 4),
        log_loss_blend=round(blend_loss, 4),
        kept=kept,
        blend=_fit_blend(features, y, labels) if kept else None,
    )
