"""Fast inference variants: ONNX export, int8, the agreement record, and backend selection."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
import torch

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from dispo.contact import Contact
from dispo.io import write_contacts
from dispo.model import export as export_module
from dispo.model.export import ExportError, export_bundle, prepare_batches
from dispo.model.predictor import Predictor
from dispo.model.runtime import (
    RUNTIME_FILE,
    OnnxEncoder,
    RuntimeVariantError,
    TorchEncoder,
    TorchInt8Encoder,
    TurnEncoderBackend,
    load_encoder_backend,
)
from tests.factories import make_tiny_base_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Contact]]:
    """A tiny model trained one epoch (a bundle folder) and evaluation contacts it never saw."""
    from training.config import RunConfig
    from training.corpus.builder import CorpusConfig, build_contacts
    from training.pipeline import train_model

    root = tmp_path_factory.mktemp("export")
    contacts = build_contacts(CorpusConfig(n_contacts=76, seed=5))
    train, evaluation = contacts[:60], contacts[60:]
    write_contacts(train, root / "train.jsonl")
    base = make_tiny_base_model(root / "base", [t.text for c in contacts for t in c.turns])
    run = RunConfig.from_sections(
        {
            "data": {"train": [str(root / "train.jsonl")]},
            "model": {"base_model": str(base), "max_turn_tokens": 32, "token_budget": 128, "max_turns": 8},
            "training": {"epochs": 1, "batch_size": 8, "baseline": False, "threads": 1},
        }
    )
    bundle = train_model(run, "tiny", root=root / "models", redact=False)
    return bundle.path, evaluation


@pytest.fixture
def bundle(trained: tuple[Path, list[Contact]], tmp_path: Path) -> Path:
    """A private copy of the trained bundle, so each test starts without runtime files."""
    copy = tmp_path / "models" / "tiny" / "v1"
    shutil.copytree(trained[0], copy)
    return copy


@pytest.fixture
def evaluation(trained: tuple[Path, list[Contact]]) -> list[Contact]:
    return trained[1]


def test_export_writes_variants_and_record(
    bundle: Path, evaluation: list[Contact], caplog: pytest.LogCaptureFixture
) -> None:
    root, level = logging.getLogger(), logging.getLogger().level
    root.setLevel(logging.INFO)
    try:
        with caplog.at_level(logging.INFO):
            record = export_bundle(bundle, evaluation, batch_size=8)
        assert "Quantization parameters for tensor" not in caplog.text  # one line per tensor: noise
        assert root.level == logging.INFO
    finally:
        root.setLevel(level)

    assert (bundle / "encoder.onnx").is_file()
    assert (bundle / "encoder.int8.onnx").is_file()
    on_disk = json.loads((bundle / RUNTIME_FILE).read_text(encoding="utf-8"))
    assert on_disk == json.loads(json.dumps(record))
    assert set(on_disk["variants"]) == {"onnx_fp32", "onnx_int8", "torch_int8"}
    assert on_disk["evaluation"]["n_contacts"] == len(evaluation)
    assert on_disk["reference"]["contacts_per_s"] > 0 and on_disk["reference"]["segment_latency_ms"] > 0
    for name, entry in on_disk["variants"].items():
        assert set(entry["agreement"]) == {"reason", "outcome", "sentiment", "upsell"}, name
        assert entry["contacts_per_s"] > 0 and entry["segment_latency_ms"] > 0
        assert entry["usable"] == all(a >= 0.995 for a in entry["agreement"].values())
    # Nothing else changed in the version folder, and no staging folder was left behind.
    assert not [p for p in bundle.parent.iterdir() if p.name.startswith(".export-")]
    assert not [p for p in bundle.iterdir() if p.name.endswith(".tmp")]


def test_onnx_fp32_agrees_with_torch(bundle: Path, evaluation: list[Contact]) -> None:
    record = export_bundle(bundle, evaluation, batch_size=8, variants=("onnx_fp32",))
    entry = record["variants"]["onnx_fp32"]
    assert entry["usable"]
    assert all(a == 1.0 for a in entry["agreement"].values())
    assert entry["max_abs_turn_vector_diff"] < 1e-4

    predictor = Predictor.load(bundle)
    backend = load_encoder_backend(bundle, predictor.model, prefer="onnx_fp32")
    assert isinstance(backend, OnnxEncoder)
    # Other shapes than the ones traced: dynamic turns and tokens axes.
    for batch in prepare_batches(predictor.featurizer, evaluation, batch_size=5)[:3]:
        expected = predictor.model.encode_turns(batch.input_ids, batch.attention_mask).detach()
        got = backend.encode(batch.input_ids, batch.attention_mask)
        assert got.shape == expected.shape
        torch.testing.assert_close(got, expected, atol=1e-4, rtol=0)
    # One turn without padding, one token: shapes the traced example never had.
    for ids in (torch.tensor([[2, 7, 9, 11, 3]]), torch.tensor([[2]])):
        mask = torch.ones_like(ids)
        expected = predictor.model.encode_turns(ids, mask).detach()
        torch.testing.assert_close(backend.encode(ids, mask), expected, atol=1e-4, rtol=0)


def test_torch_int8_backend_quantizes_a_copy(bundle: Path) -> None:
    model = Predictor.load(bundle).model
    backend = TorchInt8Encoder(model)

    def quantized(module: torch.nn.Module) -> int:
        return sum(type(m).__module__.startswith("torch.ao.nn.quantized") for m in module.modules())

    assert quantized(backend.model.encoder) > 0
    assert quantized(model) == 0  # the model it came from keeps its fp32 encoder
    ids = torch.tensor([[2, 7, 9, 3, 0], [2, 8, 3, 0, 0]])
    mask = (ids != 0).long()
    assert backend.encode(ids, mask).shape == (2, model.hidden_size)


class _Noisy:
    """A deliberately broken variant: the real one plus large noise."""

    def __init__(self, inner: TurnEncoderBackend) -> None:
        self.inner = inner
        self.name = inner.name

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        vectors = self.inner.encode(input_ids, attention_mask)
        return vectors + torch.randn(vectors.shape, generator=torch.Generator().manual_seed(0)) * 5.0


def test_broken_variant_is_unusable_and_auto_falls_back(
    bundle: Path, evaluation: list[Contact], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = export_module.make_backend

    def broken(name: str, *args: object, **kwargs: object) -> TurnEncoderBackend:
        backend = real(name, *args, **kwargs)  # type: ignore[arg-type]
        return backend if name == "torch" else _Noisy(backend)

    monkeypatch.setattr(export_module, "make_backend", broken)
    record = export_bundle(bundle, evaluation, batch_size=8)
    for name, entry in record["variants"].items():
        assert not entry["usable"], name
        assert min(entry["agreement"].values()) < 0.995

    model = Predictor.load(bundle).model
    assert isinstance(load_encoder_backend(bundle, model, prefer="auto"), TorchEncoder)
    with pytest.raises(RuntimeVariantError, match="unusable"):
        load_encoder_backend(bundle, model, prefer="onnx_int8")


def test_auto_picks_the_fastest_usable_variant(bundle: Path, evaluation: list[Contact]) -> None:
    export_bundle(bundle, evaluation, batch_size=8, variants=("onnx_fp32", "torch_int8"))
    record = json.loads((bundle / RUNTIME_FILE).read_text(encoding="utf-8"))
    record["reference"]["contacts_per_s"] = 1.0
    record["variants"]["onnx_fp32"].update(usable=True, contacts_per_s=50.0)
    record["variants"]["torch_int8"].update(usable=True, contacts_per_s=100.0)
    (bundle / RUNTIME_FILE).write_text(json.dumps(record), encoding="utf-8")
    model = Predictor.load(bundle).model
    assert isinstance(load_encoder_backend(bundle, model), TorchInt8Encoder)

    record["variants"]["torch_int8"]["usable"] = False
    (bundle / RUNTIME_FILE).write_text(json.dumps(record), encoding="utf-8")
    assert isinstance(load_encoder_backend(bundle, model), OnnxEncoder)

    (bundle / "encoder.onnx").write_bytes(b"tampered")
    assert isinstance(load_encoder_backend(bundle, model), TorchEncoder)
    with pytest.raises(RuntimeVariantError, match="changed"):
        load_encoder_backend(bundle, model, prefer="onnx_fp32")


def test_auto_for_latency_ranks_by_one_segment_not_by_batch_throughput(bundle: Path, evaluation: list[Contact]) -> None:
    export_bundle(bundle, evaluation, batch_size=8, variants=("onnx_fp32", "torch_int8"))
    record = json.loads((bundle / RUNTIME_FILE).read_text(encoding="utf-8"))
    # As measured on 2 cores: ONNX fp32 no faster in batches, much faster on one short segment.
    record["reference"].update(contacts_per_s=20.0, segment_latency_ms=13.0)
    record["variants"]["onnx_fp32"].update(usable=True, contacts_per_s=19.9, segment_latency_ms=5.0)
    record["variants"]["torch_int8"].update(usable=False)
    (bundle / RUNTIME_FILE).write_text(json.dumps(record), encoding="utf-8")
    model = Predictor.load(bundle).model
    assert isinstance(load_encoder_backend(bundle, model), TorchEncoder)
    assert isinstance(load_encoder_backend(bundle, model, objective="latency"), OnnxEncoder)
    # A record from before latency was measured: latency falls back to throughput.
    del record["reference"]["segment_latency_ms"]
    (bundle / RUNTIME_FILE).write_text(json.dumps(record), encoding="utf-8")
    assert isinstance(load_encoder_backend(bundle, model, objective="latency"), TorchEncoder)
    with pytest.raises(RuntimeVariantError, match="objective"):
        load_encoder_backend(bundle, model, objective="fastest")


def test_missing_variants_raise(bundle: Path, evaluation: list[Contact]) -> None:
    model = Predictor.load(bundle).model
    assert isinstance(load_encoder_backend(bundle, model), TorchEncoder)  # never exported: torch
    assert isinstance(load_encoder_backend(bundle, model, prefer="torch"), TorchEncoder)
    with pytest.raises(RuntimeVariantError, match="never exported"):
        load_encoder_backend(bundle, model, prefer="onnx_int8")
    with pytest.raises(RuntimeVariantError, match="unknown inference backend"):
        load_encoder_backend(bundle, model, prefer="tensorrt")

    export_bundle(bundle, evaluation, batch_size=8, variants=("onnx_fp32",))
    with pytest.raises(RuntimeVariantError, match="no record"):
        load_encoder_backend(bundle, model, prefer="onnx_int8")
    (bundle / "encoder.onnx").unlink()
    with pytest.raises(RuntimeVariantError, match="missing"):
        load_encoder_backend(bundle, model, prefer="onnx_fp32")


def test_existing_record_is_not_replaced_without_force(bundle: Path, evaluation: list[Contact]) -> None:
    export_bundle(bundle, evaluation[:8], batch_size=8, variants=("torch_int8",))
    before = (bundle / RUNTIME_FILE).read_text(encoding="utf-8")
    with pytest.raises(ExportError, match="exists"):
        export_bundle(bundle, evaluation, batch_size=8)
    assert (bundle / RUNTIME_FILE).read_text(encoding="utf-8") == before
    record = export_bundle(bundle, evaluation, batch_size=8, variants=("torch_int8",), force=True)
    assert record["evaluation"]["n_contacts"] == len(evaluation)


def test_stale_record_is_ignored(bundle: Path, evaluation: list[Contact]) -> None:
    export_bundle(bundle, evaluation, batch_size=8, variants=("onnx_fp32",))
    record = json.loads((bundle / RUNTIME_FILE).read_text(encoding="utf-8"))
    record["weights_sha256"] = "0" * 64
    (bundle / RUNTIME_FILE).write_text(json.dumps(record), encoding="utf-8")
    model = Predictor.load(bundle).model
    assert isinstance(load_encoder_backend(bundle, model), TorchEncoder)
    with pytest.raises(RuntimeVariantError, match="other weights"):
        load_encoder_backend(bundle, model, prefer="onnx_fp32")


def test_export_cli(bundle: Path, evaluation: list[Contact], tmp_path: Path) -> None:
    import argparse

    from training.export_cli import register_export

    data = tmp_path / "eval.jsonl"
    write_contacts(evaluation, data)
    parser = argparse.ArgumentParser(prog="dispo")
    register_export(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(
        ["export", "tiny:v1", "--data", str(data), "--models-dir", str(tmp_path / "models"), "--variants", "onnx_int8"]
    )
    assert args.handler(args) == 0
    record = json.loads((bundle / RUNTIME_FILE).read_text(encoding="utf-8"))
    assert set(record["variants"]) == {"onnx_int8"}
    assert (bundle / "encoder.int8.onnx").is_file()
    assert not (bundle / "encoder.onnx").exists()
