"""Converters of GoEmotions, TweetEval, CLINC150 and the Bitext responses, on handmade fixtures.

The fixtures are a few rows written by hand in each source's format (never copies of the real
files); the last tests convert the real files when the shared data folder is beside the project.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from dispo.errors import ConfigError, RecordError
from dispo.io import InputFormatError
from dispo.taxonomy import load_taxonomy
from tests.conftest import shared_data
from tests.converted import convert_valid, outputs
from training.sources import OPTIONS, SOURCES, convert
from training.sources.bitext_responses import PLACEHOLDER, placeholder_type
from training.sources.clinc150 import INTENT_REASONS, NEAR_INTENTS

NEW_SOURCES = ("goemotions", "tweeteval", "clinc150", "bitext_responses")


# ---------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------
def _goemotions(root: Path) -> Path:
    folder = root / "goemotions" / "group"
    folder.mkdir(parents=True)
    (folder / "labels.txt").write_text("ambiguous\nnegative\nneutral\npositive", encoding="utf-8")
    train = [
        "I love this, [NAME]!\t3\tc01",
        "This is awful\t1\tc02",
        "It is a Tuesday\t2\tc03",
        "Wait, what?\t0\tc04",  # ambiguous only: skipped
        "Oh wow, thanks \t0,3\tc05",  # ambiguous + positive: positive
        "Love it but it broke\t1,3\tc06",  # negative + positive: skipped
        "Fine I guess, nice\t2,3\tc07",  # neutral + positive: skipped
        '"He said ""no"", sad"\t1\tc08',  # CSV-quoted text
        "all three\t1,2,3\tc09",  # negative + positive (+ neutral): skipped
    ]
    (folder / "train.tsv").write_text("\n".join(train) + "\n", encoding="utf-8")
    (folder / "dev.tsv").write_text("Dev comment, meh\t2\td01\nwhatever?\t0,1\td02\n", encoding="utf-8")
    (folder / "test.tsv").write_text("Test: great\t3\tt01\nhmm\t0\tt02\nbad and ok\t1,2\tt03\n", encoding="utf-8")
    return root / "goemotions"


def _tweeteval(root: Path) -> Path:
    folder = root / "tweeteval"
    folder.mkdir()
    (folder / "sentiment_val_text.txt").write_text(
        "@user this is great #win \nmeh, a Monday \n@user worst service ever \n", encoding="utf-8"
    )
    (folder / "sentiment_val_labels.txt").write_text("2\n1\n0\n", encoding="utf-8")
    (folder / "sentiment_test_text.txt").write_text("so happy \nnot good \n", encoding="utf-8")
    (folder / "sentiment_test_labels.txt").write_text("2\n0\n", encoding="utf-8")
    (folder / "sentiment_mapping.txt").write_text("0\tnegative\n1\tneutral\n2\tpositive\n", encoding="utf-8")
    return folder


def _clinc_data() -> dict[str, list[list[str]]]:
    def pairs(intent: str, n: int, tag: str) -> list[list[str]]:
        return [[f"{intent.replace('_', ' ')} request {tag}{i}", intent] for i in range(n)]

    intents = ("order_status", "order", "weather", "pay_bill", "cancel")
    return {
        "oos_val": [["set a warning for when my bank account runs low", "oos"]],
        "val": [p for intent in intents for p in pairs(intent, 1, "v")],
        "train": [p for intent in intents for p in pairs(intent, 3, "t")],
        "oos_test": [["how much has the dow changed today", "oos"], ["a show on broadway", "oos"]],
        "test": [p for intent in intents for p in pairs(intent, 2, "x")],
        "oos_train": [["how much is an overdraft fee", "oos"]],
    }


def _clinc(root: Path, data: dict[str, Any] | None = None) -> Path:
    folder = root / "clinc150"
    folder.mkdir(exist_ok=True)
    (folder / "data_full.json").write_text(json.dumps(data or _clinc_data(), indent=4), encoding="utf-8")
    (folder / "domains.json").write_text(json.dumps({"home": ["order_status", "order"]}), encoding="utf-8")
    return folder


BR_HEADER = "context,role,instruction,intent,entity_type,entity_value,start_offset,end_offset,category,tags,response"


def _br_row(
    instruction: str,
    intent: str,
    response: str,
    entity: tuple[str, str, str, str] = ("", "", "", ""),
    category: str = "ORDER",
) -> str:
    cells = ["customer support", "virtual assistant", instruction, intent, *entity, category, "BIL", response]
    return ",".join('"' + c.replace('"', '""') + '"' if any(ch in c for ch in ',"\n') else c for c in cells)


def _bitext_responses(root: Path) -> Path:
    folder = root / "bitext_responses"
    folder.mkdir()
    long_rows, short_rows = [BR_HEADER], [BR_HEADER]
    for i in range(6):
        order = f"{1000 + i}"
        long_rows.append(
            _br_row(
                f"cancel order {order}",
                "cancel_order",
                "Sure.\n1. Log in to {{Website Name}}.\n2. Open {{Order History}} and find {{Order Number}}.\n"
                "Call {{Customer Support Phone Number}} ({{Customer Support Hours}}) or use {{Live Chat}}; "
                "again: {{Order Number}}.",
                ("order_id", order, "13", str(13 + len(order))),
            )
        )
        short_rows.append(_br_row(f"cancel order {order}", "cancel_order", "Go to your order details, click Cancel."))
        long_rows.append(
            _br_row(
                f"show invoice #{i:05d}",
                "check_invoice",
                "Your invoice {{Invoice Number}} is under {{Billing}}; write to {{Customer Support Email}}.",
                ("invoice_id", f"#{i:05d}", "13", "19"),
                "INVOICE",
            )
        )
        short_rows.append(_br_row(f"where is my refund {i}", "track_refund", "Refunds take 5 days.", category="REFUND"))
    short_rows.append(_br_row("cancel order 1000", "cancel_order", "Go to your order details, click Cancel."))  # dup
    (folder / "bitext_responses_long.csv").write_text("\n".join(long_rows) + "\n", encoding="utf-8")
    (folder / "bitext_responses_short.csv").write_text("\n".join(short_rows) + "\n,,,,,,,,,,\n", encoding="utf-8")
    return folder


FIXTURES = {
    "goemotions": _goemotions,
    "tweeteval": _tweeteval,
    "clinc150": _clinc,
    "bitext_responses": _bitext_responses,
}


def _expect_record_error(source: str, path: Path, out: Path, file: str, line: int | None, field: str) -> None:
    with pytest.raises(RecordError) as info:
        convert(source, path, out)
    assert info.value.line == line
    assert [p.field for p in info.value.problems] == [field]
    assert Path(info.value.source).name == file
    where = file if line is None else f"{file}:{line}"
    assert where in str(info.value) and f"field '{field}'" in str(info.value)
    assert not (out / "train.jsonl").exists()


# ---------------------------------------------------------------------------------------------
# Every new source
# ---------------------------------------------------------------------------------------------
def test_new_sources_are_registered() -> None:
    assert set(NEW_SOURCES) <= set(SOURCES)
    assert OPTIONS["bitext_responses"] == ("placeholders",)
    assert not {"goemotions", "tweeteval", "clinc150"} & set(OPTIONS)


@pytest.mark.parametrize("source", NEW_SOURCES)
def test_convert_writes_valid_contacts(source: str, tmp_path: Path) -> None:
    contacts, _ = convert_valid(source, FIXTURES[source](tmp_path), tmp_path / "out")
    for contact in contacts:
        assert contact.turns[0].speaker == "customer" and contact.turns[0].text.strip()
        assert contact.labels is not None and contact.labels.outcome is None and contact.labels.upsell is None


@pytest.mark.parametrize("source", NEW_SOURCES)
def test_conversion_is_deterministic(source: str, tmp_path: Path) -> None:
    path = FIXTURES[source](tmp_path)
    convert(source, path, tmp_path / "a", seed=3)
    convert(source, path, tmp_path / "b", seed=3)
    for name in ("train.jsonl", "test.jsonl", "taxonomy.yaml"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


@pytest.mark.parametrize("source", NEW_SOURCES)
def test_missing_input(source: str, tmp_path: Path) -> None:
    with pytest.raises(InputFormatError):
        convert(source, tmp_path / "missing", tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("source", ["goemotions", "tweeteval", "clinc150"])
def test_options_are_refused_where_none_apply(source: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no option"):
        convert(source, FIXTURES[source](tmp_path), tmp_path / "out", placeholders="keep")


# ---------------------------------------------------------------------------------------------
# GoEmotions
# ---------------------------------------------------------------------------------------------
def test_goemotions_sentiment_mapping_skips_and_split(tmp_path: Path) -> None:
    summary = convert("goemotions", _goemotions(tmp_path), tmp_path / "out")
    train, test, taxonomy = outputs(tmp_path / "out")
    assert taxonomy.reasons == () and summary.split == "official"
    assert summary.skipped == {"ambiguous_only": 2, "mixed_positive_negative": 2, "mixed_with_neutral": 2}
    by_id = {c.metadata["comment_id"]: c for c in train + test}
    sentiment = {cid: c.labels.sentiment for cid, c in by_id.items() if c.labels}
    assert sentiment == {
        "c01": "positive",
        "c02": "negative",
        "c03": "neutral",
        "c05": "positive",
        "c08": "negative",
        "d01": "neutral",
        "d02": "negative",
        "t01": "positive",
    }
    assert {c.metadata["comment_id"] for c in test} == {"t01"}  # dev goes to train
    assert by_id["d01"].metadata["source_split"] == "dev" and by_id["d01"].contact_id == "goemotions-dev-d01"
    assert by_id["c01"].turns[0].text == "I love this, [NAME]!"
    assert by_id["c05"].turns[0].text == "Oh wow, thanks"
    assert by_id["c05"].metadata["goemotions_labels"] == ["ambiguous", "positive"]
    assert by_id["c08"].turns[0].text == 'He said "no", sad'
    assert by_id["c08"].metadata["source_line"] == 8
    notes = " ".join(summary.notes)
    assert "dev" in notes and "skipped 2 rows labelled only 'ambiguous'" in notes
    assert "skipped 2 rows labelled both negative and positive" in notes


def test_goemotions_accepts_the_group_folder(tmp_path: Path) -> None:
    root = _goemotions(tmp_path)
    assert convert("goemotions", root / "group", tmp_path / "a").counts == {"train": 7, "test": 1}


@pytest.mark.parametrize(
    ("file", "text", "line", "field"),
    [
        ("train.tsv", "ok\t3\tc1\nbad\t4\tc2\n", 2, "labels"),
        ("train.tsv", "ok\t3\tc1\nbad\tx\tc2\n", 2, "labels"),
        ("dev.tsv", "ok\t3\tc1\nno id here\t2\n", 2, "<row>"),
        ("dev.tsv", "ok\t3\tc1\n  \t2\tc2\n", 2, "text"),
        ("test.tsv", 'ok\t3\tc1\n"multi\nline"\t2\tc2\nlast\t2\t\n', 4, "comment_id"),
        ("labels.txt", "negative\nneutral\npositive\n", None, "<file>"),
    ],
)
def test_goemotions_bad_rows(tmp_path: Path, file: str, text: str, line: int | None, field: str) -> None:
    folder = _goemotions(tmp_path) / "group"
    (folder / file).write_text(text, encoding="utf-8")
    _expect_record_error("goemotions", folder, tmp_path / "out", file, line, field)


# ---------------------------------------------------------------------------------------------
# TweetEval
# ---------------------------------------------------------------------------------------------
def test_tweeteval_val_is_train_and_test_is_test(tmp_path: Path) -> None:
    summary = convert("tweeteval", _tweeteval(tmp_path), tmp_path / "out")
    train, test, taxonomy = outputs(tmp_path / "out")
    assert taxonomy.reasons == () and summary.split == "official" and summary.skipped == {}
    assert summary.counts == {"train": 3, "test": 2}
    assert [c.labels.sentiment for c in train if c.labels] == ["positive", "neutral", "negative"]
    assert [c.labels.sentiment for c in test if c.labels] == ["positive", "negative"]
    assert train[0].turns[0].text == "@user this is great #win"  # kept, trailing space stripped
    assert train[2].contact_id == "tweeteval-val-000002" and train[2].metadata["source_line"] == 3
    assert train[2].metadata["tweeteval_label"] == 0 and test[0].metadata["source_split"] == "test"
    assert any("never train on it" in note for note in summary.notes)


def test_tweeteval_uses_a_train_split_when_present(tmp_path: Path) -> None:
    folder = _tweeteval(tmp_path)
    (folder / "sentiment_train_text.txt").write_text("first train tweet\n", encoding="utf-8")
    (folder / "sentiment_train_labels.txt").write_text("1\n", encoding="utf-8")
    summary = convert("tweeteval", folder, tmp_path / "out")
    train, _, _ = outputs(tmp_path / "out")
    assert summary.counts == {"train": 4, "test": 2}
    assert train[0].contact_id == "tweeteval-train-000000"
    assert any("train + val -> train" in note for note in summary.notes)


def test_tweeteval_lines_split_on_newline_only(tmp_path: Path) -> None:
    folder = _tweeteval(tmp_path)
    (folder / "sentiment_test_text.txt").write_text("a\u2028b \nc\r\n", encoding="utf-8")
    convert("tweeteval", folder, tmp_path / "out")
    _, test, _ = outputs(tmp_path / "out")
    assert [c.turns[0].text for c in test] == ["a\u2028b", "c"]


@pytest.mark.parametrize(
    ("file", "text", "line", "field"),
    [
        ("sentiment_test_labels.txt", "2\n", 2, "label"),  # fewer labels than tweets
        ("sentiment_test_text.txt", "only one \n", 2, "text"),  # fewer tweets than labels
        ("sentiment_val_labels.txt", "2\n3\n0\n", 2, "label"),
        ("sentiment_val_labels.txt", "2\n\n0\n", 2, "label"),
        ("sentiment_val_text.txt", "a\n \nc\n", 2, "text"),
    ],
)
def test_tweeteval_bad_files(tmp_path: Path, file: str, text: str, line: int, field: str) -> None:
    folder = _tweeteval(tmp_path)
    (folder / file).write_text(text, encoding="utf-8")
    _expect_record_error("tweeteval", folder, tmp_path / "out", file, line, field)


def test_tweeteval_needs_both_files_of_a_split(tmp_path: Path) -> None:
    folder = _tweeteval(tmp_path)
    (folder / "sentiment_val_labels.txt").unlink()
    with pytest.raises(InputFormatError, match=r"sentiment_val_labels\.txt"):
        convert("tweeteval", folder, tmp_path / "out")


# ---------------------------------------------------------------------------------------------
# CLINC150
# ---------------------------------------------------------------------------------------------
def test_clinc150_tables_use_retail_reasons() -> None:
    taxonomy = load_taxonomy()
    assert INTENT_REASONS == {"order_status": "track_order", "order": "place_order"}
    assert all(taxonomy.has_reason(r) for r in [*INTENT_REASONS.values(), *NEAR_INTENTS.values()])
    assert not set(INTENT_REASONS) & set(NEAR_INTENTS)


def test_clinc150_mapping_out_of_scope_and_split(tmp_path: Path) -> None:
    summary = convert("clinc150", _clinc(tmp_path), tmp_path / "out")
    train, test, taxonomy = outputs(tmp_path / "out")
    assert taxonomy.reason_names == load_taxonomy().reason_names and summary.split == "official"
    # pay_bill and cancel are near a retail reason: skipped (3 train + 1 val + 2 test each)
    assert summary.skipped == {"near_retail_reason": 12}
    assert summary.counts == {"train": 3 * 4 + 2, "test": 3 * 2 + 2}
    assert {c.metadata["clinc_split"] for c in train} == {"train", "val", "oos_train", "oos_val"}
    assert {c.metadata["clinc_split"] for c in test} == {"test", "oos_test"}
    for contact in train + test:
        intent = contact.metadata["clinc_intent"]
        assert contact.labels is not None
        assert intent not in ("pay_bill", "cancel")
        assert contact.labels.reason == INTENT_REASONS.get(intent)
        assert contact.metadata["out_of_scope"] is (intent not in INTENT_REASONS)
    weather = next(c for c in test if c.metadata["clinc_intent"] == "weather")
    assert weather.labels is not None and weather.labels.reason is None
    oos = next(c for c in test if c.metadata["clinc_intent"] == "oos")
    assert oos.contact_id == "clinc150-oos_test-00000" and oos.turns[0].text == "how much has the dow changed today"
    assert summary.label_distributions["test"]["reason"] == {"null": 4, "place_order": 2, "track_order": 2}
    notes = " ".join(summary.notes)
    assert "order_status -> track_order" in notes and "pay_bill (6)" in notes and "cancel (6)" in notes


def test_clinc150_reads_the_file_itself(tmp_path: Path) -> None:
    folder = _clinc(tmp_path)
    summary = convert("clinc150", folder / "data_full.json", tmp_path / "out")
    assert summary.counts == {"train": 14, "test": 8}


def test_clinc150_lines_point_at_the_pair(tmp_path: Path) -> None:
    folder = _clinc(tmp_path)
    convert("clinc150", folder, tmp_path / "out")
    train, _, _ = outputs(tmp_path / "out")
    lines = (folder / "data_full.json").read_text(encoding="utf-8").splitlines()
    for contact in train[:5]:
        line = lines[contact.metadata["source_line"] - 1].strip()
        assert line == "[", contact.contact_id
        next_line = lines[contact.metadata["source_line"]].strip()
        assert next_line == json.dumps(contact.turns[0].text) + ","


def _bad_clinc(tmp_path: Path, split: str, index: int, value: Any) -> tuple[Path, int]:
    data: dict[str, Any] = dict(_clinc_data())
    data[split] = list(data[split])
    data[split][index] = value
    folder = _clinc(tmp_path, data)
    text = (folder / "data_full.json").read_text(encoding="utf-8")
    # the line of the element: the list's opening line plus the elements before it (4 lines each)
    start = text.splitlines().index(f'    "{split}": [') + 1
    return folder, start + 1 + 4 * index


@pytest.mark.parametrize(
    ("split", "index", "value", "field"),
    [
        ("train", 2, ["only text"], "train[2]"),
        ("val", 1, ["", "order"], "val[1].text"),
        ("test", 3, ["what is this", "oos"], "test[3].intent"),
        ("oos_test", 1, ["what is the weather", "weather"], "oos_test[1].intent"),
        ("test", 0, ["an intent train does not have", "book_boat"], "test[0].intent"),
    ],
)
def test_clinc150_bad_pairs_name_the_line(tmp_path: Path, split: str, index: int, value: Any, field: str) -> None:
    folder, line = _bad_clinc(tmp_path, split, index, value)
    _expect_record_error("clinc150", folder, tmp_path / "out", "data_full.json", line, field)


def test_clinc150_bad_structure(tmp_path: Path) -> None:
    data = _clinc_data()
    del data["oos_val"]
    folder = _clinc(tmp_path, data)
    _expect_record_error("clinc150", folder, tmp_path / "o1", "data_full.json", None, "<file>")
    (folder / "data_full.json").write_text('{\n  "train": [\n    ["a", "b"],\n    ["c" "d"]\n  ]\n}\n')
    _expect_record_error("clinc150", folder, tmp_path / "o2", "data_full.json", 4, "<record>")
    (folder / "data_full.json").write_text('{\n  "train": [],\n  "extra": []\n}\n')
    _expect_record_error("clinc150", folder, tmp_path / "o3", "data_full.json", 3, "<file>")
    (folder / "data_full.json").write_text("[1, 2]\n")
    _expect_record_error("clinc150", folder, tmp_path / "o4", "data_full.json", 1, "<file>")


# ---------------------------------------------------------------------------------------------
# Bitext responses
# ---------------------------------------------------------------------------------------------
def test_bitext_responses_turns_reasons_and_duplicates(tmp_path: Path) -> None:
    summary = convert("bitext_responses", _bitext_responses(tmp_path), tmp_path / "out")
    train, test, taxonomy = outputs(tmp_path / "out")
    assert taxonomy.reason_names == load_taxonomy().reason_names
    assert summary.skipped == {"duplicate_pairs": 1, "blank_rows": 1}
    assert summary.counts["train"] + summary.counts["test"] == 24
    assert summary.split == "stratified by intent, grouped by instruction"
    contacts = train + test
    assert all([t.speaker for t in c.turns] == ["customer", "agent"] for c in contacts)
    invoice = next(c for c in contacts if c.labels and c.labels.reason == "check_invoices")
    assert invoice.metadata["bitext_intent"] == "check_invoice" and invoice.metadata["bitext_category"] == "INVOICE"
    assert invoice.metadata["bitext_entity"]["type"] == "invoice_id"
    short = next(c for c in contacts if c.contact_id == "bitext_responses-short-000000")
    assert [t.text for t in short.turns] == ["cancel order 1000", "Go to your order details, click Cancel."]
    assert short.metadata["source_file"] == "bitext_responses_short.csv" and short.metadata["source_line"] == 2
    notes = " ".join(summary.notes)
    assert "skipped 1 rows repeating an (instruction, response) pair" in notes
    assert "check_invoice->check_invoices" in notes


def test_bitext_responses_fill_placeholders(tmp_path: Path) -> None:
    folder = _bitext_responses(tmp_path)
    summary = convert("bitext_responses", folder, tmp_path / "out", seed=5)
    train, test, _ = outputs(tmp_path / "out")
    contacts = train + test
    assert not any(PLACEHOLDER.search(t.text) for c in contacts for t in c.turns)
    cancel = next(c for c in contacts if c.contact_id == "bitext_responses-long-000000")
    fills = cancel.metadata["placeholder_fills"]
    assert fills["{{Order Number}}"] == "1000"  # the row's order_id entity
    assert fills["{{Order History}}"] == "Order History" and fills["{{Live Chat}}"] == "Live Chat"
    assert re.fullmatch(r"\+1 \(800\) 555-01\d\d", fills["{{Customer Support Phone Number}}"])
    assert fills["{{Website Name}}"].endswith(".com")
    text = cancel.turns[1].text
    assert text.count("1000") == 2 and fills["{{Customer Support Hours}}"] in text
    invoice = next(c for c in contacts if c.contact_id == "bitext_responses-long-000001")
    assert invoice.metadata["placeholder_fills"]["{{Invoice Number}}"] == "#00000"
    assert re.fullmatch(
        r"(support|help)@[a-z]+\.com", invoice.metadata["placeholder_fills"]["{{Customer Support Email}}"]
    )
    note = next(n for n in summary.notes if n.startswith("placeholders=fill"))
    assert "60 {{...}} placeholders replaced" in note
    assert "order_number 12" in note and "phone_number 6" in note and "label 18" in note
    # another seed draws other values (the phone numbers), the entity values stay
    convert("bitext_responses", folder, tmp_path / "other", seed=6)
    other_train, other_test, _ = outputs(tmp_path / "other")
    other = {c.contact_id: c for c in other_train + other_test}
    others = [other[c.contact_id].metadata.get("placeholder_fills") for c in contacts]
    assert others != [c.metadata.get("placeholder_fills") for c in contacts]
    assert other[cancel.contact_id].metadata["placeholder_fills"]["{{Order Number}}"] == "1000"


def test_bitext_responses_keep_placeholders(tmp_path: Path) -> None:
    summary = convert("bitext_responses", _bitext_responses(tmp_path), tmp_path / "out", placeholders="keep")
    train, test, _ = outputs(tmp_path / "out")
    cancel = next(c for c in train + test if c.contact_id == "bitext_responses-long-000000")
    assert "{{Order Number}}" in cancel.turns[1].text and "placeholder_fills" not in cancel.metadata
    assert any(n.startswith("placeholders=keep: 60 ") for n in summary.notes)
    with pytest.raises(ConfigError, match="fill or keep"):
        convert("bitext_responses", tmp_path / "bitext_responses", tmp_path / "o2", placeholders="drop")


@pytest.mark.parametrize(
    ("words", "kind"),
    [
        ("Order Number", "order_number"),
        ("Purchase ID Anonymized", "order_number"),
        ("tracking number", "order_number"),
        ("Bill Number Anonymized", "invoice_number"),
        ("Customer Support Phone Number", "phone_number"),
        ("customer support phone number", "phone_number"),
        ("Customer Support Email Address", "email_address"),
        ("Customer Support Email or Phone Number", "email_address"),
        ("Email", "label"),
        ("Email Support", "label"),
        ("Website URL", "website_url"),
        ("Website Name Anonymized", "website_name"),
        ("Company Name", "company_name"),
        ("Customer Support Availability", "opening_hours"),
        ("Operating Hours Weekends", "opening_hours"),
        ("Business Hours Start Time", "start_time"),
        ("Customer Service End Time", "end_time"),
        ("number of days", "number_of_days"),
        ("Percentage or Full", "percentage"),
        ("Refund Amount", "money_amount"),
        ("Purchase Date Anonymized", "date"),
        ("Update", "label"),
        ("Name Field Anonymized", "customer_name"),
        ("Payment Method Anonymized", "payment_method"),
        ("Payment Methods", "label"),
        ("Review Website 2", "review_site"),
        ("113542617735902", "literal"),
        ("7C23D0EF3E8A", "literal"),
        ("Add", "label"),
        ("Order History", "label"),
        ("Live Chat Anonymized", "label"),
    ],
)
def test_bitext_responses_placeholder_types(words: str, kind: str) -> None:
    assert placeholder_type(words) == kind


def test_bitext_responses_split_groups_instructions_and_stratifies(tmp_path: Path) -> None:
    folder = tmp_path / "br"
    folder.mkdir()
    rows = [BR_HEADER]
    for intent in ("cancel_order", "track_order"):
        for i in range(10):
            rows.append(_br_row(f"{intent} please {i}", intent, f"long answer {i}"))
            rows.append(_br_row(f"{intent} please {i}", intent, f"short answer {i}"))
    (folder / "both.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    for seed in (1, 2, 3):
        out = tmp_path / f"out{seed}"
        convert("bitext_responses", folder / "both.csv", out, seed=seed, test_size=0.2)
        train, test, _ = outputs(out)
        assert len(test) == 8  # 20 groups -> 4 test groups of 2 rows
        assert {c.turns[0].text for c in train}.isdisjoint({c.turns[0].text for c in test})
        assert sorted(str(c.labels.reason) for c in test if c.labels) == ["cancel_order"] * 4 + ["track_order"] * 4
        assert [c.contact_id for c in train] == sorted(c.contact_id for c in train)  # reading order


def test_bitext_responses_bad_rows_name_the_line(tmp_path: Path) -> None:
    folder = _bitext_responses(tmp_path)
    file = folder / "bitext_responses_short.csv"
    good = _br_row("hi", "cancel_order", "multi\nline answer")
    file.write_text("\n".join([BR_HEADER, good, _br_row("hi there", "buy_a_boat", "ok")]) + "\n")
    _expect_record_error("bitext_responses", folder, tmp_path / "o1", file.name, 4, "intent")
    file.write_text("\n".join([BR_HEADER, good, _br_row(" ", "cancel_order", "ok")]) + "\n")
    _expect_record_error("bitext_responses", file, tmp_path / "o2", file.name, 4, "instruction")
    file.write_text("\n".join([BR_HEADER, _br_row("hi", "cancel_order", "ok", ("order_id", "1", "x", "2"))]) + "\n")
    _expect_record_error("bitext_responses", file, tmp_path / "o3", file.name, 2, "start_offset")
    file.write_text("context,role,instruction,intent,response\n")
    _expect_record_error("bitext_responses", file, tmp_path / "o4", file.name, 1, "<header>")


def _cli(argv: list[str]) -> int:
    """``dispo data ...`` through the data command group alone (the full CLI also loads the model plugins)."""
    import argparse

    from training.cli import register_data

    parser = argparse.ArgumentParser(prog="dispo")
    register_data(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args))


def test_new_sources_from_the_cli(tmp_path: Path) -> None:
    folder = _bitext_responses(tmp_path)
    out = tmp_path / "out"
    assert _cli(["data", "convert", "bitext_responses", str(folder), "-o", str(out), "--placeholders", "keep"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["source"] == "bitext_responses" and any("placeholders=keep" in n for n in summary["notes"])
    for source in ("goemotions", "tweeteval", "clinc150"):
        path = FIXTURES[source](tmp_path)
        assert _cli(["data", "convert", source, str(path), "-o", str(tmp_path / source / "out")]) == 0
        assert json.loads((tmp_path / source / "out" / "summary.json").read_text())["source"] == source
    with pytest.raises(ConfigError, match="no option placeholders"):
        _cli(
            [
                "data",
                "convert",
                "clinc150",
                str(tmp_path / "clinc150"),
                "-o",
                str(tmp_path / "x"),
                "--placeholders",
                "keep",
            ]
        )
    with pytest.raises(SystemExit):
        _cli(["data", "convert", "bitext_responses", str(folder), "-o", str(tmp_path / "y"), "--placeholders", "drop"])


# ---------------------------------------------------------------------------------------------
# The real files, when the shared data folder is beside the project
# ---------------------------------------------------------------------------------------------
def test_real_goemotions(tmp_path: Path) -> None:
    summary = convert("goemotions", shared_data("goemotions") / "group", tmp_path / "out")
    # documented sizes: train 43,410 / dev 5,426 / test 5,427
    assert "rows read: train 43410, dev 5426, test 5427" in summary.notes
    assert summary.counts["train"] + summary.counts["test"] + sum(summary.skipped.values()) == 43_410 + 5_426 + 5_427
    assert summary.counts == {"train": 42_355, "test": 4_725}
    assert summary.skipped == {"ambiguous_only": 4_805, "mixed_positive_negative": 1_023, "mixed_with_neutral": 1_355}
    assert set(summary.label_distributions["test"]["sentiment"]) == {"negative", "neutral", "positive"}


def test_real_tweeteval(tmp_path: Path) -> None:
    summary = convert("tweeteval", shared_data("tweeteval_sentiment"), tmp_path / "out")
    # documented sizes: val 2,000, test 12,284 (negative 3,972, neutral 5,937, positive 2,375)
    assert summary.counts == {"train": 2_000, "test": 12_284}
    assert summary.label_distributions["test"]["sentiment"] == {"neutral": 5_937, "negative": 3_972, "positive": 2_375}


def test_real_clinc150(tmp_path: Path) -> None:
    summary = convert("clinc150", shared_data("clinc150"), tmp_path / "out")
    # documented sizes: 150 intents x (100 train + 20 val + 30 test); out-of-scope 100 / 100 / 1,000
    near = len(NEAR_INTENTS)
    assert summary.skipped == {"near_retail_reason": near * 150}
    assert summary.counts == {"train": (150 - near) * 120 + 200, "test": (150 - near) * 30 + 1_000}
    assert summary.label_distributions["train"]["reason"] == {
        "null": (150 - near - 2) * 120 + 200,
        "place_order": 120,
        "track_order": 120,
    }
    assert summary.label_distributions["test"]["reason"]["null"] == (150 - near - 2) * 30 + 1_000


def test_real_bitext_responses(tmp_path: Path) -> None:
    summary = convert("bitext_responses", shared_data("bitext_responses"), tmp_path / "out")
    # documented sizes: long 4,514 rows, short 6,480 rows, 4,364 instructions shared
    assert summary.counts["train"] + summary.counts["test"] + summary.skipped.get("duplicate_pairs", 0) == 10_994
    assert len(summary.label_distributions["test"]["reason"]) == 27
    assert any("(6630 groups;" in note for note in summary.notes)  # 4,514 + 6,480 - 4,364 instructions
    train, test, _ = outputs(tmp_path / "out")
    assert {c.turns[0].text for c in train}.isdisjoint({c.turns[0].text for c in test})
    assert 0.18 < len(test) / (len(train) + len(test)) < 0.22
    assert not any(PLACEHOLDER.search(c.turns[1].text) for c in train + test)
