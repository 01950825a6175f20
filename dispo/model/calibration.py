"""From the heads' scores to calibrated probabilities: temperature scaling (the temperatures are
fitted by training, see ``training/calibration.py``). Training's evaluation, the predictor and the
export checks all use these functions, so a probability means the same everywhere."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

BINARY_TASKS: tuple[str, ...] = ("upsell",)  # one logit (log-odds of True); the others a logit per label


def softmax(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    scaled = scores / temperature
    shifted = np.exp(scaled - scaled.max(axis=-1, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=-1, keepdims=True))


def sigmoid(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-scores / temperature)))


def task_probabilities(
    scores: Mapping[str, np.ndarray], temperatures: Mapping[str, float] | None = None
) -> dict[str, np.ndarray]:
    """Per task: the probabilities of its scores (logits, or blended scores) at its temperature
    (1 where none is given)."""
    temperatures = temperatures or {}
    return {
        task: (sigmoid if task in BINARY_TASKS else softmax)(values, temperatures.get(task, 1.0))
        for task, values in scores.items()
    }
