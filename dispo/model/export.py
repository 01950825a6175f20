"""Derive fast inference variants of a bundle's turn encoder and check them against PyTorch.

``export_bundle`` writes into an existing bundle folder:

- ``encoder.onnx``: the turn encoder (encoder + mean pooling) traced to ONNX with dynamic
  turns and tokens axes; the contact encoder and heads stay in PyTorch (they are cheap);
- ``encoder.int8.onnx``: the same with its weights quantized to int8 by ONNX Runtime's dynamic
  quantization;
- ``runtime.json``: for each variant (``onnx_fp32``, ``onnx_int8``, ``torch_int8``), its argmax
  agreement per task with the PyTorch fp32 model on the given evaluation contacts, the largest
  probability difference, its throughput on the same batches, and ``usable``: agreement at least
  ``min_agreement`` (99.5%) on every task. :func:`dispo.model.runtime.load_encoder_backend` uses only
  usable variants.

A version folder is otherwise never modified. These files are derived from its weights and
carry their own record, so they may be added later; each is written in a temporary folder beside
the bundle and renamed into place, ``runtime.json`` last (a variant without a record is never used), and an
existing ``runtime.json`` is replaced only with ``force=True``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import platform
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import dispo
from dispo.contact import Contact
from dispo.errors import ConfigError
from dispo.model.bundle import MANIFEST_FILE
from dispo.model.calibration import task_probabilities
from dispo.model.features import Featurizer
from dispo.model.modeling import DispoModel, TurnBatch
from dispo.model.runtime import (
    INT8_PER_CHANNEL,
    ONNX_FILES,
    ONNX_INPUTS,
    ONNX_OUTPUT,
    RUNTIME_FILE,
    RUNTIME_FORMAT,
    VARIANTS,
    WEIGHTS_FILE,
    TurnEncoderBackend,
    file_sha256,
    make_backend,
)

logger = logging.getLogger(__name__)

DEFAULT_MIN_AGREEMENT = 0.995
ONNX_OPSET = 17


class ExportError(ConfigError):
    """A bundle's inference variants cannot be exported or checked."""


class _TurnEncoderGraph(nn.Module):
    """What is traced: exactly :meth:`DispoModel.encode_turns`, nothing of the heads."""

    def __init__(self, model: DispoModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model.encode_turns(input_ids, attention_mask)


def export_onnx(model: DispoModel, path: str | Path, opset: int = ONNX_OPSET) -> Path:
    """Trace the turn encoder to ONNX (TorchScript exporter) with dynamic turns and tokens axes."""
    path = Path(path)
    model = model.eval()
    # The example must hold padding: tracing follows the Python branches the example takes, and
    # with an all-ones mask the encoder may skip building the attention mask altogether.
    input_ids = torch.full((3, 8), 1, dtype=torch.long)
    attention_mask = torch.ones((3, 8), dtype=torch.long)
    attention_mask[1, 5:] = 0
    attention_mask[2, 2:] = 0
    dynamic = {0: "turns", 1: "tokens"}
    with warnings.catch_warnings(), torch.no_grad():
        # The tracer warns about every Python branch it freezes; the agreement check is the test.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _TurnEncoderGraph(model),
            (input_ids, attention_mask),
            str(path),
            input_names=list(ONNX_INPUTS),
            output_names=[ONNX_OUTPUT],
            dynamic_axes={ONNX_INPUTS[0]: dynamic, ONNX_INPUTS[1]: dynamic, ONNX_OUTPUT: {0: "turns"}},
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )
    return path


def quantize_onnx(source: str | Path, target: str | Path, per_channel: bool = INT8_PER_CHANNEL) -> Path:
    """ONNX Runtime dynamic quantization: int8 weights (MatMul/Gemm), activations quantized at run time.

    Per-channel weight scales by default: on MiniLM they keep turn vectors far closer to fp32
    (mean cosine 0.984 vs 0.928 per tensor; ``reduce_range`` made it worse, 0.788)."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:  # pragma: no cover - declared dependency
        raise ExportError(f"int8 ONNX export needs the onnxruntime and onnx packages: {exc}") from exc
    root = logging.getLogger()
    level = root.level
    if level > logging.DEBUG:  # onnxruntime logs an INFO line per tensor it leaves alone, to the root logger
        root.setLevel(max(level, logging.WARNING))
    try:
        quantize_dynamic(Path(source), Path(target), weight_type=QuantType.QInt8, per_channel=per_channel)
    finally:
        root.setLevel(level)
    return Path(target)


def prepare_batches(featurizer: Featurizer, contacts: Sequence[Contact], batch_size: int) -> list[TurnBatch]:
    """Batches as :meth:`Predictor.logits` builds them (sorted by length), contacts in that order."""
    prepared = featurizer.prepare_many(contacts)
    order = sorted(range(len(prepared)), key=lambda i: sum(s.est_tokens for s in prepared[i].segments))
    return [
        featurizer.batch([prepared[i] for i in order[start : start + batch_size]])
        for start in range(0, len(order), batch_size)
    ]


def probabilities(logits: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """Uncalibrated probabilities: softmax per class task, sigmoid for upsell."""
    return task_probabilities({task: values.float().numpy() for task, values in logits.items()})


def decisions(task: str, probs: np.ndarray) -> np.ndarray:
    return probs >= 0.5 if task == "upsell" else probs.argmax(axis=-1)


def run_backend(
    model: DispoModel, backend: TurnEncoderBackend, batches: Sequence[TurnBatch]
) -> tuple[dict[str, np.ndarray], list[torch.Tensor], float]:
    """Probabilities per task over all batches, the turn vectors per batch, and the model seconds
    (tokenization excluded: it is the same for every backend). The first batch runs once more
    beforehand, untimed, so lazy initialisation does not count."""
    model.eval()
    if not batches:
        return {}, [], 0.0
    with torch.inference_mode():
        _forward(model, backend, batches[0])
        parts: dict[str, list[np.ndarray]] = {}
        vectors: list[torch.Tensor] = []
        started = time.perf_counter()
        for batch in batches:
            turn_vectors, logits = _forward(model, backend, batch)
            vectors.append(turn_vectors)
            for task, values in probabilities(logits).items():
                parts.setdefault(task, []).append(values)
        seconds = time.perf_counter() - started
    return {task: np.concatenate(values) for task, values in parts.items()}, vectors, seconds


# Segments timed one by one for the latency figure: what a live update encodes (one new turn).
LATENCY_SEGMENTS = 40


def segment_latency_ms(backend: TurnEncoderBackend, segments: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> float:
    """Median milliseconds to encode one segment on its own (after one untimed call). Small
    inputs are dominated by per-call overhead, so the ranking of backends can differ from their
    batch throughput: that is why both are recorded."""
    if not segments:
        return 0.0
    with torch.inference_mode():
        backend.encode(*segments[0])
        times = []
        for ids, mask in segments:
            started = time.perf_counter()
            backend.encode(ids, mask)
            times.append((time.perf_counter() - started) * 1000)
    return round(float(np.median(times)), 3)


def single_segments(batches: Sequence[TurnBatch], n: int = LATENCY_SEGMENTS) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Up to ``n`` segments of the evaluation batches, each unpadded on its own."""
    out = []
    for batch in batches:
        for row in range(batch.input_ids.shape[0]):
            length = int(batch.attention_mask[row].sum())
            if length:
                out.append((batch.input_ids[row : row + 1, :length], batch.attention_mask[row : row + 1, :length]))
            if len(out) >= n:
                return out
    return out


def _forward(
    model: DispoModel, backend: TurnEncoderBackend, batch: TurnBatch
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    turn_vectors = backend.encode(batch.input_ids, batch.attention_mask)
    output = model.read_batch(turn_vectors, batch)
    return turn_vectors, output.logits


def compare(
    reference: dict[str, np.ndarray],
    reference_vectors: Sequence[torch.Tensor],
    candidate: dict[str, np.ndarray],
    candidate_vectors: Sequence[torch.Tensor],
) -> dict[str, Any]:
    """Argmax agreement and largest probability difference per task, largest turn-vector difference."""
    agreement: dict[str, float] = {}
    max_diff: dict[str, float] = {}
    for task, expected in reference.items():
        got = candidate[task]
        agreement[task] = round(float(np.mean(decisions(task, expected) == decisions(task, got))), 6)
        max_diff[task] = float(np.max(np.abs(expected - got)))
    vector_diff = max(
        (float((a - b).abs().max()) for a, b in zip(reference_vectors, candidate_vectors, strict=True)), default=0.0
    )
    return {"agreement": agreement, "max_abs_prob_diff": max_diff, "max_abs_turn_vector_diff": vector_diff}


def export_bundle(
    bundle_path: str | Path,
    contacts: Sequence[Contact],
    *,
    batch_size: int = 32,
    threads: int | None = None,
    min_agreement: float = DEFAULT_MIN_AGREEMENT,
    variants: Sequence[str] = VARIANTS,
    force: bool = False,
) -> dict[str, Any]:
    """Export the bundle's turn encoder, check every variant against PyTorch fp32 on ``contacts``
    and write the files and ``runtime.json`` into the bundle folder. Returns the record.

    Throughput is contacts per second of model time at ``batch_size`` with ``threads`` threads
    (default: torch's current setting) on this machine; ``auto`` backend selection compares
    these numbers, so export on the kind of machine that serves.
    """
    from dispo.model.predictor import Predictor

    bundle = Path(bundle_path)
    runtime_path = bundle / RUNTIME_FILE
    if not (bundle / MANIFEST_FILE).is_file():
        raise ExportError(f"{bundle} is not a bundle folder (no bundle.json)")
    if runtime_path.exists() and not force:
        raise ExportError(f"{runtime_path} exists; bundles are not modified in place (use force=True / --force)")
    if not contacts:
        raise ExportError("export needs evaluation contacts to check the variants' agreement on")
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        raise ExportError(f"unknown variants {sorted(unknown)}; expected some of {', '.join(VARIANTS)}")
    if batch_size <= 0 or not 0.0 < min_agreement <= 1.0:
        raise ExportError("batch_size must be positive and min_agreement in (0, 1]")

    predictor = Predictor.load(bundle)
    model = predictor.model.eval()
    batches = prepare_batches(predictor.featurizer, contacts, batch_size)
    with _threads(threads), _staging(bundle) as staging:
        reference, reference_vectors, reference_seconds = run_backend(
            model, make_backend("torch", None, model), batches
        )
        reference_speed = len(contacts) / max(reference_seconds, 1e-9)
        segments = single_segments(batches)
        reference_latency = segment_latency_ms(make_backend("torch", None, model), segments)
        logger.info(
            "torch fp32: %.1f contacts/s on %d contacts, %.2f ms a segment",
            reference_speed, len(contacts), reference_latency,
        )  # fmt: skip
        results: dict[str, dict[str, Any]] = {}
        for name in variants:
            entry = _check_variant(name, model, staging, batches, reference, reference_vectors, min_agreement, segments)
            seconds = entry.pop("seconds", None)
            speed = len(contacts) / max(seconds, 1e-9) if seconds is not None else 0.0
            entry["contacts_per_s"] = round(speed, 2)
            entry["speedup"] = round(speed / reference_speed, 3)
            results[name] = entry
            _log_variant(name, entry)
        record = _record(bundle, contacts, batch_size, min_agreement, reference_speed, reference_latency, results)
        for name in variants:
            filename = ONNX_FILES.get(name)
            if filename and (staging / filename).is_file():
                (staging / filename).replace(bundle / filename)
        _write_record(runtime_path, record, force)
    logger.info("wrote %s", runtime_path)
    return record


def _check_variant(
    name: str,
    model: DispoModel,
    staging: Path,
    batches: Sequence[TurnBatch],
    reference: dict[str, np.ndarray],
    reference_vectors: Sequence[torch.Tensor],
    min_agreement: float,
    segments: Sequence[tuple[torch.Tensor, torch.Tensor]] = (),
) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    filename = ONNX_FILES.get(name)
    try:
        if name == "onnx_fp32" or (name == "onnx_int8" and not (staging / ONNX_FILES["onnx_fp32"]).is_file()):
            export_onnx(model, staging / ONNX_FILES["onnx_fp32"])
        if name == "onnx_int8":
            quantize_onnx(staging / ONNX_FILES["onnx_fp32"], staging / ONNX_FILES["onnx_int8"])
        backend = make_backend(name, staging, model, torch.get_num_threads())
        probs, vectors, seconds = run_backend(model, backend, batches)
        latency = segment_latency_ms(backend, segments)
    except Exception as exc:  # a variant that cannot be built is recorded unusable, not fatal
        logger.warning("variant %s failed: %s: %s", name, type(exc).__name__, exc)
        return {"usable": False, "error": f"{type(exc).__name__}: {exc}"}
    if filename:
        entry["file"] = filename
        entry["sha256"] = file_sha256(staging / filename)
    entry.update(compare(reference, reference_vectors, probs, vectors))
    entry["seconds"] = seconds
    entry["segment_latency_ms"] = latency
    entry["usable"] = all(value >= min_agreement for value in entry["agreement"].values())
    return entry


def _log_variant(name: str, entry: dict[str, Any]) -> None:
    if "error" in entry:
        logger.info("%s: unusable (%s)", name, entry["error"])
        return
    worst = min(entry["agreement"].values(), default=1.0)
    logger.info(
        "%s: %s, lowest agreement %.4f, max prob diff %.2g, %.1f contacts/s (%.2fx torch), %.2f ms a segment",
        name,
        "usable" if entry["usable"] else "UNUSABLE",
        worst,
        max(entry["max_abs_prob_diff"].values(), default=0.0),
        entry["contacts_per_s"],
        entry["speedup"],
        entry["segment_latency_ms"],
    )


def _record(
    bundle: Path,
    contacts: Sequence[Contact],
    batch_size: int,
    min_agreement: float,
    reference_speed: float,
    reference_latency: float,
    results: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    ids = hashlib.sha256("\n".join(c.contact_id for c in contacts).encode("utf-8")).hexdigest()
    weights = bundle / WEIGHTS_FILE
    return {
        "format": RUNTIME_FORMAT,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "min_agreement": min_agreement,
        "rule": "a variant is usable when its argmax agreement with torch fp32 is >= min_agreement on every task",
        "weights_sha256": file_sha256(weights) if weights.is_file() else None,
        "evaluation": {"n_contacts": len(contacts), "contact_ids_sha256": ids, "batch_size": batch_size},
        "measured": {
            "throughput": "contacts per second of model time (tokenization excluded), one pass after one warm-up batch",
            "segment_latency_ms": f"median ms to encode one segment alone, over {LATENCY_SEGMENTS} segments",
            "threads": torch.get_num_threads(),
            "machine": platform.machine(),
            "processor": platform.processor(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "onnxruntime": _version("onnxruntime"),
            "onnx": _version("onnx"),
            "dispo": dispo.__version__,
        },
        "quantization": {
            "onnx_int8": {
                "method": "onnxruntime quantize_dynamic",
                "weights": "QInt8",
                "per_channel": INT8_PER_CHANNEL,
            },
            "torch_int8": {"method": "torch dynamic nn.Linear", "weights": "qint8", "per_channel": INT8_PER_CHANNEL},
        },
        "reference": {
            "backend": "torch",
            "contacts_per_s": round(reference_speed, 2),
            "segment_latency_ms": reference_latency,
        },
        "variants": results,
    }


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def _write_record(path: Path, record: dict[str, Any], force: bool) -> None:
    """Write under a temporary name, then rename; without ``force``, a hard link that fails when
    the file appeared meanwhile, so a concurrent export never replaces a record silently."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(record, indent=2) + "\n")
        tmp.chmod(0o644)  # mkstemp creates 0600; the bundle's other files are world-readable
        if force:
            tmp.replace(path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise ExportError(f"{path} appeared during the export; not replacing it (use force)") from None
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def _staging(bundle: Path) -> Iterator[Path]:
    """A hidden temporary folder beside the bundle (same file system, so renames are atomic; the
    version folder itself only ever gains finished files)."""
    folder = Path(tempfile.mkdtemp(prefix=f".export-{bundle.name}-", dir=bundle.parent))
    try:
        yield folder
    finally:
        for child in folder.iterdir():
            child.unlink()
        folder.rmdir()


@contextlib.contextmanager
def _threads(threads: int | None) -> Iterator[None]:
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
