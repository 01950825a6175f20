"""Converters of the public data sets, on handmade fixtures (and on the real files when present)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dispo.contact import Contact
from dispo.errors import ConfigError, RecordError
from dispo.io import InputFormatError
from dispo.taxonomy import Taxonomy, load_taxonomy
from tests.conftest import shared_data
from tests.converted import convert_valid, outputs
from training.sources import SOURCES, convert
from training.sources.common import stratified_split


# ---------------------------------------------------------------------------------------------
# Fixtures: a few handmade rows in each source's format
# ---------------------------------------------------------------------------------------------
def _banking77(root: Path) -> Path:
    folder = root / "banking77"
    folder.mkdir()
    (folder / "categories.json").write_text(json.dumps(["card_arrival", "lost_or_stolen_card", "top_up_failed"]))
    train = ["text,category"]
    for i in range(4):
        train += [
            f"Where is my card {i}?,card_arrival",
            f'"I lost my card, help {i}",lost_or_stolen_card',
            f"top up {i} failed,top_up_failed",
        ]
    (folder / "train.csv").write_text("\n".join(train) + "\n", encoding="utf-8")
    test = "text,category\nmy card never came,card_arrival\ncard stolen,lost_or_stolen_card\n"
    (folder / "test.csv").write_text(test, encoding="utf-8")
    return folder


def _bitext(root: Path) -> Path:
    rows = ["flags,utterance,category,intent"]
    for i in range(5):
        rows += [
            f'BIL,"I want to cancel order {{{{Order Number}}}} {i}",ORDER,cancel_order',
            f"BQZ,where is my refund {i},REFUND,track_refund",
            f"BK,invoice {i},INVOICE,check_invoice",
        ]
    rows.append(",,,")
    path = root / "bitext.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _dstc11(root: Path) -> Path:
    folder = root / "dstc11"
    folder.mkdir()
    intents = ["GetQuote", "FileClaim", "ChangePlan", "CancelPlan"]
    lines = [
        json.dumps(
            {"utterance": f"utterance {i} about {intent}", "utterance_id": f"insurance_{n:04d}", "intent": intent}
        )
        for n, (i, intent) in enumerate((i, intent) for intent in intents for i in range(5))
    ]
    (folder / "dev.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _nlupp(root: Path) -> Path:
    data = root / "nlupp" / "data"
    ontology = {
        "intents": {
            "affirm": {"domain": ["general"]},
            "make_open_apply_setup_get_activate": {"domain": ["general"]},
            "transfer_payment_deposit": {"domain": ["banking"]},
            "account": {"domain": ["banking"]},
            "savings": {"domain": ["banking"]},
            "card": {"domain": ["banking"]},
            "refund": {"domain": ["banking", "hotels"]},
            "booking": {"domain": ["hotels"]},
            "spa": {"domain": ["hotels"]},
        },
        "slots": {},
    }
    (data / "banking").mkdir(parents=True)
    (data / "hotels").mkdir()
    (data / "ontology.json").write_text(json.dumps(ontology, indent=2))
    banking = [
        {
            "text": "I want to open a savings account",
            "intents": ["make_open_apply_setup_get_activate", "account", "savings"],
        },
        {
            "text": "transfer 10 pounds to my savings",
            "intents": ["make_open_apply_setup_get_activate", "account", "savings", "transfer_payment_deposit"],
        },
        {"text": "my card is broken", "intents": ["card"]},
        {"text": "yes", "intents": ["affirm"]},
        {"text": "tomorrow at 5"},
    ]
    hotels = [
        {"text": "book me a spa slot", "intents": ["make_open_apply_setup_get_activate", "booking", "spa"]},
        {"text": "I want a refund", "intents": ["refund"]},
    ]
    for fold in range(2):
        (data / "banking" / f"fold{fold}.json").write_text(json.dumps(banking, indent=2))
        (data / "hotels" / f"fold{fold}.json").write_text(json.dumps(hotels, indent=2))
    return root / "nlupp"


USS_MWOZ = """
USER\tI need a cheap hotel.\tHotel-Inform\t3,3,3
SYSTEM\tThe Acorn is cheap.\tHotel-Inform\t
USER\tThat is useless, I said the centre!\tHotel-Inform\t2,1,2
SYSTEM\t\t\t
USER\tOVERALL\t\t2,2,1

USER\tBook a taxi please.\tTaxi-Inform\t3,4,4
SYSTEM\tDone, a red Ford.\tTaxi-Inform\t
USER\tOVERALL\t\t4,4,5
"""


def _uss(root: Path) -> Path:
    folder = root / "uss"
    folder.mkdir()
    (folder / "MWOZ.txt").write_text(USS_MWOZ, encoding="utf-8")
    sgd = "\n\n".join(
        f"USER\tweather on day {i}?\tINFORM\t3,3,{3 + i % 2}\nSYSTEM\tSunny.\tOFFER\t\nUSER\tOVERALL\t\t3,3,{3 + i % 2}"
        for i in range(6)
    )
    (folder / "SGD.txt").write_text(sgd + "\n", encoding="utf-8")
    for name in ("CCPE", "ReDial"):
        (folder / f"{name}.txt").write_text(
            "SYSTEM\tDo you like Thor?\tASK\t\nUSER\tNo.\tINFORM\t3,3,3\nUSER\tOVERALL\t\t3,3,3\n", encoding="utf-8"
        )
    return folder


FIXTURES = {"banking77": _banking77, "bitext": _bitext, "dstc11": _dstc11, "nlupp": _nlupp, "uss": _uss}


# ---------------------------------------------------------------------------------------------
# Every source
# ---------------------------------------------------------------------------------------------
def test_sources_list_matches_fixtures() -> None:
    # The real-text sources (sentiment, out-of-scope, agent responses) have their fixtures in
    # tests/test_sources_realtext.py.
    assert set(SOURCES) == set(FIXTURES) | {"goemotions", "tweeteval", "clinc150", "bitext_responses"}


@pytest.mark.parametrize("source", sorted(FIXTURES))
def test_convert_writes_valid_contacts(source: str, tmp_path: Path) -> None:
    contacts, taxonomy = convert_valid(source, FIXTURES[source](tmp_path), tmp_path / "out")
    for contact in contacts:
        assert contact.channel is None and contact.provider is None and contact.agent_id is None
        assert contact.labels is not None and contact.labels.outcome is None
        if contact.labels.reason is not None:
            assert taxonomy.has_reason(contact.labels.reason)


@pytest.mark.parametrize("source", ["bitext", "dstc11", "nlupp", "uss"])
def test_split_is_deterministic_and_seeded(source: str, tmp_path: Path) -> None:
    path = FIXTURES[source](tmp_path)
    convert(source, path, tmp_path / "a", seed=3)
    convert(source, path, tmp_path / "b", seed=3)
    assert (tmp_path / "a" / "train.jsonl").read_bytes() == (tmp_path / "b" / "train.jsonl").read_bytes()
    assert (tmp_path / "a" / "test.jsonl").read_bytes() == (tmp_path / "b" / "test.jsonl").read_bytes()


def test_stratified_split_keeps_strata_shares() -> None:
    from dispo.contact import Labels, Turn

    contacts = [
        Contact(
            contact_id=f"c{i:03d}",
            turns=[Turn(speaker="customer", text="x")],
            labels=Labels(reason="a" if i < 50 else "b"),
        )
        for i in range(100)
    ]
    _, test = stratified_split(contacts, lambda c: c.labels.reason if c.labels else None, 7, 0.2)
    assert len(test) == 20 and sum(c.labels.reason == "a" for c in test if c.labels) == 10
    other = stratified_split(contacts, lambda c: c.labels.reason if c.labels else None, 8, 0.2)[1]
    assert {c.contact_id for c in other} != {c.contact_id for c in test}
    reversed_test = stratified_split(contacts[::-1], lambda c: c.labels.reason if c.labels else None, 7, 0.2)[1]
    assert {c.contact_id for c in reversed_test} == {c.contact_id for c in test}


def test_unknown_source_and_option(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown source"):
        convert("nope", tmp_path, tmp_path / "out")
    with pytest.raises(ConfigError, match="no option"):
        convert("dstc11", _dstc11(tmp_path), tmp_path / "out", domain="banking")
    with pytest.raises(ConfigError, match="test_size"):
        convert("dstc11", tmp_path / "dstc11", tmp_path / "out", test_size=1.5)


# ---------------------------------------------------------------------------------------------
# Per-source mappings
# ---------------------------------------------------------------------------------------------
def test_banking77_official_split_and_taxonomy(tmp_path: Path) -> None:
    summary = convert("banking77", _banking77(tmp_path), tmp_path / "out")
    train, test, taxonomy = outputs(tmp_path / "out")
    assert summary.counts == {"train": 12, "test": 2} and summary.split == "official"
    assert taxonomy.reason_names == ("card_arrival", "lost_or_stolen_card", "top_up_failed")
    assert test[0].contact_id == "banking77-test-000000" and test[0].turns[0].text == "my card never came"
    assert train[1].turns[0].text == "I lost my card, help 0"
    labels = test[0].labels
    assert labels is not None and (labels.sentiment, labels.upsell) == (None, None)


def test_bitext_default_taxonomy_alias_and_placeholders(tmp_path: Path) -> None:
    summary = convert("bitext", _bitext(tmp_path), tmp_path / "out")
    train, test, taxonomy = outputs(tmp_path / "out")
    assert taxonomy.reason_names == load_taxonomy().reason_names
    assert summary.skipped == {"blank_rows": 1} and summary.counts == {"train": 12, "test": 3}
    by_reason = {c.labels.reason: c for c in train + test if c.labels}
    assert by_reason["check_invoices"].metadata["bitext_intent"] == "check_invoice"
    assert "{{Order Number}}" in by_reason["cancel_order"].turns[0].text
    assert by_reason["cancel_order"].metadata["bitext_flags"] == "BIL"
    assert any("placeholders" in note for note in summary.notes)
    assert sorted(str(c.labels.reason) for c in test if c.labels) == ["cancel_order", "check_invoices", "track_refund"]


def test_dstc11_upsell_mapping(tmp_path: Path) -> None:
    convert("dstc11", _dstc11(tmp_path), tmp_path / "out")
    train, test, taxonomy = outputs(tmp_path / "out")
    assert len(taxonomy.reasons) == 22 and [c.name for c in taxonomy.categories] == ["INSURANCE"]
    upsell = {c.labels.reason: c.labels.upsell for c in train + test if c.labels}
    assert upsell == {"GetQuote": True, "FileClaim": False, "ChangePlan": None, "CancelPlan": False}
    assert train[0].contact_id.startswith("dstc11-insurance_")


def test_nlupp_reasons_and_upsell(tmp_path: Path) -> None:
    convert("nlupp", _nlupp(tmp_path), tmp_path / "out")
    train, test, taxonomy = outputs(tmp_path / "out")
    assert set(taxonomy.reason_names) == {
        "banking.transfer_payment_deposit",
        "banking.account",
        "banking.savings",
        "banking.card",
        "banking.refund",
        "hotels.refund",
        "hotels.booking",
        "hotels.spa",
    }
    by_text = {c.turns[0].text: c for c in train + test if c.metadata["fold"] == 0}
    labels = {text: (c.labels.reason, c.labels.upsell) for text, c in by_text.items() if c.labels}
    assert labels == {
        "I want to open a savings account": ("banking.savings", True),
        "transfer 10 pounds to my savings": (None, False),
        "my card is broken": ("banking.card", False),
        "yes": (None, None),
        "tomorrow at 5": (None, None),
        "book me a spa slot": (None, None),
        "I want a refund": ("hotels.refund", None),
    }
    assert by_text["yes"].metadata["intents"] == ["affirm"]


def test_nlupp_single_domain(tmp_path: Path) -> None:
    root = _nlupp(tmp_path)
    summary = convert("nlupp", root / "data" / "hotels", tmp_path / "a")
    assert summary.counts["train"] + summary.counts["test"] == 4
    assert Taxonomy.from_yaml(tmp_path / "a" / "taxonomy.yaml").name == "nlupp-hotels"
    summary = convert("nlupp", root, tmp_path / "b", domain="banking")
    assert summary.counts["train"] + summary.counts["test"] == 10
    with pytest.raises(ConfigError, match="domain"):
        convert("nlupp", root, tmp_path / "c", domain="retail")


def test_uss_sentiments_and_turn_alignment(tmp_path: Path) -> None:
    summary = convert("uss", _uss(tmp_path), tmp_path / "out")
    train, test, taxonomy = outputs(tmp_path / "out")
    assert taxonomy.reasons == () and summary.skipped == {"empty_turns": 1}
    by_id = {c.contact_id: c for c in train + test}
    angry, happy = by_id["uss-mwoz-0000"], by_id["uss-mwoz-0001"]
    assert angry.labels is not None and angry.labels.sentiment == "negative"
    assert happy.labels is not None and happy.labels.sentiment == "positive"
    assert [t.speaker for t in angry.turns] == ["customer", "agent", "customer"]
    assert angry.metadata["turn_sentiment"] == ["neutral", None, "negative"]
    assert angry.metadata["turn_ratings"] == [[3, 3, 3], None, [2, 1, 2]]
    assert angry.metadata["overall_ratings"] == [2, 2, 1]
    assert happy.metadata["turn_sentiment"] == ["positive", None]
    assert all(c.labels and c.labels.reason is None and c.labels.upsell is None for c in train + test)
    assert {c.metadata["corpus"] for c in train + test} == {"MWOZ", "SGD", "CCPE", "ReDial"}


# ---------------------------------------------------------------------------------------------
# Bad input: clear errors naming file, line and field; nothing written
# ---------------------------------------------------------------------------------------------
def test_missing_input_is_an_error(tmp_path: Path) -> None:
    for source in SOURCES:
        with pytest.raises(InputFormatError):
            convert(source, tmp_path / "missing", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def _expect_record_error(source: str, path: Path, out: Path, line: int, field: str) -> None:
    with pytest.raises(RecordError) as info:
        convert(source, path, out)
    assert info.value.line == line
    assert [p.field for p in info.value.problems] == [field]
    assert str(path.name) in str(info.value)
    assert not (out / "train.jsonl").exists()


def test_banking77_bad_rows(tmp_path: Path) -> None:
    folder = _banking77(tmp_path)
    (folder / "test.csv").write_text("text,category\nok,card_arrival\nbad,card_arrival,extra\n")
    _expect_record_error("banking77", folder, tmp_path / "o1", 3, "<row>")
    (folder / "test.csv").write_text("text,category\nok,card_arrival\nwhat,no_such_label\n")
    _expect_record_error("banking77", folder, tmp_path / "o2", 3, "category")
    (folder / "test.csv").write_text("text,category\n ,card_arrival\n")
    _expect_record_error("banking77", folder, tmp_path / "o3", 2, "text")


def test_bitext_unknown_intent_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text('flags,utterance,category,intent\nB,"multi\nline",ORDER,cancel_order\nB,hi,ORDER,buy_a_boat\n')
    with pytest.raises(RecordError, match=r"b\.csv:4: field 'intent'.*buy_a_boat"):
        convert("bitext", path, tmp_path / "out")


def test_dstc11_bad_records(tmp_path: Path) -> None:
    folder = _dstc11(tmp_path)
    file = folder / "dev.jsonl"
    good = file.read_text().splitlines()
    file.write_text("\n".join([*good[:3], json.dumps({"utterance": "x", "utterance_id": "z", "intent": "Buy"})]))
    _expect_record_error("dstc11", file, tmp_path / "o1", 4, "intent")
    file.write_text("\n".join([*good[:2], '{"utterance": ""', *good[2:]]))
    _expect_record_error("dstc11", file, tmp_path / "o2", 3, "<record>")
    file.write_text("\n".join([*good[:2], good[0]]))
    _expect_record_error("dstc11", file, tmp_path / "o3", 3, "utterance_id")


def test_nlupp_bad_record_names_its_line(tmp_path: Path) -> None:
    root = _nlupp(tmp_path)
    file = root / "data" / "banking" / "fold1.json"
    file.write_text(json.dumps([{"text": "ok", "intents": ["card"]}, {"text": "hm", "intents": ["spa"]}], indent=2))
    _expect_record_error("nlupp", root, tmp_path / "out", 8, "intents")


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        ("USER\thi\tX\t3,3\nUSER\tOVERALL\t\t3,x\n", 2, "satisfaction"),
        ("USER\thi\tX\t3,3\nBOT\thello\t\t\nUSER\tOVERALL\t\t3,3\n", 2, "role"),
        ("USER\thi\n", 1, "<row>"),
        ("\nUSER\thi\tX\t3,3\nSYSTEM\tyes\t\t\n\nUSER\tOVERALL\t\t3\n", 2, "OVERALL"),
    ],
)
def test_uss_bad_lines(tmp_path: Path, text: str, line: int, field: str) -> None:
    folder = _uss(tmp_path)
    (folder / "SGD.txt").write_text(text, encoding="utf-8")
    _expect_record_error("uss", folder / "SGD.txt", tmp_path / "out", line, field)


# ---------------------------------------------------------------------------------------------
# The real files, when the shared data folder is beside the project
# ---------------------------------------------------------------------------------------------
def test_real_banking77(tmp_path: Path) -> None:
    summary = convert("banking77", shared_data("banking77"), tmp_path / "out")
    assert summary.counts == {"train": 10_003, "test": 3_080}
    assert summary.taxonomy == {"categories": 1, "reasons": 77}
    assert len(summary.label_distributions["test"]["reason"]) == 77


def test_real_dstc11(tmp_path: Path) -> None:
    summary = convert("dstc11", shared_data("dstc11_insurance"), tmp_path / "out")
    assert summary.counts["train"] + summary.counts["test"] == 913
    assert len(summary.label_distributions["train"]["reason"]) == 22
    assert len(summary.label_distributions["test"]["reason"]) == 22
    _, _, taxonomy = outputs(tmp_path / "out")
    assert len(taxonomy.reasons) == 22


def test_a_converter_input_that_is_not_utf8_is_a_one_line_error(tmp_path: Path) -> None:
    from dispo.cli import main

    folder = _dstc11(tmp_path)
    file = folder / "dev.jsonl"
    file.write_bytes(
        file.read_bytes() + b'{"utterance": "quote for M\xfcnchen", "utterance_id": "zz1", "intent": "GetQuote"}\n'
    )
    assert main(["data", "convert", "dstc11", str(folder), "-o", str(tmp_path / "out")]) == 2
