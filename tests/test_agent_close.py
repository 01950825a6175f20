"""Tasks that do not read the agent's close (``ModelConfig.ignore_agent_close``): what the agent says
after the customer's last words and the platform's last event."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from dispo.contact import Contact, Turn
from dispo.errors import ConfigError
from dispo.model.features import Segment, agent_close_start, narrow_views
from dispo.model.modeling import ModelConfig
from dispo.model.predictor import Predictor
from tests.factories import assert_reads_alike_but_sentiment, install_bundle, live_prediction, same_sentiment
from training.pipeline import reread_bundle


def segments(speakers: str) -> list[Segment]:
    names = {"c": "customer", "a": "agent", "s": "system"}
    return [Segment(i, names[s], f"words {i}", 4) for i, s in enumerate(speakers)]


def test_the_setting_names_tasks_and_survives_a_round_trip() -> None:
    config = ModelConfig(ignore_agent_close=["sentiment"], task_reading={"sentiment": [6, 160]})
    assert ModelConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert ModelConfig(ignore_agent_close=["upsell", "sentiment", "upsell"]).ignore_agent_close == [
        "sentiment",
        "upsell",
    ]
    with pytest.raises(ConfigError, match="unknown tasks \\['mood'\\]"):
        ModelConfig(ignore_agent_close=["mood"])


@pytest.mark.parametrize(
    ("speakers", "start"),
    [
        ("cac", 3),  # ends on the customer: no close
        ("cacaa", 3),  # the agent's sign-off after the customer's last words
        ("cacas", 5),  # the platform's event ends it: the agent's words before it are read
        ("cacasa", 5),  # the agent speaks after the platform's event
        ("sasas", 5),  # the customer never speaks: nothing to set the agent's words against
        ("", 0),
    ],
)
def test_the_agent_close_starts_after_the_customer_or_the_platform(speakers: str, start: int) -> None:
    assert agent_close_start(segments(speakers)) == start


def test_a_view_leaves_out_the_close_and_a_narrower_reading_is_chosen_before_it() -> None:
    config = ModelConfig(max_turn_tokens=8, max_turns=12, token_budget=96, ignore_agent_close=["sentiment"])
    assert narrow_views(segments("cacaa"), config) == {"sentiment": (0, 1, 2)}
    assert narrow_views(segments("cacac"), config) == {}  # read as the other tasks read it
    narrower = ModelConfig(
        max_turn_tokens=8,
        max_turns=12,
        token_budget=96,
        ignore_agent_close=["sentiment"],
        task_reading={"sentiment": [4, 16], "upsell": [4, 16]},
    )
    views = narrow_views(segments("cacacaaa"), narrower)
    # The customer's first segments, then the last ones before the close, not the agent's sign-off
    assert views["sentiment"] == (0, 2, 3, 4)
    assert views["upsell"] == (0, 2, 4, 7)


def test_the_close_is_found_in_the_whole_contact_when_the_selection_drops_the_event_that_ends_it() -> None:
    config = ModelConfig(max_turn_tokens=8, max_turns=12, token_budget=96, ignore_agent_close=["sentiment"])
    whole = segments("cacasaa")  # the agent's transfer line, the platform's event, then the agent's close
    selected = [whole[i] for i in (0, 1, 2, 3, 5, 6)]  # a selection without the event
    assert narrow_views(selected, config) == {"sentiment": (0, 1, 2)}  # judged on the selection alone
    assert narrow_views(selected, config, whole=whole) == {"sentiment": (0, 1, 2, 3)}
    assert narrow_views(whole[:5], config, whole=whole[:5]) == {}


def test_the_stacked_reading_of_two_narrower_tasks_is_each_subset_read_alone() -> None:
    """Views of two tasks, and a contact with none, in one pass: each task's logits, pooling
    weights and pooled vector are what its subset read as its own contact gives, in training too."""
    from transformers import BertConfig

    from dispo.model.features import assemble_batch
    from dispo.model.modeling import DispoModel

    torch.manual_seed(0)
    sizes = {"reason": 5, "outcome": 3, "sentiment": 3, "upsell": 1}
    config = ModelConfig(max_turn_tokens=8, max_turns=8, token_budget=64, label_sizes=sizes, dropout=0.0)
    encoder = BertConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
    )
    model = DispoModel.from_encoder_config(config, encoder)
    vectors = torch.randn(8 + 5 + 6, 16, requires_grad=True)
    speakers = [[0, 1, 0, 1, 0, 1, 2, 1], [1, 0, 1, 0, 0], [0, 1, 0, 1, 0, 1]]
    rows = [list(range(8)), list(range(8, 13)), list(range(13, 19))]
    views = [{"sentiment": (0, 1, 2, 3, 4, 5, 6), "upsell": (1, 3, 5)}, {}, {"upsell": (0, 4)}]
    empty = torch.zeros((0, 0), dtype=torch.long)
    batch = assemble_batch(empty, empty, rows, speakers, views)
    features = (batch.turn_index, batch.turn_mask, batch.speaker, batch.pos_start, batch.pos_end)
    for training in (False, True):
        model.train(training)
        both = model.contextualize(vectors, *features, batch.task_masks)
        whole = model.contextualize(vectors, *features)
        for b, view in enumerate(views):
            for task in ("reason", "outcome", "sentiment", "upsell"):
                subset = view.get(task, tuple(range(len(rows[b]))))
                alone = assemble_batch(empty, empty, [[rows[b][i] for i in subset]], [[speakers[b][i] for i in subset]])
                read = model.contextualize(
                    vectors, alone.turn_index, alone.turn_mask, alone.speaker, alone.pos_start, alone.pos_end
                )
                torch.testing.assert_close(both.logits[task][b], read.logits[task][0])
                torch.testing.assert_close(both.pooled[task][b], read.pooled[task][0])
                torch.testing.assert_close(both.attention[task][b, list(subset)], read.attention[task][0])
                if task not in view:
                    torch.testing.assert_close(both.logits[task][b], whole.logits[task][b])
        sum(v.sum() for v in both.logits.values()).backward()
        assert vectors.grad is not None and bool(vectors.grad.abs().sum() > 0)
        vectors.grad = None


def test_a_bundle_that_ignores_the_agent_close_reads_a_scripted_sign_off_as_nothing(
    tiny_bundle: Path, tmp_path: Path
) -> None:
    """End to end, batched and live: the sentiment of a contact with an agent's sign-off after the
    customer's last words is the sentiment of the contact without it; the bundle it was derived from
    is moved by the sign-off, and the other tasks read it as that bundle does."""
    root = tmp_path / "models"
    install_bundle(tiny_bundle, root)
    derived = reread_bundle("tiny", reading={"ignore_agent_close": ["sentiment"]}, root=root)
    assert derived.metrics == {"reading": {"ignore_agent_close": [[], ["sentiment"]]}}
    source, blind = Predictor.load("tiny:v1", root=root), Predictor.load(derived.path)
    turns = [
        Turn(speaker="customer", text="my parcel never came and nobody called me back"),
        Turn(speaker="agent", text="I have refunded it to your card"),
        Turn(speaker="customer", text="fine, whatever, bye"),
    ]
    sign_off = Turn(speaker="agent", text="once again I apologise, you may receive a short survey, have a lovely day")
    plain, signed = Contact(contact_id="plain", turns=turns), Contact(contact_id="signed", turns=[*turns, sign_off])
    [source_plain, source_signed] = source.predict([plain, signed])
    [blind_plain, blind_signed] = blind.predict([plain, signed])
    for prediction in (source_plain, source_signed, blind_plain, blind_signed):
        assert prediction.sentiment is not None
    assert same_sentiment(blind_signed, blind_plain)
    assert same_sentiment(blind_plain, source_plain)
    assert not same_sentiment(source_signed, source_plain)
    assert_reads_alike_but_sentiment(blind_signed, source_signed)
    live = live_prediction(blind, signed)
    assert live.sentiment is not None
    assert same_sentiment(live, blind_plain)
    # The opening (three segments) leaves out the close too, batched and live alike
    short = Contact(contact_id="short", turns=[turns[0], turns[1], sign_off])
    [batched] = blind.predict([short])
    live = live_prediction(blind, short)
    assert live.sentiment_start is not None and batched.sentiment_start is not None
    assert batched.sentiment is not None and live.sentiment is not None
    assert live.sentiment_start.probabilities == pytest.approx(batched.sentiment_start.probabilities, abs=1e-5)
    assert batched.sentiment_start.probabilities == pytest.approx(batched.sentiment.probabilities, abs=1e-5)


def test_a_model_trains_without_the_agent_close(tmp_path: Path) -> None:
    from tests.factories import make_tiny_bundle

    path = make_tiny_bundle(tmp_path, n_contacts=30, model={"ignore_agent_close": ["sentiment"]})
    assert json.loads((path / "model_config.json").read_text())["ignore_agent_close"] == ["sentiment"]
    assert "sentiment does not read the agent's close" in (path / "README.md").read_text()
    predictor = Predictor.load(path)
    contact = Contact(
        contact_id="c",
        turns=[
            Turn(speaker="customer", text="where is my order"),
            Turn(speaker="agent", text="it ships tomorrow"),
            Turn(speaker="customer", text="ok thanks"),
            Turn(speaker="agent", text="thank you for calling, goodbye"),
        ],
    )
    assert predictor.featurizer.prepare(contact).views == {"sentiment": (0, 1, 2)}
    # what the trainer's batches carry: the sentiment reads the first three of the four segments
    batch = predictor.featurizer.batch(predictor.featurizer.prepare_many([contact]))
    assert batch.task_masks["sentiment"].tolist() == [[True, True, True, False]]
    [prediction] = predictor.predict([contact])
    assert prediction.sentiment is not None
