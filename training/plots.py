"""Pictures of an evaluation report: confusion matrices, reliability diagrams, breakdown bars.

Figures are built with the object-oriented API on an Agg canvas (no pyplot, no global state, no
display needed), so this is safe in servers, threads and CI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

MODEL_COLOR = "#1f77b4"
BASELINE_COLOR = "#ff7f0e"
UNCALIBRATED_COLOR = "#d62728"
DPI = 110
MAX_ANNOTATED_CLASSES = 25


def _save(figure: Figure, path: Path) -> Path:
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=DPI, format="png")
    return path


def confusion_matrix_png(matrix: np.ndarray, labels: Sequence[str], path: Path, title: str) -> Path:
    """Rows are gold labels, columns predicted ones; cells coloured by row share (recall), annotated
    with counts while the matrix stays readable."""
    n = len(labels)
    side = min(24.0, max(4.5, 0.32 * n + 2.5))
    figure = Figure(figsize=(side + 1.0, side), layout="constrained")
    axes = figure.add_subplot()
    totals = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, totals, out=np.zeros(matrix.shape, dtype=float), where=totals > 0)
    image = axes.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="share of gold row")
    font = 8 if n <= 12 else 6 if n <= MAX_ANNOTATED_CLASSES else 4
    axes.set_xticks(range(n), labels=list(labels), rotation=90, fontsize=font)
    axes.set_yticks(range(n), labels=list(labels), fontsize=font)
    axes.set_xlabel("predicted")
    axes.set_ylabel("gold")
    axes.set_title(title)
    if n <= MAX_ANNOTATED_CLASSES:
        for row in range(n):
            for column in range(n):
                count = int(matrix[row, column])
                if count:
                    color = "white" if share[row, column] > 0.5 else "black"
                    axes.text(column, row, str(count), ha="center", va="center", fontsize=font, color=color)
    return _save(figure, path)


def reliability_png(
    curves: Mapping[str, Sequence[Mapping[str, float]]], eces: Mapping[str, float], path: Path, title: str
) -> Path:
    """Reliability diagram: accuracy against mean confidence per bin, one line per curve
    (e.g. "uncalibrated" and "calibrated"), with the share of contacts per bin below."""
    figure = Figure(figsize=(6.0, 6.5), layout="constrained")
    top, bottom = figure.subplots(2, 1, height_ratios=[3, 1], sharex=True)
    top.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect calibration")
    colors = [UNCALIBRATED_COLOR, MODEL_COLOR, BASELINE_COLOR]
    width = 1.0 / max(1, len(curves)) * 0.09
    for number, (name, bins) in enumerate(curves.items()):
        color = colors[number % len(colors)]
        filled = [b for b in bins if b["count"]]
        ece = eces.get(name)
        label = f"{name} (ECE {ece:.3f})" if ece is not None and np.isfinite(ece) else name
        top.plot(
            [b["confidence"] for b in filled], [b["accuracy"] for b in filled], marker="o", color=color, label=label
        )
        total = sum(b["count"] for b in bins) or 1
        centers = np.array([(b["low"] + b["high"]) / 2 for b in bins]) + (number - (len(curves) - 1) / 2) * width
        bottom.bar(centers, [b["count"] / total for b in bins], width=width, color=color, alpha=0.7)
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_ylabel("accuracy")
    top.set_title(title)
    top.legend(loc="upper left", fontsize=8)
    bottom.set_xlabel("confidence of the predicted label")
    bottom.set_ylabel("share")
    return _save(figure, path)


def breakdown_png(groups: Mapping[str, Mapping[str, Any]], tasks: Sequence[str], path: Path, title: str) -> Path:
    """Grouped bars per task: macro-F1 of the model and of the baseline for each group, with the
    number of labelled contacts of the group under its name. ``groups[g]["tasks"][task]`` holds
    ``n`` and ``model``/``baseline`` metric dicts."""
    names = [g for g in groups if groups[g].get("n", 0) > 0]
    columns = max(1, len(tasks))
    figure = Figure(figsize=(4.2 * columns, 4.0), layout="constrained")
    axes_row = figure.subplots(1, columns, squeeze=False)[0]
    x = np.arange(len(names))
    for axes, task in zip(axes_row, tasks, strict=False):
        cells = [groups[g]["tasks"].get(task, {}) for g in names]
        model = [_metric(c.get("model")) for c in cells]
        baseline = [_metric(c.get("baseline")) for c in cells]
        axes.bar(x - 0.2, model, width=0.4, color=MODEL_COLOR, label="model")
        if any(v > 0 for v in baseline) or any(c.get("baseline") for c in cells):
            axes.bar(x + 0.2, baseline, width=0.4, color=BASELINE_COLOR, label="baseline")
        axes.set_xticks(x, labels=[f"{g}\nn={c.get('n', 0)}" for g, c in zip(names, cells, strict=True)], fontsize=7)
        axes.set_ylim(0, 1.05)
        axes.set_title(task)
        axes.set_ylabel("macro-F1")
    handles, names_shown = axes_row[0].get_legend_handles_labels()
    figure.legend(handles, names_shown, loc="outside upper right", ncols=2, fontsize=8)
    figure.suptitle(title)
    return _save(figure, path)


def _metric(values: Mapping[str, Any] | None) -> float:
    if not values:
        return 0.0
    value = values.get("macro_f1")
    return float(value) if isinstance(value, int | float) and np.isfinite(value) else 0.0
