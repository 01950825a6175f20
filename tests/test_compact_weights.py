"""Compact bundles: only the tensors that differ from the base encoder are stored."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import BertModel

from dispo.model.bundle import WEIGHTS_FILE, BundleError, base_encoder_state, load_weights, save_weights
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
