"""A lone customer message read by a sentiment lexicon beside the sentiment head.

A social post, an SMS or a survey comment is one customer message, with no conversation around it.
The sentiment head learned mostly from conversations and a few thousand such messages; VADER
(Hutto & Gilbert 2014, ``vaderSentiment``) is a rule-based lexicon built for short social text: it
reads emoji, emoticons, slang, capitals, "!!!" and negation, which the encoder's vocabulary loses
(an emoji is an unknown token to it). The two err differently, so a multinomial logistic regression
over the head's calibrated log-probabilities and VADER's four scores of the message (negative,
neutral, positive, compound) reads such messages better than either (training/calibration.py fits it
and keeps it only when it helps out of fold).

It applies to a contact that is one customer turn and nothing else
(:func:`dispo.model.lone_messages.lone_message`); a
conversation's sentiment is the head's alone. A lone message's end sentiment goes through it over all
its words, and its start sentiment over the words of its opening.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from dispo.model.calibration import softmax

VADER_SCORES: tuple[str, ...] = ("neg", "neu", "pos", "compound")
LEXICON_TASK = "sentiment"


@lru_cache(maxsize=1)
def _analyzer() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def lexicon_scores(texts: Sequence[str]) -> np.ndarray:
    """VADER's negative, neutral, positive and compound scores of each text: ``[len(texts), 4]``."""
    analyzer = _analyzer()
    rows = [[analyzer.polarity_scores(text)[key] for key in VADER_SCORES] for text in texts]
    return np.asarray(rows, dtype=float).reshape(len(texts), len(VADER_SCORES))


@dataclass(frozen=True)
class LexiconBlend:
    """``softmax(coef @ [log p_head, VADER scores] + intercept)`` over the head's ``labels``.

    ``coef`` has a row per label and a column per feature: the head's log-probability of each label
    (in ``labels`` order), then :data:`VADER_SCORES`."""

    labels: tuple[str, ...]
    coef: tuple[tuple[float, ...], ...]
    intercept: tuple[float, ...]

    def __post_init__(self) -> None:
        n_features = len(self.labels) + len(VADER_SCORES)
        if len(self.labels) < 2 or len(set(self.labels)) != len(self.labels):
            raise ValueError(f"a lexicon blend needs two or more distinct labels, got {list(self.labels)}")
        shape = (len(self.coef), *{len(row) for row in self.coef})
        if shape != (len(self.labels), n_features) or len(self.intercept) != len(self.labels):
            raise ValueError(
                f"a lexicon blend over {len(self.labels)} labels needs coef {len(self.labels)} x {n_features} and "
                f"{len(self.labels)} intercepts, got coef {len(self.coef)} rows of {sorted(shape[1:])} and "
                f"{len(self.intercept)} intercepts"
            )
        if not np.isfinite(np.asarray(self.coef)).all() or not np.isfinite(np.asarray(self.intercept)).all():
            raise ValueError("a lexicon blend needs finite coefficients")

    @staticmethod
    def features(probabilities: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """The blend's inputs for rows of head probabilities and their messages."""
        p = np.atleast_2d(np.asarray(probabilities, dtype=float))
        if len(p) != len(texts):
            raise ValueError(f"{len(p)} rows of probabilities for {len(texts)} messages")
        return np.hstack([np.log(np.clip(p, 1e-9, 1.0)), lexicon_scores(texts)])

    def apply(self, probabilities: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """The blended probabilities: one vector (and one text) or a batch's rows."""
        p = np.asarray(probabilities, dtype=float)
        out = self.apply_features(self.features(p, texts))
        return out[0] if p.ndim == 1 else out

    def apply_features(self, features: np.ndarray) -> np.ndarray:
        """The blended probabilities of rows of :meth:`features`."""
        return softmax(features @ np.asarray(self.coef).T + np.asarray(self.intercept))

    def shifted(self, offsets: Sequence[float]) -> LexiconBlend:
        """The blend with class offsets added to its log-probabilities (a shift of the class priors:
        softmax ignores a common shift, so they add to the intercepts)."""
        if len(offsets) != len(self.labels):
            raise ValueError(f"{len(offsets)} offsets for {len(self.labels)} labels")
        return LexiconBlend(
            self.labels, self.coef, tuple(round(b + o, 6) for b, o in zip(self.intercept, offsets, strict=True))
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": LEXICON_TASK,
            "applies_to": "a contact that is one customer turn",
            "features": [f"log p({label})" for label in self.labels] + [f"vader {key}" for key in VADER_SCORES],
            "labels": list(self.labels),
            "coef": [list(row) for row in self.coef],
            "intercept": list(self.intercept),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> LexiconBlend:
        """A stored blend, checked: its features must be the ones this code computes, in its order."""
        missing = sorted({"labels", "coef", "intercept", "features"} - set(raw))
        if missing:
            raise ValueError(f"a stored lexicon blend lacks {missing}")
        blend = cls(
            labels=tuple(raw["labels"]),
            coef=tuple(tuple(float(v) for v in row) for row in raw["coef"]),
            intercept=tuple(float(v) for v in raw["intercept"]),
        )
        expected = blend.to_dict()["features"]
        if list(raw["features"]) != expected:
            raise ValueError(f"a stored lexicon blend reads {list(raw['features'])}; this code computes {expected}")
        return blend
