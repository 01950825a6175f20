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


def test_a_half_precision_bundle_is_calibrated_on_the_weights_it_stores(tmp_path: Path, monkeypatch):
    """The temperatures are fitted after rounding, and the loaded bundle is the model that was rounded."""
    import json

    import training.trainer as trainer_module
    from dispo.model.bundle import load_weights as load
    from tests.factories import make_tiny_bundle

    seen: dict[str, object] = {}
    load_best = trainer_module.Trainer._load_best
    fit_temperature = trainer_module.fit_temperature

    def remember(self):  # the trainer whose model the temperatures are fitted on
        load_best(self)
        seen["model"] = self.model

    def check(*args, **kwargs):  # the weights as they are when the temperatures are fitted
        seen["at_calibration"] = {k: v.detach().cpu().clone() for k, v in seen["model"].state_dict().items()}  # type: ignore[attr-defined]
        return fit_temperature(*args, **kwargs)

    monkeypatch.setattr(trainer_module.Trainer, "_load_best", remember)
    monkeypatch.setattr(trainer_module, "fit_temperature", check)
    bundle = make_tiny_bundle(tmp_path, name="half", compact=True, weights_dtype="float16", freeze_encoder_layers=1)
    base = base_encoder_state(json.loads((bundle / "model_config.json").read_text(encoding="utf-8"))["base_model"])
    at_calibration: dict[str, torch.Tensor] = seen["at_calibration"]  # type: ignore[assignment]
    left_exact = [k for k, v in at_calibration.items() if k in base and torch.equal(base[k], v)]
    rounded = [k for k, v in at_calibration.items() if k not in left_exact and v.is_floating_point()]
    assert left_exact and rounded
    assert all(torch.equal(at_calibration[k].half().float(), at_calibration[k]) for k in rounded)
    weights = json.loads((bundle / "data.json").read_text(encoding="utf-8"))["weights"]
    assert weights["dtype"] == "float16" and weights["compact"] and weights["from_base"] > 0
    stored = load_file(str(bundle / WEIGHTS_FILE))
    assert {v.dtype for v in stored.values() if v.is_floating_point()} == {torch.float16}
    model_state = seen["model"].state_dict()  # type: ignore[attr-defined]
    loaded = load(bundle)
    assert all(torch.equal(loaded[k], v.cpu()) for k, v in model_state.items())


def test_a_file_written_before_the_dtype_was_recorded_loads_as_float32(
    tiny_model: tuple[DispoModel, Path], tmp_path: Path
):
    from safetensors.torch import save_file

    model, _ = tiny_model
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(tmp_path / WEIGHTS_FILE), metadata={"format": "pt"})
    loaded = load_weights(tmp_path)
    assert all(loaded[k].dtype == v.dtype and torch.equal(loaded[k], v) for k, v in state.items())
