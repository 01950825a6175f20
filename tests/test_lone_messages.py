"""A contact that is one customer message (dispo/model/lone_messages.py): its outcome settled as
unresolved, and its sentiment read by the head and the VADER lexicon together (dispo/model/lexicon.py),
fitted and checked out of fold (training/calibration.py), stored in a derived bundle
(training/pipeline.py: lexicon_bundle) and applied to lone messages only."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dispo.contact import Contact
from dispo.errors import ConfigError, InvalidInputError
from dispo.io import write_contacts
from dispo.model.bundle import MODEL_CARD_FILE, BundleError
from dispo.model.features import PreparedContact, Segment
from dispo.model.lexicon import VADER_SCORES, LexiconBlend, lexicon_scores
from dispo.model.lone_messages import lone_message, settle_outcomes
from dispo.model.predictor import Predictor
from tests.conftest import make_contact
from tests.factories import install_bundle
from training.calibration import MIN_LEXICON_MESSAGES, fit_lexicon_blend
from training.pipeline import lexicon_bundle, recalibrate_bundle
from training.report import evaluate_bundle

MOODS = ("negative", "neutral", "positive")
WORDS = {
    "negative": ["this is terrible, I hate it", "awful service, so angry right now", "worst order ever, furious"],
    "neutral": ["the parcel is at the depot", "my order number is 4411", "it arrived on tuesday at noon"],
    "positive": ["love it, thank you so much!", "great help, really happy", "brilliant, you are the best"],
}


def prepared(*segments: tuple[int, str, str]) -> PreparedContact:
    made = tuple(Segment(turn, speaker, text, 8) for turn, speaker, text in segments)
    return PreparedContact(made, len(made), transcript=made)


def lone(i: int, mood: str, text: str | None = None) -> Contact:
    words = text or f"{WORDS[mood][i % 3]} #{i}"
    return make_contact(i, turns=[{"speaker": "customer", "text": words}], labels={"sentiment": mood})


def blend(shift: float = 0.0) -> LexiconBlend:
    rng = np.random.default_rng(0)
    coef = tuple(tuple(float(v) for v in rng.normal(0, 1, 3 + len(VADER_SCORES))) for _ in MOODS)
    return LexiconBlend(MOODS, coef, (shift, 0.0, -shift))


def test_only_a_contact_that_is_one_customer_turn_is_a_lone_message() -> None:
    assert lone_message(prepared((0, "customer", "love it"), (0, "customer", "thanks"))) == "love it thanks"
    assert lone_message(prepared((1, "customer", "love it"))) == "love it"  # an empty first turn has no segment
    assert lone_message(prepared((0, "customer", "hi"), (1, "agent", "hello"))) is None
    assert lone_message(prepared((0, "customer", "hi"), (1, "system", "Customer left the chat"))) is None
    assert lone_message(prepared((0, "customer", "hi"), (1, "customer", "anyone?"))) is None  # a thread, not one
    assert lone_message(prepared()) is None
    assert lone_message(prepared((0, "customer", ""))) is None  # what a contact without words is read as


def test_a_lone_messages_outcome_is_unresolved_and_a_conversations_the_heads() -> None:
    outcomes = ["resolved", "escalated", "transferred", "callback_scheduled", "unresolved"]
    head = np.array([[0.7, 0.1, 0.1, 0.05, 0.05], [0.6, 0.1, 0.1, 0.1, 0.1]])
    contacts = [prepared((0, "customer", "where is my parcel")), prepared((0, "customer", "hi"), (1, "agent", "hello"))]
    messages = [lone_message(c) for c in contacts]
    settled = settle_outcomes(head, messages, labels=outcomes)
    assert settled[0].tolist() == [0.0, 0.0, 0.0, 0.0, 1.0] and np.array_equal(settled[1], head[1])
    assert settle_outcomes(head[0], messages[:1], labels=outcomes).tolist() == [0.0, 0.0, 0.0, 0.0, 1.0]
    other = ["done", "open", "handed_over"]  # a taxonomy without `unresolved` keeps the head's reading
    assert np.array_equal(settle_outcomes(head[:, :3], messages, labels=other), head[:, :3])
    with pytest.raises(ValueError, match="2 rows of probabilities for 1 contacts"):
        settle_outcomes(head, messages[:1], labels=outcomes)


def test_a_blend_is_checked_when_made_and_round_trips() -> None:
    made = blend(0.5)
    assert LexiconBlend.from_dict(json.loads(json.dumps(made.to_dict()))) == made
    with pytest.raises(ValueError, match="coef 3 x 7"):
        LexiconBlend(MOODS, made.coef[:2], made.intercept)
    with pytest.raises(ValueError, match="coef 3 x 7"):
        LexiconBlend(MOODS, tuple(row[:5] for row in made.coef), made.intercept)
    with pytest.raises(ValueError, match="finite"):
        LexiconBlend(MOODS, made.coef, (float("nan"), 0.0, 0.0))
    with pytest.raises(ValueError, match="distinct labels"):
        LexiconBlend(("negative", "negative", "positive"), made.coef, made.intercept)
    stored = made.to_dict()
    with pytest.raises(ValueError, match=r"lacks \['intercept'\]"):
        LexiconBlend.from_dict({k: v for k, v in stored.items() if k != "intercept"})
    with pytest.raises(ValueError, match="this code computes"):  # features stored in another order
        LexiconBlend.from_dict({**stored, "features": list(reversed(stored["features"]))})


def test_a_blend_is_a_softmax_over_the_heads_log_probabilities_and_the_lexicon() -> None:
    made = blend(0.5)
    probabilities = np.array([[0.2, 0.5, 0.3], [0.7, 0.2, 0.1]])
    texts = ["I love it!!", "terrible"]
    features = np.hstack([np.log(probabilities), lexicon_scores(texts)])
    scores = features @ np.array(made.coef).T + np.array(made.intercept)
    expected = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    assert np.allclose(made.apply(probabilities, texts), expected)
    assert np.allclose(made.apply(probabilities[0], texts[:1]), expected[0])  # one vector in, one out
    with pytest.raises(ValueError, match="2 rows of probabilities for 1 messages"):
        made.apply(probabilities, texts[:1])


def test_the_blend_is_kept_where_the_lexicon_reads_what_the_head_misses() -> None:
    rng = np.random.default_rng(0)
    n = 150
    y = np.arange(n) % 3
    texts = [WORDS[MOODS[k]][i % 3] for i, k in enumerate(y)]
    noise = rng.dirichlet(np.ones(3), n)  # a head that knows nothing of these messages
    choice = fit_lexicon_blend(noise, texts, y, MOODS)
    assert choice.kept and choice.blend is not None and choice.messages == n
    assert choice.macro_f1_blend > choice.macro_f1_head + 0.3 and choice.log_loss_blend < choice.log_loss_head
    assert choice.to_dict()["blend"]["labels"] == list(MOODS)

    sure = np.eye(3)[y] * 0.9 + 0.1 / 3  # a head already right on every message, with texts that say nothing
    flat = ["the parcel is at the depot"] * n
    assert not fit_lexicon_blend(sure, flat, y, MOODS).kept

    few = MIN_LEXICON_MESSAGES - 1
    too_few = fit_lexicon_blend(noise[:few], texts[:few], y[:few], MOODS)
    assert not too_few.kept and too_few.blend is None and too_few.macro_f1_blend == too_few.macro_f1_head
    unlabelled = np.where(y == 2, -1, y)  # no positive message: nothing to learn it from
    assert not fit_lexicon_blend(noise, texts, unlabelled, MOODS).kept


def test_a_bundle_blends_lone_messages_only_and_its_report_says_so(tiny_bundle: Path, tmp_path: Path) -> None:
    bundle = install_bundle(tiny_bundle, tmp_path / "models")
    calibration = json.loads((bundle / "calibration.json").read_text())
    plain = Predictor.load(bundle)
    made = blend(2.0)
    (bundle / "calibration.json").write_text(json.dumps({**calibration, "lexicon": made.to_dict()}))
    blended = Predictor.load(bundle)
    assert blended.lexicon == made
    message, conversation = lone(0, "positive", "love it, thank you so much!"), make_contact(1)
    before, after = plain.predict([message, conversation]), blended.predict([message, conversation])
    assert after[1].sentiment == before[1].sentiment and after[1].sentiment_start == before[1].sentiment_start
    assert after[0].reasons == before[0].reasons and after[0].outcome == before[0].outcome
    assert after[0].outcome is not None and after[0].outcome.label == "unresolved" and after[0].outcome.probability == 1
    assert after[0].disposition_code is not None and after[0].disposition_code.endswith("UNRES")
    assert after[1].outcome == before[1].outcome  # a conversation: the head's reading
    raw = next(blended.logits([message]))
    head_outcome = blended.probabilities(raw["logits"])["outcome"]  # without the contact: the head's reading
    assert head_outcome.max() < 1  # the head alone is not sure: the rule, not the head, settles it
    assert before[0].sentiment is not None and after[0].sentiment is not None
    head = np.array([before[0].sentiment.probabilities[m] for m in MOODS])
    expected = made.apply(head, ["love it, thank you so much!"])
    assert np.allclose([after[0].sentiment.probabilities[m] for m in MOODS], expected, atol=1e-6)
    assert after[0].sentiment_start == after[0].sentiment  # the same words open and close it

    write_contacts([message, conversation], tmp_path / "eval.jsonl")
    report = evaluate_bundle(bundle, tmp_path / "eval.jsonl", tmp_path / "report", pictures=False)
    assert any("VADER" in step for step in report["calibration"]["sentiment"]["then"])
    assert any("unresolved, nothing was done" in step for step in report["calibration"]["outcome"]["then"])
    rows = (tmp_path / "report" / "predictions.jsonl").read_text().splitlines()
    scored = {row["contact_id"]: row for row in map(json.loads, rows)}
    assert scored["c-0000"]["predicted"]["sentiment"] == after[0].sentiment.label

    long = " ".join(["love it, thank you so much!"] * 12) + " " + " ".join(["this is terrible, I hate it"] * 12)
    read = blended.predict([lone(2, "negative", long)])[0]
    prepared_long = blended.featurizer.prepare(lone(2, "negative", long))
    assert len(prepared_long.segments) > 3  # its opening is its first three segments, not all its words
    opening_words = " ".join(prepared_long.segments[i].text for i in blended.opening_reading(prepared_long.segments))
    raw_long = next(blended.logits([lone(2, "negative", long)]))
    opening_head = blended.probabilities({"sentiment": raw_long["opening_sentiment"]})["sentiment"]
    assert read.sentiment_start is not None
    start = [read.sentiment_start.probabilities[m] for m in MOODS]
    assert np.allclose(start, made.apply(opening_head, [opening_words]), atol=1e-6)

    wrong = LexiconBlend(("bad", "neutral", "good"), made.coef, made.intercept)
    (bundle / "calibration.json").write_text(json.dumps({**calibration, "lexicon": wrong.to_dict()}))
    with pytest.raises(BundleError, match=r"calibration\.json.*not the sentiment head's"):
        Predictor.load(bundle)


def test_a_derived_version_fits_the_blend_on_lone_messages_and_a_recalibration_drops_it(
    tiny_bundle: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "models"
    install_bundle(tiny_bundle, root)
    messages = [lone(i, MOODS[i % 3]) for i in range(150)]
    write_contacts(messages, tmp_path / "messages.jsonl")
    derived = lexicon_bundle("tiny", str(tmp_path / "messages.jsonl"), root=root)
    assert derived is not None
    record = derived.metrics["lexicon"]
    assert record["kept"] and record["messages"] == 150 and record["macro_f1_blend"] > record["macro_f1_head"]
    stored = json.loads((derived.path / "calibration.json").read_text())
    assert stored["lexicon"]["labels"] == list(MOODS) and "lexicon" in stored["method"]
    assert Predictor.load(derived.path).lexicon == LexiconBlend.from_dict(stored["lexicon"])
    assert "## Lone messages" in (derived.path / MODEL_CARD_FILE).read_text()
    # class offsets chosen on messages of another kind: mostly negative ones, which the lexicon reads well
    target = [lone(500 + i, "negative") for i in range(40)] + [lone(600 + i, MOODS[i % 3]) for i in range(30)]
    write_contacts(target, tmp_path / "target.jsonl")
    again = lexicon_bundle(derived.path, str(tmp_path / "messages.jsonl"), priors=str(tmp_path / "target.jsonl"),
                           root=root)  # fmt: skip
    assert again is not None  # a blend the source has is replaced by the one fitted again
    priors = again.metrics["lexicon"]["priors"]
    assert priors["file"] == str(tmp_path / "target.jsonl") and set(priors) >= {"offsets", "macro_f1_out_of_fold"}
    refitted, first = Predictor.load(again.path).lexicon, Predictor.load(derived.path).lexicon
    assert refitted is not None and first is not None and refitted.coef == first.coef  # the same fit
    shift = [priors["offsets"].get(m, 0.0) for m in MOODS] if priors["kept"] else [0.0] * 3
    assert refitted == first.shifted(shift)
    with pytest.raises(ValueError, match="2 offsets for 3 labels"):
        refitted.shifted([0.1, 0.2])
    with pytest.raises(ConfigError, match="reported only"):  # the frozen set's test half chooses nothing
        lexicon_bundle(derived.path, str(tmp_path / "messages.jsonl"), priors="data/eval/lone-messages/test.jsonl",
                       root=root)  # fmt: skip

    write_contacts([*messages, make_contact(999)], tmp_path / "mixed.jsonl")
    with pytest.raises(InvalidInputError, match=r"1 contacts are not one customer message.*c-0999"):
        lexicon_bundle("tiny:v1", str(tmp_path / "mixed.jsonl"), root=root)

    dev = [make_contact(i, labels={"sentiment": MOODS[i % 3]}) for i in range(30)]
    write_contacts(dev, tmp_path / "dev.jsonl")
    kept = recalibrate_bundle(derived.path, str(tmp_path / "dev.jsonl"), top_label=("outcome",), root=root)
    assert Predictor.load(kept.path).lexicon is not None  # the sentiment calibration it reads is unchanged
    with caplog.at_level("WARNING"):
        dropped = recalibrate_bundle(derived.path, str(tmp_path / "dev.jsonl"), offsets=("sentiment",), root=root)
    assert Predictor.load(dropped.path).lexicon is None and "lexicon blend for lone messages dropped" in caplog.text


def test_dispo_models_lexicon_writes_a_version_only_when_the_blend_helps(tiny_bundle: Path, tmp_path: Path) -> None:
    from dispo.cli import main

    root = tmp_path / "models"
    install_bundle(tiny_bundle, root)
    write_contacts([lone(i, MOODS[i % 3]) for i in range(150)], tmp_path / "messages.jsonl")
    argv = ["models", "--models-dir", str(root), "lexicon", "tiny", "--messages", str(tmp_path / "messages.jsonl")]
    assert main(argv) == 0 and (root / "tiny" / "v2" / "calibration.json").is_file()
    write_contacts([lone(i, MOODS[i % 3]) for i in range(40)], tmp_path / "few.jsonl")
    argv = ["models", "--models-dir", str(root), "lexicon", "tiny:v1", "--messages", str(tmp_path / "few.jsonl")]
    assert main(argv) == 1 and not (root / "tiny" / "v3").exists()  # too few to fit: nothing written


def test_a_live_contact_and_the_parts_an_explanation_reads_are_not_lone_messages(
    tiny_bundle: Path, tmp_path: Path
) -> None:
    from dispo.audit.explain import explain
    from dispo.contact import Turn
    from dispo.model.live import LiveSession

    bundle = install_bundle(tiny_bundle, tmp_path / "models")
    calibration = json.loads((bundle / "calibration.json").read_text())
    (bundle / "calibration.json").write_text(json.dumps({**calibration, "lexicon": blend(2.0).to_dict()}))
    predictor = Predictor.load(bundle)
    message = lone(0, "negative", "where is my parcel, this is terrible")
    session = LiveSession(predictor, message.contact_id)
    so_far = session.add_turn(Turn(speaker="customer", text=message.turns[0].text))
    assert so_far is not None and so_far.outcome is not None
    raw = next(predictor.logits([message]))
    heads = predictor.probabilities(raw["logits"])  # the heads alone: a contact in progress
    assert np.allclose([so_far.outcome.probabilities[o] for o in predictor.labels["outcome"]], heads["outcome"])
    assert so_far.sentiment is not None
    assert np.allclose([so_far.sentiment.probabilities[m] for m in MOODS], heads["sentiment"], atol=1e-6)
    ended = predictor.predict([message])[0]
    assert ended.outcome is not None and ended.outcome.label == "unresolved"  # the same words, as it ended

    items = predictor.featurizer.prepare_many([message, message])
    whole, part = predictor.predict_prepared(items, whole=[True, False])
    assert whole.outcome == ended.outcome and part.outcome is not None and part.outcome.probability < 1
    assert np.allclose([part.outcome.probabilities[o] for o in predictor.labels["outcome"]], heads["outcome"])
    with pytest.raises(ValueError, match="1 flags for 2 prepared contacts"):
        predictor.predict_prepared(items, whole=[True])
    conversation = make_contact(1, turns=[{"speaker": "customer", "text": "where is my parcel"},
                                          {"speaker": "agent", "text": "it ships tomorrow"}])  # fmt: skip
    explained = explain(predictor, conversation)
    assert explained  # its customer turn alone and the variant without the agent are read by the heads alone
    single = predictor.predict_prepared(predictor.featurizer.prepare_many([conversation.model_copy(
        update={"turns": conversation.turns[:1]})]), whole=[False])[0]  # fmt: skip
    assert (
        single.outcome is not None
        and single.outcome.label == max(single.outcome.probabilities, key=single.outcome.probabilities.__getitem__)
        and single.outcome.probability < 1
    )


def test_the_recipe_fits_the_blend_on_its_sources_held_out_messages(tiny_bundle: Path, tmp_path: Path) -> None:
    from training.default_model import LexiconRecipe, with_lexicon

    root = tmp_path / "models"
    bundle = install_bundle(tiny_bundle, root)
    write_contacts([lone(i, MOODS[i % 3]) for i in range(150)], tmp_path / "held_out.jsonl")
    prepared = {"tweets": (tmp_path / "train.jsonl", tmp_path / "held_out.jsonl"), "comments": (tmp_path, None)}
    derived = with_lexicon(bundle, LexiconRecipe("tweets"), prepared, root, name="tiny")
    assert derived != bundle and Predictor.load(derived).lexicon is not None
    write_contacts([lone(i, MOODS[i % 3]) for i in range(40)], tmp_path / "held_out.jsonl")
    assert with_lexicon(bundle, LexiconRecipe("tweets"), prepared, root, name="tiny") == bundle  # not kept
    with pytest.raises(ConfigError, match="holds nothing out"):
        with_lexicon(bundle, LexiconRecipe("comments"), prepared, root, name="tiny")
