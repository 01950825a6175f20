"""Compact bundles: only the tensors that differ from the base encoder are stored."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import BertModel

from dispo.errors import ConfigError
from dispo.model.bundle import (
    WEIGHTS_FILE,
    BundleError,
    base_encoder_state,
    load_weights,
    round_to_stored,
    save_weights,
)
from dispo.model.modeling import DispoModel, ModelConfig
from tests.factories import make_tiny_base_model


@pytest.fixture()
def tiny_model(tmp_path: Path) -> tuple[DispoModel, Path]:
    base = make_tiny_base_model(tmp_path / "base", ["where is my parcel", "refund please"], layers=2)
    config = ModelConfig(base_model=str(base), label_sizes={"reason": 3, "upsell": 1}, freeze_encoder_layers=1)
    model = DispoModel.from_base(config)
    with torch.no_grad():  # training moved the top layer and the heads, not the frozen bottom
        for parameter in model.parameters():
            if parameter.requires_grad:
                parameter.add_(0.01)
    return model, base


def test_compact_file_keeps_only_what_differs_and_loads_whole(tiny_model: tuple[DispoModel, Path], tmp_path: Path):
    model, base = tiny_model
    state = model.state_dict()
    info = save_weights(state, tmp_path, base_model=str(base))
    stored = load_file(str(tmp_path / WEIGHTS_FILE))
    frozen = {k for k, p in model.named_parameters() if not p.requires_grad}
    assert frozen and not frozen & set(stored), "frozen encoder tensors equal the base and are left out"
    assert info["from_base"] >= len(frozen) and info["stored"] == len(stored)
    loaded = load_weights(tmp_path)
    assert set(loaded) == set(state)
    for key, value in state.items():
        assert torch.equal(loaded[key], value), key


def test_whole_file_is_unchanged_without_a_base(tiny_model: tuple[DispoModel, Path], tmp_path: Path):
    model, _ = tiny_model
    save_weights(model.state_dict(), tmp_path)
    assert set(load_file(str(tmp_path / WEIGHTS_FILE))) == set(model.state_dict())
    assert set(load_weights(tmp_path)) == set(model.state_dict())


def test_a_different_base_encoder_is_refused(tiny_model: tuple[DispoModel, Path], tmp_path: Path):
    model, base = tiny_model
    save_weights(model.state_dict(), tmp_path, base_model=str(base))
    other = BertModel.from_pretrained(base)
    with torch.no_grad():
        other.embeddings.word_embeddings.weight.mul_(2.0)
    other.save_pretrained(base)  # the base package changed under the bundle
    assert "encoder.embeddings.word_embeddings.weight" in base_encoder_state(str(base))
    with pytest.raises(BundleError, match="other weights than the one it was trained on"):
        load_weights(tmp_path)


def test_half_precision_stores_the_rounded_trained_tensors_and_loads_them_exactly(
    tiny_model: tuple[DispoModel, Path], tmp_path: Path
):
    model, base = tiny_model
    frozen = {k for k, p in model.named_parameters() if not p.requires_grad}
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(BundleError, match="not rounded to float16"):  # the file must hold the model evaluated
        save_weights(model.state_dict(), tmp_path, base_model=str(base), dtype="float16")
    rounded = round_to_stored(model, dtype="float16", base_model=str(base))
    after = model.state_dict()
    assert rounded == len(after) - len(frozen & set(after)) - sum(not v.is_floating_point() for v in after.values())
    assert all(torch.equal(after[k], before[k]) for k in frozen), "tensors taken from the base stay exact"
    changed = [k for k in after if not torch.equal(after[k], before[k])]
    assert changed and all(torch.allclose(after[k], before[k], rtol=1e-3, atol=1e-4) for k in changed)
    whole = tmp_path / "whole"
    whole.mkdir()
    save_weights(after, whole, base_model=str(base))
    info = save_weights(after, tmp_path, base_model=str(base), dtype="float16")
    assert info["dtype"] == "float16"
    stored = load_file(str(tmp_path / WEIGHTS_FILE))
    assert {v.dtype for v in stored.values() if v.is_floating_point()} == {torch.float16}
    assert (tmp_path / WEIGHTS_FILE).stat().st_size < 0.6 * (whole / WEIGHTS_FILE).stat().st_size
    loaded = load_weights(tmp_path)
    for key, value in after.items():
        assert loaded[key].dtype == value.dtype and torch.equal(loaded[key], value), key


def test_an_unknown_weights_dtype_is_refused(tiny_model: tuple[DispoModel, Path], tmp_path: Path):
    from training.config import TrainingConfig

    model, _ = tiny_model
    with pytest.raises(ConfigError, match="weights dtype"):
        round_to_stored(model, dtype="int8")
    with pytest.raises(ConfigError, match="weights_dtype"):
        TrainingConfig(weights_dtype="bfloat16")


def test_a_half_precision_bundle_trains_stores_and_predicts(tmp_path: Path):
    import json

    from dispo.io import read_contacts
    from dispo.model.predictor import Predictor
    from tests.factories import make_tiny_bundle

    bundle = make_tiny_bundle(tmp_path, name="half", compact=True, weights_dtype="float16")
    weights = json.loads((bundle / "data.json").read_text(encoding="utf-8"))["weights"]
    assert weights["dtype"] == "float16" and weights["compact"]
    stored = load_file(str(bundle / WEIGHTS_FILE))
    assert {v.dtype for v in stored.values() if v.is_floating_point()} == {torch.float16}
    predictor = Predictor.load(str(bundle))
    contacts = read_contacts(tmp_path / ".half-work" / "train.jsonl")[:3]
    predictions = predictor.predict(contacts)
    assert all(abs(sum(p.reason_probabilities.values()) - 1.0) < 1e-4 for p in predictions)
