"""Suspicion: how likely an agent's disposition code is wrong, from the model's calibrated
probabilities of the agent's labels.

This is the label-quality side of confident learning (Northcutt et al., as cleanlab implements
it), written out for dispo's two code tasks instead of pulled in as a dependency:

- **self-confidence**: the model's probability of the label the agent gave, p(agent label). A
  calibrated model that gives 0.02 to the agent's reason says that code is wrong 98 times in 100
  if the model is right; dispo's default ranking.
- **normalized margin**: (p(agent label) - max over the other labels of p + 1) / 2, which also
  looks at how strongly the model prefers one specific alternative.

A disposition code is right only if both its reason and its outcome are, so the qualities of
the two tasks multiply (independence assumed): suspicion = 1 - q(reason) x q(outcome). Low model
confidence and model-agent disagreement are kept beside the score (the queue can sort and filter
on them) and break ties. The probabilities must be out of sample (the model never trained on
these contacts) and calibrated, or confident contacts from the training set look cleaner than
they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from dispo.errors import ConfigError

METHODS: tuple[str, ...] = ("self_confidence", "normalized_margin")


@dataclass(frozen=True)
class RankingConfig:
    """``method``: the label-quality score; ``tasks``: which parts of the code are scored."""

    method: str = "self_confidence"
    tasks: tuple[str, ...] = ("reason", "outcome")

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"RankingConfig.method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if not self.tasks or any(task not in ("reason", "outcome") for task in self.tasks):
            raise ConfigError(f"RankingConfig.tasks must be a non-empty subset of reason, outcome, got {self.tasks!r}")


@dataclass(frozen=True)
class TaskView:
    """The model's view of one task of one contact beside the agent's label.

    ``top``: the model's most probable labels, most probable first (the top 2 are enough);
    ``given_probability``: the model's probability of the agent's label. When a source does not
    record it and the agent's label is not in ``top``, the probability left over by ``top`` is an
    upper bound (see :meth:`bounded`)."""

    given: str
    given_probability: float
    top: tuple[tuple[str, float], ...]

    @classmethod
    def bounded(cls, given: str, top: Sequence[tuple[str, float]], given_probability: float | None) -> TaskView:
        listed = dict(top)
        if given_probability is None:
            given_probability = listed.get(given, max(0.0, 1.0 - sum(p for _, p in top)))
        return cls(given, float(given_probability), tuple((label, float(p)) for label, p in top))


@dataclass(frozen=True)
class Suspicion:
    score: float  # 1 - the quality of the code: higher = more likely wrong
    quality: dict[str, float]  # per task
    disagrees: bool  # the model's most probable code differs from the agent's
    model_confidence: float  # the model's probability of its own top reason


def code_views(
    agent_reason: str | None,
    reasons: Sequence[tuple[str, float]],
    agent_reason_probability: float | None,
    agent_outcome: str | None,
    outcome: str | None,
    outcome_probability: float | None,
    outcome_probabilities: Mapping[str, float] | None,
    agent_outcome_probability: float | None,
) -> tuple[TaskView | None, TaskView | None]:
    """The model's view of each part of an agent's code (reason, outcome) that the agent gave and
    the model predicted: what :func:`suspicion` scores, for the audit queue and the labelled table
    alike. ``reasons``: the model's top reasons; ``outcome_probabilities``: every outcome's, where
    known (else only the top ``outcome`` is, and ``agent_outcome_probability`` gives the agent's)."""
    reason_view = outcome_view = None
    if agent_reason is not None and reasons:
        reason_view = TaskView.bounded(agent_reason, reasons, agent_reason_probability)
    if agent_outcome is not None and outcome is not None:
        if outcome_probabilities:
            top = sorted(outcome_probabilities.items(), key=lambda kv: -kv[1])[:3]
            outcome_view = TaskView.bounded(agent_outcome, top, outcome_probabilities.get(agent_outcome, 0.0))
        else:
            outcome_view = TaskView.bounded(
                agent_outcome, [(outcome, outcome_probability or 0.0)], agent_outcome_probability
            )
    return reason_view, outcome_view


def label_quality(view: TaskView, method: str = "self_confidence") -> float:
    """The quality of the agent's label for one task, in [0, 1] (1: certainly right)."""
    if method == "self_confidence":
        return _clip(view.given_probability)
    if method == "normalized_margin":
        others = [p for label, p in view.top if label != view.given]
        best_other = max(others) if others else 0.0
        return _clip((view.given_probability - best_other + 1.0) / 2.0)
    raise ConfigError(f"unknown label-quality method {method!r}; expected one of {', '.join(METHODS)}")


def suspicion(
    reason: TaskView | None, outcome: TaskView | None, config: RankingConfig | None = None
) -> Suspicion | None:
    """The suspicion of one agent code, or None when the agent gave no label the config scores."""
    config = config or RankingConfig()
    views = {"reason": reason, "outcome": outcome}
    quality = {
        task: label_quality(view, config.method) for task, view in views.items() if view and task in config.tasks
    }
    if not quality:
        return None
    score = 1.0 - float(np.prod(list(quality.values())))
    disagrees = any(view.top and view.top[0][0] != view.given for view in views.values() if view is not None)
    confidence = reason.top[0][1] if reason is not None and reason.top else 1.0
    return Suspicion(round(score, 6), quality, disagrees, confidence)


# -- vectorised forms, for benchmarks and whole tables -------------------------------------------------
def label_quality_matrix(probabilities: np.ndarray, given: np.ndarray, method: str = "self_confidence") -> np.ndarray:
    """:func:`label_quality` for ``[N, K]`` probabilities and ``[N]`` label indices."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    given = np.asarray(given, dtype=np.int64)
    rows = np.arange(len(given))
    p_given = probabilities[rows, given]
    if method == "self_confidence":
        return np.clip(p_given, 0.0, 1.0)
    if method == "normalized_margin":
        others = probabilities.copy()
        others[rows, given] = -np.inf
        return np.clip((p_given - others.max(axis=1) + 1.0) / 2.0, 0.0, 1.0)
    raise ConfigError(f"unknown label-quality method {method!r}; expected one of {', '.join(METHODS)}")


def suspicion_scores(qualities: Sequence[np.ndarray]) -> np.ndarray:
    """1 - the product of per-task qualities."""
    return 1.0 - np.prod(np.vstack(qualities), axis=0)


def ranking(scores: np.ndarray, tiebreak: np.ndarray | None = None) -> np.ndarray:
    """Indices from most to least suspicious; ties broken by ``tiebreak`` (higher first)."""
    scores = np.asarray(scores, dtype=np.float64)
    if tiebreak is None:
        return np.argsort(-scores, kind="stable")
    return np.lexsort((-np.asarray(tiebreak, dtype=np.float64), -scores))


def precision_at(order: np.ndarray, wrong: np.ndarray, share: float) -> float:
    """The share of wrong codes among the first ``share`` of a ranking."""
    k = max(1, round(len(order) * share))
    return float(np.asarray(wrong)[order[:k]].mean())


def recall_at(order: np.ndarray, wrong: np.ndarray, share: float) -> float:
    """The share of all wrong codes found in the first ``share`` of a ranking."""
    wrong = np.asarray(wrong, dtype=bool)
    if not wrong.any():
        return float("nan")
    k = max(1, round(len(order) * share))
    return float(wrong[order[:k]].sum() / wrong.sum())


def _clip(value: float) -> float:
    return min(1.0, max(0.0, float(value)))
