"""Learned segment salience: the scorer, the selection it guides, and its place in a bundle."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from dispo.contact import Turn
from dispo.errors import ConfigError
from dispo.model.bundle import SALIENCE_FILE, BundleError
from dispo.model.features import Featurizer, contact_segments, select_segments
from dispo.model.modeling import ModelConfig
from dispo.model.predictor import Predictor
from dispo.model.salience import SegmentSalience, segment_text
from tests.factories import install_bundle
from training.pipeline import reread_bundle

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

FILLER_AGENT = [
    "let me pull up the account for you",
    "thanks for holding while I check that",
    "I can see the details on my screen now",
    "one moment while the system loads",
    "I am going through the notes on file",
    "bear with me, this page is slow today",
]
FILLER_CUSTOMER = ["okay", "sure, go ahead", "alright", "fine, I can wait", "yes that is me", "no problem"]
ACCEPT = ["yes please add the premium plan", "sure, sign me up for the upgrade", "add the extended warranty please"]
DECLINE = ["no thanks, not interested in extras", "I will pass on the upgrade", "no, just the fix please"]


def mid_call_upsell_contacts(n: int, seed: int) -> tuple[list[list[Turn]], list[bool]]:
    """Long conversations whose upsell label is decided by one customer answer in the middle,
    far from the opening and the close, among varied filler."""
    rng = random.Random(seed)
    conversations, labels = [], []
    for _ in range(n):
        accepted = rng.random() < 0.5
        turns = [Turn(speaker="customer", text=f"hi, my order {rng.randint(100, 999)} has a problem with the delivery")]
        for _ in range(rng.randint(5, 8)):
            turns.append(Turn(speaker="agent", text=rng.choice(FILLER_AGENT)))
            turns.append(Turn(speaker="customer", text=rng.choice(FILLER_CUSTOMER)))
        turns.append(Turn(speaker="agent", text="while you are here, would you like our premium plan"))
        turns.append(Turn(speaker="customer", text=rng.choice(ACCEPT if accepted else DECLINE)))
        for _ in range(rng.randint(5, 8)):
            turns.append(Turn(speaker="agent", text=rng.choice(FILLER_AGENT)))
            turns.append(Turn(speaker="customer", text=rng.choice(FILLER_CUSTOMER)))
        turns.append(Turn(speaker="agent", text="is there anything else I can help with today"))
        turns.append(Turn(speaker="customer", text="no that is all, bye"))
        conversations.append(turns)
        labels.append(accepted)
    return conversations, labels


CONFIG = ModelConfig(max_turn_tokens=16, max_turns=6, token_budget=64)


@pytest.fixture(scope="module")
def fitted() -> tuple[SegmentSalience, list[list[Turn]]]:
    conversations, labels = mid_call_upsell_contacts(120, seed=1)
    segmented = [[segment_text(s.speaker, s.text) for s in contact_segments(t, 16)] for t in conversations]
    reasons = ["delivery_problem"] * len(conversations)  # one class: nothing to learn, skipped
    salience = SegmentSalience().fit(segmented, {"upsell": labels, "reason": reasons, "outcome": [None] * 120})
    return salience, conversations


def test_the_scorer_follows_the_estimator_contract(fitted: tuple[SegmentSalience, list[list[Turn]]]) -> None:
    salience, _ = fitted
    assert salience.tasks_ == ["upsell"]  # reason has a single class, outcome no labels
    assert salience.coef_.shape[1] == 1 and salience.scale_.shape == (1,)
    assert salience.score([]).shape == (0,)
    scores = salience.score(["agent: one moment", "customer: yes please add the premium plan"])
    assert scores.shape == (2,) and np.isfinite(scores).all()


def test_the_deciding_answer_scores_above_the_filler(fitted: tuple[SegmentSalience, list[list[Turn]]]) -> None:
    salience, _ = fitted
    answers = salience.score([segment_text("customer", t) for t in ACCEPT + DECLINE])
    filler = salience.score([segment_text("agent", t) for t in FILLER_AGENT[:3]])
    assert answers.min() > filler.max()


def test_salience_keeps_the_mid_call_answer_that_position_drops(
    fitted: tuple[SegmentSalience, list[list[Turn]]],
) -> None:
    salience, conversations = fitted
    kept_by_position = kept_by_salience = 0
    for turns in conversations[:40]:
        segments = contact_segments(turns, CONFIG.max_turn_tokens)
        answer = next(i for i, s in enumerate(segments) if s.text in ACCEPT + DECLINE)
        scores = salience.score([segment_text(s.speaker, s.text) for s in segments]).tolist()
        by_position, by_salience = select_segments(segments, CONFIG), select_segments(segments, CONFIG, scores)
        for chosen, scored in ((by_position, False), (by_salience, True)):
            assert chosen == sorted(chosen) and len(chosen) <= CONFIG.max_turns
            assert sum(segments[i].est_tokens for i in chosen) <= CONFIG.token_budget
            assert 0 in chosen and len(segments) - 1 in chosen  # the opening and the close stay
            if scored:
                kept_by_salience += answer in chosen
            else:
                kept_by_position += answer in chosen
    assert kept_by_salience == 40 and kept_by_position == 0
    with pytest.raises(ValueError, match="salience scores"):
        select_segments(segments, CONFIG, scores[:-1])


def test_batched_preparation_selects_like_one_by_one(fitted: tuple[SegmentSalience, list[list[Turn]]]) -> None:
    salience, conversations = fitted
    featurizer = Featurizer(tokenizer=None, config=CONFIG, salience=salience)
    short = [Turn(speaker="customer", text="where is my parcel")]
    batch = [*conversations[:7], short]
    assert featurizer.prepare_many(batch) == [featurizer.prepare(c) for c in batch]
    assert featurizer.prepare(short).segments[0].text == "where is my parcel"


def test_a_bundle_carries_its_scorer_and_old_bundles_select_by_position(tmp_path: Path, tiny_bundle: Path) -> None:
    path = install_bundle(tiny_bundle, tmp_path)
    config = json.loads((path / "model_config.json").read_text())
    assert config["segment_selection"] == "salience" and (path / SALIENCE_FILE).is_file()
    predictor = Predictor.load(path)
    assert isinstance(predictor.featurizer.salience, SegmentSalience)

    # A bundle written before salience existed has no such key: it selected by position.
    del config["segment_selection"]
    assert ModelConfig.from_dict(config).segment_selection == "position"

    (path / SALIENCE_FILE).unlink()
    with pytest.raises(BundleError, match=SALIENCE_FILE):
        Predictor.load(path)


def test_short_training_contacts_need_no_scorer() -> None:
    from dispo.contact import Contact, Labels
    from training.trainer import fit_salience

    config = ModelConfig(max_turn_tokens=32, max_turns=8, token_budget=160)

    contacts = [
        Contact(
            contact_id=f"c{i}",
            turns=[Turn(speaker="customer", text="cancel my order please")],
            labels=Labels(reason="cancel_order"),
        )
        for i in range(5)
    ]
    assert fit_salience(contacts, config) is None


def test_an_unknown_selection_is_refused() -> None:
    from dispo.errors import ConfigError

    with pytest.raises(ConfigError, match="segment_selection"):
        ModelConfig(segment_selection="random")


def test_direct_scoring_of_a_few_segments_equals_the_vectorizer_path(
    fitted: tuple[SegmentSalience, list[list[Turn]]],
) -> None:
    from dispo.model.salience import DIRECT_SCORING_MAX_TEXTS

    salience, conversations = fitted
    texts = [segment_text(s.speaker, s.text) for s in contact_segments(conversations[0], 16)]
    texts += ["customer: Yes PLEASE add the premium plan!!", "agent: zzz unknown words only", ""]
    assert len(texts) > DIRECT_SCORING_MAX_TEXTS  # scored together: the sparse path
    together = salience.score(texts)
    one_by_one = np.concatenate([salience.score([t]) for t in texts])  # the direct path
    assert one_by_one == pytest.approx(together, abs=1e-5)
    assert one_by_one[-1] == 0.0  # no known word: no evidence


def test_the_customers_last_words_are_read_before_the_rest_of_the_close() -> None:
    """A bitter remark followed by an agent goodbye and a curt sign-off: the remark is the
    customer's second-to-last segment and sits outside the last two segments."""
    turns = [Turn(speaker="customer", text="my order never arrived and I want it found")]
    for i in range(10):
        turns += [
            Turn(speaker="agent", text=FILLER_AGENT[i % len(FILLER_AGENT)]),
            Turn(speaker="customer", text=FILLER_CUSTOMER[i % 6]),
        ]
    close = [("customer", "so I wasted my whole evening on this, brilliant"), ("agent", "take care now"),
             ("agent", "thanks for calling"), ("customer", "bye")]  # fmt: skip
    turns += [Turn(speaker=speaker, text=text) for speaker, text in close]
    segments = contact_segments(turns, CONFIG.max_turn_tokens)
    remark = len(segments) - 4
    scores = [1.0 if i < 3 else 0.0 for i in range(len(segments))]  # salience prefers the opening
    anchored = select_segments(segments, CONFIG, scores)
    assert CONFIG.closing_customer_segments == 2 and remark in anchored
    assert remark not in select_segments(
        segments, ModelConfig(**{**CONFIG.to_dict(), "closing_customer_segments": 0}), scores
    )


def test_bundles_saved_before_the_closing_anchor_read_as_they_did() -> None:
    raw = {k: v for k, v in CONFIG.to_dict().items() if k != "closing_customer_segments"}
    assert ModelConfig.from_dict(raw).closing_customer_segments == 0
    assert ModelConfig.from_dict(CONFIG.to_dict()).closing_customer_segments == 2


def test_a_trained_bundle_can_be_reread_with_a_closing_anchor(tiny_bundle: Path, tmp_path: Path) -> None:
    """`reread_bundle`: a new version whose only change is how much of a contact it reads."""
    root = tmp_path / "models"
    source = install_bundle(tiny_bundle, root)
    config = json.loads((source / "model_config.json").read_text())
    config.pop("closing_customer_segments", None)  # as a bundle trained before the anchor
    (source / "model_config.json").write_text(json.dumps(config))
    weights = (source / "model.safetensors").read_bytes()
    bundle = reread_bundle("tiny", reading={"closing_customer_segments": 2}, root=root)
    assert bundle.version == "v2" and bundle.metrics == {"reading": {"closing_customer_segments": [0, 2]}}
    assert json.loads((bundle.path / "model_config.json").read_text())["closing_customer_segments"] == 2
    assert (bundle.path / "model.safetensors").read_bytes() == weights
    assert "closing_customer_segments" not in json.loads((source / "model_config.json").read_text())
    assert json.loads((bundle.path / "bundle.json").read_text())["derived_from"] == "tiny:v1"
    card = (bundle.path / "README.md").read_text()
    assert "## Reading" in card and "`closing_customer_segments` 0 -> 2" in card
    assert Predictor.load("tiny:v2", root=root).config.closing_customer_segments == 2
    with pytest.raises(ConfigError, match="already reads"):
        reread_bundle("tiny:v2", reading={"closing_customer_segments": 2}, root=root)
    with pytest.raises(ConfigError, match="expected some of"):
        reread_bundle("tiny", reading={"dropout": 0}, root=root)
