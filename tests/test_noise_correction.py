"""Forward loss correction: recovers systematically flipped labels that a plain reader keeps."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from dispo.errors import ConfigError
from training.noise_correction import ForwardCorrectedClassifier, correct_labels, refine_labels


def blobs(n_per_class: int = 120, k: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 3.0, size=(k, 8))
    x = np.vstack([centres[c] + rng.normal(size=(n_per_class, 8)) for c in range(k)])
    return x, np.repeat(np.arange(k), n_per_class)


def flip(y: np.ndarray, rate: float, seed: int = 0) -> np.ndarray:
    """``rate`` of each class coded as the next class (a systematic confusion, as agents make)."""
    rng = np.random.default_rng(seed)
    noisy = y.copy()
    chosen = rng.random(len(y)) < rate
    noisy[chosen] = (y[chosen] + 1) % (y.max() + 1)
    return noisy


def test_correction_recovers_flipped_labels() -> None:
    x, y = blobs()
    noisy = flip(y, 0.3)
    correction = correct_labels(x, noisy, folds=3, weight_decays=(1e-5, 1e-3))
    assert (noisy == y).mean() < 0.75
    assert (correction.labels == y).mean() > 0.95
    assert correction.posterior.shape == (len(y), 4)
    assert np.allclose(correction.posterior.sum(axis=1), 1.0)
    # the estimated noise matrix sees the systematic confusion: true j coded as j + 1
    assert all(correction.noise_matrix[(j + 1) % 4, j] > 0.15 for j in range(4))
    assert np.allclose(correction.noise_matrix.sum(axis=0), 1.0, atol=1e-3)
    assert correction.weight_decay in (1e-5, 1e-3) and set(correction.likelihood) == {1e-5, 1e-3}


def test_folds_fitted_side_by_side_give_the_same_posterior() -> None:
    """Each fit runs on one thread wherever it runs, so two processes reproduce one to the bit."""
    import torch

    x, y = blobs(n_per_class=60)
    noisy = flip(y, 0.2)
    threads = torch.get_num_threads()
    alone = correct_labels(sparse.csr_matrix(x - x.min()), noisy, folds=3, weight_decays=(1e-5, 1e-3))
    assert torch.get_num_threads() == threads  # the caller's setting is restored
    together = correct_labels(sparse.csr_matrix(x - x.min()), noisy, folds=3, weight_decays=(1e-5, 1e-3), jobs=2)
    assert np.array_equal(alone.posterior, together.posterior) and alone.likelihood == together.likelihood


def test_correction_reads_sparse_features_and_unused_classes() -> None:
    x, y = blobs(k=3)
    noisy = flip(y, 0.2)
    correction = correct_labels(sparse.csr_matrix(x - x.min()), noisy, n_classes=5, folds=3, weight_decays=(1e-5,))
    assert correction.posterior.shape == (len(y), 5)
    assert correction.posterior[:, 3:].max() < 1e-6  # no code uses classes 3 and 4
    assert (correction.labels == y).mean() > (noisy == y).mean()


def test_identity_matrix_is_plain_logistic_regression() -> None:
    x, y = blobs()
    model = ForwardCorrectedClassifier(np.eye(4), weight_decay=0.0).fit(x, y)
    assert (model.predict(x) == y).mean() > 0.95
    assert np.allclose(model.predict_noisy_proba(x), model.predict_proba(x))


@pytest.mark.parametrize(
    ("matrix", "message"),
    [(None, "noise_matrix is required"), (np.ones((4, 4)), "columns sum to 1"), (np.eye(3), "classes 0..2")],
)
def test_bad_noise_matrix_is_named(matrix: np.ndarray | None, message: str) -> None:
    x, y = blobs()
    with pytest.raises(ConfigError, match=message):
        ForwardCorrectedClassifier(matrix).fit(x, y)


def test_an_empty_or_nan_noise_column_becomes_the_identity() -> None:
    from training.noise_correction import column_stochastic

    matrix = np.array([[0.8, 0.0, np.nan], [0.2, 0.0, np.nan], [0.0, 0.0, np.nan]])
    fixed = column_stochastic(matrix)
    assert np.allclose(fixed.sum(axis=0), 1.0)
    assert np.allclose(fixed[:, 0], [0.8, 0.2, 0.0]) and fixed[1, 1] == 1.0 and fixed[2, 2] == 1.0


def test_forward_loss_learns_the_true_label_the_codes_hide() -> None:
    """One text coded A 70% and B 30% of the time; T says agents code 30% of true A as B. Plain
    cross-entropy learns P(A) = 0.7; through T the head learns P(true A) -> 1."""
    torch = pytest.importorskip("torch")
    from dispo.model.modeling import forward_corrected_nll

    codes = torch.tensor([0] * 70 + [1] * 30)
    log_matrix = torch.log(torch.tensor([[0.7, 1e-8], [0.3, 1.0]]))  # T[code, true]
    learned = {}
    for noisy in (False, True):
        logits = torch.zeros(2, requires_grad=True)
        optimizer = torch.optim.Adam([logits], lr=0.1)
        for _ in range(300):
            optimizer.zero_grad()
            batch = logits.expand(len(codes), 2)
            forward_corrected_nll(batch, codes, log_matrix, torch.full((len(codes),), noisy)).backward()
            optimizer.step()
        learned[noisy] = float(torch.softmax(logits.detach(), dim=0)[0])
    assert abs(learned[False] - 0.7) < 0.01
    assert learned[True] > 0.97


def test_forward_loss_is_cross_entropy_where_labels_are_trusted() -> None:
    torch = pytest.importorskip("torch")
    from dispo.model.modeling import forward_corrected_nll

    generator = torch.Generator().manual_seed(0)
    logits, target = torch.randn(6, 3, generator=generator), torch.tensor([0, 1, 2, 1, -100, 0])
    swap = torch.log(torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]).clamp_min(1e-8))
    plain = torch.nn.functional.cross_entropy(logits, target, ignore_index=-100)
    trusted = torch.zeros(6, dtype=torch.bool)
    assert torch.allclose(forward_corrected_nll(logits, target, swap, trusted), plain)
    identity = torch.log(torch.eye(3).clamp_min(1e-8))
    assert torch.allclose(forward_corrected_nll(logits, target, identity, ~trusted), plain, atol=1e-5)
    # through the swap, code 0 is explained by true 1 (ignored target -100 still skipped)
    swapped = torch.nn.functional.cross_entropy(logits, torch.tensor([1, 0, 2, 0, -100, 1]), ignore_index=-100)
    assert torch.allclose(forward_corrected_nll(logits, target, swap, ~trusted), swapped, atol=1e-5)
    # a mixed batch: row by row, the code through T where noisy, the label itself where trusted
    noisy = torch.tensor([True, False, True, False, True, False])
    lone = [float(forward_corrected_nll(logits[i : i + 1], target[i : i + 1], swap, noisy[i : i + 1]))
            for i in range(6) if target[i] != -100]  # fmt: skip
    mixed = forward_corrected_nll(logits, target, swap, noisy)
    assert abs(float(mixed) - sum(lone) / len(lone)) < 1e-5
    assert abs(lone[0] - float(torch.nn.functional.cross_entropy(logits[:1], torch.tensor([1])))) < 1e-5
    assert abs(lone[1] - float(torch.nn.functional.cross_entropy(logits[1:2], torch.tensor([1])))) < 1e-5


def test_forward_loss_puts_each_estimate_in_the_heads_label_order() -> None:
    from training.noise_correction import ForwardLoss

    estimated = np.array([[0.8, 0.1], [0.2, 0.9]])  # over the codes present: "b", "d"
    loss = ForwardLoss.embed({"reason": (["b", "d"], estimated)}, {"reason": ("d", "a", "c", "b")},
                             {"reason": frozenset({"c1"})})  # fmt: skip
    full = loss.matrices["reason"]  # in the head's order: d, a, c, b
    assert full.shape == (4, 4) and np.allclose(full.sum(axis=0), 1.0)
    assert full[1, 1] == 1.0 and full[2, 2] == 1.0  # labels no code used: coded right
    assert full[3, 3] == 0.8 and full[0, 3] == 0.2 and full[3, 0] == 0.1 and full[0, 0] == 0.9
    assert loss.noisy == {"reason": frozenset({"c1"})}
    with pytest.raises(ConfigError, match=r"codes \['z'\] are not labels"):
        ForwardLoss.embed({"reason": (["b", "z"], estimated)}, {"reason": ("a", "b")}, {})
    with pytest.raises(ConfigError, match="columns sum to 1"):
        ForwardLoss({"reason": np.ones((2, 2))}, {"reason": frozenset()})


def test_soft_targets_are_cross_entropy_against_the_distribution_and_the_label_elsewhere() -> None:
    torch = pytest.importorskip("torch")
    from dispo.model.modeling import soft_target_cross_entropy

    generator = torch.Generator().manual_seed(1)
    logits, target = torch.randn(5, 3, generator=generator), torch.tensor([0, 2, -100, 1, 1])
    one_hot = torch.nn.functional.one_hot(target.clamp_min(0), 3).float()
    every = torch.ones(5, dtype=torch.bool)
    plain = torch.nn.functional.cross_entropy(logits, target, ignore_index=-100)
    assert torch.allclose(soft_target_cross_entropy(logits, target, one_hot, every), plain, atol=1e-6)
    smoothed = torch.nn.functional.cross_entropy(logits, target, ignore_index=-100, label_smoothing=0.1)
    assert torch.allclose(soft_target_cross_entropy(logits, target, one_hot, ~every, label_smoothing=0.1), smoothed)
    # row by row: the distribution where given (the ignored row skipped even if it has one), the label elsewhere
    halves = torch.tensor([[0.5, 0.5, 0.0]] * 5)
    has = torch.tensor([True, False, True, True, False])
    log_p = torch.log_softmax(logits, dim=-1)
    expected = torch.stack([-(halves[0] * log_p[0]).sum(), -log_p[1, 2], -(halves[3] * log_p[3]).sum(), -log_p[4, 1]])
    assert torch.allclose(soft_target_cross_entropy(logits, target, halves, has), expected.mean(), atol=1e-6)


def test_soft_targets_put_each_distribution_in_the_heads_label_order() -> None:
    from training.noise_correction import SoftTargets

    soft = SoftTargets.embed({"reason": (["b", "d"], {"c1": np.array([0.75, 0.25])})}, {"reason": ("d", "a", "b")})
    assert np.allclose(soft.targets["reason"]["c1"], [0.25, 0.0, 0.75])
    with pytest.raises(ConfigError, match=r"codes \['z'\] are not labels"):
        SoftTargets.embed({"reason": (["b", "z"], {"c1": np.array([0.5, 0.5])})}, {"reason": ("a", "b")})
    with pytest.raises(ConfigError, match=r"contact c2: expected probabilities summing to 1, got a sum of 0\.5000"):
        SoftTargets({"reason": {"c2": np.array([0.25, 0.25])}})


def test_refine_labels_weighs_the_posterior_against_the_reading() -> None:
    prior = np.array([[0.55, 0.45, 0.0], [0.98, 0.02, 0.0], [0.5, 0.0, 0.5]])
    logits = np.array([[0.0, 3.0, 0.0], [0.0, 3.0, 0.0], [0.0, 9.0, 1.0]])
    # An unsure posterior gives way to a confident reading; a sure one holds; a label the posterior
    # rules out is never chosen, however sure the reading.
    assert refine_labels(prior, logits).tolist() == [1, 0, 2]
    assert refine_labels(prior, np.zeros_like(logits)).tolist() == [0, 0, 0]  # no opinion: the posterior's argmax
    with pytest.raises(ValueError, match="differ in shape"):
        refine_labels(prior, logits[:, :2])
