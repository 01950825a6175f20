"""The rows of the QA audit queue, computed without a database: an item from a contact and its
prediction (batch) or from a stored suggestion and the agent's decision (live and API), its
summary, and its current audited value. :mod:`serve.audit.store` stores and reads them."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from dispo.audit.ranking import RankingConfig, code_views, suspicion
from dispo.contact import in_utc


@dataclass
class AuditedValue:
    """The current audited value of an item: the latest decision, else the agent's code."""

    source: str  # "agent" or "audit"
    reason: str | None
    outcome: str | None
    code: str | None
    decision_id: str | None = None
    analyst: str | None = None
    at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def current_value(item: Any, decisions: list[dict[str, Any]]) -> AuditedValue:
    if not decisions:
        return AuditedValue("agent", item.agent_reason, item.agent_outcome, item.agent_code)
    last = decisions[-1]
    return AuditedValue(
        "audit", last["reason"], last["outcome"], last["code"], last["id"], last["analyst_name"], last["created_at"]
    )


def _isoformat(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def item_summary(item: Any, decisions: list[dict[str, Any]]) -> dict[str, Any]:
    value = current_value(item, decisions)
    return {
        "id": item.id,
        "contact_id": item.contact_id,
        "source": item.source,
        "provider": item.provider,
        "agent_id": item.agent_id,
        "queue": item.queue,
        "channel": item.channel,
        "started_at": _isoformat(in_utc(item.started_at)),
        "n_turns": item.n_turns,
        "agent_reason": item.agent_reason,
        "agent_outcome": item.agent_outcome,
        "agent_code": item.agent_code,
        "model_version": item.model_version,
        "reason": item.reason,
        "reason_probability": item.reason_probability,
        "outcome": item.outcome,
        "outcome_probability": item.outcome_probability,
        "model_code": item.model_code,
        "agent_reason_probability": item.agent_reason_probability,
        "agent_outcome_probability": item.agent_outcome_probability,
        "disagrees": item.disagrees,
        "suspicion": item.suspicion,
        "audits": len(decisions),
        "audited": value.to_dict() if decisions else None,
    }


def item_row(
    contact: dict[str, Any],
    *,
    source: str,
    model_version: str,
    reasons: Sequence[tuple[str, float]],
    outcome_probabilities: dict[str, float] | None,
    outcome: str | None,
    outcome_probability: float | None,
    agent_reason: str | None,
    agent_outcome: str | None,
    agent_code: str | None,
    model_code: str | None,
    agent_reason_probability: float | None,
    agent_outcome_probability: float | None,
    sentiment: str | None = None,
    upsell_probability: float | None = None,
    suggestion_id: str | None = None,
    config: RankingConfig | None = None,
    rng: random.Random | None = None,
) -> dict[str, Any] | None:
    """One :class:`AuditItem` row, with its suspicion; None when there is no agent code to audit."""
    if agent_reason is None and agent_outcome is None:
        return None
    reason_view, outcome_view = code_views(
        agent_reason, reasons, agent_reason_probability,
        agent_outcome, outcome, outcome_probability, outcome_probabilities, agent_outcome_probability,
    )  # fmt: skip
    scored = suspicion(reason_view, outcome_view, config)
    started = contact.get("started_at")
    return {
        "contact_id": contact["contact_id"],
        "source": source,
        "suggestion_id": suggestion_id,
        "contact": contact,
        "n_turns": len(contact.get("turns") or []),
        "provider": contact.get("provider"),
        "agent_id": contact.get("agent_id"),
        "queue": contact.get("queue"),
        "channel": contact.get("channel"),
        # Stored in UTC: the queue's date filter and sort compare instants (SQLite keeps no zone).
        "started_at": in_utc(datetime.fromisoformat(started) if isinstance(started, str) else started),
        "agent_reason": agent_reason,
        "agent_outcome": agent_outcome,
        "agent_code": agent_code,
        "model_version": model_version,
        "reason": reasons[0][0] if reasons else None,
        "reason_probability": reasons[0][1] if reasons else None,
        "outcome": outcome,
        "outcome_probability": outcome_probability,
        "model_code": model_code,
        "reasons": [{"label": label, "probability": p} for label, p in reasons],
        "sentiment": sentiment,
        "upsell_probability": upsell_probability,
        "agent_reason_probability": reason_view.given_probability if reason_view else None,
        "agent_outcome_probability": outcome_view.given_probability if outcome_view else None,
        "disagrees": scored.disagrees if scored else None,
        "suspicion": scored.score if scored else 0.0,
        "random_key": (rng or random).random(),
    }


def item_from_label_issues(
    contact: dict[str, Any],
    issues: dict[str, dict[str, Any]],
    *,
    model_version: str,
    agent_code: str | None = None,
    model_code: str | None = None,
    config: RankingConfig | None = None,
    rng: random.Random | None = None,
) -> dict[str, Any] | None:
    """An item for a contact whose agent codes the confident-learning pass of `dispo train
    --label-noise` judged (its ``label_issues.jsonl`` rows, by task). The chance that the agent's
    label is right is the pass's ``estimated_right`` (the one-coin posterior, which weighs the text
    against the agent's record: training/agent_accuracy.py), or its out-of-fold ``self_confidence``
    in files written before it; the ``suggested`` label takes the rest at most (the bound of
    :meth:`TaskView.bounded`). No model has to be run."""

    def view(task: str) -> tuple[str | None, str | None, float | None, float | None]:
        issue = issues.get(task)
        if issue is None:
            return None, None, None, None
        confidence = float(issue.get("estimated_right", issue["self_confidence"]))
        given, suggested = issue["given"], issue["suggested"]
        return given, suggested, confidence, confidence if suggested == given else 1.0 - confidence

    agent_reason, reason, reason_confidence, reason_probability = view("reason")
    agent_outcome, outcome, outcome_confidence, outcome_probability = view("outcome")
    # A task the pass did not judge keeps the agent's own code (unscored), so that a decision records it.
    coded = contact.get("agent_labels") or {}
    agent_reason = agent_reason if agent_reason is not None else coded.get("reason")
    agent_outcome = agent_outcome if agent_outcome is not None else coded.get("outcome")
    return item_row(
        contact,
        source="batch",
        model_version=model_version,
        reasons=[(reason, reason_probability or 0.0)] if reason is not None else [],
        outcome_probabilities=None,
        outcome=outcome,
        outcome_probability=outcome_probability,
        agent_reason=agent_reason,
        agent_outcome=agent_outcome,
        agent_code=agent_code,
        model_code=model_code,
        agent_reason_probability=reason_confidence,
        agent_outcome_probability=outcome_confidence,
        config=config,
        rng=rng,
    )


def item_from_suggestion(suggestion: Any, decision: Any, config: RankingConfig | None = None) -> dict[str, Any] | None:
    """An item for a live/API suggestion (a :class:`serve.db.Suggestion` row) and the agent's
    decision on it (a :class:`serve.db.Decision`): the decision is the agent's code. The stored
    prediction carries every reason's probability, so the agent's reason gets its exact value
    (suggestions stored before it did fall back to the bound of :meth:`TaskView.bounded`)."""
    prediction = suggestion.prediction or {}
    every_reason = prediction.get("reason_probabilities") or {}
    outcome = prediction.get("outcome") or {}
    sentiment = prediction.get("sentiment") or {}
    reasons = [(r["label"], float(r["probability"])) for r in prediction.get("reasons") or []]
    return item_row(
        suggestion.contact,
        source="live",
        suggestion_id=suggestion.id,
        model_version=suggestion.model_version,
        reasons=reasons,
        outcome_probabilities=outcome.get("probabilities"),
        outcome=outcome.get("label"),
        outcome_probability=outcome.get("probability"),
        agent_reason=decision.reason,
        agent_outcome=decision.outcome,
        agent_code=decision.disposition_code,
        model_code=suggestion.disposition_code,
        agent_reason_probability=every_reason.get(decision.reason, 0.0) if every_reason and decision.reason else None,
        agent_outcome_probability=None,
        sentiment=sentiment.get("label"),
        upsell_probability=suggestion.upsell_probability,
        config=config,
    )


def item_from_labelled(
    contact: dict[str, Any], row: dict[str, Any], config: RankingConfig | None = None, rng: random.Random | None = None
) -> dict[str, Any] | None:
    """An item for a row of the labelled-contact table (:mod:`dispo.labelled`) and its contact."""
    reasons = [(r["label"], float(r["probability"])) for r in row.get("reasons") or []]
    return item_row(
        contact,
        source="batch",
        model_version=row.get("model_version") or "",
        reasons=reasons,
        outcome_probabilities=row.get("outcome_probabilities"),
        outcome=row.get("outcome"),
        outcome_probability=row.get("outcome_probability"),
        agent_reason=row.get("agent_reason"),
        agent_outcome=row.get("agent_outcome"),
        agent_code=row.get("agent_code"),
        model_code=row.get("disposition_code"),
        agent_reason_probability=row.get("agent_reason_probability"),
        agent_outcome_probability=row.get("agent_outcome_probability"),
        sentiment=row.get("sentiment"),
        upsell_probability=row.get("upsell_probability"),
        config=config,
        rng=rng,
    )
