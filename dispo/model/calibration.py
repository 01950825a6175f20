"""From the heads' scores to calibrated probabilities: temperature scaling, then, for a task that
has them, class offsets, then a top-label map (all fitted by training, see
``training/calibration.py``). Training's evaluation, the predictor and the export checks all use
these functions, so a probability means the same everywhere.

An offset is added to a label's log-probability before renormalising: a shift of the class
priors. Temperature scaling never changes which label wins; offsets do, which is their point when
the training mix's priors differ from real contacts' (a sentiment head trained on many neutral
comments reads real negative endings as neutral).

A top-label map (:class:`TopLabelMap`) recalibrates only the winner's probability, by Platt scaling
of its log-odds, and shares the rest among the other labels in their proportions (top-label
calibration, Gupta & Ramdas 2022). One temperature scales every confidence alike; a blended reason
head can be over-confident at the top and under-confident in the middle, which a slope and an
intercept on the winner's log-odds correct. It never changes which label wins."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

BINARY_TASKS: tuple[str, ...] = ("upsell",)  # one logit (log-odds of True); the others a logit per label


def softmax(scores: np.ndarray, temperature: float = 1.0, offsets: np.ndarray | None = None) -> np.ndarray:
    scaled = scores / temperature if offsets is None else scores / temperature + offsets
    shifted = np.exp(scaled - scaled.max(axis=-1, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=-1, keepdims=True))


def sigmoid(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-scores / temperature)))


def log_odds(probabilities: np.ndarray) -> np.ndarray:
    clipped = np.clip(probabilities, 1e-12, 1.0 - 1e-12)
    return np.asarray(np.log(clipped) - np.log1p(-clipped))


@dataclass(frozen=True)
class TopLabelMap:
    """The winner's probability becomes ``sigmoid(slope * log_odds(p) + intercept)``; the other
    labels keep their proportions. Where the map would lower the winner below the runner-up, the
    winner is held just above it, so the predicted label never changes."""

    slope: float
    intercept: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.slope) and self.slope > 0 and math.isfinite(self.intercept)):
            raise ValueError(f"a top-label map needs a finite slope > 0 and a finite intercept, got {self}")

    def apply(self, probabilities: np.ndarray) -> np.ndarray:
        """Probabilities mapped: one contact's vector or a batch's rows; each still sums to one."""
        p = np.asarray(probabilities, dtype=float)
        if p.ndim == 1:
            return self.apply(p[None, :])[0]
        if p.shape[-1] < 2 or len(p) == 0:
            return p
        rows = np.arange(len(p))
        winner = p.argmax(axis=-1)
        top = p[rows, winner]
        others = p.copy()
        others[rows, winner] = 0.0
        rest = others.sum(axis=-1)
        # the losers' shares of what the winner leaves; even shares where they had nothing at all
        shares = np.divide(others, rest[:, None], out=np.full_like(p, 1.0 / (p.shape[-1] - 1)), where=rest[:, None] > 0)
        shares[rows, winner] = 0.0
        mapped = 1.0 / (1.0 + np.exp(-(self.slope * log_odds(top) + self.intercept)))
        # the winner stays ahead of the runner-up: mapped >= (1 - mapped) * its share
        runner_up = shares.max(axis=-1)
        mapped = np.clip(np.maximum(mapped, runner_up / (1.0 + runner_up) * (1.0 + 1e-9)), 0.0, 1.0)
        out = shares * (1.0 - mapped)[:, None]
        out[rows, winner] = mapped
        return out

    def to_dict(self) -> dict[str, float]:
        return {"slope": self.slope, "intercept": self.intercept}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> TopLabelMap:
        unknown = sorted(set(raw) - {"slope", "intercept"})
        if unknown or not {"slope", "intercept"} <= set(raw):
            raise ValueError(f"a top-label map has exactly 'slope' and 'intercept', got {sorted(raw)}")
        return cls(float(raw["slope"]), float(raw["intercept"]))


def task_probabilities(
    scores: Mapping[str, np.ndarray],
    temperatures: Mapping[str, float] | None = None,
    offsets: Mapping[str, np.ndarray] | None = None,
    top_label: Mapping[str, TopLabelMap] | None = None,
) -> dict[str, np.ndarray]:
    """Per task: the probabilities of its scores (logits, or blended scores) at its temperature
    (1 where none is given), with its class offsets (one per label, in the labels' order) and its
    top-label map where given."""
    temperatures = temperatures or {}
    offsets = offsets or {}
    top_label = top_label or {}
    out: dict[str, np.ndarray] = {}
    for task, values in scores.items():
        if task in BINARY_TASKS:
            out[task] = sigmoid(values, temperatures.get(task, 1.0))
            continue
        probabilities = softmax(values, temperatures.get(task, 1.0), offsets.get(task))
        mapping = top_label.get(task)
        out[task] = mapping.apply(probabilities) if mapping is not None else probabilities
    return out


def offset_vectors(
    offsets: Mapping[str, Mapping[str, float]], labels: Mapping[str, list[str]]
) -> dict[str, np.ndarray]:
    """``{task: {label: offset}}`` as one vector per task in the order of ``labels`` (0 for a label
    without one); an offset for a label the model does not have is an error, not ignored."""
    vectors: dict[str, np.ndarray] = {}
    for task, by_label in offsets.items():
        names = labels.get(task)
        unknown = sorted(set(by_label) - set(names or []))
        if names is None or unknown:
            raise ValueError(f"class offsets for {task}: labels {unknown or sorted(by_label)} are not the model's")
        vectors[task] = np.array([float(by_label.get(name, 0.0)) for name in names])
    return vectors
