"""The labelled-contact table: one row per contact with the model's prediction beside the agent's
code (and, later, the QA audit). It is what `dispo label` writes, what the service stores, and
what the metrics and the audit queue read, so its columns are defined once, here.

Times are UTC timestamps; label columns are plain strings from the taxonomy; probabilities are
calibrated. Columns that an input does not carry (no agent code, no customer id) are null,
never invented.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from dispo.audit.ranking import code_views, suspicion
from dispo.contact import QUEUE_EVENTS

if TYPE_CHECKING:  # the table is read by code that has no need of torch
    from dispo.contact import Contact
    from dispo.model.predictor import Prediction
    from dispo.taxonomy import Taxonomy

REASON_STRUCT = pa.struct([("label", pa.string()), ("probability", pa.float32())])

#: Raised when a column keeps its name and changes its meaning, so that a batch job is never resumed
#: across the change with rows of both meanings (dispo.batch.job's fingerprint). 2: agent_agrees and
#: agent_wrong_probability judge the whole agent code, reason and outcome, not the reason alone.
TABLE_VERSION = 2

LABELLED_SCHEMA = pa.schema(
    [
        # who, where, when
        ("contact_id", pa.string()),
        ("customer_id", pa.string()),
        ("channel", pa.string()),
        ("provider", pa.string()),
        ("agent_id", pa.string()),
        ("queue", pa.string()),
        ("started_at", pa.timestamp("us", tz="UTC")),
        ("ended_at", pa.timestamp("us", tz="UTC")),
        ("n_turns", pa.int32()),
        # queue events, where the input carries them
        ("queued_at", pa.timestamp("us", tz="UTC")),
        ("answered_at", pa.timestamp("us", tz="UTC")),
        ("disconnected_by", pa.string()),
        ("abandoned", pa.bool_()),
        ("blocked", pa.bool_()),
        # the model
        ("model_version", pa.string()),
        ("reasons", pa.list_(REASON_STRUCT)),  # top-k, most probable first
        ("reason", pa.string()),
        ("reason_probability", pa.float32()),
        ("outcome", pa.string()),
        ("outcome_probability", pa.float32()),
        ("sentiment", pa.string()),
        ("sentiment_probability", pa.float32()),
        ("sentiment_start", pa.string()),  # the opening's sentiment, for the start-to-end change
        ("upsell_probability", pa.float32()),
        ("disposition_code", pa.string()),
        # the agent's wrap-up code, where the input carries it
        ("agent_reason", pa.string()),
        ("agent_outcome", pa.string()),
        ("agent_code", pa.string()),
        # The agent's code (the parts of it the agent gave) against the model's: agent_agrees, the
        # model's top label for each part is the agent's; agent_wrong_probability, the model's
        # probability that the code is wrong, 1 - p(agent reason) x p(agent outcome), the audit
        # queue's suspicion (dispo.audit.ranking). The two parts' own probabilities are beside it.
        ("agent_agrees", pa.bool_()),
        ("agent_reason_probability", pa.float32()),  # the model's probability of the agent's reason
        ("agent_wrong_probability", pa.float32()),
        ("agent_outcome_probability", pa.float32()),  # the model's probability of the agent's outcome
    ]
)
LABELLED_COLUMNS = tuple(LABELLED_SCHEMA.names)


def labelled_row(contact: Contact, prediction: Prediction, taxonomy: Taxonomy) -> dict[str, Any]:
    """One row of :data:`LABELLED_SCHEMA` for a contact and its prediction."""
    outcome = prediction.outcome
    sentiment = prediction.sentiment
    agent = contact.agent_labels
    agent_reason = agent.reason if agent is not None else None
    agent_outcome = agent.outcome if agent is not None else None
    every_reason = prediction.reason_probabilities
    reason_view, outcome_view = code_views(
        agent_reason, prediction.reasons,
        every_reason.get(agent_reason, 0.0) if every_reason and agent_reason is not None else None,
        agent_outcome, outcome.label if outcome is not None else None,
        outcome.probability if outcome is not None else None,
        outcome.probabilities if outcome is not None else None, None,
    )  # fmt: skip
    # The audit's default score (self-confidence of each part the agent gave): a probability.
    scored = suspicion(reason_view, outcome_view)
    return {
        **contact_columns(contact),
        "model_version": prediction.model_version,
        "reasons": [{"label": r, "probability": p} for r, p in prediction.reasons],
        "reason": prediction.reason,
        "reason_probability": prediction.reasons[0][1] if prediction.reasons else None,
        "outcome": outcome.label if outcome is not None else None,
        "outcome_probability": outcome.probability if outcome is not None else None,
        "sentiment": sentiment.label if sentiment is not None else None,
        "sentiment_probability": sentiment.probability if sentiment is not None else None,
        "sentiment_start": prediction.sentiment_start.label if prediction.sentiment_start is not None else None,
        "upsell_probability": prediction.upsell_probability,
        "disposition_code": prediction.disposition_code,
        **agent_columns(contact, taxonomy),
        "agent_agrees": None if scored is None else not scored.disagrees,
        "agent_reason_probability": reason_view.given_probability if reason_view is not None else None,
        "agent_wrong_probability": None if scored is None else scored.score,
        "agent_outcome_probability": outcome_view.given_probability if outcome_view is not None else None,
    }


#: The columns of a row that are the contact's own fields: who, where, when, and its queue events.
CONTACT_FIELDS = (
    "contact_id", "customer_id", "channel", "provider", "agent_id", "queue", "started_at", "ended_at", *QUEUE_EVENTS
)  # fmt: skip


def contact_columns(contact: Contact) -> dict[str, Any]:
    """The columns of a row that come from the contact alone."""
    return {**{name: getattr(contact, name) for name in CONTACT_FIELDS}, "n_turns": len(contact.turns)}


def agent_columns(contact: Contact, taxonomy: Taxonomy) -> dict[str, Any]:
    """The agent's wrap-up code, where the contact carries one."""
    agent = contact.agent_labels
    reason = agent.reason if agent is not None else None
    outcome = agent.outcome if agent is not None else None
    code = taxonomy.render_code(reason, outcome) if reason is not None and outcome is not None else None
    return {"agent_reason": reason, "agent_outcome": outcome, "agent_code": code}


def labelled_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=LABELLED_SCHEMA)


#: The model_version of rows whose "model" columns hold a contact file's own labels.
FILE_LABELS_VERSION = "labels of the contact file"
#: The column of a labelled row that each of a contact's own labels fills.
FILE_LABEL_COLUMNS = {
    "reason": "reason",
    "outcome": "outcome",
    "sentiment": "sentiment",
    "upsell": "upsell_probability",
}


def contact_row(contact: Contact, taxonomy: Taxonomy, *, file_labels: Collection[str] = ()) -> dict[str, Any]:
    """A row of :data:`LABELLED_SCHEMA` for a contact no model has read: who, where, when and the
    agent's code. The contact's own ``labels`` named in ``file_labels`` (reason, outcome, sentiment,
    upsell) fill the columns a model would (marked by :data:`FILE_LABELS_VERSION`), so that `dispo
    report` computes metrics straight from a contact file."""
    unknown = sorted(set(file_labels) - set(FILE_LABEL_COLUMNS))
    if unknown:
        raise ValueError(f"file_labels names {unknown}; expected some of {list(FILE_LABEL_COLUMNS)}")
    row: dict[str, Any] = dict.fromkeys(LABELLED_COLUMNS)
    row.update(contact_columns(contact), **agent_columns(contact, taxonomy))
    labels = contact.labels
    if labels is not None and file_labels:
        values = {"reason": labels.reason, "outcome": labels.outcome, "sentiment": labels.sentiment,
                  "upsell": None if labels.upsell is None else float(labels.upsell)}  # fmt: skip
        row.update({FILE_LABEL_COLUMNS[name]: values[name] for name in file_labels}, model_version=FILE_LABELS_VERSION)
    return row
