"""Typed configuration of a training run: data, model (see :class:`dispo.model.modeling.ModelConfig`), training.

Every field is checked in ``__post_init__``. A run is configured from the CLI or from one
YAML/JSON file with the sections ``data``, ``model`` and ``training``.
"""

from __future__ import annotations

import json
import math
import re
import types
import typing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from dispo.errors import ConfigError
from dispo.model.blend import BLEND_TEXTS
from dispo.model.bundle import WEIGHT_DTYPES
from dispo.model.modeling import TASKS, ModelConfig
from training.labelsources import label_priority
from training.noise import check_method


@dataclass
class DataConfig:
    train: list[str]
    eval: str | None = None
    taxonomy: str | None = None
    validation_fraction: float = 0.1
    # A file whose contacts choose the epoch and the temperatures instead of a random
    # ``validation_fraction`` of ``train`` (e.g. the realistic dev half: decisions are made on
    # text the corpus builder did not write). Never trained on.
    validation: str | None = None
    # At most this many contacts (a seeded sample) from the named ``train`` files, so that a
    # large public set adds its kind of text to the mix without swamping it.
    sample_sizes: dict[str, int] = field(default_factory=dict)
    max_train_contacts: int | None = None
    # Audited contacts (`dispo audit export`): their audited reason and outcome win over the
    # labels the same contact has in `train`; audited contacts not in `train` are added.
    audits: list[str] = field(default_factory=list)
    # Where training labels come from, first wins per contact and task (training.labelsources):
    # "labels" (the contact's labels), "audit" (the files above), "agent" (the agents' codes).
    # Audits win wherever they exist unless the list places "audit" itself.
    labels: list[str] = field(default_factory=lambda: ["labels"])

    def __post_init__(self) -> None:
        if isinstance(self.train, str):
            self.train = [self.train]
        if isinstance(self.audits, str):
            self.audits = [self.audits]
        if isinstance(self.labels, str):
            self.labels = [s.strip() for s in self.labels.split(",")]
        # checked here (unknown or repeated sources fail fast), and in the run's own words (file is labels)
        self.labels = list(label_priority(self.labels, audits=False))
        if not self.train:
            raise ConfigError("DataConfig.train needs at least one file")
        if not 0.0 < self.validation_fraction < 0.5:
            raise ConfigError(f"DataConfig.validation_fraction must be in (0, 0.5), got {self.validation_fraction}")
        unknown = sorted(set(self.sample_sizes) - set(self.train))
        if unknown:
            raise ConfigError(f"DataConfig.sample_sizes names files that are not in train: {unknown}")
        bad = {k: v for k, v in self.sample_sizes.items() if not isinstance(v, int) or v <= 0}
        if bad:
            raise ConfigError(f"DataConfig.sample_sizes must be positive integers, got {bad}")
        if self.max_train_contacts is not None and self.max_train_contacts <= 0:
            raise ConfigError(f"DataConfig.max_train_contacts must be positive, got {self.max_train_contacts}")


@dataclass
class TrainingConfig:
    epochs: int = 4
    batch_size: int = 16
    learning_rate: float = 8e-5
    head_learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    max_grad_norm: float = 1.0
    patience: int = 2
    seed: int = 42
    threads: int | None = None
    max_minutes: float | None = None
    checkpoint_every_steps: int = 200
    task_weights: dict[str, float] = field(default_factory=dict)
    baseline: bool = True
    # Blend the baseline into the transformer's reason/outcome/upsell scores, with weights chosen
    # on the validation split (dispo/model/blend.py, training/blending.py). Needs ``baseline``.
    blend_baseline: bool = False
    # What the blended baseline reads: "selected" (the transformer's segments) or "whole" (every
    # turn: the evidence outside the encoder's token budget still counts on long calls).
    blend_text: str = "selected"
    # Vocabulary of each TF-IDF baseline task (word 1-2 grams): it sets the baseline's size in
    # the bundle (200,000: ~37 MB for the default model; 30,000: a fifth of it).
    baseline_max_features: int = 200_000
    label_smoothing: float = 0.0
    # Outlier exposure: contacts no reason fits (``metadata.out_of_scope`` true and no reason label,
    # e.g. CLINC150's out-of-scope requests) pull the reason head towards uniform, at this weight
    # (0: they train nothing, as any contact without a reason).
    out_of_scope_weight: float = 0.0
    eval_batch_size: int = 64
    device: str = "cpu"
    # Few-shot mode (training/contrastive.py): epochs of supervised contrastive tuning of the
    # whole encoder on the reasons before the heads (0 = off).
    contrastive_epochs: int = 0
    contrastive_learning_rate: float = 5e-5
    contrastive_batch_size: int = 64
    contrastive_temperature: float = 0.1
    # With the bottom layers frozen, compute their output once and train only the layers above.
    cache_frozen_layers: bool = True
    # "logistic": start the classification heads from a logistic-regression fit on their features
    # (inverse regularisation head_init_c, for features scaled to unit mean norm). With it,
    # epochs may be 0: the heads are the logistic fit.
    head_init: str = "random"
    head_init_c: float = 16.0
    # After the run has chosen its epochs and temperatures on the validation split, train again
    # on all contacts with those epochs and keep the temperatures. Meant for few-shot data, where
    # holding out one example in ten costs accuracy; it doubles the training time.
    refit_on_all: bool = False
    # Store only the tensors that differ from the base encoder (with frozen lower layers, a
    # fraction of the model); loading then reads the rest from the base model package.
    compact_weights: bool = False
    # The precision the stored weights keep: "float16" halves the file (e.g. more trained encoder
    # layers within the repository's size limit). The trained weights are rounded to it as soon
    # as the best epoch is loaded, so the temperatures, calibration and every figure measured
    # after training are those of the stored model.
    weights_dtype: str = "float32"
    # Agent codes as labels (training.noise): "none", "prune" (drop the codes confident learning
    # flags), "correct" (replace each by its posterior true label: training/noise_correction.py),
    # "correct-prune" (correct, then drop the flagged codes the correction kept), "auto" (per task,
    # whichever of these reads the trusted validation labels best), "forward" (keep the codes; the
    # fine-tune learns through cleanlab's noise matrix), "correct-soft" (correct; the fine-tune
    # learns each corrected code from its posterior) or "correct-refine" (correct; after each epoch
    # but the last the fine-tune relabels them by the posterior and its own reading). Only labels whose
    # source is "agent" are judged or changed, with `label_noise_folds` out-of-fold fits.
    label_noise: str = "none"
    label_noise_folds: int = 5
    # Heads whose class priors are shifted for macro-F1 on the validation split after the
    # temperatures (training/calibration.py; a head of at most 3 labels, e.g. sentiment), kept only
    # when the shift also helps out of fold on that split.
    class_offsets: tuple[str, ...] = ()
    # Heads whose winning probability is recalibrated after the temperatures and offsets by a
    # top-label map fitted on the validation split (dispo/model/calibration.py), kept only when it
    # lowers both the ECE and the log-loss out of fold on that split.
    top_label_calibration: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_method(self.label_noise)
        self.class_offsets = tuple(self.class_offsets)
        self.top_label_calibration = tuple(self.top_label_calibration)
        for name in ("class_offsets", "top_label_calibration"):
            not_multiclass = [t for t in getattr(self, name) if t not in TASKS or t == "upsell"]
            if not_multiclass:
                raise ConfigError(f"TrainingConfig.{name}: {not_multiclass} are not multi-class heads of {TASKS}")
        if self.weights_dtype not in WEIGHT_DTYPES:
            raise ConfigError(
                f"TrainingConfig.weights_dtype must be one of {WEIGHT_DTYPES}, got {self.weights_dtype!r}"
            )
        if self.label_noise_folds < 2:
            raise ConfigError(f"TrainingConfig.label_noise_folds must be >= 2, got {self.label_noise_folds}")
        if not re.fullmatch(r"cpu|cuda(:\d+)?|mps", self.device):
            raise ConfigError(f"TrainingConfig.device must be cpu, cuda, cuda:N or mps, got {self.device!r}")
        if not (math.isfinite(self.out_of_scope_weight) and self.out_of_scope_weight >= 0):
            raise ConfigError(f"TrainingConfig.out_of_scope_weight must be >= 0, got {self.out_of_scope_weight}")
        if not 0.0 <= self.label_smoothing < 0.5:
            raise ConfigError(f"TrainingConfig.label_smoothing must be in [0, 0.5), got {self.label_smoothing}")
        if self.label_noise == "forward" and self.label_smoothing:
            raise ConfigError("TrainingConfig: label_noise 'forward' models the codes' noise itself; "
                              f"label_smoothing must be 0 with it, got {self.label_smoothing}")  # fmt: skip
        if self.head_init not in ("random", "logistic"):
            raise ConfigError(f"TrainingConfig.head_init must be 'random' or 'logistic', got {self.head_init!r}")
        if self.contrastive_epochs < 0:
            raise ConfigError(f"TrainingConfig.contrastive_epochs must be >= 0, got {self.contrastive_epochs}")
        if self.epochs < 0 or (self.epochs == 0 and self.head_init != "logistic"):
            raise ConfigError(
                f"TrainingConfig.epochs must be positive (0 only with head_init 'logistic'), got {self.epochs}"
            )
        if self.blend_text not in BLEND_TEXTS:
            raise ConfigError(f"TrainingConfig.blend_text must be 'selected' or 'whole', got {self.blend_text!r}")
        if self.blend_baseline and not self.baseline:
            raise ConfigError("TrainingConfig.blend_baseline needs baseline: true")
        if self.contrastive_temperature <= 0 or self.head_init_c <= 0:
            raise ConfigError("TrainingConfig.contrastive_temperature and head_init_c must be positive")
        for name in (
            "batch_size", "checkpoint_every_steps", "eval_batch_size", "contrastive_batch_size", "baseline_max_features"
        ):  # fmt: skip
            if getattr(self, name) <= 0:
                raise ConfigError(f"TrainingConfig.{name} must be positive, got {getattr(self, name)}")
        for name in ("learning_rate", "head_learning_rate", "contrastive_learning_rate"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ConfigError(f"TrainingConfig.{name} must be in (0, 1), got {getattr(self, name)}")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ConfigError(f"TrainingConfig.warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.patience < 0 or self.weight_decay < 0 or self.max_grad_norm <= 0:
            raise ConfigError("TrainingConfig: patience and weight_decay must be >= 0, max_grad_norm > 0")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise ConfigError(f"TrainingConfig.max_minutes must be positive, got {self.max_minutes}")
        unknown = set(self.task_weights) - set(TASKS)
        if unknown:
            raise ConfigError(f"TrainingConfig.task_weights has unknown tasks {sorted(unknown)}; expected {TASKS}")


@dataclass
class RunConfig:
    data: DataConfig
    model: ModelConfig
    training: TrainingConfig

    def to_dict(self) -> dict[str, Any]:
        return {"data": asdict(self.data), "model": self.model.to_dict(), "training": asdict(self.training)}

    @staticmethod
    def parse_settings(items: list[str]) -> dict[str, dict[str, Any]]:
        """``section.key=value`` items (the command line's ``--set``) as override sections; each value
        is read as YAML (``3``, ``1e-4``, ``true``, ``[a, b]``, or text)."""
        sections: dict[str, dict[str, Any]] = {}
        for item in items:
            key, equals, value = item.partition("=")
            section, dot, name = key.strip().partition(".")
            if not equals or not dot or not name or section not in ("data", "model", "training"):
                raise ConfigError(f"--set {item!r}: expected section.key=value with section data, model or training")
            try:  # JSON first: YAML 1.1 reads 1e-4 (no dot) as text
                parsed = json.loads(value)
            except ValueError:
                try:
                    parsed = yaml.safe_load(value)
                except yaml.YAMLError as exc:
                    raise ConfigError(f"--set {item!r}: the value is not valid YAML: {exc}") from None
            sections.setdefault(section, {})[name] = parsed
        return sections

    @classmethod
    def from_file(cls, path: str | Path, **overrides: dict[str, Any]) -> RunConfig:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected sections data, model, training")
        unknown = set(raw) - {"data", "model", "training"}
        if unknown:
            raise ConfigError(f"{path}: unknown sections {sorted(unknown)}; expected data, model, training")
        return cls.from_sections(raw, source=str(path), **overrides)

    @classmethod
    def from_sections(cls, raw: dict[str, Any], source: str = "<config>", **overrides: dict[str, Any]) -> RunConfig:
        sections: dict[str, Any] = {}
        for name, kind in (("data", DataConfig), ("model", ModelConfig), ("training", TrainingConfig)):
            values = dict(raw.get(name) or {})
            values.update({k: v for k, v in overrides.get(name, {}).items() if v is not None})
            known = {f.name for f in fields(kind)}
            unknown = set(values) - known
            if unknown:
                raise ConfigError(f"{source}: section {name!r} has unknown keys {sorted(unknown)}")
            hints = typing.get_type_hints(kind)
            for key, value in values.items():
                if isinstance(value, str) and (name, key) in TEXT_LISTS:
                    continue  # one file, or a comma-separated list the section splits
                if not _is_of_type(value, hints[key]):
                    expected = _describe_type(hints[key])
                    raise ConfigError(f"{source}: section {name!r}, key {key!r}: expected {expected}, found {value!r}")
            try:
                sections[name] = kind(**values)
            except TypeError as exc:
                raise ConfigError(f"{source}: section {name!r}: {exc}") from None
        return cls(**sections)


#: The list fields whose section also takes one text (a file, or names separated by commas).
TEXT_LISTS = frozenset({("data", "train"), ("data", "audits"), ("data", "labels")})


def _is_of_type(value: Any, hint: Any) -> bool:
    """Whether a configured value fits its field's annotation, before the dataclass checks its range:
    ``--set model.max_turns=1.5`` or ``training.blend_baseline=maybe`` is refused, naming the key. A
    list stands for a tuple (YAML has no tuples), an integer for a float; annotations this does not
    model are left to ``__post_init__``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_is_of_type(value, arg) for arg in args)
    if hint is type(None):
        return value is None
    if origin is typing.Literal:
        return value in args
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin in (list, tuple):
        if not isinstance(value, list | tuple):
            return False
        item = args[0] if args and (origin is list or args[-1] is Ellipsis or len(args) == 1) else None
        if item is None and args:  # a fixed-length tuple
            return len(value) == len(args) and all(_is_of_type(v, a) for v, a in zip(value, args, strict=True))
        return item is None or all(_is_of_type(v, item) for v in value)
    if origin is dict:
        if not isinstance(value, dict):
            return False
        key, item = args if len(args) == 2 else (Any, Any)
        return all(_is_of_type(k, key) and _is_of_type(v, item) for k, v in value.items())
    return True


def _describe_type(hint: Any) -> str:
    names = {bool: "true or false", int: "an integer", float: "a number", str: "text", type(None): "nothing (null)"}
    if hint in names:
        return names[hint]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(_describe_type(arg) for arg in typing.get_args(hint))
    if typing.get_origin(hint) is typing.Literal:
        return "one of " + ", ".join(map(str, typing.get_args(hint)))
    return str(hint).replace("typing.", "")
