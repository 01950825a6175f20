"""The realistic evaluation set: frozen by hash, split once, never trained on."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from dispo.errors import ConfigError
from dispo.io import expand_inputs, read_contacts, write_contacts
from training.evalset import (
    CONTACT_ID_PREFIX,
    DEFAULT_DIR,
    LONE_DIR,
    LONE_ID_PREFIX,
    LONG_TURNS,
    SET_DIRS,
    EvaluationLeakError,
    FrozenSetChangedError,
    check_frozen,
    dev_halves,
    freeze,
    half_path,
    read_pooled_half,
    refuse_test_half,
)
from training.pipeline import read_training_contacts


@pytest.mark.parametrize("folder", SET_DIRS.values(), ids=SET_DIRS.keys())
def test_the_halves_match_their_frozen_hashes(folder: Path):
    manifest = check_frozen(folder)
    assert set(manifest["halves"]) == {"dev", "test"}


@pytest.mark.parametrize("folder", SET_DIRS.values(), ids=SET_DIRS.keys())
def test_the_halves_are_disjoint_fully_labelled_and_cover_every_reason(folder: Path, taxonomy):
    dev, test = (read_contacts(half_path(h, folder), taxonomy=taxonomy) for h in ("dev", "test"))
    assert not {c.contact_id for c in dev} & {c.contact_id for c in test}
    assert len(dev) + len(test) >= 300
    assert min(Counter(c.labels.reason for c in [*dev, *test] if c.labels).values()) >= 8, "every reason 8+ times"
    for half in (dev, test):
        assert all(c.contact_id.startswith(CONTACT_ID_PREFIX) for c in half)
        assert all(c.labels is not None and None not in c.labels.model_dump().values() for c in half)
        reasons = Counter(c.labels.reason for c in half if c.labels)
        assert set(reasons) == set(taxonomy.reason_names), "each half holds every reason"
        assert min(reasons.values()) >= 3  # the split is stratified by (reason, long): 8 can fall 5 / 3
        channels = Counter(c.channel for c in half)
        assert channels["voice"] / len(half) >= 0.3
        assert sum(len(c.turns) >= LONG_TURNS for c in half) / len(half) >= 0.15


def test_the_sets_share_no_contact():
    ids = [c.contact_id for folder in SET_DIRS.values() for half in ("dev", "test")
           for c in read_contacts(half_path(half, folder))]  # fmt: skip
    assert len(ids) == len(set(ids))


def test_a_pooled_half_is_each_sets_half_in_order_with_its_hash():
    contacts, hashes = read_pooled_half("dev", ["c", "a"])
    c, a = (read_contacts(half_path("dev", SET_DIRS[name])) for name in ("c", "a"))
    assert [x.contact_id for x in contacts] == [x.contact_id for x in [*c, *a]]
    assert hashes == {name: check_frozen(SET_DIRS[name])["halves"]["dev"]["sha256"] for name in ("c", "a")}


def test_a_changed_file_is_noticed(tmp_path: Path):
    for name in ("MANIFEST.json", "dev.jsonl", "test.jsonl"):
        (tmp_path / name).write_bytes((DEFAULT_DIR / name).read_bytes())
    check_frozen(tmp_path)
    with (tmp_path / "test.jsonl").open("a", encoding="utf-8") as fh:
        fh.write("\n")
    with pytest.raises(FrozenSetChangedError, match="test half"):
        check_frozen(tmp_path)


def test_training_refuses_contacts_of_the_set(tmp_path: Path, taxonomy):
    mixed = tmp_path / "train.jsonl"
    contacts = read_contacts(half_path("dev"), taxonomy=taxonomy)[:3]
    write_contacts(contacts, mixed)
    with pytest.raises(EvaluationLeakError, match="never trained on"):
        read_training_contacts([str(mixed)], taxonomy, None)


@pytest.mark.parametrize("folder", SET_DIRS.values(), ids=SET_DIRS.keys())
def test_the_manifest_names_the_split_rule(folder: Path):
    manifest = json.loads((folder / "MANIFEST.json").read_text(encoding="utf-8"))
    assert "stratified" in manifest["split"]


@pytest.mark.parametrize("folder", SET_DIRS.values(), ids=SET_DIRS.keys())
def test_the_test_half_cannot_even_choose_an_epoch(folder: Path):

    refuse_test_half(half_path("dev", folder))
    with pytest.raises(EvaluationLeakError, match="reported only"):
        refuse_test_half(half_path("test", folder))


def test_a_folder_or_glob_that_holds_a_test_half_cannot_choose_either(tmp_path: Path):

    (tmp_path / "dev.jsonl").write_bytes(half_path("dev").read_bytes())
    refuse_test_half(tmp_path)
    (tmp_path / "copy.jsonl").write_bytes(half_path("test").read_bytes())
    for inputs in (tmp_path, str(tmp_path / "*.jsonl"), str(DEFAULT_DIR.parent / "realistic*" / "*.jsonl")):
        with pytest.raises(EvaluationLeakError, match="reported only"):
            refuse_test_half(inputs)


def test_the_dev_halves_are_every_sets_and_may_choose():
    files = expand_inputs(dev_halves())
    assert files == sorted(half_path("dev", folder) for folder in SET_DIRS.values()) and len(files) == 3
    refuse_test_half(dev_halves())


def test_the_lone_messages_are_frozen_lone_labelled_and_never_trained_on(tmp_path: Path, taxonomy):
    manifest = check_frozen(LONE_DIR)
    halves = {half: read_contacts(half_path(half, LONE_DIR), taxonomy=taxonomy) for half in ("dev", "test")}
    assert manifest["halves"]["dev"]["contacts"] == len(halves["dev"]) == 75
    every = halves["dev"] + halves["test"]
    assert len({c.contact_id for c in every}) == len(every) == 150
    assert all(c.contact_id.startswith(LONE_ID_PREFIX) for c in every)
    assert all(len(c.turns) == 1 and c.turns[0].speaker == "customer" for c in every)
    assert all(c.labels is not None and c.labels.reason and c.labels.sentiment for c in every)
    assert {c.labels.reason for c in every if c.labels} == set(taxonomy.reason_names)  # every reason
    write_contacts(halves["dev"][:2], tmp_path / "train.jsonl")
    with pytest.raises(EvaluationLeakError, match="never trained on"):
        read_training_contacts([str(tmp_path / "train.jsonl")], taxonomy, None)
    with pytest.raises(EvaluationLeakError, match="reported only"):
        refuse_test_half(half_path("test", LONE_DIR))
    refuse_test_half(half_path("dev", LONE_DIR))  # the dev half may choose


def test_freezing_lone_messages_refuses_a_conversation_and_a_missing_label(tmp_path: Path, taxonomy):
    first = read_contacts(half_path("dev", LONE_DIR), taxonomy=taxonomy)[:30]
    conversation = first[0].model_copy(
        update={
            "contact_id": "LM-9-001",
            "turns": [*first[0].turns, first[0].turns[0].model_copy(update={"speaker": "agent"})],
        }
    )
    write_contacts([*first[1:], conversation], tmp_path / "part.jsonl")
    with pytest.raises(ConfigError, match=r"a lone message is one customer turn: \['LM-9-001'\]"):
        freeze([tmp_path / "part.jsonl"], tmp_path / "set", lone=True)
    unlabelled = first[0].model_copy(update={"contact_id": "LM-9-002", "labels": None})
    write_contacts([*first[1:], unlabelled], tmp_path / "part.jsonl")
    with pytest.raises(ConfigError, match=r"needs the labels \['reason', 'sentiment'\]"):
        freeze([tmp_path / "part.jsonl"], tmp_path / "set", lone=True)
    with pytest.raises(ConfigError, match="must start with 'RE-'"):  # not a realistic set of conversations
        freeze([tmp_path / "part.jsonl"], tmp_path / "set")
    write_contacts(first, tmp_path / "part.jsonl")
    frozen = freeze([tmp_path / "part.jsonl"], tmp_path / "set", lone=True)
    assert sum(h["contacts"] for h in frozen["halves"].values()) == 30 and check_frozen(tmp_path / "set")
