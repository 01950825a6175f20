"""The default model: its recipe, the shipping step, and the shipped bundle itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dispo.errors import ConfigError
from dispo.io import read_contacts, write_contacts
from dispo.model.bundle import promoted_version, versions
from dispo.model.modeling import ModelConfig
from tests.conftest import make_contact
from tests.factories import make_tiny_bundle
from training.corpus.phrases import SYSTEM_CLOSE
from training.default_model import (
    DEFAULT_RECIPE,
    ROOT,
    SHIPPED_NAME,
    CorpusRecipe,
    Recipe,
    SourceRecipe,
    build_corpus,
    prepare_source,
    ship,
    ship_evaluated,
    sources_section,
    upsell_only,
)
from training.evalset import half_path

SHIPPED = ROOT / "models" / SHIPPED_NAME
MAX_SHIPPED_MB = 40


def test_the_recipe_reads_and_refuses_what_it_sets_itself(tmp_path: Path):
    recipe = Recipe.from_file(DEFAULT_RECIPE)
    assert recipe.corpus.n_contacts > 0 and recipe.sources
    assert recipe.run["training"]["compact_weights"] is True
    assert {"tweeteval_test", "uss_test", "dstc11_upsell"} <= set(recipe.evaluations)
    # trained without the rule, read with it (v12): the model config takes both
    assert recipe.reading == {"ignore_agent_close": ["sentiment"]} and "ignore_agent_close" not in recipe.run["model"]
    ModelConfig.from_dict({**recipe.run["model"], **recipe.reading})
    # lone messages blended with the lexicon, fitted on the tweets the recipe holds out (v13)
    assert recipe.lexicon is not None and recipe.sources[recipe.lexicon.source].hold_out > 0
    assert recipe.lexicon.priors is None  # offsets chosen on the lone messages' dev half did not hold (session 30)
    bad = tmp_path / "recipe.yaml"
    for text, match in [
        ("lexicon:\n  source: tweeteval\n", r"lexicon\.source 'tweeteval' must be a recipe source with hold_out"),
        ("sources:\n  tweeteval: {path: t}\nlexicon:\n  source: tweeteval\n", "with hold_out > 0"),
        ("lexicon: {}\n", "source"),
        ("reading:\n  epochs: 3\n", r"reading\.epochs is not a reading setting"),
        ("reading:\n  ignore_agent_close: [mood]\n", r"unknown tasks \['mood'\]"),
        ("run:\n  model:\n    max_turns: 12\nreading:\n  max_turns: 20\n", "set both under run.model"),
    ]:
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError, match=match):
            Recipe.from_file(bad)
    bad.write_text("run:\n  data:\n    validation: data/eval/realistic/test.jsonl\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="set by the recipe itself"):
        Recipe.from_file(bad)
    bad.write_text("corpus:\n  contacts: 5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unexpected keyword"):
        Recipe.from_file(bad)


def test_ship_replaces_the_shipped_version_and_leaves_derived_files_out(tmp_path: Path):
    whole = make_tiny_bundle(tmp_path / "work", name="whole")
    with pytest.raises(ConfigError, match="compact weights"):
        ship(whole, tmp_path / "models")
    bundle = make_tiny_bundle(tmp_path / "work", name="candidate", compact=True)
    (bundle / "report").mkdir(exist_ok=True)
    (bundle / "report" / "picture.png").write_bytes(b"png")
    registry = tmp_path / "models"
    first = ship(bundle, registry)
    second = ship(bundle, registry)
    assert versions(SHIPPED_NAME, registry) == [second.name] and first.name == "v1" and second.name == "v2"
    assert promoted_version(SHIPPED_NAME, registry) == "v2"
    manifest = json.loads((second / "bundle.json").read_text(encoding="utf-8"))
    assert (manifest["name"], manifest["version"]) == (SHIPPED_NAME, "v2")
    assert manifest["trained_as"] == "candidate:v1"  # where its weights were trained
    assert not list(second.rglob("*.png"))
    assert (second / "README.md").read_text(encoding="utf-8").startswith(f"# {SHIPPED_NAME} v2\n")
    assert not [p for p in (registry / SHIPPED_NAME).iterdir() if p.name.startswith(".incoming")]
    # a recalibrated bundle (its manifest already says where its weights were trained) keeps that
    recalibrated = json.loads((bundle / "bundle.json").read_text(encoding="utf-8"))
    (bundle / "bundle.json").write_text(json.dumps({**recalibrated, "trained_as": "exp:v7"}), encoding="utf-8")
    third = json.loads((ship(bundle, registry) / "bundle.json").read_text(encoding="utf-8"))
    assert third["trained_as"] == "exp:v7" and third["version"] == "v3"
    with pytest.raises(ConfigError, match="not evaluated"):  # shipped only once a --no-ship run evaluated it
        ship_evaluated(bundle, registry)
    (bundle / "evaluations").mkdir()
    (bundle / "evaluations" / "summary.json").write_text("{}", encoding="utf-8")
    assert ship_evaluated(bundle, registry).name == "v4"


def test_the_built_corpus_is_rebuilt_when_the_builder_changes(tmp_path: Path):
    recipe = CorpusRecipe(n_contacts=40, scene_share=0.0)
    train, _ = build_corpus(recipe, tmp_path / "shared", tmp_path)
    marked = train.read_text(encoding="utf-8") + "marker\n"
    train.write_text(marked, encoding="utf-8")
    assert build_corpus(recipe, tmp_path / "shared", tmp_path)[0].read_text(encoding="utf-8") == marked  # kept
    stamp = tmp_path / "built.recipe.json"
    stale = json.loads(stamp.read_text(encoding="utf-8"))
    stamp.write_text(json.dumps({**stale, "builder": "0" * 64}, sort_keys=True), encoding="utf-8")
    assert "marker" not in build_corpus(recipe, tmp_path / "shared", tmp_path)[0].read_text(encoding="utf-8")


def test_the_recipe_passes_the_scripted_closings_to_the_builder(tmp_path: Path):
    plain, _ = build_corpus(CorpusRecipe(n_contacts=60, scene_share=0.0), tmp_path / "shared", tmp_path / "plain")
    recipe = CorpusRecipe(n_contacts=60, scene_share=0.0, scripted_close_share=1.0, system_close_share=1.0)
    closed, _ = build_corpus(recipe, tmp_path / "shared", tmp_path / "closed")

    events = {line for lines in SYSTEM_CLOSE.values() for line in lines}
    # Every contact but an email ends on a platform event: the close's, or one it already ended on.
    ended = [c for c in read_contacts(closed) if c.channel != "email"]
    assert ended and all(c.turns[-1].speaker == "system" for c in ended)
    typed = [c for c in ended if c.channel != "voice"]  # a voice call renders every line as speech
    assert sum(c.turns[-1].text in events for c in typed) >= len(typed) / 2
    assert not any(c.turns[-1].text in events for c in read_contacts(plain))


def test_a_source_can_hold_out_and_repeat_its_training_split(tmp_path: Path):
    folder = tmp_path / "tweets"
    folder.mkdir()
    write_contacts([make_contact(i) for i in range(20)], folder / "train.jsonl")
    plain = prepare_source("tweets", folder, SourceRecipe(path="tweets", sample=5), seed=0)
    assert plain == (folder / "train.jsonl", None)  # sampled by the run, as before
    spec = SourceRecipe(path="tweets", hold_out=6, sample=10, repeat=3)
    train, held_out = prepare_source("tweets", folder, spec, seed=0)
    assert held_out is not None
    held = {c.contact_id for c in read_contacts(held_out)}
    trained = read_contacts(train)
    originals = {c.contact_id.split("~")[0] for c in trained}
    assert len(held) == 6 and len(originals) == 10 and not held & originals  # held out is never trained on
    assert len(trained) == 30 and len({c.contact_id for c in trained}) == 30  # every copy its own id
    assert sorted(c.metadata.get("copy", 0) for c in trained) == [0] * 10 + [1] * 10 + [2] * 10
    again, _ = prepare_source("tweets", folder, spec, seed=0)  # seeded: the same file on any machine
    assert [c.contact_id for c in read_contacts(again)] == [c.contact_id for c in trained]
    # another training seed, sample or repeat holds out the same contacts (comparable across runs)
    other = SourceRecipe(path="tweets", hold_out=6, repeat=2)
    _, other_held = prepare_source("tweets", folder, other, seed=7)
    assert other_held is not None and {c.contact_id for c in read_contacts(other_held)} == held
    recipe = Recipe(corpus=CorpusRecipe(), sources={"tweets": spec}, run={}, evaluations={})
    assert "| tweets | tweets | 10 | 6 | 3 |" in sources_section(recipe)  # the model card says how it was mixed
    with pytest.raises(ConfigError, match="leaves nothing"):
        prepare_source("tweets", folder, SourceRecipe(path="tweets", hold_out=20), seed=0)
    with pytest.raises(ConfigError, match="repeat"):
        SourceRecipe(path="tweets", repeat=0)


def test_the_recipe_refuses_a_bad_source_naming_the_file(tmp_path: Path):
    bad = tmp_path / "recipe.yaml"
    bad.write_text("sources:\n  tweets: {path: tweets, repeat: 0}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"recipe\.yaml: source tweets: hold_out must be >= 0 and repeat >= 1"):
        Recipe.from_file(bad)


def test_upsell_only_keeps_the_upsell_labels(tmp_path: Path):
    src = tmp_path / "in.jsonl"
    write_contacts([make_contact(0), make_contact(1, labels={"reason": "track_order"})], src)
    kept = read_contacts(upsell_only(src, tmp_path / "out.jsonl"))
    assert len(kept) == 1 and kept[0].labels is not None
    assert kept[0].labels.reason is None and kept[0].labels.upsell is False


@pytest.mark.slow
def test_the_shipped_model_is_compact_and_predicts():
    if not versions(SHIPPED_NAME, SHIPPED.parent):
        pytest.fail("models/dispo-default is missing: rebuild it with `make default-model`")
    from dispo.model.predictor import Predictor

    (version,) = versions(SHIPPED_NAME, SHIPPED.parent)
    folder = SHIPPED / version
    size_mb = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6
    assert size_mb <= MAX_SHIPPED_MB
    data = json.loads((folder / "data.json").read_text(encoding="utf-8"))
    assert data["weights"]["compact"] and data["validation_file"].endswith("dev.jsonl")
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert "realistic_test" in card and "Labels each head was trained on" in card
    predictor = Predictor.load(SHIPPED_NAME, SHIPPED.parent)
    contacts = read_contacts(half_path("dev"))[:4]
    predictions = predictor.predict(contacts)
    assert [p.contact_id for p in predictions] == [c.contact_id for c in contacts]
    assert all(abs(sum(p.reason_probabilities.values()) - 1.0) < 1e-4 for p in predictions)
