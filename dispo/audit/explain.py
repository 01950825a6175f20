"""Why the model said what it said, turn by turn, for the audit's contact page.

- **Occlusion**: a turn's contribution is the drop in the model's probability of its top reason
  when that turn is removed (and likewise for the agent's reason, the model's outcome and the
  upsell probability).
  Only turns the encoder reads are occluded (long contacts go through a token budget,
  see :mod:`dispo.model.features`), at most ``max_occluded`` of them, chosen by the reason head's
  attention; turns not occluded have no score, they are not "zero". With a whole-transcript
  blend (``blend.json`` text ``whole``) the other turns still count through the baseline, and
  their removal does change a variant's scores, but they are not occluded one by one.
- **Sentiment per turn**: the sentiment head on each customer turn *on its own*, batched. The
  model's end-of-contact sentiment reads the whole contact; scoring each turn alone is the cheap
  approximation, and the page says so.

The model encodes every segment on its own (see :mod:`dispo.model.modeling`), so removing a turn does not
change the vectors of the others: every distinct segment of the contact, its variants (a turn
removed) and its customer turns alone is encoded once, in one packed call, and one batched pass
of the small context layer and heads covers all variants (:meth:`Predictor.predict_prepared`).
The predictions are the same as predicting each variant from scratch. The caller still caches
explanations per item (the time is in ``bench/results/audit_ranking.json``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from dispo.contact import Contact
from dispo.errors import ConfigError
from dispo.model.predictor import Predictor

logger = logging.getLogger(__name__)

SENTIMENT_METHOD = "each customer turn scored on its own (not in the context of the contact)"
OCCLUSION_METHOD = "drop in probability when the turn is removed"


@dataclass(frozen=True)
class ExplainConfig:
    max_occluded: int = 16
    max_sentiment_turns: int = 60

    def __post_init__(self) -> None:
        for name in ("max_occluded", "max_sentiment_turns"):
            if getattr(self, name) < 0:
                raise ConfigError(f"ExplainConfig.{name} must be positive, got {getattr(self, name)}")


def explain(
    predictor: Predictor, contact: Contact, agent_reason: str | None = None, config: ExplainConfig | None = None
) -> dict[str, Any]:
    """The explanation of one (redacted) contact as a JSON-serialisable dict (see module doc)."""
    config = config or ExplainConfig()
    started = time.perf_counter()
    prepared = predictor.featurizer.prepare(contact)
    read = sorted({segment.turn for segment in prepared.segments})
    occluded = read if len(contact.turns) >= 2 else []
    variants = [
        contact.model_copy(update={"turns": [t for j, t in enumerate(contact.turns) if j != i]}) for i in occluded
    ]
    customer = [i for i, t in enumerate(contact.turns) if t.speaker == "customer" and t.text.strip()]
    customer = customer[: config.max_sentiment_turns]
    singles = [Contact(contact_id=f"{contact.contact_id}#{i}", turns=[contact.turns[i]]) for i in customer]
    # One encoder pass over the distinct segments of the contact, its variants and its customer
    # turns; one context-layer pass over all of them.
    # the variants and single turns are parts of the contact, read by the heads alone (no lone-message rules)
    parts = predictor.featurizer.prepare_many([*variants, *singles])
    every = predictor.predict_prepared([prepared, *parts], whole=[True] + [False] * len(parts))
    base, rest, sentiments = every[0], every[1 : 1 + len(variants)], every[1 + len(variants) :]
    # Occlusion beyond ``max_occluded`` read turns keeps those with the most reason attention.
    if len(occluded) > config.max_occluded:
        attention = dict(base.evidence.get("reason", []))  # the top turns by the reason head's attention
        keep = set(sorted(occluded, key=lambda t: -attention.get(t, 0.0))[: config.max_occluded])
        rest = [p for i, p in zip(occluded, rest, strict=True) if i in keep]
        occluded = sorted(keep)
    predictions = rest
    top = base.reason
    p_top = base.reason_probabilities.get(top, 0.0) if top else 0.0
    p_agent = base.reason_probabilities.get(agent_reason, 0.0) if agent_reason else None
    upsell = base.upsell_probability
    outcome = base.outcome.label if base.outcome is not None else None
    p_outcome = base.outcome.probability if base.outcome is not None else None
    turns: dict[str, dict[str, Any]] = {}
    for i, prediction in zip(occluded, predictions, strict=True):
        entry: dict[str, Any] = {"reason_delta": round(p_top - prediction.reason_probabilities.get(top or "", 0.0), 4)}
        if p_agent is not None and agent_reason != top:
            entry["agent_reason_delta"] = round(
                p_agent - prediction.reason_probabilities.get(agent_reason or "", 0.0), 4
            )
        if p_outcome is not None and prediction.outcome is not None:
            entry["outcome_delta"] = round(p_outcome - prediction.outcome.probabilities.get(outcome or "", 0.0), 4)
        if upsell is not None and prediction.upsell_probability is not None:
            entry["upsell_delta"] = round(upsell - prediction.upsell_probability, 4)
        turns[str(i)] = entry
    sentiment: dict[str, dict[str, Any]] = {}
    for i, prediction in zip(customer, sentiments, strict=True):
        if prediction.sentiment is not None:
            sentiment[str(i)] = {
                "label": prediction.sentiment.label,
                "probability": round(prediction.sentiment.probability, 4),
            }
    elapsed = time.perf_counter() - started
    logger.debug("explained %s (%d occluded turns) in %.3f s", contact.contact_id, len(occluded), elapsed)
    return {
        "model_version": predictor.version,
        "reason": top,
        "reason_probability": round(p_top, 4),
        "agent_reason": agent_reason,
        "agent_reason_probability": None if p_agent is None else round(p_agent, 4),
        "outcome": outcome,
        "outcome_probability": None if p_outcome is None else round(p_outcome, 4),
        "upsell_probability": None if upsell is None else round(upsell, 4),
        "turns_read": read,
        "occluded": occluded,
        "turns": turns,
        "sentiment": sentiment,
        "sentiment_method": SENTIMENT_METHOD,
        "occlusion_method": OCCLUSION_METHOD,
        "evidence": {task: [[i, w] for i, w in ev] for task, ev in base.evidence.items()},
        "seconds": round(elapsed, 3),
    }
