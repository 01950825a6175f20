"""Tasks that read a narrower selection of a contact's segments (``ModelConfig.task_reading``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from dispo.contact import Contact, Turn
from dispo.errors import ConfigError
from dispo.model.features import Featurizer, assemble_batch, contact_segments, narrow_views, select_segments
from dispo.model.modeling import DispoModel, ModelConfig
from dispo.model.predictor import Predictor
from tests.factories import assert_reads_alike_but_sentiment, install_bundle, live_prediction, same_sentiment
from training.pipeline import reread_bundle

SIZES = {"reason": 5, "outcome": 3, "sentiment": 3, "upsell": 1}


def test_a_narrower_reading_is_checked_against_the_contacts() -> None:
    config = ModelConfig(max_turns=20, token_budget=640, max_turn_tokens=32, task_reading={"sentiment": [12, 320]})
    assert config.narrowed("sentiment").max_turns == 12 and config.narrowed("sentiment").token_budget == 320
    assert config.narrowed("reason") is config
    assert ModelConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    for bad, match in [
        ({"mood": [4, 96]}, "unknown task"),
        ({"sentiment": [12]}, r"\[max_turns, token_budget\]"),
        ({"sentiment": [0, 96]}, "two positive"),
        ({"sentiment": [21, 320]}, "within the contact's reading"),
        ({"sentiment": [12, 700]}, "within the contact's reading"),
        ({"sentiment": [12, 16]}, "at least max_turn_tokens"),
    ]:
        with pytest.raises(ConfigError, match=match):
            ModelConfig(max_turns=20, token_budget=640, max_turn_tokens=32, task_reading=bad)


def long_call(n_turns: int = 30) -> list[Turn]:
    return [
        Turn(speaker="customer" if i % 2 == 0 else "agent", text=f"turn {i} " + "words about the order " * (i % 4 + 1))
        for i in range(n_turns)
    ]


def test_the_narrower_selection_is_made_among_the_segments_the_contact_reads() -> None:
    config = ModelConfig(max_turns=12, token_budget=320, max_turn_tokens=32, task_reading={"sentiment": [5, 120]})
    segments = contact_segments(long_call(), config.max_turn_tokens)
    selected = [segments[i] for i in select_segments(segments, config)]
    view = narrow_views(selected, config)["sentiment"]
    assert 0 < len(view) <= 5 and sum(selected[i].est_tokens for i in view) <= 120
    assert list(view) == sorted(set(view)) and view[-1] == len(selected) - 1  # the close is read
    assert view == tuple(select_segments(selected, config.narrowed("sentiment")))


def test_a_task_mask_reads_exactly_what_the_subset_alone_would() -> None:
    """The narrower pass renumbers positions and masks the rest: the same logits as encoding the
    subset as its own contact (what a model trained at the narrower budget would be given)."""
    from transformers import BertConfig

    torch.manual_seed(0)
    config = ModelConfig(max_turn_tokens=8, max_turns=8, token_budget=64, label_sizes=SIZES)
    encoder = BertConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
    )
    model = DispoModel.from_encoder_config(config, encoder).eval()
    vectors = torch.randn(8 + 5, 16)
    speakers = [[0, 1, 0, 1, 0, 1, 2, 0], [1, 0, 1, 0, 0]]
    rows = [list(range(8)), list(range(8, 13))]
    subset = (0, 2, 5, 7)
    empty = torch.zeros((0, 0), dtype=torch.long)
    batch = assemble_batch(empty, empty, rows, speakers, [{"sentiment": subset}, {}])
    features = (batch.turn_index, batch.turn_mask, batch.speaker, batch.pos_start, batch.pos_end)
    both = model.contextualize(vectors, *features, batch.task_masks)
    whole = model.contextualize(vectors, *features)
    alone = assemble_batch(empty, empty, [[rows[0][i] for i in subset]], [[speakers[0][i] for i in subset]])
    narrow = model.contextualize(
        vectors, alone.turn_index, alone.turn_mask, alone.speaker, alone.pos_start, alone.pos_end
    )
    torch.testing.assert_close(both.logits["sentiment"][0], narrow.logits["sentiment"][0])
    torch.testing.assert_close(both.attention["sentiment"][0, list(subset)], narrow.attention["sentiment"][0])
    assert float(both.attention["sentiment"][0, [1, 3, 4, 6]].detach().sum()) == 0.0
    assert not torch.allclose(both.logits["sentiment"][0], whole.logits["sentiment"][0])
    # The other tasks, and a contact without a view, read every selected segment.
    for task in ("reason", "outcome", "upsell"):
        torch.testing.assert_close(both.logits[task], whole.logits[task])
    torch.testing.assert_close(both.logits["sentiment"][1], whole.logits["sentiment"][1])


def test_a_bundle_reread_with_a_narrower_sentiment_reads_it_as_a_narrower_bundle_would(
    tiny_bundle: Path, tmp_path: Path
) -> None:
    """End to end through the predictor, batched and live: the sentiment of a contact within the
    contact's budget is what a bundle reading 3 segments says, the other tasks what the bundle says."""
    root = tmp_path / "models"
    install_bundle(tiny_bundle, root)
    per_task = reread_bundle("tiny", reading={"task_reading": {"sentiment": [3, 72]}}, root=root)
    narrower = reread_bundle("tiny:v1", reading={"max_turns": 3, "token_budget": 72}, root=root)
    assert per_task.metrics == {"reading": {"task_reading": [{}, {"sentiment": [3, 72]}]}}
    assert "reads" in (per_task.path / "README.md").read_text()
    wide, both, narrow = (Predictor.load(ref, root=root) for ref in ("tiny:v1", per_task.path, narrower.path))
    words = ["my order never came", "sorry let me check", "it says delivered", "it was not", "I can refund it"]
    speakers = ["customer", "agent"] * 3
    contact = Contact(contact_id="c-1", turns=[Turn(speaker=s, text=w) for s, w in zip(speakers, words, strict=False)])
    segments = contact_segments(contact.turns, wide.config.max_turn_tokens)
    assert 3 < len(segments) <= wide.config.max_turns  # the whole contact reads them all, sentiment 3
    assert len(both.featurizer.prepare(contact).views["sentiment"]) == 3
    [w], [b], [n] = (p.predict([contact]) for p in (wide, both, narrow))
    assert b.sentiment is not None and n.sentiment is not None and w.sentiment is not None
    assert same_sentiment(b, n)
    assert not same_sentiment(b, w)
    assert_reads_alike_but_sentiment(b, w)
    live = live_prediction(both, contact)
    assert live.sentiment is not None
    assert same_sentiment(live, b)
    batch = Featurizer(both.tokenizer, both.config, both.featurizer.salience).batch(
        both.featurizer.prepare_many([contact])
    )
    assert set(batch.task_masks) == {"sentiment"} and int(batch.task_masks["sentiment"].sum()) == 3
    assert np.isclose(sum(b.sentiment.probabilities.values()), 1.0)


def test_a_model_trains_with_a_narrower_reading(tmp_path: Path) -> None:
    from tests.factories import make_tiny_bundle

    path = make_tiny_bundle(tmp_path, n_contacts=30, model={"task_reading": {"sentiment": [3, 72]}})
    assert json.loads((path / "model_config.json").read_text())["task_reading"] == {"sentiment": [3, 72]}
    assert "sentiment reads 3 of those segments, 72 tokens" in (path / "README.md").read_text()
    predictor = Predictor.load(path)
    [prediction] = predictor.predict([Contact(contact_id="c", turns=long_call(12))])
    assert prediction.sentiment is not None
