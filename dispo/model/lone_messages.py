"""A contact that is one customer message and nothing else (one turn, no agent or platform turn): a
social post, an SMS, an email nobody answered. The model reads its reason as it reads any contact.
Two things follow from there being nothing else in it, for a contact as it ended (not a live contact
in progress, nor the parts of one that the audit's explanations read):

- **Its outcome is the taxonomy's ``unresolved``.** By the label conventions (data/eval/realistic/
  CONVENTIONS.md) a need is resolved when it is met *during* the contact, and escalated, transferred or
  called back when someone hands it on; in a lone message nobody did anything, so the contact ends
  without the need met and without a hand-off. The outcome head, trained on conversations, reads
  two thirds of the TweetEval tweets as resolved, which would count every unanswered message in the
  resolution rate. A taxonomy without an ``unresolved`` outcome keeps the head's reading.
- **Its sentiment can be read with a lexicon too** (:mod:`dispo.model.lexicon`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from dispo.model.features import PreparedContact

NOTHING_DONE = "unresolved"  # the outcome of a lone message: nobody did anything in it


def lone_message(prepared: PreparedContact) -> str | None:
    """The words of a contact that is a single customer turn with words (every segment of it, the
    ones the model selected or not), else ``None``."""
    segments = prepared.transcript or prepared.segments
    if not segments or any(s.speaker != "customer" or s.turn != segments[0].turn for s in segments):
        return None
    words = " ".join(s.text for s in segments)
    return words if words.strip() else None


def on_lone_messages(
    probabilities: np.ndarray,
    messages: Sequence[str | None],
    read: Callable[[np.ndarray, list[str]], np.ndarray],
) -> np.ndarray:
    """Probabilities of contacts (one vector or a row each) with the rows of lone messages (``messages``:
    each contact's :func:`lone_message`, ``None`` for the others) replaced by ``read(rows, words)``."""
    rows = np.atleast_2d(np.asarray(probabilities, dtype=float))
    if len(rows) != len(messages):
        raise ValueError(f"{len(rows)} rows of probabilities for {len(messages)} contacts")
    lone = [i for i, words in enumerate(messages) if words is not None]
    if not lone:
        return np.asarray(probabilities)
    out = rows.copy()
    out[lone] = read(rows[lone], [messages[i] or "" for i in lone])
    return out[0] if np.ndim(probabilities) == 1 else out


def settle_outcomes(probabilities: np.ndarray, messages: Sequence[str | None], *, labels: Sequence[str]) -> np.ndarray:
    """Outcome probabilities of contacts with every lone message's set to :data:`NOTHING_DONE` (when
    ``labels`` has it)."""
    if NOTHING_DONE not in labels:
        return np.asarray(probabilities)
    settled = np.eye(len(labels))[list(labels).index(NOTHING_DONE)]
    return on_lone_messages(probabilities, messages, lambda rows, _: np.broadcast_to(settled, rows.shape))
