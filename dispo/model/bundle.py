"""Model bundles and the registry: ``models/NAME/VERSION/`` folders that describe themselves.

A bundle holds everything needed to predict and to know what was trained: the model and
training configs, ordered label maps, the taxonomy, weights (safetensors), the encoder config
and tokenizer, the segment-salience scorer, the scikit-learn baseline, calibration temperatures, metrics, a hash of the
training data, and a model card. Versions are written to a temporary folder and renamed into
place, so a version exists whole or not at all, and an existing version is never overwritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dispo.errors import ConfigError, NotFoundError

if TYPE_CHECKING:
    import torch

MODELS_DIR_ENV = "DISPO_MODELS_DIR"
PROMOTED_FILE = "PROMOTED"  # in models/NAME/: the version served by default
# The files of a bundle (models/NAME/VERSION/), named here and nowhere else.
MANIFEST_FILE = "bundle.json"  # name, version, creation time, dispo version, the list of files
MODEL_CONFIG_FILE = "model_config.json"  # the network's sizes and reading budget (dispo.model.modeling)
RUN_CONFIG_FILE = "run_config.json"  # the whole training run, reproducible with `dispo train`
LABELS_FILE = "labels.json"  # task -> labels in head order
TAXONOMY_FILE = "taxonomy.yaml"
WEIGHTS_FILE = "model.safetensors"  # compact: without the tensors equal to the base encoder's
ENCODER_DIR = "encoder"  # the encoder's config (its weights are in WEIGHTS_FILE)
TOKENIZER_DIR = "tokenizer"
CALIBRATION_FILE = "calibration.json"  # temperature per task
BASELINE_FILE = "baseline.joblib"  # the TF-IDF + logistic regression baseline
BLEND_FILE = "blend.json"  # the baseline's weight per task (dispo.model.blend)
SALIENCE_FILE = "salience.joblib"  # the segment scorer of a model that selects by salience
RUNTIME_FILE = "runtime.json"  # exported inference variants (dispo.model.export)
METRICS_FILE = "metrics.json"
DATA_FILE = "data.json"  # training data: files, hash, label counts, sources
LABEL_ISSUES_FILE = "label_issues.jsonl"  # every judged agent code, most likely wrong first
AGENT_ACCURACY_FILE = "agent_accuracy.json"  # estimated agent accuracy per provider, agent and queue
MODEL_CARD_FILE = "README.md"
# Bundles pickle their scikit-learn parts with the module path of each class. These classes
# moved into dispo.model; bundles written before still name the old paths.
_PICKLED_MODULES = {"dispo.baseline": "dispo.model.baseline", "dispo.salience": "dispo.model.salience"}
ENCODER_PREFIX = "encoder."
# Metadata of a compact weights file: the tensors equal to the base encoder's are left out and
# read from the base model when the bundle is loaded.
BASE_MODEL_KEY = "dispo_base_model"
BASE_DIGEST_KEY = "dispo_base_sha256"
BASE_KEYS_KEY = "dispo_base_keys"  # JSON list of the tensors taken from the base encoder
# The precision a weights file stores its floating tensors in; loading returns them in float32.
STORED_DTYPE_KEY = "dispo_stored_dtype"
WEIGHT_DTYPES = ("float32", "float16")
_VERSION = re.compile(r"^v(\d+)$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class BundleNotFoundError(NotFoundError):
    """No model or version of that name in the registry."""


class BundleError(ConfigError):
    """A bundle is incomplete or inconsistent."""

    code = "bad_model_bundle"


def models_dir(override: str | Path | None = None) -> Path:
    return Path(override or os.environ.get(MODELS_DIR_ENV) or "models")


def _shipped_hint(name: str, root: Path | None) -> str:
    """Where the project ships ``name`` when that is not the registry searched (a command run outside
    the repository's root reads ./models)."""
    shipped = Path(__file__).resolve().parents[2] / "models"
    if (shipped / name).is_dir() and shipped != models_dir(root).resolve():
        return f", e.g. --models-dir {shipped}"
    return ""


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise BundleError(f"model name {name!r} must be letters, digits, '.', '_' or '-' (at most 64)")
    return name


def versions(name: str, root: Path | None = None) -> list[str]:
    folder = models_dir(root) / name
    if not folder.is_dir():
        return []
    found = [p.name for p in folder.iterdir() if p.is_dir() and _VERSION.match(p.name)]
    return sorted(found, key=lambda v: int(v[1:]))


def list_models(root: Path | None = None) -> dict[str, dict[str, Any]]:
    base = models_dir(root)
    if not base.is_dir():
        return {}
    out: dict[str, dict[str, Any]] = {}
    for folder in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
        found = versions(folder.name, root)
        if found:
            out[folder.name] = {"versions": found, "promoted": promoted_version(folder.name, root)}
    return out


def promoted_version(name: str, root: Path | None = None) -> str | None:
    marker = models_dir(root) / name / PROMOTED_FILE
    return marker.read_text(encoding="utf-8").strip() if marker.is_file() else None


def promote(name: str, version: str, root: Path | None = None) -> Path:
    """Make ``version`` the one serving loads for ``name``."""
    path = resolve(f"{name}:{version}", root)
    marker = models_dir(root) / name / PROMOTED_FILE
    tmp = marker.with_suffix(".tmp")
    tmp.write_text(path.name + "\n", encoding="utf-8")
    tmp.replace(marker)
    return path


def resolve(ref: str | Path, root: Path | None = None) -> Path:
    """``NAME[:VERSION]`` or a bundle folder path -> the bundle folder.

    Without a version: the promoted one, else the newest."""
    path = Path(ref)
    if (path / MANIFEST_FILE).is_file():
        return path
    name, _, version = str(ref).partition(":")
    check_name(name)
    available = versions(name, root)
    if not available:
        raise BundleNotFoundError(
            f"no model named {name!r} in {models_dir(root).resolve()} (see `dispo models list`; another registry is "
            f"given by --models-dir or {MODELS_DIR_ENV}{_shipped_hint(name, root)})"
        )
    chosen = version or promoted_version(name, root) or available[-1]
    if chosen.isdigit() and f"v{chosen}" in available:  # "dispo-default:13" is v13
        chosen = f"v{chosen}"
    if chosen not in available:
        raise BundleNotFoundError(f"model {name!r} has no version {chosen!r}; it has {', '.join(available)}")
    return models_dir(root) / name / chosen


@dataclass
class BundleWriter:
    """Write a new version of ``name``: files go into :attr:`path` (a temporary folder), and
    :meth:`commit` moves it to the next free version number."""

    name: str
    root: Path | None = None

    def __post_init__(self) -> None:
        check_name(self.name)
        self.parent = models_dir(self.root) / self.name
        self.parent.mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(prefix=".incoming-", dir=self.parent))

    def write_json(self, filename: str, payload: Any) -> Path:
        target = self.path / filename
        target.write_text(json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")
        return target

    def commit(self, stamp: Callable[[str, Path], None] | None = None) -> tuple[str, Path]:
        """Move the bundle into the next free version. ``stamp(version, folder)`` runs just before,
        so files that name their own version (manifest, model card) are right when it appears."""
        while True:
            existing = versions(self.name, self.root)
            version = f"v{int(existing[-1][1:]) + 1 if existing else 1}"
            final = self.parent / version
            if final.exists():
                continue
            if stamp is not None:
                stamp(version, self.path)
            if not (self.path / MANIFEST_FILE).is_file():
                raise BundleError("a bundle needs bundle.json before it is committed")
            try:
                # rename(2) onto a non-empty folder fails, so a version that appeared meanwhile
                # is never replaced: we just take the next number.
                self.path.rename(final)
            except OSError:
                continue
            return version, final

    def abort(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def read_json(bundle: Path, filename: str) -> Any:
    path = bundle / filename
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"bundle {bundle} is missing {filename}") from None


# ---------------------------------------------------------------------------------------------
# Weights: whole, or compact (only what differs from the base encoder)
# ---------------------------------------------------------------------------------------------
def base_encoder_state(base_model: str) -> dict[str, torch.Tensor]:
    """The pretrained encoder's tensors under the model's key names (``encoder.*``)."""
    import torch
    from transformers import AutoModel

    from dispo.model.modeling import resolve_base_model

    try:
        encoder = AutoModel.from_pretrained(resolve_base_model(base_model), dtype=torch.float32)
    except (OSError, ValueError) as exc:
        raise BundleError(f"cannot load the base encoder {base_model!r} that a compact bundle needs: {exc}") from None
    return {ENCODER_PREFIX + k: v.detach().contiguous() for k, v in encoder.state_dict().items()}


def _tensors_digest(state: dict[str, torch.Tensor], keys: list[str]) -> str:
    digest = hashlib.sha256()
    for key in sorted(keys):
        digest.update(key.encode("utf-8"))
        digest.update(state[key].detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _same_as_base(state: dict[str, torch.Tensor], base: dict[str, torch.Tensor]) -> list[str]:
    import torch

    return [k for k, v in state.items() if k in base and base[k].shape == v.shape and torch.equal(base[k], v)]


def _check_dtype(dtype: str) -> None:
    if dtype not in WEIGHT_DTYPES:
        raise ConfigError(f"weights dtype must be one of {WEIGHT_DTYPES}, got {dtype!r}")


def round_to_stored(model: torch.nn.Module, *, dtype: str, base_model: str | None = None) -> int:
    """Round the model's floating weights, in place, to the precision ``save_weights`` will store
    them in, so that calibration and evaluation see the weights the bundle will hold. With
    ``base_model``, tensors equal to the base encoder's are left exact (they are not stored).
    Returns how many tensors were rounded."""
    import torch

    _check_dtype(dtype)
    if dtype == "float32":
        return 0
    state = model.state_dict()
    exact: set[str] = set()
    if base_model is not None:  # compared on the CPU, where the base encoder is loaded
        exact = set(_same_as_base({k: v.detach().cpu() for k, v in state.items()}, base_encoder_state(base_model)))
    rounded = 0
    with torch.no_grad():
        for key, tensor in state.items():
            if key not in exact and tensor.is_floating_point():
                tensor.copy_(tensor.to(getattr(torch, dtype)).to(tensor.dtype))  # shares the parameter's storage
                if not torch.isfinite(tensor).all():
                    raise ConfigError(f"weights_dtype {dtype}: tensor {key} has values beyond its range; store float32")
                rounded += 1
    return rounded


def save_weights(
    state: dict[str, torch.Tensor], folder: Path, *, base_model: str | None = None, dtype: str = "float32"
) -> dict[str, Any]:
    """Write ``model.safetensors``. With ``base_model``, tensors equal to the pretrained encoder's
    are left out (a model with frozen lower layers then ships a fraction of its size); their
    digest is recorded, so loading on a different base encoder fails instead of predicting wrong.
    With ``dtype`` float16 the stored floating tensors take half the space; they must already be
    rounded to it (:func:`round_to_stored`), so that the file holds exactly the model evaluated."""
    import torch
    from safetensors.torch import save_file

    _check_dtype(dtype)
    state = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    metadata: dict[str, str] = {"format": "pt", STORED_DTYPE_KEY: dtype}
    kept = state
    if base_model is not None:
        base = base_encoder_state(base_model)
        same = _same_as_base(state, base)
        kept = {k: v for k, v in state.items() if k not in set(same)}
        metadata[BASE_MODEL_KEY] = base_model
        metadata[BASE_DIGEST_KEY] = _tensors_digest(base, same)
        metadata[BASE_KEYS_KEY] = json.dumps(sorted(same))
    if dtype != "float32":
        target = getattr(torch, dtype)
        lossy = [k for k, v in kept.items() if v.is_floating_point() and not torch.equal(v.to(target).to(v.dtype), v)]
        if lossy:
            raise BundleError(
                f"{folder / WEIGHTS_FILE}: {len(lossy)} tensors (e.g. {lossy[0]}) are not rounded to {dtype}: "
                "round_to_stored first"
            )
        kept = {k: v.to(target) if v.is_floating_point() else v for k, v in kept.items()}
    save_file(kept, str(folder / WEIGHTS_FILE), metadata=metadata)
    return {"tensors": len(state), "stored": len(kept), "from_base": len(state) - len(kept),
            "compact": base_model is not None, "dtype": dtype}  # fmt: skip


def load_weights(folder: Path) -> dict[str, torch.Tensor]:
    """The bundle's whole state dict; a compact file is completed from its base encoder with
    exactly the tensors it left out, after checking that they are the ones it was saved against."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = folder / WEIGHTS_FILE
    if not path.is_file():
        raise BundleError(f"bundle {folder} is missing {WEIGHTS_FILE}")
    with safe_open(str(path), framework="pt") as fh:
        metadata = fh.metadata() or {}
    state = load_file(str(path))
    if metadata.get(STORED_DTYPE_KEY, "float32") != "float32":
        state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    base_model = metadata.get(BASE_MODEL_KEY)
    if base_model is None:
        return state
    base = base_encoder_state(base_model)
    # Files written before the list was recorded: every base tensor the file does not hold.
    missing = json.loads(metadata[BASE_KEYS_KEY]) if BASE_KEYS_KEY in metadata else [k for k in base if k not in state]
    absent = [k for k in missing if k not in base]
    if absent:
        raise BundleError(f"{path}: the base encoder {base_model!r} has no tensors {absent[:3]}")
    if _tensors_digest(base, missing) != metadata.get(BASE_DIGEST_KEY):
        raise BundleError(
            f"{path}: stores only what differs from the base encoder {base_model!r}, and the installed "
            "base encoder has other weights than the one it was trained on"
        )
    return {**{k: base[k] for k in missing}, **state}


def load_pickled(path: Path) -> Any:
    """A scikit-learn part of a bundle (baseline, salience scorer), from this or an older layout."""
    import importlib
    import sys

    import joblib

    for old, new in _PICKLED_MODULES.items():
        sys.modules.setdefault(old, importlib.import_module(new))
    return joblib.load(path)
