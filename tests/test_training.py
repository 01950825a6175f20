"""Training, bundles and prediction on a tiny random transformer built from a config."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import training.trainer as trainer_module
from dispo.contact import Contact, Turn
from dispo.io import write_contacts
from dispo.model.baseline import BaselineModel, contact_text
from dispo.model.bundle import BundleNotFoundError, BundleWriter, list_models, promote, resolve, versions
from dispo.model.features import contact_segments, select_segments
from dispo.model.modeling import IGNORE_INDEX, DispoModel, ModelConfig, multitask_loss
from dispo.model.predictor import Predictor
from dispo.taxonomy import Taxonomy
from tests.factories import make_tiny_base_model
from training.calibration import fit_temperature
from training.config import RunConfig
from training.evaluation import expected_calibration_error
from training.labelsources import OUT_OF_SCOPE
from training.pipeline import train_model
from training.trainer import EncodedContact, Trainer, split_validation

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from training.corpus.builder import CorpusBuilder, CorpusConfig

    root = tmp_path_factory.mktemp("corpus")
    contacts = [b.contact for b in CorpusBuilder(CorpusConfig(n_contacts=70, seed=5)).build()]
    # A second source with sentiment only: training must mask the other tasks.
    sentiment_only = [
        c.model_copy(update={"contact_id": f"s-{c.contact_id}", "labels": c.labels.model_copy(
            update={"reason": None, "outcome": None, "upsell": None})})
        for c in contacts[:10] if c.labels is not None
    ]  # fmt: skip
    write_contacts(contacts[:60], root / "train.jsonl")
    write_contacts(sentiment_only, root / "sentiment.jsonl")
    write_contacts(contacts[60:], root / "test.jsonl")
    base = make_tiny_base_model(root / "base", [t.text for c in contacts for t in c.turns])
    return {"root": root, "train": root / "train.jsonl", "sentiment": root / "sentiment.jsonl",
            "test": root / "test.jsonl", "base": base}  # fmt: skip


def tiny_run(corpus: dict[str, Path], **training: object) -> RunConfig:
    return RunConfig.from_sections(
        {
            "data": {"train": [str(corpus["train"]), str(corpus["sentiment"])], "eval": str(corpus["test"])},
            "model": {"base_model": str(corpus["base"]), "max_turn_tokens": 24, "token_budget": 96, "max_turns": 6},
            "training": {"epochs": 2, "batch_size": 8, "baseline": False, "checkpoint_every_steps": 3, **training},
        }
    )


def test_train_save_load_predict_round_trip(corpus: dict[str, Path], tmp_path: Path, taxonomy: Taxonomy) -> None:
    bundle = train_model(tiny_run(corpus, baseline=True), "tiny", root=tmp_path)
    assert bundle.version == "v1"
    for name in ("bundle.json", "model.safetensors", "model_config.json", "labels.json", "taxonomy.yaml",
                 "calibration.json", "metrics.json", "data.json", "baseline.joblib", "README.md"):  # fmt: skip
        assert (bundle.path / name).is_file(), name
    manifest = json.loads((bundle.path / "bundle.json").read_text())
    assert manifest["version"] == "v1" and manifest["taxonomy"]["fingerprint"] == taxonomy.fingerprint()
    labels = json.loads((bundle.path / "labels.json").read_text())
    assert labels["reason"] == list(taxonomy.reason_names)
    metrics = json.loads((bundle.path / "metrics.json").read_text())
    assert {"validation", "baseline_validation", "training"} <= set(metrics)
    report = json.loads((bundle.path / "report" / "report.json").read_text())
    assert report["model"]["reason"]["n"] == 10 and bundle.metrics["test"] == report["model"]
    card = (bundle.path / "README.md").read_text()
    assert "## Intended use" in card and "| reason |" in card and "## Limits" in card

    predictor = Predictor.load("tiny", root=tmp_path)
    from dispo.io import read_contacts

    test_contacts = read_contacts(corpus["test"])
    predictions = predictor.predict(test_contacts)
    assert len(predictions) == len(test_contacts)
    first = predictions[0]
    assert len(first.reasons) == 3 and first.reasons[0][1] >= first.reasons[1][1] >= first.reasons[2][1]
    assert first.outcome is not None and abs(sum(first.outcome.probabilities.values()) - 1) < 1e-5
    assert first.disposition_code == taxonomy.render_code(first.reasons[0][0], first.outcome.label or "")
    assert first.model_version == "tiny:v1"
    assert 0.0 <= (first.upsell_probability or 0.0) <= 1.0
    assert all(0 <= turn < len(test_contacts[0].turns) for turn, _ in first.evidence["reason"])
    # Batch composition and order must not change a contact's prediction.
    alone = predictor.predict([test_contacts[3]])[0]
    assert [r for r, _ in alone.reasons] == [r for r, _ in predictions[3].reasons]
    assert [p for _, p in alone.reasons] == pytest.approx([p for _, p in predictions[3].reasons], abs=1e-5)


def test_masked_multitask_loss_ignores_missing_labels() -> None:
    logits = {
        "reason": torch.randn(4, 5, requires_grad=True),
        "sentiment": torch.randn(4, 3, requires_grad=True),
        "upsell": torch.randn(4, requires_grad=True),
    }
    targets = {
        "reason": torch.tensor([1, IGNORE_INDEX, 3, IGNORE_INDEX]),
        "sentiment": torch.full((4,), IGNORE_INDEX),
        "upsell": torch.tensor([-1, 1, -1, 0]),
    }
    loss, parts = multitask_loss(logits, targets)
    loss.backward()
    assert set(parts) == {"reason", "upsell"}
    assert logits["sentiment"].grad is None or torch.all(logits["sentiment"].grad == 0)
    reason_grad = logits["reason"].grad
    assert reason_grad is not None and torch.all(reason_grad[[1, 3]] == 0) and torch.any(reason_grad[[0, 2]] != 0)
    upsell_grad = logits["upsell"].grad
    assert upsell_grad is not None and torch.all(upsell_grad[[0, 2]] == 0)
    expected = torch.nn.functional.cross_entropy(logits["reason"][[0, 2]], torch.tensor([1, 3]))
    assert parts["reason"] == pytest.approx(float(expected))


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_file(str(path / "model.safetensors"))


def test_fixed_seed_gives_the_same_model(corpus: dict[str, Path], tmp_path: Path) -> None:
    first = train_model(tiny_run(corpus), "det", root=tmp_path)
    second = train_model(tiny_run(corpus), "det", root=tmp_path)
    assert (first.version, second.version) == ("v1", "v2")  # a new version, never an overwrite
    a, b = _weights(first.path), _weights(second.path)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_interrupted_run_resumes_from_its_checkpoint(
    corpus: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = train_model(tiny_run(corpus), "ref", root=tmp_path / "ref")

    calls = {"n": 0}
    real_loss = trainer_module.multitask_loss

    def crashing_loss(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 8:  # killed during step 8: what came after the last checkpoint is lost
            raise KeyboardInterrupt("killed")
        return real_loss(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(trainer_module, "multitask_loss", crashing_loss)
    with pytest.raises(KeyboardInterrupt):
        train_model(tiny_run(corpus), "resumed", root=tmp_path / "run")
    assert versions("resumed", tmp_path / "run") == []  # nothing half-written in the registry
    monkeypatch.setattr(trainer_module, "multitask_loss", real_loss)
    resumed = train_model(tiny_run(corpus), "resumed", root=tmp_path / "run")
    # checkpoints: every 3 steps and at the end of epoch 1 (step 7)
    assert resumed.metrics["training"]["resumed_from_step"] == 7
    a, b = _weights(reference.path), _weights(resumed.path)
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_temperature_scaling_recovers_a_known_temperature() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4000, 5)) * 3
    true_t = 2.5
    probs = np.exp(logits / true_t)
    probs /= probs.sum(axis=1, keepdims=True)
    targets = np.array([rng.choice(5, p=p) for p in probs])
    assert fit_temperature(logits, targets) == pytest.approx(true_t, rel=0.1)
    labels = (rng.random(4000) < 1 / (1 + np.exp(-logits[:, 0] / true_t))).astype(int)
    assert fit_temperature(logits[:, 0], labels, binary=True) == pytest.approx(true_t, rel=0.1)


def test_expected_calibration_error() -> None:
    confidence = np.array([0.9, 0.9, 0.9, 0.9, 0.6, 0.6])
    correct = np.array([1, 1, 1, 0, 1, 0])
    # bin 0.9: accuracy 0.75 (gap 0.15, weight 4/6); bin 0.6: accuracy 0.5 (gap 0.1, weight 2/6)
    assert expected_calibration_error(confidence, correct) == pytest.approx(0.15 * 4 / 6 + 0.1 * 2 / 6)


def test_baseline_follows_the_estimator_contract(corpus: dict[str, Path]) -> None:
    from dispo.io import read_contacts

    contacts = read_contacts(corpus["train"])
    texts = [contact_text(c) for c in contacts]
    labels = {
        "reason": [c.labels.reason if c.labels else None for c in contacts],
        "sentiment": [None] * len(contacts),
    }
    labels["reason"][0] = None
    model = BaselineModel()
    assert model.fit(texts, labels) is model
    assert model.tasks_ == ("reason",)  # no sentiment labels: no sentiment model
    probabilities = model.predict_proba("reason", texts[:3])
    assert probabilities.shape == (3, len(model.classes_["reason"]))
    assert np.allclose(probabilities.sum(axis=1), 1)


def test_registry_versions_promote_and_resolve(tmp_path: Path) -> None:
    for _ in range(2):
        writer = BundleWriter("m", tmp_path)
        writer.write_json("bundle.json", {"name": "m"})
        writer.commit()
    assert versions("m", tmp_path) == ["v1", "v2"]
    assert resolve("m", tmp_path).name == "v2"  # newest unless one is promoted
    promote("m", "v1", tmp_path)
    assert resolve("m", tmp_path).name == "v1"
    assert list_models(tmp_path) == {"m": {"versions": ["v1", "v2"], "promoted": "v1"}}
    with pytest.raises(BundleNotFoundError, match="no version 'v9'"):
        resolve("m:v9", tmp_path)
    assert resolve("m:2", tmp_path).name == "v2"  # a version may be named by its number
    promote("m", "2", tmp_path)
    assert resolve("m", tmp_path).name == "v2"
    promote("m", "v1", tmp_path)
    with pytest.raises(BundleNotFoundError, match="no model named 'other'"):
        resolve("other", tmp_path)
    # Run outside the repository, a command searches ./models: the error says where the shipped model is.
    with pytest.raises(BundleNotFoundError, match=r"--models-dir .*/models\)"):
        resolve("dispo-default", tmp_path)
    assert not list(tmp_path.glob("m/.incoming-*"))


def test_segment_selection_keeps_the_start_and_the_end() -> None:
    config = ModelConfig(max_turn_tokens=16, max_turns=4, token_budget=64, label_sizes={"reason": 2})
    turns = [Turn(speaker="agent", text="hello thanks for calling")]
    turns += [Turn(speaker="customer" if i % 2 else "agent", text=f"filler words number {i}") for i in range(30)]
    turns[3] = Turn(speaker="customer", text="my refund never arrived " * 8)  # long: several segments
    segments = contact_segments(turns, config.max_turn_tokens)
    assert len([s for s in segments if s.turn == 3]) > 1  # split, not cut
    assert " ".join(s.text for s in segments if s.turn == 3) == turns[3].text.strip()
    chosen = select_segments(segments, config)
    assert len(chosen) <= config.max_turns
    assert sum(segments[i].est_tokens for i in chosen) <= config.token_budget
    first_customer = next(i for i, s in enumerate(segments) if s.speaker == "customer")
    assert first_customer in chosen and len(segments) - 1 in chosen
    assert chosen == sorted(chosen)
    short = contact_segments(turns[:3], config.max_turn_tokens)
    assert select_segments(short, config) == list(range(len(short)))


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("[00:01:23] my parcel never came", "my parcel never came"),
        ("(1:02) my parcel never came", "my parcel never came"),
        ("  00:01:23.5  my parcel never came", "my parcel never came"),
        ("10:30 works for me", "10:30 works for me"),  # said, not a stamp
        ("[00:01:23]", "[00:01:23]"),  # a stamp alone is all the turn has
    ],
)
def test_the_model_reads_a_turn_without_its_leading_timestamp(text: str, read: str) -> None:
    assert " ".join(s.text for s in contact_segments([Turn(speaker="customer", text=text)], 32)) == read


def test_split_validation_is_stratified_and_seeded(corpus: dict[str, Path]) -> None:
    from dispo.io import read_contacts

    contacts: list[Contact] = read_contacts(corpus["train"])
    train, val = split_validation(contacts, 0.2, seed=1)
    again = split_validation(contacts, 0.2, seed=1)
    assert [c.contact_id for c in val] == [c.contact_id for c in again[1]]
    assert len(train) + len(val) == len(contacts)
    assert not {c.contact_id for c in train} & {c.contact_id for c in val}


def test_unfreezing_and_freezing_layers(corpus: dict[str, Path]) -> None:
    config = ModelConfig(base_model=str(corpus["base"]), freeze_encoder_layers=1, label_sizes={"reason": 3})
    model = DispoModel.from_base(config)
    frozen = [n for n, p in model.encoder.named_parameters() if not p.requires_grad]
    assert any("layer.0." in n for n in frozen) and not any("layer.1." in n for n in frozen)
    model.freeze_encoder(2)
    assert model.encoder_frozen
    from dispo.errors import ConfigError

    with pytest.raises(ConfigError, match="has 2 layers"):
        model.freeze_encoder(3)
    words_frozen = DispoModel.from_base(replace(config, freeze_encoder_layers=0, freeze_word_embeddings=True))
    frozen = {n for n, p in words_frozen.encoder.named_parameters() if not p.requires_grad}
    assert frozen == {"embeddings.word_embeddings.weight"}


def frozen_trainer(
    corpus: dict[str, Path], taxonomy: Taxonomy, layers: int
) -> tuple[Trainer, list[EncodedContact], dict[str, np.ndarray]]:
    """A trainer with the bottom ``layers`` encoder layers frozen, the test contacts encoded, and
    their logits before anything is cached."""
    from dispo.io import read_contacts

    run = tiny_run(corpus)
    run.model = ModelConfig.for_taxonomy(taxonomy, base_model=str(corpus["base"]), freeze_encoder_layers=layers)
    trainer = Trainer(run, taxonomy, checkpoint_dir=Path("/nonexistent"))
    encoded = trainer.encode(read_contacts(corpus["test"]), "test")
    return trainer, encoded, trainer.predict_logits(encoded)


def test_trainer_caches_turn_vectors_when_the_encoder_is_frozen(corpus: dict[str, Path], taxonomy: Taxonomy) -> None:
    trainer, encoded, direct = frozen_trainer(corpus, taxonomy, 2)
    trainer.cache_turn_vectors(encoded)
    cached = trainer.predict_logits(encoded)
    assert all(item.vectors is not None for item in encoded)
    assert all(np.allclose(direct[t], cached[t], atol=1e-5) for t in direct)


@pytest.mark.slow
def test_real_base_model_trains_briefly(tmp_path: Path) -> None:
    """The packaged all-MiniLM-L6-v2 loads offline, trains a few steps and predicts."""
    from training.corpus.builder import CorpusBuilder, CorpusConfig

    contacts = [b.contact for b in CorpusBuilder(CorpusConfig(n_contacts=48, seed=2)).build()]
    write_contacts(contacts[:40], tmp_path / "train.jsonl")
    write_contacts(contacts[40:], tmp_path / "test.jsonl")
    run = RunConfig.from_sections(
        {
            "data": {"train": [str(tmp_path / "train.jsonl")], "eval": str(tmp_path / "test.jsonl")},
            "model": {"max_turn_tokens": 32, "token_budget": 96, "max_turns": 4},
            "training": {"epochs": 1, "batch_size": 8, "baseline": False},
        }
    )
    bundle = train_model(run, "real", root=tmp_path / "models")
    predictions = Predictor.load(bundle.path).predict(contacts[40:])
    assert len(predictions) == 8 and all(p.reasons for p in predictions)


def test_lower_and_upper_layers_compose_to_the_full_encoder(corpus: dict[str, Path]) -> None:
    model = DispoModel.from_base(ModelConfig(base_model=str(corpus["base"]), label_sizes={"reason": 3})).eval()
    ids = torch.tensor([[2, 7, 9, 11, 3], [2, 8, 3, 0, 0]])
    mask = (ids != 0).long()
    with torch.no_grad():
        full = model.encode_turns(ids, mask)
        for k in range(model.n_encoder_layers + 1):
            split = model.encode_upper(model.encode_lower(ids, mask, k), mask, k)
            assert torch.allclose(split, full, atol=1e-6), k


def test_trainer_caches_frozen_bottom_layers(corpus: dict[str, Path], taxonomy: Taxonomy) -> None:
    trainer, encoded, direct = frozen_trainer(corpus, taxonomy, 1)
    trainer.cache_lower_states(encoded, 1)
    assert all(item.hidden is not None and item.vectors is None for item in encoded)
    cached = trainer.predict_logits(encoded)
    # cached states are stored in float16: equal up to that precision
    assert all(np.allclose(direct[t], cached[t], atol=2e-2) for t in direct)


def test_label_smoothing_reaches_the_classification_losses() -> None:
    logits = {"reason": torch.randn(3, 4)}
    targets = {"reason": torch.tensor([0, IGNORE_INDEX, 2])}
    smoothed, _ = multitask_loss(logits, targets, label_smoothing=0.1)
    expected = torch.nn.functional.cross_entropy(logits["reason"][[0, 2]], torch.tensor([0, 2]), label_smoothing=0.1)
    assert float(smoothed) == pytest.approx(float(expected))
    plain, _ = multitask_loss(logits, targets)
    assert float(plain) != pytest.approx(float(smoothed))
    from dispo.errors import ConfigError
    from training.config import TrainingConfig

    with pytest.raises(ConfigError, match="label_smoothing"):
        TrainingConfig(label_smoothing=0.7)


def test_audited_labels_win_over_training_labels(corpus: dict[str, Path], tmp_path: Path) -> None:
    from dispo.audit.export import audited_contact
    from dispo.io import read_contacts

    train = read_contacts(corpus["train"])
    target = train[0]
    new_reason = next(r for r in ("track_order", "cancel_order") if target.labels and r != target.labels.reason)
    audited = [audited_contact(target, new_reason, "escalated", {"analyst": "qa-1"})]
    write_contacts(audited, tmp_path / "audits.jsonl")
    run = tiny_run(corpus, epochs=1)
    run.data.audits = [str(tmp_path / "audits.jsonl")]
    first = train_model(tiny_run(corpus, epochs=1), "audited", root=tmp_path)
    second = train_model(run, "audited", root=tmp_path)
    data = json.loads((second.path / "data.json").read_text())
    assert data["audits"] == {"files": run.data.audits, "audited": 1, "relabelled": 1, "added": 0}
    before = json.loads((first.path / "data.json").read_text())["label_counts"]["reason"]
    after = data["label_counts"]["reason"]
    assert after.get(new_reason, 0) == before.get(new_reason, 0) + 1
    assert second.metrics["previous_test"]["version"] == first.version


def test_training_chooses_its_calibration_on_the_validation_split(corpus: dict[str, Path], tmp_path: Path) -> None:
    run = tiny_run(corpus, epochs=1, class_offsets=["sentiment"], top_label_calibration=["reason", "sentiment"])
    bundle = train_model(run, "tiny", root=tmp_path)
    choice = bundle.metrics["class_offsets"]["sentiment"]
    assert set(choice) == {"offsets", "macro_f1_before", "macro_f1_after", "macro_f1_out_of_fold", "kept"}
    calibration = json.loads((bundle.path / "calibration.json").read_text())
    assert calibration.get("offsets", {}).get("sentiment", {}) == choice["offsets"]
    maps = bundle.metrics["top_label_calibration"]
    assert set(maps) == {"reason", "sentiment"}
    kept = {task: {"slope": m["slope"], "intercept": m["intercept"]} for task, m in maps.items() if m["kept"]}
    assert calibration.get("top_label", {}) == kept
    assert Predictor.load(bundle.path).top_label.keys() == kept.keys()
    with pytest.raises(Exception, match="not multi-class heads"):
        tiny_run(corpus, class_offsets=["upsell"])
    with pytest.raises(Exception, match=r"top_label_calibration.*not multi-class heads"):
        tiny_run(corpus, top_label_calibration=["upsell"])


def test_a_run_trains_with_out_of_scope_contacts_and_says_so(corpus: dict[str, Path], tmp_path: Path) -> None:
    requests = [
        Contact(contact_id=f"oos-{i}", turns=[Turn(speaker="customer", text=f"what is the weather on day {i}")],
                metadata={OUT_OF_SCOPE: True})
        for i in range(12)
    ]  # fmt: skip
    write_contacts(requests, tmp_path / "oos.jsonl")
    run = tiny_run(corpus, epochs=1, out_of_scope_weight=1.0)
    run.data.train = [*run.data.train, str(tmp_path / "oos.jsonl")]
    bundle = train_model(run, "tiny", root=tmp_path / "models")
    data = json.loads((bundle.path / "data.json").read_text())
    assert data["outlier_exposure"]["weight"] == 1.0 and 0 < data["outlier_exposure"]["contacts"] <= len(requests)
    assert "outlier exposure: " in (bundle.path / "README.md").read_text()
    with pytest.raises(Exception, match="out_of_scope_weight must be >= 0"):
        tiny_run(corpus, out_of_scope_weight=-1.0)


def test_set_overrides_any_config_key_and_names_a_malformed_one() -> None:
    from dispo.errors import ConfigError

    sections = RunConfig.parse_settings(
        ["training.epochs=3", "training.learning_rate=1e-4", "model.max_turns=12", "data.labels=[agent, labels]"]
    )
    assert sections == {"training": {"epochs": 3, "learning_rate": 1e-4}, "model": {"max_turns": 12},
                        "data": {"labels": ["agent", "labels"]}}  # fmt: skip
    run = RunConfig.from_sections({"data": {"train": ["x.jsonl"]}}, **sections)
    assert (run.training.epochs, run.model.max_turns) == (3, 12)
    for bad in ("epochs=3", "training.epochs", "optimizer.lr=1"):
        with pytest.raises(ConfigError, match=r"expected section\.key=value"):
            RunConfig.parse_settings([bad])
