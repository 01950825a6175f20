"""Blending the transformer with the bundle's TF-IDF baseline.

The two models err differently: the transformer reads meaning from a token budget, the
baseline counts exact words and phrases. On BANKING77 a geometric blend of their reason
probabilities, ``(1 - w) log p_model + w log p_baseline``, is more accurate than either (see
docs/benchmarks.md). Training picks ``w`` per task on the validation split (0 where the blend
does not help) and fits the temperatures on the blended scores, which is why a bundle that
blends keeps its temperatures in ``calibration.json`` as usual and its weights in ``blend.json``.

The baseline reads either the segments the transformer reads (``text="selected"``) or the whole
transcript (``text="whole"``: a cheap pass over every turn of a long call, beside the encoder's
read of the selected ones). Both come from the prepared contact (``prepared_text``), so a live
session, an audit's occlusion variants and a one-shot call blend the same evidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from dispo.model.baseline import BaselineModel
from dispo.model.bundle import BundleError
from dispo.model.features import PreparedContact

BLEND_TEXTS = ("selected", "whole")
# Sentiment is not blended: the opening-sentiment read (the start of a contact) uses the same
# head and temperature, and must stay on the same scale as the whole-contact read.
BLENDABLE_TASKS = ("reason", "outcome", "upsell")
_FLOOR = 1e-6  # probability given to a label the baseline never saw in training


def prepared_text(prepared: PreparedContact, *, whole: bool = False) -> str:
    """The selected segments (or, ``whole``, every segment) as the baseline's input: one
    ``speaker: text`` line per turn."""
    if whole and prepared.segments and not prepared.transcript:
        raise ValueError("prepared_text(whole=True) needs the contact's transcript segments")
    lines: list[str] = []
    last_turn: int | None = None
    for segment in prepared.transcript if whole else prepared.segments:
        if segment.turn == last_turn:
            lines[-1] += " " + segment.text
        else:
            lines.append(f"{segment.speaker}: {segment.text}")
        last_turn = segment.turn
    return "\n".join(lines)


def _log_softmax(values: np.ndarray) -> np.ndarray:
    shifted = values - values.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


@dataclass
class BaselineBlend:
    """``weights``: task -> weight of the baseline (0 < w < 1); ``labels``: the model's label
    order per task, to align the baseline's columns with the heads."""

    baseline: BaselineModel
    weights: dict[str, float]
    labels: Mapping[str, Sequence[str]]
    text: str = "selected"

    def __post_init__(self) -> None:
        if self.text not in BLEND_TEXTS:
            raise BundleError(f"blend text must be one of {BLEND_TEXTS}, got {self.text!r}")
        for task, weight in self.weights.items():
            if not 0.0 <= weight < 1.0:
                raise BundleError(f"blend weight for {task!r} must be in [0, 1), got {weight}")
            if weight > 0 and task not in BLENDABLE_TASKS:
                raise BundleError(f"task {task!r} cannot be blended; blendable: {BLENDABLE_TASKS}")
            if weight > 0 and task not in self.baseline.tasks_:
                raise BundleError(f"blend weight for {task!r} but the baseline has no {task!r} model")
        self.weights = {t: w for t, w in self.weights.items() if w > 0}
        self._columns: dict[str, np.ndarray] = {}
        for task in self.weights:
            classes = [str(c) for c in self.baseline.classes_[task]]
            names = ["True", "False"] if task == "upsell" else [str(n) for n in self.labels[task]]
            self._columns[task] = np.array([classes.index(n) if n in classes else -1 for n in names])

    @property
    def active(self) -> bool:
        return bool(self.weights)

    def texts(self, prepared: Sequence[PreparedContact]) -> list[str]:
        """What the baseline reads of each prepared contact."""
        return [prepared_text(p, whole=self.text == "whole") for p in prepared]

    def baseline_log_probs(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Per blended task: ``[n, labels]`` log-probabilities in the model's label order, or for
        upsell ``[n]`` log-odds of True."""
        out: dict[str, np.ndarray] = {}
        for task in self.weights:
            probs = self.baseline.predict_proba(task, texts)
            columns = self._columns[task]
            aligned = np.where(columns >= 0, probs[:, np.maximum(columns, 0)], _FLOOR)
            aligned = np.log(np.clip(aligned, _FLOOR, 1.0))
            out[task] = aligned[:, 0] - aligned[:, 1] if task == "upsell" else aligned
        return out

    def apply(self, logits: Mapping[str, np.ndarray], baseline: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Blended scores in place of the logits (temperatures apply to them as to logits).

        Works on one contact (``[labels]``) or a batch (``[n, labels]``)."""
        out = dict(logits)
        for task, weight in self.weights.items():
            if task not in logits:
                continue
            own = logits[task] if task == "upsell" else _log_softmax(logits[task])
            other = baseline[task].reshape(own.shape)
            out[task] = (1.0 - weight) * own + weight * other
        return out
