"""Class offsets: a head's class priors shifted for macro-F1 on a validation split, kept only when
the shift also helps out of fold there (training/calibration.py, dispo/model/calibration.py); and
`dispo models recalibrate`, which fits offsets and top-label maps for a trained bundle."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dispo.errors import ConfigError
from dispo.io import write_contacts
from dispo.model.calibration import offset_vectors, task_probabilities
from dispo.model.predictor import Predictor
from tests.conftest import make_contact
from tests.factories import install_bundle
from training.calibration import fit_class_offsets, macro_f1
from training.pipeline import recalibrate_bundle

LABELS = ["negative", "neutral", "positive"]


def biased_probabilities(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A head that knows the class but leans to neutral, as one trained on mostly neutral text."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    logits = rng.normal(0.0, 1.0, (n, 3))
    logits[np.arange(n), y] += 2.0
    logits[:, 1] += 2.0  # the neutral lean
    probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return probabilities, y


def test_offsets_undo_a_prior_that_leans_to_one_class() -> None:
    probabilities, y = biased_probabilities(300, seed=1)
    choice = fit_class_offsets(probabilities, y, LABELS)
    assert choice.kept and choice.macro_f1_out_of_fold > choice.macro_f1_before + 0.05
    assert choice.offsets["neutral"] < min(choice.offsets["negative"], choice.offsets["positive"]) + 1e-9
    # on fresh contacts from the same head, the offsets chosen on the first 300 help as much
    fresh, y_fresh = biased_probabilities(2000, seed=2)
    shifted = task_probabilities(
        {"sentiment": np.log(fresh)}, offsets=offset_vectors({"sentiment": choice.offsets}, {"sentiment": LABELS})
    )["sentiment"]
    assert macro_f1(y_fresh, shifted.argmax(1), 3) > macro_f1(y_fresh, fresh.argmax(1), 3) + 0.05


def test_offsets_that_cannot_help_are_not_kept_and_unknown_targets_are_skipped() -> None:
    y = np.array([0, 1, 2] * 20)
    probabilities = np.full((60, 3), 0.1)
    probabilities[np.arange(60), y] = 0.8  # already right on every contact
    targets = np.concatenate([y, [-1, -1]])
    choice = fit_class_offsets(np.vstack([probabilities, np.full((2, 3), 1 / 3)]), targets, LABELS)
    assert not choice.kept and choice.offsets == {} and choice.macro_f1_before == 1.0
    with pytest.raises(ConfigError, match="at most 3 labels"):
        fit_class_offsets(np.full((4, 5), 0.2), np.arange(4), ["a", "b", "c", "d", "e"])


def test_offsets_change_the_winner_and_must_name_the_models_labels() -> None:
    scores = {"sentiment": np.array([[0.0, 1.0, 0.0]])}
    plain = task_probabilities(scores)["sentiment"]
    shifted = task_probabilities(scores, offsets={"sentiment": np.array([2.0, 0.0, 0.0])})["sentiment"]
    assert plain.argmax() == 1 and shifted.argmax() == 0 and shifted.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="not the model's"):
        offset_vectors({"sentiment": {"angry": 1.0}}, {"sentiment": LABELS})


def test_recalibrate_writes_a_new_version_and_leaves_the_source_alone(tiny_bundle: Path, tmp_path: Path) -> None:
    source = install_bundle(tiny_bundle, tmp_path / "models")
    card = (source / "README.md").read_text()
    older = card.replace("Probabilities are calibrated on the validation split", "Temperatures only, an older card")
    (source / "README.md").write_text(older)
    before = (source / "calibration.json").read_text()
    contacts = [make_contact(i, labels={"sentiment": LABELS[i % 3]}) for i in range(30)]
    write_contacts(contacts, tmp_path / "dev.jsonl")
    dev, root = str(tmp_path / "dev.jsonl"), tmp_path / "models"
    bundle = recalibrate_bundle("tiny", dev, offsets=("sentiment",), top_label=("sentiment",), root=root)
    assert bundle.version == "v2" and (source / "calibration.json").read_text() == before
    calibration = json.loads((bundle.path / "calibration.json").read_text())
    metrics = json.loads((bundle.path / "metrics.json").read_text())
    choice, mapping = metrics["class_offsets"]["sentiment"], metrics["top_label_calibration"]["sentiment"]
    assert ("offsets" in calibration) == choice["kept"]
    assert ("top_label" in calibration) == mapping["kept"]
    assert bundle.metrics.keys() == {"class_offsets", "top_label_calibration"}
    manifest = json.loads((bundle.path / "bundle.json").read_text())
    assert manifest["version"] == "v2" and manifest["derived_from"] == "tiny:v1"
    card = (bundle.path / "README.md").read_text()
    assert "## Recalibration" in card and "Class offsets" in card and "Top-label maps" in card
    assert card.count("## Limits") == 1 and "an older card" not in card  # today's limits, not the source's
    assert "Probabilities are calibrated on the validation split" in card
    predictor = Predictor.load("tiny:v2", root=root)
    assert predictor.offsets == calibration.get("offsets", {})
    assert predictor.predict(contacts[:2])[0].sentiment is not None
    with pytest.raises(ConfigError, match="no multi-class upsell head"):
        recalibrate_bundle("tiny", dev, offsets=("upsell",), root=root)
    with pytest.raises(ConfigError, match="no multi-class upsell head"):
        recalibrate_bundle("tiny", dev, top_label=("upsell",), root=root)
    with pytest.raises(ConfigError, match="name at least one head"):
        recalibrate_bundle("tiny", dev, root=root)


def test_dispo_models_recalibrate_fits_only_the_heads_it_names(tiny_bundle: Path, tmp_path: Path) -> None:
    from dispo.cli import main

    install_bundle(tiny_bundle, tmp_path / "models")
    contacts = [make_contact(i, labels={"reason": "track_order" if i % 2 else "get_refund"}) for i in range(30)]
    write_contacts(contacts, tmp_path / "dev.jsonl")
    argv = ["models", "--models-dir", str(tmp_path / "models"), "recalibrate", "tiny", "--validation",
            str(tmp_path / "dev.jsonl"), "--offsets", "", "--top-label", "reason"]  # fmt: skip
    assert main(argv) == 0
    metrics = json.loads((tmp_path / "models" / "tiny" / "v2" / "metrics.json").read_text())
    assert set(metrics["top_label_calibration"]) == {"reason"} and "class_offsets" not in metrics
