"""Choosing how much of the baseline to blend into the transformer (see :mod:`dispo.model.blend`).

On the validation split, for each blendable task, every weight of a small grid is scored by the
negative log-likelihood after its own temperature fit; the weight with the lowest wins (0, no
blend, when the baseline does not help). NLL rather than accuracy: on a few hundred validation
contacts it separates close weights where accuracy ties.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from dispo.contact import Contact
from dispo.model.baseline import BaselineModel
from dispo.model.blend import BLENDABLE_TASKS, BaselineBlend
from training.calibration import fit_temperature

logger = logging.getLogger(__name__)

WEIGHT_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass
class BlendChoice:
    weights: dict[str, float]  # only tasks with a weight above 0
    temperatures: dict[str, float]  # for every task: of the blended scores where blended
    nll: dict[str, dict[str, float]] = field(default_factory=dict)  # task -> weight -> validation NLL
    validation: dict[str, Any] = field(default_factory=dict)  # calibrated metrics of the blend
    scores: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # the blended validation scores


def negative_log_likelihood(scores: np.ndarray, targets: np.ndarray, temperature: float, binary: bool) -> float:
    known = targets >= 0
    x = torch.tensor(scores[known] / temperature, dtype=torch.float64)
    y = torch.tensor(targets[known])
    if binary:
        return float(torch.nn.functional.binary_cross_entropy_with_logits(x, y.double()))
    return float(torch.nn.functional.cross_entropy(x, y.long()))


def blend_from_scores(
    logits: Mapping[str, np.ndarray],
    baseline_scores: Mapping[str, np.ndarray],
    targets: Mapping[str, np.ndarray],
    *,
    baseline: BaselineModel,
    labels: Mapping[str, Sequence[str]],
) -> BlendChoice:
    """The weight search on scores already computed: the heads' ``logits`` on the validation split,
    the baseline's log-probabilities (``baseline_scores``, per blendable task) and the ``targets``
    (label indices, -1 where unknown). Every head gets a temperature, of its blended scores where it
    blends. ``validation`` is left for the caller to fill."""
    tasks = [t for t in BLENDABLE_TASKS if t in logits and t in baseline_scores and (targets[t] >= 0).sum() >= 2]
    weights: dict[str, float] = {}
    temperatures: dict[str, float] = {}
    nll: dict[str, dict[str, float]] = {}
    blended = dict(logits)
    for task, values in logits.items():
        binary = task == "upsell"
        if task not in tasks:
            temperatures[task] = fit_temperature(values, targets[task], binary=binary)
            continue
        nll[task] = {}
        best: tuple[float, float, float, np.ndarray] | None = None
        for weight in WEIGHT_GRID:
            scores = BaselineBlend(baseline, {task: weight}, labels).apply({task: values}, baseline_scores)[task]
            temperature = fit_temperature(scores, targets[task], binary=binary)
            loss = negative_log_likelihood(scores, targets[task], temperature, binary)
            nll[task][str(weight)] = round(loss, 5)
            if best is None or loss < best[0]:
                best = (loss, weight, temperature, scores)
        assert best is not None
        _, weight, temperatures[task], blended[task] = best
        if weight > 0:
            weights[task] = weight
    return BlendChoice(weights, temperatures, nll, scores=blended)


def choose_blend(
    trainer: Any, baseline: BaselineModel, validation: Sequence[Contact], *, text: str = "selected"
) -> BlendChoice:
    """``trainer``: a :class:`training.trainer.Trainer` holding its best weights; ``text``: what
    the baseline reads (see :data:`dispo.model.blend.BLEND_TEXTS`)."""
    encoded = trainer.encode(validation, "validation (blend)")
    logits: dict[str, np.ndarray] = trainer.predict_logits(encoded)
    targets = {task: values.numpy() for task, values in trainer.label_encoder.encode(validation).items()}
    tasks = [t for t in BLENDABLE_TASKS if t in logits and t in baseline.tasks_]
    prepared = trainer.featurizer.prepare_many(validation)
    probe = BaselineBlend(baseline, {t: 0.5 for t in tasks}, trainer.label_encoder.labels, text)
    baseline_scores = probe.baseline_log_probs(probe.texts(prepared))
    choice = blend_from_scores(logits, baseline_scores, targets, baseline=baseline, labels=trainer.label_encoder.labels)
    choice.validation = trainer.metrics(
        choice.scores, {t: torch.from_numpy(v) for t, v in targets.items()}, choice.temperatures
    )
    logger.info("blend with the baseline (chosen on validation NLL): %s", choice.weights or "none")
    return choice
