"""Blending the transformer with the bundle's TF-IDF baseline."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from dispo.contact import Turn
from dispo.errors import ConfigError
from dispo.io import read_contacts, write_contacts
from dispo.model.baseline import BaselineModel
from dispo.model.blend import BaselineBlend, prepared_text
from dispo.model.bundle import BundleError
from dispo.model.features import PreparedContact, Segment
from dispo.model.predictor import Predictor
from tests.factories import install_bundle, make_tiny_base_model
from training.blending import negative_log_likelihood
from training.config import RunConfig
from training.pipeline import train_model

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def fitted_baseline() -> BaselineModel:
    texts = ["refund my money", "money back please", "password reset", "locked out of login", "where is my parcel"]
    labels = {"reason": ["refund", "refund", "login", "login", None], "upsell": [True, False, False, False, True]}
    return BaselineModel().fit(texts, labels)


def test_blend_is_a_weighted_geometric_mean_in_the_models_label_order(fitted_baseline: BaselineModel) -> None:
    labels = {"reason": ["login", "delivery", "refund"]}  # "delivery": never seen by the baseline
    blend = BaselineBlend(fitted_baseline, {"reason": 0.25, "upsell": 0.5}, labels)
    texts = ["i want a refund of my money"]
    base = blend.baseline_log_probs(texts)
    probs = fitted_baseline.predict_proba("reason", texts)[0]  # classes: login, refund
    classes = fitted_baseline.classes_["reason"]
    expected = np.log([probs[classes.index("login")], 1e-6, probs[classes.index("refund")]])
    np.testing.assert_allclose(base["reason"][0], expected, rtol=1e-6)
    upsell = fitted_baseline.predict_proba("upsell", texts)[0]
    true = fitted_baseline.classes_["upsell"].index(True)
    np.testing.assert_allclose(base["upsell"][0], np.log(upsell[true]) - np.log(upsell[1 - true]), rtol=1e-6)

    logits = {"reason": np.array([[2.0, 0.0, 1.0]]), "upsell": np.array([0.3]), "sentiment": np.array([[1.0, 2.0]])}
    scores = blend.apply(logits, base)
    own = logits["reason"] - np.log(np.exp(logits["reason"]).sum())
    np.testing.assert_allclose(scores["reason"], 0.75 * own + 0.25 * base["reason"])
    np.testing.assert_allclose(scores["upsell"], 0.5 * 0.3 + 0.5 * base["upsell"])
    assert scores["sentiment"] is logits["sentiment"]  # never blended


def test_blend_rejects_what_it_cannot_blend(fitted_baseline: BaselineModel) -> None:
    with pytest.raises(BundleError, match="outcome"):
        BaselineBlend(fitted_baseline, {"outcome": 0.3}, {"outcome": ["resolved"]})
    with pytest.raises(BundleError, match="sentiment"):
        BaselineBlend(fitted_baseline, {"sentiment": 0.3}, {})
    with pytest.raises(BundleError, match=r"\[0, 1\)"):
        BaselineBlend(fitted_baseline, {"reason": 1.0}, {"reason": ["login"]})
    assert not BaselineBlend(fitted_baseline, {"reason": 0.0}, {"reason": ["login"]}).active


def test_prepared_text_joins_the_segments_of_a_turn() -> None:
    prepared = PreparedContact(
        (Segment(0, "customer", "my card", 2), Segment(0, "customer", "is lost", 2), Segment(2, "agent", "ok", 1)), 4
    )
    assert prepared_text(prepared) == "customer: my card is lost\nagent: ok"


def test_negative_log_likelihood_matches_torch() -> None:
    scores = np.array([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]])
    targets = np.array([0, -100])
    expected = torch.nn.functional.cross_entropy(torch.tensor(scores[:1] / 2.0), torch.tensor([0]))
    assert negative_log_likelihood(scores, targets, 2.0, binary=False) == pytest.approx(float(expected))


@pytest.mark.parametrize("text", ["selected", "whole"])
def test_trained_bundle_blends_the_same_way_on_every_path(tmp_path: Path, text: str) -> None:
    from training.corpus.builder import CorpusBuilder, CorpusConfig

    contacts = [b.contact for b in CorpusBuilder(CorpusConfig(n_contacts=90, seed=3)).build()]
    write_contacts(contacts[:80], tmp_path / "train.jsonl")
    base = make_tiny_base_model(tmp_path / "base", [t.text for c in contacts for t in c.turns])
    run = RunConfig.from_sections(
        {
            "data": {"train": [str(tmp_path / "train.jsonl")], "validation_fraction": 0.3},
            "model": {"base_model": str(base), "max_turn_tokens": 24, "token_budget": 96, "max_turns": 6},
            "training": {"epochs": 1, "batch_size": 16, "blend_baseline": True, "blend_text": text},
        }
    )
    bundle = train_model(run, "blended", root=tmp_path / "models")
    metrics = json.loads((bundle.path / "metrics.json").read_text())
    weights = metrics["blend"]["weights"]
    assert set(metrics["blend"]["validation_nll"]) <= {"reason", "outcome", "upsell"}
    for task, by_weight in metrics["blend"]["validation_nll"].items():  # the chosen weight has the lowest NLL
        assert by_weight[str(weights.get(task, 0.0))] == min(by_weight.values())
    # A random tiny encoder knows little; the word-counting baseline knows more: it gets weight.
    assert weights and (bundle.path / "blend.json").is_file()
    assert "blend the baseline into the transformer" in (bundle.path / "README.md").read_text()

    predictor = Predictor.load("blended", root=tmp_path / "models")
    assert predictor.blend is not None and predictor.blend.text == text
    held_out = contacts[80:]
    predictions = predictor.predict(held_out)
    # By hand: the heads' logits, blended with the baseline on the same segments, then calibrated.
    plain = Predictor.load("blended", root=tmp_path / "models")
    plain.blend = None
    temperatures = json.loads((bundle.path / "calibration.json").read_text())["temperatures"]
    over_budget = 0
    for contact, prediction in zip(held_out, predictions, strict=True):
        raw = next(plain.logits([contact]))
        read = prepared_text(raw["prepared"], whole=text == "whole")
        if text == "whole":  # every turn of the transcript, not only the selected segments
            assert read.count("\n") + 1 == len(contact.turns)
            over_budget += len(raw["prepared"].segments) < len(raw["prepared"].transcript)
        scores = predictor.blend.apply(
            raw["logits"], {t: v[0] for t, v in predictor.blend.baseline_log_probs([read]).items()}
        )
        reason = scores["reason"] / temperatures["reason"]
        expected = np.exp(reason - reason.max())
        expected /= expected.sum()
        got = np.array([prediction.reason_probabilities[n] for n in predictor.labels["reason"]])
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    if text == "whole":
        assert over_budget > 0, "some held-out contacts are over budget, so 'whole' reads more than 'selected'"
    # A live session's last update and the audit's batched variants give the same answer.
    from dispo.model.live import LiveSession

    contact = held_out[0]
    session = LiveSession(predictor, contact.contact_id)
    live = None
    for turn in contact.turns:
        live = session.add_turn(turn)
    assert live is not None and live.reasons[0][0] == predictions[0].reasons[0][0]
    assert live.reasons[0][1] == pytest.approx(predictions[0].reasons[0][1], abs=1e-5)
    prepared = predictor.featurizer.prepare(contact)
    (variant,) = predictor.predict_prepared([prepared])
    assert variant.reasons[0][1] == pytest.approx(predictions[0].reasons[0][1], abs=1e-5)
    # the audit's occlusion of a contact's only spoken turn leaves no words: read as one empty segment
    silent = predictor.featurizer.prepare_many([[Turn(speaker="agent", text="  ")]])
    (nothing,) = predictor.predict_prepared(silent, whole=[False])
    assert nothing.reasons and nothing.outcome is not None and nothing.outcome.probability < 1
    assert list(read_contacts(tmp_path / "train.jsonl"))  # the input file is untouched


def test_choosing_the_blend_again_on_the_same_split_gives_trainings_choice(tiny_bundle: Path, tmp_path: Path) -> None:
    """`dispo models recalibrate --blend` searches the weights as training does: on the validation
    file the run chose them on, it finds the same weights and temperatures."""
    from training.corpus.builder import CorpusBuilder, CorpusConfig
    from training.pipeline import recalibrate_bundle

    contacts = [b.contact for b in CorpusBuilder(CorpusConfig(n_contacts=110, seed=5)).build()]
    write_contacts(contacts[:80], tmp_path / "train.jsonl")
    write_contacts(contacts[80:], tmp_path / "dev.jsonl")
    base = make_tiny_base_model(tmp_path / "base", [t.text for c in contacts for t in c.turns])
    sections = {
        "data": {"train": [str(tmp_path / "train.jsonl")], "validation": str(tmp_path / "dev.jsonl")},
        "model": {"base_model": str(base), "max_turn_tokens": 24, "token_budget": 96, "max_turns": 6},
        "training": {"epochs": 1, "batch_size": 16, "blend_baseline": True, "blend_text": "whole"},
    }
    root = tmp_path / "models"
    trained = train_model(RunConfig.from_sections(sections), "blended", root=root)
    derived = recalibrate_bundle("blended", str(tmp_path / "dev.jsonl"), blend=True, root=root)
    before, after = (json.loads((b.path / "blend.json").read_text()) for b in (trained, derived))
    assert after == before and after["weights"]
    searched = json.loads((trained.path / "metrics.json").read_text())["blend"]["validation_nll"]
    for task, by_weight in derived.metrics["blend"]["validation_nll"].items():
        assert by_weight == pytest.approx(searched[task], abs=2e-5)
    trained_t, derived_t = (
        json.loads((b.path / "calibration.json").read_text())["temperatures"] for b in (trained, derived)
    )
    assert derived_t == pytest.approx(trained_t, rel=1e-3)
    assert "blend chosen again" in (derived.path / "README.md").read_text()
    install_bundle(tiny_bundle, root, name="plain")  # trained without a blend
    with pytest.raises(ConfigError, match="does not blend"):
        recalibrate_bundle("plain", str(tmp_path / "dev.jsonl"), blend=True, root=root)
