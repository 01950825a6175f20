"""Mixing sources for training: seeded samples per file, per-source label counts, a fixed validation file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dispo.errors import ConfigError, RecordError
from dispo.io import write_contacts
from tests.conftest import make_contact
from training.config import DataConfig, RunConfig
from training.labelsources import resolve_labels
from training.modelcard import sources_table
from training.pipeline import check_label_sources, read_training_contacts, train_model, training_sample


def test_a_file_is_sampled_to_its_size_with_a_seed(tmp_path: Path, taxonomy):
    big, small = tmp_path / "big.jsonl", tmp_path / "small.jsonl"
    write_contacts([make_contact(i) for i in range(40)], big)
    write_contacts([make_contact(100 + i, labels={"sentiment": "negative"}) for i in range(5)], small)
    sources: dict = {}
    kept = read_training_contacts(
        [str(big), str(small)], taxonomy, None, sample_sizes={str(big): 10}, seed=3, sources=sources
    )
    assert len(kept) == 15
    again = read_training_contacts([str(big), str(small)], taxonomy, None, sample_sizes={str(big): 10}, seed=3)
    assert [c.contact_id for c in again] == [c.contact_id for c in kept]
    assert sources[str(big)]["read"] == 40 and sources[str(big)]["kept"] == 10
    assert sources[str(small)]["labels"] == {"reason": {}, "outcome": {}, "sentiment": {"negative": 5}, "upsell": {}}
    table = "\n".join(sources_table(sources))
    assert f"| {small} | 5 | 5 | 0 | 0 | 5 | 0 |" in table


def test_the_sample_a_run_keeps_can_be_drawn_again_from_any_folder(tmp_path: Path, taxonomy):
    """What a run trained on, and so what it never saw, is known from the file, the limit and the seed."""
    contacts = [make_contact(i) for i in range(30)]
    here = training_sample(contacts, tmp_path / "mix" / "train.jsonl", 8, seed=3)
    there = training_sample(contacts, Path("/elsewhere/mix/train.jsonl"), 8, seed=3)
    assert [c.contact_id for c in here] == [c.contact_id for c in there] and len(here) == 8
    assert training_sample(contacts, "mix/train.jsonl", 8, seed=4) != here
    assert training_sample(contacts, "mix/train.jsonl", None, seed=3) == contacts
    assert training_sample(contacts, "mix/train.jsonl", 30, seed=3) == contacts
    write_contacts(contacts, tmp_path / "mix" / "train.jsonl")
    read = read_training_contacts([str(tmp_path / "mix" / "train.jsonl")], taxonomy, None,
                                  sample_sizes={str(tmp_path / "mix" / "train.jsonl"): 8}, seed=3)  # fmt: skip
    assert [c.contact_id for c in read] == [c.contact_id for c in here]


def test_sample_sizes_must_name_training_files():
    with pytest.raises(ConfigError, match="not in train"):
        DataConfig(train=["a.jsonl"], sample_sizes={"b.jsonl": 10})
    with pytest.raises(ConfigError, match="positive integers"):
        DataConfig(train=["a.jsonl"], sample_sizes={"a.jsonl": 0})


def test_a_validation_file_chooses_the_epoch_and_is_not_trained_on(tmp_path: Path):
    import json

    from tests.factories import make_tiny_base_model
    from training.config import RunConfig
    from training.corpus.builder import CorpusBuilder, CorpusConfig
    from training.pipeline import train_model

    contacts = [b.contact for b in CorpusBuilder(CorpusConfig(n_contacts=50, seed=2)).build()]
    # No training contact says how it ended: the outcome head cannot learn, and the card says so.
    contacts[:40] = [c.model_copy(update={"labels": c.labels.model_copy(update={"outcome": None})})  # type: ignore[union-attr]
                     for c in contacts[:40]]  # fmt: skip
    write_contacts(contacts[:40], tmp_path / "train.jsonl")
    write_contacts(contacts[40:], tmp_path / "validation.jsonl")
    base = make_tiny_base_model(tmp_path / "base", [t.text for c in contacts for t in c.turns])
    run = RunConfig.from_sections(
        {
            "data": {"train": [str(tmp_path / "train.jsonl")], "validation": str(tmp_path / "validation.jsonl")},
            "model": {"base_model": str(base), "max_turn_tokens": 24, "token_budget": 96, "max_turns": 6},
            "training": {"epochs": 1, "batch_size": 16, "baseline": False, "compact_weights": True},
        }
    )
    bundle = train_model(run, "mix", root=tmp_path / "models")
    data = json.loads((bundle.path / "data.json").read_text(encoding="utf-8"))
    assert (data["n_train"], data["n_validation"]) == (40, 10)
    assert data["validation_file"].endswith("validation.jsonl")
    assert data["weights"]["compact"] and data["weights"]["from_base"] > 0
    card = (bundle.path / "README.md").read_text(encoding="utf-8")
    assert "validation.jsonl` (never trained on)" in card
    assert data["untrained_heads"] == ["outcome"] and "**untrained heads: outcome**" in card
    # 40 contacts over 27 reasons: the reasons no contact has are named, since the model cannot learn them
    missing = data["labels_without_examples"]["reason"]
    assert (
        missing
        and not set(missing) & set(data["label_counts"]["reason"])
        and "outcome" not in data["labels_without_examples"]
    )
    assert f"**reason: {len(missing)} label(s) without a training example**" in card
    from dispo.model.predictor import Predictor

    predictions = Predictor.load(bundle.path).predict(contacts[40:43])
    assert len(predictions) == 3


def test_a_validation_file_that_overlaps_the_training_data_is_refused_before_any_work(tmp_path: Path):
    contacts = [make_contact(i) for i in range(12)]
    write_contacts(contacts, tmp_path / "train.jsonl")
    write_contacts(contacts[:3], tmp_path / "validation.jsonl")
    unloadable = tmp_path / "unloadable-base"  # an encoder folder by its look, which any load would fail on
    unloadable.mkdir()
    (unloadable / "config.json").write_text("{}", encoding="utf-8")
    run = RunConfig.from_sections(
        {"data": {"train": [str(tmp_path / "train.jsonl")], "validation": str(tmp_path / "validation.jsonl"),
                  "labels": "agent"},
         "model": {"base_model": str(unloadable)}, "training": {"label_noise": "auto"}}
    )  # fmt: skip
    with pytest.raises(ConfigError, match="3 validation contacts are also in the training data"):
        train_model(run, "overlap", root=tmp_path / "models")


def test_a_contact_in_two_training_files_is_refused_naming_both(tmp_path: Path, taxonomy):
    """A repeat would train twice and could sit on both sides of the validation split."""
    first, second = tmp_path / "jan.jsonl", tmp_path / "feb.jsonl"
    write_contacts([make_contact(i) for i in range(3)], first)
    write_contacts([make_contact(i) for i in range(2, 5)], second)
    with pytest.raises(RecordError, match=r"feb.jsonl:1: field 'contact_id'.*read first at .*jan.jsonl:3"):
        read_training_contacts([str(first), str(second)], taxonomy, None)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("training.blend_baseline=maybe", "key 'blend_baseline': expected true or false, found 'maybe'"),
        ("model.max_turns=1.5", "key 'max_turns': expected an integer, found 1.5"),
        ("training.epochs=one", "key 'epochs': expected an integer, found 'one'"),
    ],
)
def test_a_setting_of_the_wrong_type_is_refused_naming_its_key(setting: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        RunConfig.from_sections({"data": {"train": "x.jsonl"}}, source="--set", **RunConfig.parse_settings([setting]))
    with pytest.raises(
        ConfigError, match=re.escape("key 'class_offsets': expected tuple[str, ...], found 'sentiment'")
    ):
        RunConfig.from_sections(
            {"data": {"train": "x.jsonl"}}, **RunConfig.parse_settings(["training.class_offsets=sentiment"])
        )
    learning_rate = RunConfig.parse_settings(["training.learning_rate=1e-4"])  # an int for a float, text for a list
    config = RunConfig.from_sections({"data": {"train": "x.jsonl", "labels": "agent"}}, **learning_rate)
    assert config.training.learning_rate == 1e-4 and config.data.labels == ["agent"]


def test_a_run_with_no_label_under_its_priority_is_refused_naming_what_the_data_holds(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    history = [make_contact(i, labels=None) for i in range(6)]  # agent codes only, as a center's history is
    write_contacts(history, tmp_path / "history.jsonl")
    run = RunConfig.from_sections({"data": {"train": [str(tmp_path / "history.jsonl")]}})
    with pytest.raises(ConfigError, match=r"no training contact has a label under --labels labels: 6 contacts have "
                       r"agent labels \(--labels agent\)"):  # fmt: skip
        train_model(run, "forgot", root=tmp_path / "models")
    assert not (tmp_path / "models" / "forgot").exists()
    gold = [make_contact(10 + i) for i in range(3)]
    with caplog.at_level("WARNING"):
        check_label_sources([*gold, *history], resolve_labels([*gold, *history], priority=["agent"]), ["agent"])
    assert (
        "--labels agent leaves the labels of 3 contacts unused (--labels labels,agent uses them first)" in caplog.text
    )


def test_file_is_the_report_s_word_for_a_contact_file_s_own_labels_in_training_too() -> None:
    from training.labelsources import label_priority

    assert label_priority(["file", "agent"], audits=False) == ("labels", "agent")


def test_file_in_a_training_priority_counts_as_labels_for_the_unused_labels_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = DataConfig(train=["x.jsonl"], labels=["file", "agent"])
    assert config.labels == ["labels", "agent"]
    gold = [make_contact(i) for i in range(2)]
    with caplog.at_level("WARNING"):
        check_label_sources(gold, resolve_labels(gold, priority=config.labels), config.labels)
    assert "unused" not in caplog.text
