"""From the heads' scores to calibrated probabilities: temperature scaling, then, for a task that
has them, class offsets (the temperatures and offsets are fitted by training, see
``training/calibration.py``). Training's evaluation, the predictor and the export checks all use
these functions, so a probability means the same everywhere.

An offset is added to a label's log-probability before renormalising: a shift of the class
priors. Temperature scaling never changes which label wins; offsets do, which is their point when
the training mix's priors differ from real contacts' (a sentiment head trained on many neutral
comments reads real negative endings as neutral)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

BINARY_TASKS: tuple[str, ...] = ("upsell",)  # one logit (log-odds of True); the others a logit per label


def softmax(scores: np.ndarray, temperature: float = 1.0, offsets: np.ndarray | None = None) -> np.ndarray:
    scaled = scores / temperature if offsets is None else scores / temperature + offsets
    shifted = np.exp(scaled - scaled.max(axis=-1, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=-1, keepdims=True))


def sigmoid(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-scores / temperature)))


def task_probabilities(
    scores: Mapping[str, np.ndarray],
    temperatures: Mapping[str, float] | None = None,
    offsets: Mapping[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Per task: the probabilities of its scores (logits, or blended scores) at its temperature
    (1 where none is given), with its class offsets (one per label, in the labels' order) where given."""
    temperatures = temperatures or {}
    offsets = offsets or {}
    out: dict[str, np.ndarray] = {}
    for task, values in scores.items():
        if task in BINARY_TASKS:
            out[task] = sigmoid(values, temperatures.get(task, 1.0))
        else:
            out[task] = softmax(values, temperatures.get(task, 1.0), offsets.get(task))
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
