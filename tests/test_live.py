"""Live sessions: incremental, and the final suggestion equals a one-shot prediction."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispo.contact import Turn
from dispo.model.live import LiveSession
from dispo.model.predictor import Predictor


@pytest.fixture(scope="module")
def predictor(tiny_bundle: Path) -> Predictor:
    return Predictor.load(tiny_bundle)


def test_live_session_encodes_each_turn_once_and_ends_where_a_one_shot_prediction_does(predictor: Predictor) -> None:
    from training.corpus.builder import CorpusBuilder, CorpusConfig

    contact = next(
        b.contact for b in CorpusBuilder(CorpusConfig(n_contacts=5, seed=3)).build() if len(b.contact.turns) > 6
    )
    session = LiveSession(predictor, contact.contact_id)
    calls: list[int] = []
    original = predictor.encode_texts

    def counting(texts: list[str]) -> object:
        calls.append(len(texts))
        return original(texts)

    predictor.encode_texts = counting  # type: ignore[method-assign]
    try:
        for turn in contact.turns:
            session.add_turn(turn)
    finally:
        del predictor.encode_texts
    # Every segment encoded exactly once, one call per turn with text.
    assert sum(calls) == len(session.segments) == session.stats.segments_encoded
    assert len(calls) == sum(1 for t in contact.turns if t.text.split())
    final = session.last_prediction
    one_shot = predictor.predict([contact])[0]
    assert final is not None
    assert [r for r, _ in final.reasons] == [r for r, _ in one_shot.reasons]
    assert [p for _, p in final.reasons] == pytest.approx([p for _, p in one_shot.reasons], abs=1e-4)
    assert final.disposition_code == one_shot.disposition_code
    assert final.upsell_probability == pytest.approx(one_shot.upsell_probability, abs=1e-4)
    # The opening's sentiment: the same from the live session's cached vectors and from a batch.
    assert final.sentiment_start is not None and one_shot.sentiment_start is not None
    assert final.sentiment_start.probabilities == pytest.approx(one_shot.sentiment_start.probabilities, abs=1e-4)
    assert len(session.segments) > 3  # so the opening is a real prefix, not the whole contact


def test_a_session_without_text_has_no_prediction_yet(predictor: Predictor) -> None:
    session = LiveSession(predictor, "c-1")
    assert session.add_turn(Turn(speaker="agent", text="   ")) is None
    assert session.add_turn(Turn(speaker="customer", text="my parcel never came")) is not None
