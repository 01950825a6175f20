"""Incremental prediction while a contact is still going on.

The model encodes every segment (a turn, or a piece of a long turn) on its own and only then
lets segments see each other in a small context layer. A live session therefore keeps the
vectors of the segments it has already encoded: a new turn costs encoding (and, with learned salience, scoring) that
turn's segments plus the context layer and the heads over the selected segments, never the
whole conversation again. The selection within the token budget is the same as for a finished
contact, so the final live suggestion equals a one-shot prediction of the same turns.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from dispo.contact import Turn
from dispo.model.features import PreparedContact, Segment, narrow_views, segment_turn, select_segments
from dispo.model.predictor import Prediction, Predictor


@dataclass
class LiveStats:
    turns: int = 0
    segments_encoded: int = 0
    last_update_ms: float = 0.0


@dataclass
class LiveSession:
    """The turns so far of one contact and their cached segment vectors."""

    predictor: Predictor
    contact_id: str
    top_k: int = 3
    turns: list[Turn] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    vectors: list[torch.Tensor] = field(default_factory=list)  # one [H] vector per segment
    salience: list[float] = field(default_factory=list)  # one score per segment, if the model uses them
    stats: LiveStats = field(default_factory=LiveStats)
    last_prediction: Prediction | None = None

    def add_turn(self, turn: Turn) -> Prediction | None:
        """Add a turn and return the updated prediction (``None`` while no turn has any text)."""
        started = time.perf_counter()
        config = self.predictor.config
        new_segments = segment_turn(len(self.turns), turn, config.max_turn_tokens)
        self.turns.append(turn)
        if new_segments:
            encoded = self.predictor.encode_texts([s.text for s in new_segments])
            self.segments.extend(new_segments)
            self.vectors.extend(encoded.unbind(0))
            self.salience.extend(self.predictor.featurizer.score(new_segments) or [])
            self.stats.segments_encoded += len(new_segments)
        self.stats.turns = len(self.turns)
        if not self.segments:
            return None
        self.last_prediction = self.predict()
        self.stats.last_update_ms = (time.perf_counter() - started) * 1000
        return self.last_prediction

    def predict(self) -> Prediction:
        scores = self.salience if self.predictor.featurizer.salience is not None else None
        config = self.predictor.config
        keep = select_segments(self.segments, config, scores)
        selected = tuple(self.segments[i] for i in keep)
        views = narrow_views(
            selected, config, None if scores is None else [scores[i] for i in keep], whole=self.segments
        )
        prepared = PreparedContact(selected, len(self.segments), tuple(self.segments), views)
        vectors = torch.stack([self.vectors[i] for i in keep])
        # a contact in progress: that only the customer has spoken so far says nothing of how it ends
        return self.predictor.predict_encoded(self.contact_id, prepared, vectors, self.top_k, whole=False)
