"""The scikit-learn baseline: TF-IDF (word 1-2 grams) + logistic regression, one per task.

It lives in the core because a bundle pickles it and serving/evaluation unpickle it.
Each task is fitted only on the examples that carry its label, like the transformer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from dispo.contact import Contact


def contact_text(contact: Contact) -> str:
    """The whole transcript as one string with speaker tags: what the baseline reads."""
    return "\n".join(f"{turn.speaker}: {turn.text}" for turn in contact.turns)


class BaselineModel(BaseEstimator):
    """Per-task TF-IDF + logistic regression. ``fit`` takes texts and a mapping task -> labels
    (``None`` where a label is missing) and returns self; fitted attributes end in ``_``."""

    def __init__(self, max_features: int = 200_000, C: float = 10.0, min_df: int = 1) -> None:  # noqa: N803
        self.max_features = max_features
        self.C = C
        self.min_df = min_df

    def vectorizer(self) -> TfidfVectorizer:
        """The unfitted TF-IDF reader of the text (word 1-2 grams), also what other passes read."""
        return TfidfVectorizer(
            ngram_range=(1, 2), sublinear_tf=True, max_features=self.max_features, min_df=self.min_df
        )

    def task_pipeline(self) -> Pipeline:
        """An unfitted pipeline of one task (also used for out-of-fold passes)."""
        return make_pipeline(self.vectorizer(), LogisticRegression(C=self.C, max_iter=2000))

    def fit(self, texts: Sequence[str], labels: Mapping[str, Sequence[Any]]) -> BaselineModel:
        self.pipelines_: dict[str, Pipeline] = {}
        self.classes_: dict[str, list[Any]] = {}
        for task, values in labels.items():
            keep = [i for i, v in enumerate(values) if v is not None]
            present = {values[i] for i in keep}
            if len(present) < 2:
                continue  # nothing to learn: no labels, or a single class
            pipeline = self.task_pipeline().fit([texts[i] for i in keep], [values[i] for i in keep])
            self.pipelines_[task] = pipeline
            self.classes_[task] = list(pipeline.classes_)
        return self

    @property
    def tasks_(self) -> tuple[str, ...]:
        return tuple(self.pipelines_)

    def predict_proba(self, task: str, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.pipelines_[task].predict_proba(list(texts)))

    def predict(self, task: str, texts: Sequence[str]) -> list[Any]:
        return list(self.pipelines_[task].predict(list(texts)))
