"""Classification metrics for every task: accuracy, macro-F1, top-k, calibration error."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 15) -> float:
    """ECE with equal-width confidence bins: the weighted gap between confidence and accuracy."""
    if len(confidence) == 0:
        return float("nan")
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for low, high in itertools.pairwise(edges):
        in_bin = (confidence > low) & (confidence <= high)
        if in_bin.any():
            ece += in_bin.mean() * abs(confidence[in_bin].mean() - correct[in_bin].mean())
    return float(ece)


def reliability_bins(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    edges = np.linspace(0.0, 1.0, bins + 1)
    out = []
    for low, high in itertools.pairwise(edges):
        in_bin = (confidence > low) & (confidence <= high)
        count = int(in_bin.sum())
        out.append(
            {
                "low": float(low),
                "high": float(high),
                "count": count,
                "confidence": float(confidence[in_bin].mean()) if count else float("nan"),
                "accuracy": float(correct[in_bin].mean()) if count else float("nan"),
            }
        )
    return out


def multiclass_metrics(
    probabilities: np.ndarray, targets: np.ndarray, labels: Sequence[str], top_k: int = 3
) -> dict[str, Any]:
    """Metrics over the examples whose target is known (``targets >= 0``)."""
    known = targets >= 0
    probabilities, targets = probabilities[known], targets[known]
    if len(targets) == 0:
        return {"n": 0}
    predicted = probabilities.argmax(axis=-1)
    present = sorted(set(targets.tolist()) | set(predicted.tolist()))
    confidence = probabilities.max(axis=-1)
    correct = (predicted == targets).astype(float)
    top = np.argsort(-probabilities, axis=-1)[:, :top_k]
    precision, recall, f1, support = precision_recall_fscore_support(
        targets, predicted, labels=list(range(len(labels))), zero_division=0
    )
    return {
        "n": len(targets),
        "accuracy": float(accuracy_score(targets, predicted)),
        "macro_f1": float(f1_score(targets, predicted, labels=present, average="macro", zero_division=0)),
        f"top{top_k}_accuracy": float((top == targets[:, None]).any(axis=1).mean()),
        "ece": expected_calibration_error(confidence, correct),
        "per_class": {
            labels[i]: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i in range(len(labels))
            if support[i] > 0 or i in present
        },
    }


def binary_metrics(probability: np.ndarray, targets: np.ndarray, threshold: float = 0.5) -> dict[str, Any]:
    known = targets >= 0
    probability, targets = probability[known], targets[known]
    if len(targets) == 0:
        return {"n": 0}
    predicted = (probability >= threshold).astype(int)
    precision, recall, f1, _ = precision_recall_fscore_support(
        targets, predicted, labels=[1], average=None, zero_division=0
    )
    confidence = np.where(predicted == 1, probability, 1 - probability)
    return {
        "n": len(targets),
        "accuracy": float(accuracy_score(targets, predicted)),
        "f1": float(f1[0]),
        "precision": float(precision[0]),
        "recall": float(recall[0]),
        "macro_f1": float(f1_score(targets, predicted, average="macro", zero_division=0)),
        "positive_rate": float(targets.mean()),
        "ece": expected_calibration_error(confidence, (predicted == targets).astype(float)),
    }


def selection_score(metrics: dict[str, dict[str, Any]]) -> float:
    """One number to pick the best epoch: mean macro-F1 (F1 for upsell) over tasks with labels."""
    scores = []
    for task, values in metrics.items():
        if values.get("n", 0) == 0:
            continue
        scores.append(values["f1"] if task == "upsell" else values["macro_f1"])
    return float(np.mean(scores)) if scores else 0.0
