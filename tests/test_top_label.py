"""Top-label maps: the winner's probability recalibrated by Platt scaling of its log-odds, fitted
on a validation split and kept only when it beats a refitted temperature out of fold
(dispo/model/calibration.py, training/calibration.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dispo.io import write_contacts
from dispo.model.bundle import BundleError
from dispo.model.calibration import TopLabelMap, task_probabilities
from dispo.model.predictor import Predictor
from tests.conftest import make_contact
from tests.factories import install_bundle
from training.calibration import choose_top_label, fit_top_label, out_of_fold_splits
from training.evaluation import expected_calibration_error
from training.pipeline import recalibrate_bundle
from training.report import evaluate_bundle


def head(n: int, seed: int, *, stretch: float, labels: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities whose winner is right with chance q but claims sigmoid(stretch * logit(q) +
    stretch - 1): over-confident at the top and under-confident low down for stretch > 1, with
    the losers' shares drawn at random (no temperature can fix both)."""
    rng = np.random.default_rng(seed)
    q = rng.uniform(0.2, 0.97, n)
    y = rng.integers(0, labels, n)
    right = rng.random(n) < q
    winner = np.where(right, y, (y + rng.integers(1, labels, n)) % labels)
    claimed = 1 / (1 + np.exp(-(stretch * np.log(q / (1 - q)) + (stretch - 1.0))))
    rest = rng.dirichlet(np.ones(labels - 1), n) * (1 - claimed)[:, None]
    probabilities = np.zeros((n, labels))
    for i in range(n):
        others = [j for j in range(labels) if j != winner[i]]
        probabilities[i, others] = rest[i]
        probabilities[i, winner[i]] = claimed[i]
    keep = probabilities.max(1) == probabilities[np.arange(n), winner]  # the winner must be the top
    return probabilities[keep], y[keep]


def ece(probabilities: np.ndarray, y: np.ndarray) -> float:
    return expected_calibration_error(probabilities.max(1), (probabilities.argmax(1) == y).astype(float))


def test_the_map_keeps_the_winner_and_a_distribution() -> None:
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.full(5, 0.3), 500)
    for mapping in (TopLabelMap(0.1, -5.0), TopLabelMap(3.0, 2.0), TopLabelMap(0.63, 0.37)):
        mapped = mapping.apply(probabilities)
        assert np.allclose(mapped.sum(1), 1.0) and (mapped >= 0).all()
        assert (mapped.argmax(1) == probabilities.argmax(1)).all()
        # the losers keep their proportions
        order = np.argsort(probabilities, axis=1)[:, :-1]
        ratio = np.take_along_axis(mapped, order, 1) / np.take_along_axis(probabilities, order, 1)
        assert np.allclose(ratio, ratio[:, :1])
    assert np.allclose(TopLabelMap(1.0, 0.0).apply(probabilities), probabilities)
    assert TopLabelMap(0.5, 0.0).apply(np.zeros((0, 5))).shape == (0, 5)
    vector = TopLabelMap(0.5, 0.0).apply(np.array([0.2, 0.5, 0.3]))
    assert vector.shape == (3,) and vector.argmax() == 1 and vector.sum() == pytest.approx(1.0)
    certain = TopLabelMap(0.5, 0.0).apply(np.array([[0.0, 1.0, 0.0]]))  # nothing left to share: evenly
    assert certain.sum() == pytest.approx(1.0) and certain[0, 0] == certain[0, 2] > 0 and certain.argmax() == 1
    one = task_probabilities({"reason": np.array([2.0, 0.0, -1.0])}, top_label={"reason": TopLabelMap(0.5, 0.0)})
    assert one["reason"].shape == (3,) and one["reason"].argmax() == 0 and one["reason"][0] < 0.84


def test_a_map_is_checked_when_made_and_read() -> None:
    with pytest.raises(ValueError, match="slope > 0"):
        TopLabelMap(0.0, 1.0)
    with pytest.raises(ValueError, match="exactly 'slope' and 'intercept'"):
        TopLabelMap.from_dict({"slope": 1.0})
    assert TopLabelMap.from_dict(TopLabelMap(0.5, 0.25).to_dict()) == TopLabelMap(0.5, 0.25)


def test_an_over_confident_head_is_corrected_and_the_map_holds_on_fresh_contacts() -> None:
    probabilities, y = head(400, seed=1, stretch=2.0)
    choice = fit_top_label(probabilities, y)
    assert choice.kept and choice.slope < 0.8
    assert choice.ece_top_label < choice.ece_temperature and choice.log_loss_top_label < choice.log_loss_temperature
    mapping = choice.mapping
    assert mapping is not None
    fresh, fresh_y = head(3000, seed=2, stretch=2.0)
    assert ece(mapping.apply(fresh), fresh_y) < 0.5 * ece(fresh, fresh_y)


def test_a_map_that_holds_only_in_the_set_it_was_fitted_on_is_not_kept_across_sets() -> None:
    """Set A over-confident, set B calibrated: shuffled folds mix them and keep the map; fitted on one
    set and scored on the other, it hurts, as it would on a third set."""
    over, over_y = head(300, seed=0, stretch=2.5)
    calibrated, calibrated_y = head(300, seed=100, stretch=1.0)
    probabilities, y = np.concatenate([over, calibrated]), np.concatenate([over_y, calibrated_y])
    sets = np.repeat([0, 1], [len(over_y), len(calibrated_y)])
    assert fit_top_label(probabilities, y).kept
    across = fit_top_label(probabilities, y, groups=sets)
    assert not across.kept and across.log_loss_top_label > across.log_loss_temperature


def test_out_of_fold_splits_score_each_set_by_the_others_or_shuffle_one_set() -> None:
    y = np.arange(40) % 4
    sets = np.repeat([0, 1, 2], [10, 10, 20])
    across = out_of_fold_splits(y, sets)
    assert len(across) == 1 and sorted(len(score) for _, score in across[0]) == [10, 10, 20]
    for fit, score in across[0]:
        assert len(np.unique(sets[score])) == 1 and len(fit) + len(score) == 40
    shuffled = out_of_fold_splits(y, np.zeros(40, dtype=int), stratify=True)  # one set: shuffled folds
    assert len(shuffled) == 10 and all(len(splits) == 5 for splits in shuffled)
    for splits in out_of_fold_splits(y):  # no sets: every contact scored once per shuffle
        assert sorted(np.concatenate([score for _, score in splits]).tolist()) == list(range(40))


def test_a_calibrated_head_keeps_its_probabilities_and_few_contacts_fit_nothing() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(0.0, 2.0, (400, 8))
    probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = np.array([rng.choice(8, p=row) for row in probabilities])  # every label as likely as it claims
    choice = fit_top_label(probabilities, y)
    assert not choice.kept and choice.mapping is None
    few = fit_top_label(probabilities[:10], y[:10])
    assert not few.kept and (few.slope, few.intercept) == (1.0, 0.0)
    unknown = fit_top_label(probabilities, np.full(len(y), -1))
    assert not unknown.kept


def test_a_bundle_reads_its_maps_and_its_report_names_them(tiny_bundle: Path, tmp_path: Path) -> None:
    bundle = install_bundle(tiny_bundle, tmp_path / "models")
    calibration = json.loads((bundle / "calibration.json").read_text())
    plain = Predictor.load(bundle)
    (bundle / "calibration.json").write_text(
        json.dumps({**calibration, "top_label": {"reason": {"slope": 0.5, "intercept": -1.0}}})
    )
    mapped = Predictor.load(bundle)
    assert mapped.top_label == {"reason": TopLabelMap(0.5, -1.0)}
    scores = {
        task: np.random.default_rng(0).normal(0.0, 2.0, (4, len(plain.labels[task]))) for task in ("reason", "outcome")
    }
    after, before = mapped.probabilities(scores), plain.probabilities(scores)
    assert np.allclose(after["reason"], TopLabelMap(0.5, -1.0).apply(before["reason"]))
    assert not np.allclose(after["reason"], before["reason"]) and np.allclose(after["outcome"], before["outcome"])
    contacts = [make_contact(i, labels={"reason": "track_order" if i % 2 else "get_refund"}) for i in range(6)]
    write_contacts(contacts, tmp_path / "eval.jsonl")
    report = evaluate_bundle(bundle, tmp_path / "eval.jsonl", tmp_path / "report", pictures=False)
    assert report["calibration"]["reason"]["then"] == ["top-label map (slope 0.5, intercept -1)"]
    assert "top-label map (slope 0.5, intercept -1)" in (tmp_path / "report" / "report.md").read_text()
    (bundle / "calibration.json").write_text(
        json.dumps({**calibration, "top_label": {"upsell": {"slope": 0.5, "intercept": 0.0}}})
    )
    with pytest.raises(BundleError, match=r"calibration\.json.*not multi-class heads"):
        Predictor.load(bundle)


def test_a_map_is_fitted_after_its_own_heads_offsets_only() -> None:
    """Offsets kept on a head without a map (sentiment) must not get in the way of another head's map."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 60)
    scores = {task: rng.normal(0.0, 1.0, (60, 3)) + 2.0 * np.eye(3)[y] for task in ("reason", "sentiment")}
    names = {"reason": ["get_refund", "track_order", "cancel_order"], "sentiment": ["negative", "neutral", "positive"]}
    targets = {task: y for task in names}
    maps = choose_top_label(scores, targets, names, {}, {"sentiment": {"negative": 0.5}}, ["reason"])
    assert set(maps) == {"reason"}


def test_recalibrating_offsets_drops_the_map_fitted_after_the_old_ones(tiny_bundle: Path, tmp_path: Path) -> None:
    root = tmp_path / "models"
    bundle = install_bundle(tiny_bundle, root)
    calibration = json.loads((bundle / "calibration.json").read_text())
    maps = {"sentiment": {"slope": 0.5, "intercept": 0.0}, "outcome": {"slope": 2.0, "intercept": 0.0}}
    (bundle / "calibration.json").write_text(json.dumps({**calibration, "top_label": maps}))
    labels = ["negative", "neutral", "positive"]
    write_contacts([make_contact(i, labels={"sentiment": labels[i % 3]}) for i in range(30)], tmp_path / "dev.jsonl")
    offsets_only = recalibrate_bundle("tiny", str(tmp_path / "dev.jsonl"), offsets=("sentiment",), root=root)
    assert Predictor.load(offsets_only.path).top_label == {"outcome": TopLabelMap(2.0, 0.0)}  # sentiment's dropped


def test_recalibrating_on_two_sets_refits_every_temperature_and_checks_across_them(
    tiny_bundle: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "models"
    bundle = install_bundle(tiny_bundle, root)
    calibration = json.loads((bundle / "calibration.json").read_text())
    offsets = {"sentiment": {"negative": 0.5}}
    (bundle / "calibration.json").write_text(json.dumps({**calibration, "offsets": offsets}))
    reasons, moods = ["track_order", "get_refund"], ["negative", "neutral", "positive"]
    for name, start in (("a", 0), ("b", 100)):
        (tmp_path / f"set-{name}").mkdir()
        labels = [{"reason": reasons[i % 2], "sentiment": moods[i % 3], "upsell": i % 4 == 0} for i in range(25)]
        contacts = [make_contact(start + i, labels=labels[i]) for i in range(25)]
        write_contacts(contacts, tmp_path / f"set-{name}" / "dev.jsonl")
    dev = str(tmp_path / "set-*" / "dev.jsonl")
    with caplog.at_level("WARNING"):
        derived = recalibrate_bundle("tiny", dev, temperatures=True, top_label=("reason",), root=root)
    assert "['sentiment']" in caplog.text  # its offsets followed the old temperature: dropped, and said so
    stored = json.loads((derived.path / "calibration.json").read_text())
    assert "offsets" not in stored
    before, after = calibration["temperatures"], stored["temperatures"]
    labelled = ("reason", "sentiment", "upsell")  # refitted (a random tiny head may land on the same bound)
    assert derived.metrics["temperatures"] == {task: round(after[task], 4) for task in labelled}
    assert after["outcome"] == before["outcome"]  # no outcome labels: the source's temperature
    assert derived.metrics["validation_sets"] == [str(tmp_path / f"set-{n}" / "dev.jsonl") for n in "ab"]
    card = (derived.path / "README.md").read_text()
    assert "across 2 sets" in card and "temperatures refitted" in card
    unchanged = recalibrate_bundle("tiny:v1", dev, top_label=("reason",), root=root)  # the source's temperatures
    assert json.loads((unchanged.path / "calibration.json").read_text())["temperatures"] == before
