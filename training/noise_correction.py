"""Forward loss correction: the most likely true label of each code, given its text and the code.

Pruning (``training.noise``) drops the codes the text disagrees with; what stays still holds the
wrong codes that look like their text, and systematic confusions (reason A coded as its neighbour B)
teach the learner B. Forward correction (Patrini et al., CVPR 2017) models the agents instead: a
linear softmax on frozen-encoder features gives the clean label's probabilities, and pushed through
the noise matrix T[i, j] = P(code i | true j) they must explain the codes as given. The true label
of one contact is then the posterior that weighs the text against the code:

    P(true j | text, code i) ∝ P(true j | text) · T[i, j]

T comes from cleanlab's confident joint on out-of-fold probabilities. The weight decay is chosen
without a single gold label, by the out-of-fold likelihood of the codes under the corrected model.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from dispo.errors import ConfigError

logger = logging.getLogger(__name__)

#: Weight decays tried; the codes' out-of-fold likelihood picks one. On BANKING77 (20% and 40% of
#: labels flipped) accuracy was flat from 3e-6 to 3e-5 and fell at 1e-4.
WEIGHT_DECAYS: tuple[float, ...] = (3e-6, 1e-5, 3e-5)
#: Inverse regularisation of the plain logistic regression whose out-of-fold probabilities estimate T.
READER_C = 3.0


class ForwardCorrectedClassifier(ClassifierMixin, BaseEstimator):
    """Multinomial logistic regression trained through a fixed noise matrix.

    ``noise_matrix[i, j]`` is P(observed label i | true label j) over classes ``0..K-1`` (columns
    sum to 1; the identity gives plain logistic regression). :meth:`predict_proba` returns the
    probabilities of the true label; :meth:`predict_noisy_proba` those of the observed one."""

    def __init__(
        self,
        noise_matrix: np.ndarray | None = None,
        *,
        weight_decay: float = 1e-5,
        epochs: int = 300,
        learning_rate: float = 0.05,
        random_state: int = 0,
    ) -> None:
        self.noise_matrix = noise_matrix
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.random_state = random_state

    def fit(self, X: Any, y: np.ndarray) -> ForwardCorrectedClassifier:  # noqa: N803
        import torch

        if self.noise_matrix is None:
            raise ConfigError("ForwardCorrectedClassifier: noise_matrix is required")
        matrix = np.asarray(self.noise_matrix, dtype=np.float64)
        k = matrix.shape[0]
        if matrix.shape != (k, k) or not np.allclose(matrix.sum(axis=0), 1.0, atol=1e-3):
            raise ConfigError(f"noise_matrix: expected a {k}x{k} matrix whose columns sum to 1, got {matrix.shape}")
        labels = np.asarray(y, dtype=np.int64)
        if labels.min() < 0 or labels.max() >= k:
            raise ConfigError(f"labels: expected classes 0..{k - 1}, got {labels.min()}..{labels.max()}")
        generator = torch.Generator().manual_seed(self.random_state)
        inputs = _tensor(X)
        self.linear_ = torch.nn.Linear(inputs.shape[1], k)
        with torch.no_grad():
            self.linear_.weight.normal_(0.0, 0.01, generator=generator)
            self.linear_.bias.zero_()
        to_observed = torch.as_tensor(matrix.T, dtype=torch.float32)  # p_observed = p_true @ T^T
        target = torch.as_tensor(labels)
        optimizer = torch.optim.Adam(self.linear_.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)
        for _ in range(self.epochs):  # full batch: a few thousand rows of a few hundred features
            optimizer.zero_grad()
            observed = torch.softmax(self.linear_(inputs), dim=-1) @ to_observed
            loss = torch.nn.functional.nll_loss(torch.log(observed.clamp_min(1e-8)), target)
            loss.backward()
            optimizer.step()
        self.classes_ = np.arange(k)
        self.n_features_in_ = inputs.shape[1]
        return self

    def predict_proba(self, X: Any) -> np.ndarray:  # noqa: N803
        import torch

        with torch.no_grad():
            logits = self.linear_(_tensor(X))
            return np.asarray(torch.softmax(logits, dim=-1).numpy(), dtype=np.float64)

    def predict_noisy_proba(self, X: Any) -> np.ndarray:  # noqa: N803
        return self.predict_proba(X) @ np.asarray(self.noise_matrix).T

    def predict(self, X: Any) -> np.ndarray:  # noqa: N803
        return np.asarray(self.predict_proba(X).argmax(axis=1))


def column_stochastic(matrix: np.ndarray) -> np.ndarray:
    """``matrix`` with NaNs zeroed and each column summing to 1. On small sets cleanlab can leave a
    class no confident example of its own (an empty or NaN column): that class is taken as coded
    right (the identity column)."""
    out = np.nan_to_num(np.asarray(matrix, dtype=np.float64), nan=0.0).clip(0.0)
    sums = out.sum(axis=0)
    for j in np.flatnonzero(sums <= 1e-12):
        out[j, j], sums[j] = 1.0, 1.0
    return out / sums


def embed_in_identity(matrix: np.ndarray, at: Sequence[int], size: int) -> np.ndarray:
    """A ``size`` x ``size`` T whose rows and columns ``at`` hold ``matrix`` (made column-stochastic)
    and whose other classes, no code used, are coded right (identity)."""
    full = np.eye(size)
    full[np.ix_(at, at)] = column_stochastic(matrix)
    return full


def head_positions(classes: Sequence[str], order: Sequence[str], *, what: str) -> list[int]:
    """Where each of the codes present (``classes``) sits among a head's labels (``order``); ``what``
    names the caller in the error a code outside the taxonomy raises."""
    unknown = sorted(set(classes) - set(order))
    if unknown:
        raise ConfigError(f"{what}: codes {unknown} are not labels of the taxonomy")
    return [list(order).index(name) for name in classes]


def _tensor(X: Any) -> Any:  # noqa: N803
    """Dense features as they are; a scipy sparse matrix (TF-IDF) as a torch sparse one."""
    import torch
    from scipy import sparse

    if sparse.issparse(X):
        coo = sparse.coo_matrix(X)
        indices = torch.as_tensor(np.vstack([coo.row, coo.col]), dtype=torch.int64)
        values = torch.as_tensor(coo.data, dtype=torch.float32)
        return torch.sparse_coo_tensor(indices, values, coo.shape, check_invariants=True).coalesce()
    return torch.as_tensor(np.asarray(X), dtype=torch.float32)


@dataclass(frozen=True)
class ForwardLoss:
    """What a fine-tune needs to learn the true labels from the agents' codes themselves (forward
    loss correction in the transformer, ``--label-noise forward``): per task, T over the
    taxonomy's labels in the head's order (T[i, j] = P(code i | true j), columns sum to 1) and the
    contacts whose label is an agent code (trusted labels train as they are)."""

    matrices: dict[str, np.ndarray]
    noisy: dict[str, frozenset[str]]

    def __post_init__(self) -> None:
        for task, matrix in self.matrices.items():
            k = matrix.shape[0]
            if matrix.shape != (k, k) or not np.allclose(matrix.sum(axis=0), 1.0, atol=1e-3):
                raise ConfigError(f"forward loss, {task}: expected a {k}x{k} matrix whose columns sum to 1")
            if task not in self.noisy:
                raise ConfigError(f"forward loss, {task}: a matrix without its agent-coded contacts")

    @classmethod
    def embed(
        cls, estimates: Mapping[str, tuple[Sequence[str], np.ndarray]], labels: Mapping[str, Sequence[str]],
        noisy: Mapping[str, frozenset[str]],
    ) -> ForwardLoss:  # fmt: skip
        """From matrices estimated over the codes present (``classes``, T) to the head's full label
        order: a label no code used is taken as coded right (its identity row and column)."""
        matrices = {}
        for task, (classes, matrix) in estimates.items():
            at = head_positions(classes, labels[task], what=f"forward loss, {task}")
            matrices[task] = embed_in_identity(matrix, at, len(labels[task]))
        return cls(matrices, {task: noisy.get(task, frozenset()) for task in matrices})


@dataclass(frozen=True)
class SoftTargets:
    """What a fine-tune needs to learn from the correction's posteriors instead of their argmax
    (``--label-noise correct-soft``): per task, for each agent-coded contact, a distribution over the
    head's labels in the head's order. A contact it does not name trains on its label as usual.

    On the dev corpus of bench/label_noise_variants.py (seed 21, 20% agent-code errors), a TF-IDF
    learner read held-out reasons at 0.8515 from the posteriors, 0.8465 from their argmax and also
    0.8465 from the posteriors sharpened to temperature 0.5 (gold labels: 0.867)."""

    targets: dict[str, dict[str, np.ndarray]]  # task -> contact_id -> distribution

    def __post_init__(self) -> None:
        for task, rows in self.targets.items():
            sizes = {len(row) for row in rows.values()}
            if len(sizes) > 1:
                raise ConfigError(f"soft targets, {task}: distributions of different lengths {sorted(sizes)}")
            for contact_id, row in rows.items():
                if (row < 0).any() or not np.isclose(row.sum(), 1.0, atol=1e-4):
                    raise ConfigError(f"soft targets, {task}, contact {contact_id}: expected probabilities "
                                      f"summing to 1, got a sum of {row.sum():.4f}")  # fmt: skip

    @classmethod
    def embed(
        cls,
        posteriors: Mapping[str, tuple[Sequence[str], Mapping[str, np.ndarray]]],
        labels: Mapping[str, Sequence[str]],
    ) -> SoftTargets:
        """From distributions over the codes present (``classes``) to the head's full label order."""
        targets: dict[str, dict[str, np.ndarray]] = {}
        for task, (classes, rows) in posteriors.items():
            at = head_positions(classes, labels[task], what=f"soft targets, {task}")
            targets[task] = {}
            for contact_id, row in rows.items():
                full = np.zeros(len(labels[task]), dtype=np.float32)
                full[at] = row
                targets[task][contact_id] = full
        return cls(targets)


def refine_labels(prior: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """The label each row takes when the correction's posterior (``prior``: rows of probabilities in
    the head's label order) and a fine-tune's reading of the same text (``logits``) are weighed as
    two experts: ``argmax_j log prior[j] + log softmax(logits)[j]`` (``--label-noise
    correct-refine``). A label the posterior rules out (probability 0) is never chosen.

    The two readers err differently: in a scratch check on 8,000 built contacts at 20% agent-code
    errors, a fine-tune trained on the corrected codes still read 225 of the 350 reason codes the
    correction left wrong as their true reason, and the product left 220 wrong."""
    if prior.shape != logits.shape:
        raise ValueError(f"refine_labels: prior {prior.shape} and logits {logits.shape} differ in shape")
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_reading = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    with np.errstate(divide="ignore"):
        log_prior = np.log(prior)
    return np.asarray((log_prior + log_reading).argmax(axis=1))


@dataclass
class Correction:
    """The corrected labels of one task and how they were found."""

    posterior: np.ndarray  # P(true | text, code), one row per example
    clean: np.ndarray  # P(true | text), out of fold: the text's reading before the code is weighed
    noise_matrix: np.ndarray  # T[i, j] = P(code i | true j), estimated
    weight_decay: float  # the one the codes' likelihood chose
    likelihood: dict[float, float]  # weight decay -> mean out-of-fold log-likelihood of the codes

    @property
    def labels(self) -> np.ndarray:
        return np.asarray(self.posterior.argmax(axis=1))


def _fit_fold(
    matrix: np.ndarray, decay: float, seed: int, train_x: Any, train_y: np.ndarray, held_x: Any
) -> np.ndarray:
    """One fold's forward-corrected probabilities of the true label, fitted on one thread: on 8,000
    contacts' sparse n-grams a fit takes 3.9 s on one thread and 4.6 s on two, so the folds run side
    by side instead (and the figures do not depend on how many run at once)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = ForwardCorrectedClassifier(matrix, weight_decay=decay, random_state=seed)
        return model.fit(train_x, train_y).predict_proba(held_x)
    finally:
        torch.set_num_threads(threads)


def correct_labels(
    features: Any,
    y: np.ndarray,
    *,
    n_classes: int | None = None,
    folds: int = 5,
    seed: int = 0,
    weight_decays: Sequence[float] = WEIGHT_DECAYS,
    jobs: int = 1,
) -> Correction:
    """Posterior true labels of ``y`` (codes ``0..K-1``) from ``features`` and the codes themselves.

    1. out-of-fold probabilities of a plain logistic regression give the confident joint, hence T;
    2. for each weight decay, out-of-fold forward-corrected probabilities of the true label, scored
       by the log-likelihood of the codes (the corrected model's prediction of what agents pick);
    3. the best one's probabilities times T's row of each code, normalised.

    The forward-corrected fits (weight decays times folds) run ``jobs`` at a time, in processes."""
    from cleanlab.count import estimate_py_and_noise_matrices_from_probabilities
    from joblib import Parallel, delayed

    if not weight_decays:
        raise ConfigError("weight_decays: expected at least one value")
    codes = np.asarray(y, dtype=np.int64)
    k = int(n_classes if n_classes is not None else codes.max() + 1)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*least populated class.*")
        warnings.filterwarnings("ignore", message=".*[Nn]umber of classes in training fold.*")  # rare class
        plain = cross_val_predict(LogisticRegression(C=READER_C, max_iter=3000), features, codes, cv=splitter,
                                  method="predict_proba")  # fmt: skip
    present = np.unique(codes)  # classes no code uses keep the identity row and column
    _, matrix_present, _, _ = estimate_py_and_noise_matrices_from_probabilities(np.searchsorted(present, codes), plain)
    matrix = embed_in_identity(matrix_present, present.tolist(), k)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*least populated class.*")
        splits = list(splitter.split(features, codes))
    fits = [(decay, train, held) for decay in weight_decays for train, held in splits]
    fitted = Parallel(n_jobs=min(jobs, len(fits)))(
        delayed(_fit_fold)(matrix, decay, seed, features[train], codes[train], features[held])
        for decay, train, held in fits
    )
    likelihood: dict[float, float] = {}
    best: tuple[float, np.ndarray] | None = None
    for decay in weight_decays:
        clean = np.zeros((len(codes), k))
        for (fit_decay, _, held), probabilities in zip(fits, fitted, strict=True):
            if fit_decay == decay:
                clean[held] = probabilities
        observed = clean @ matrix.T
        likelihood[decay] = round(float(np.mean(np.log(observed[np.arange(len(codes)), codes].clip(1e-9)))), 5)
        if best is None or likelihood[decay] > likelihood[best[0]]:
            best = (decay, clean)
    assert best is not None
    posterior = best[1] * matrix[codes]
    posterior /= posterior.sum(axis=1, keepdims=True).clip(1e-12)
    logger.info("noise correction: weight decay %g (code log-likelihood %s); %d of the %d labels read would change "
                "(trusted labels included: only agent codes are replaced)",
                best[0], likelihood, int((posterior.argmax(axis=1) != codes).sum()), len(codes))  # fmt: skip
    return Correction(posterior, best[1], matrix, best[0], likelihood)
