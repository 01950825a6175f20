"""Turn-encoder backends: the expensive half of the model run by PyTorch, ONNX Runtime or int8.

Only the turn encoder (encoder + mean pooling, :meth:`DispoModel.encode_turns`) has fast
variants; the contact encoder and heads are cheap and stay in PyTorch. A variant is derived
from a bundle by ``dispo export`` (see :mod:`dispo.model.export`), which records in ``runtime.json``
how far its predictions agree with the PyTorch fp32 model on evaluation contacts and how fast
it ran. A variant is used only when that record says it is usable (argmax agreement at least
99.5% on every task): quantization can flip predictions of a weakly trained model, so it is
checked on real data, never assumed.

``onnxruntime`` is imported only when an ONNX variant is loaded.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from dispo.errors import ConfigError
from dispo.model.bundle import RUNTIME_FILE, WEIGHTS_FILE
from dispo.model.modeling import DispoModel

logger = logging.getLogger(__name__)

RUNTIME_FORMAT = 1
ONNX_FILES: dict[str, str] = {"onnx_fp32": "encoder.onnx", "onnx_int8": "encoder.int8.onnx"}
VARIANTS: tuple[str, ...] = ("onnx_fp32", "onnx_int8", "torch_int8")
BACKENDS: tuple[str, ...] = ("torch", *VARIANTS)
OBJECTIVES: tuple[str, ...] = ("throughput", "latency")
ONNX_INPUTS: tuple[str, str] = ("input_ids", "attention_mask")
ONNX_OUTPUT = "turn_vectors"
# int8 weights with one scale per output channel (both ONNX Runtime and torch variants).
INT8_PER_CHANNEL = True


class RuntimeVariantError(ConfigError):
    """An inference variant was asked for that the bundle does not have, or that is not usable."""


class TurnEncoderBackend(Protocol):
    """Encodes turns: ``[T, L]`` token ids and mask -> ``[T, H]`` float32 turn vectors."""

    name: str

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor: ...


class TorchEncoder:
    """The reference: the model's own fp32 encoder."""

    name = "torch"

    def __init__(self, model: DispoModel) -> None:
        self.model = model.eval()

    @torch.inference_mode()
    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model.encode_turns(input_ids, attention_mask)


class TorchInt8Encoder:
    """PyTorch dynamic quantization: the encoder's ``nn.Linear`` weights in qint8, activations
    quantized on the fly. Works on a copy, so the model it came from keeps its fp32 encoder.

    Per-channel weight scales by default: on MiniLM they keep turn vectors much closer to fp32
    than one scale per tensor (mean cosine 0.948 vs 0.894 on built contacts)."""

    name = "torch_int8"

    def __init__(self, model: DispoModel, per_channel: bool = INT8_PER_CHANNEL) -> None:
        from torch.ao.quantization import default_dynamic_qconfig, per_channel_dynamic_qconfig

        quantized = copy.deepcopy(model).eval()
        qconfig = per_channel_dynamic_qconfig if per_channel else default_dynamic_qconfig
        with warnings.catch_warnings():
            # torch.ao.quantization is deprecated in favour of torchao, but still ships and works.
            warnings.simplefilter("ignore", category=DeprecationWarning)
            warnings.simplefilter("ignore", category=UserWarning)
            quantized.encoder = torch.ao.quantization.quantize_dynamic(
                quantized.encoder, {nn.Linear: qconfig}, dtype=torch.qint8
            )
        self.model = quantized

    @torch.inference_mode()
    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model.encode_turns(input_ids, attention_mask)


class OnnxEncoder:
    """An ONNX Runtime session over an exported turn encoder (fp32 or int8 file)."""

    def __init__(self, path: str | Path, name: str = "onnx_fp32", threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:  # pragma: no cover - declared dependency
            raise RuntimeVariantError(f"the {name} variant needs the onnxruntime package: {exc}") from exc
        self.name = name
        self.path = Path(path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only: the optimizer's notes are not news
        # No busy-waiting after a run: ORT's threads would spin on the cores that PyTorch needs
        # next (context layer, heads) and on the server's event loop, which doubled the p95 of
        # a live update on 2 cores.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        feeds = {
            ONNX_INPUTS[0]: input_ids.detach().cpu().numpy().astype(np.int64, copy=False),
            ONNX_INPUTS[1]: attention_mask.detach().cpu().numpy().astype(np.int64, copy=False),
        }
        (turn_vectors,) = self.session.run([ONNX_OUTPUT], feeds)
        return torch.from_numpy(np.asarray(turn_vectors, dtype=np.float32))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_runtime(bundle_path: str | Path) -> dict[str, Any] | None:
    """The bundle's ``runtime.json``, or None when it was never exported."""
    path = Path(bundle_path) / RUNTIME_FILE
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RuntimeVariantError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(record, dict) or not isinstance(record.get("variants"), dict):
        raise RuntimeVariantError(f"{path} has no 'variants' section")
    return record


def make_backend(
    name: str, bundle_path: str | Path | None, model: DispoModel, threads: int | None = None
) -> TurnEncoderBackend:
    """Build a backend without consulting ``runtime.json`` (export uses it to measure them)."""
    if name == "torch":
        return TorchEncoder(model)
    if name == "torch_int8":
        return TorchInt8Encoder(model)
    if name in ONNX_FILES:
        if bundle_path is None:
            raise RuntimeVariantError(f"the {name} variant needs a bundle folder holding {ONNX_FILES[name]}")
        return OnnxEncoder(Path(bundle_path) / ONNX_FILES[name], name, threads)
    raise RuntimeVariantError(f"unknown inference backend {name!r}; expected auto or one of {', '.join(BACKENDS)}")


def load_encoder_backend(
    bundle_path: str | Path,
    model: DispoModel,
    prefer: str = "auto",
    threads: int | None = None,
    objective: str = "throughput",
) -> TurnEncoderBackend:
    """The turn encoder to predict with.

    ``prefer="auto"``: the fastest variant that ``runtime.json`` records as usable (measured
    at export time; PyTorch fp32 when none is faster or the bundle was never exported).
    "Fastest" follows ``objective``: ``"throughput"`` (contacts a second in batches: batch
    labelling) or ``"latency"`` (one segment on its own: a live update, one contact per
    request). On 2 CPU cores ONNX fp32 encodes a batch as fast as PyTorch but one short segment
    about 2.5 times faster (per-call overhead), so the service and batch jobs may choose apart.
    ``"torch"``: always the fp32 model. Any other name: that variant, or
    :class:`RuntimeVariantError` when it is missing, recorded unusable, or its file changed
    since it was checked.
    """
    bundle = Path(bundle_path)
    if objective not in OBJECTIVES:
        raise RuntimeVariantError(f"unknown objective {objective!r}; expected one of {', '.join(OBJECTIVES)}")
    if prefer not in ("auto", *BACKENDS):
        raise RuntimeVariantError(
            f"unknown inference backend {prefer!r}; expected auto or one of {', '.join(BACKENDS)}"
        )
    if prefer == "torch":
        return TorchEncoder(model)
    record = read_runtime(bundle)
    if record is None:
        if prefer == "auto":
            return TorchEncoder(model)
        raise RuntimeVariantError(
            f"{bundle} has no {RUNTIME_FILE}: variant {prefer!r} was never exported (run `dispo export`)"
        )
    stale = _stale_reason(bundle, record)
    if stale and prefer == "auto":
        logger.warning("ignoring %s: %s", bundle / RUNTIME_FILE, stale)
        return TorchEncoder(model)
    if prefer == "auto":
        return _auto(bundle, model, record, threads, objective)
    problem = stale or _unusable_reason(bundle, record, prefer)
    if problem:
        raise RuntimeVariantError(f"cannot use inference variant {prefer!r} of {bundle}: {problem}")
    return make_backend(prefer, bundle, model, threads)


def _auto(
    bundle: Path, model: DispoModel, record: dict[str, Any], threads: int | None, objective: str
) -> TurnEncoderBackend:
    variants: dict[str, Any] = record["variants"]
    reference = record.get("reference", {})
    # Records written before latency was measured only know throughput.
    by_latency = objective == "latency" and reference.get("segment_latency_ms") is not None

    def speed(entry: dict[str, Any]) -> float:
        """Higher is faster, whatever the objective."""
        if by_latency:
            latency = entry.get("segment_latency_ms")
            return 1.0 / latency if latency else 0.0
        return float(entry.get("contacts_per_s", 0.0))

    candidates = []
    for name in VARIANTS:
        problem = _unusable_reason(bundle, record, name)
        if problem:
            logger.debug("variant %s of %s skipped: %s", name, bundle, problem)
            continue
        candidates.append((speed(variants[name]), name))
    measure = "latency" if by_latency else "throughput"
    if not candidates or max(candidates)[0] <= speed(reference):
        logger.info("inference backend: torch (no recorded usable variant has a better %s)", measure)
        return TorchEncoder(model)
    best, name = max(candidates)
    logger.info("inference backend: %s (best %s recorded at export: %.3g vs %.3g for torch)",
                name, measure, best, speed(reference))  # fmt: skip
    return make_backend(name, bundle, model, threads)


def _stale_reason(bundle: Path, record: dict[str, Any]) -> str | None:
    """Why the whole record does not apply to this bundle's weights, or None."""
    if record.get("format") != RUNTIME_FORMAT:
        return f"{RUNTIME_FILE} has format {record.get('format')!r}, this dispo reads {RUNTIME_FORMAT}"
    weights = bundle / WEIGHTS_FILE
    expected = record.get("weights_sha256")
    if expected and weights.is_file() and file_sha256(weights) != expected:
        return f"{RUNTIME_FILE} was recorded for other weights than {weights}"
    return None


def _unusable_reason(bundle: Path, record: dict[str, Any], name: str) -> str | None:
    """Why ``name`` must not be used, or None when it may."""
    entry = record["variants"].get(name)
    if not isinstance(entry, dict):
        return f"{RUNTIME_FILE} has no record of it (exported variants: {', '.join(record['variants']) or 'none'})"
    if not entry.get("usable", False):
        agreement = entry.get("agreement", {})
        return f"recorded unusable (argmax agreement {agreement}, needs >= {record.get('min_agreement')})"
    filename = ONNX_FILES.get(name)
    if filename is not None:
        path = bundle / filename
        if not path.is_file():
            return f"{path} is missing"
        if entry.get("sha256") and file_sha256(path) != entry["sha256"]:
            return f"{path} changed since its agreement was checked"
    return None


class SegmentCache:
    """A turn encoder that remembers the vectors of segments it has seen (by their token ids).

    Contact-center transcripts repeat themselves: greetings, verification questions, hold
    notices and closings are scripted ("Is there anything else I can help you with?"). A
    segment's vector depends on its tokens alone, so a repeated one need not be encoded again.
    The cache is bounded (least recently used entries go first) and belongs to one loaded
    model (a batch job's labeller, the service's predictor), never shared across models. It is
    not thread-safe: its owner calls it from one thread (the service's model thread).
    """

    def __init__(self, inner: TurnEncoderBackend, max_entries: int) -> None:
        self.inner = inner
        self.name = inner.name
        self.max_entries = max_entries
        self.vectors: OrderedDict[bytes, torch.Tensor] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        lengths = attention_mask.sum(dim=1).tolist()
        keys = [input_ids[i, : int(n)].numpy().tobytes() for i, n in enumerate(lengths)]
        missing = [i for i, key in enumerate(keys) if key not in self.vectors]
        self.misses += len(missing)
        self.hits += len(keys) - len(missing)
        if missing:
            index = torch.tensor(missing)
            fresh = self.inner.encode(input_ids[index], attention_mask[index])
            for row, i in enumerate(missing):
                self.vectors[keys[i]] = fresh[row].clone()
        out = torch.stack([self.vectors[key] for key in keys])
        for key in keys:
            self.vectors.move_to_end(key)
        while len(self.vectors) > self.max_entries:
            self.vectors.popitem(last=False)
        return out

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0
