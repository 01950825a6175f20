from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dispo.contact import Contact, ContactLimits, parse_contact
from dispo.errors import ConfigError, RecordError
from dispo.io import (
    ContactReader,
    ContactWriter,
    IdLedger,
    InputFormatError,
    Rejected,
    expand_inputs,
    iter_records,
    read_contacts,
    write_contacts,
)
from dispo.taxonomy import Taxonomy
from tests.conftest import make_contact


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".tsv", ".parquet"])
def test_round_trip_is_exact_in_every_format(contacts: list[Contact], tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"contacts{suffix}"
    assert write_contacts(contacts, path) == len(contacts)
    again = read_contacts(path)
    assert [c.to_json_dict() for c in again] == [c.to_json_dict() for c in contacts]


def test_cross_format_conversion_chain(contacts: list[Contact], tmp_path: Path) -> None:
    write_contacts(contacts, tmp_path / "a.csv")
    write_contacts(read_contacts(tmp_path / "a.csv"), tmp_path / "b.parquet")
    write_contacts(read_contacts(tmp_path / "b.parquet"), tmp_path / "c.jsonl")
    assert read_contacts(tmp_path / "c.jsonl") == contacts


def test_csv_transcript_is_the_platform_export_format(contacts: list[Contact], tmp_path: Path) -> None:
    write_contacts(contacts[:1], tmp_path / "a.csv")
    row = next(csv.DictReader((tmp_path / "a.csv").open()))
    lines = row["transcript"].splitlines()
    assert lines[0] == "[00:00:00.000] Agent: Thanks for calling, how can I help?"
    assert lines[1] == "[00:00:03.250] Customer: Where is my order 1000?"
    assert lines[2] == "  It was due Monday."  # continuation lines are indented
    assert row["reason"] == "track_order" and row["upsell"] == "false" and row["agent_reason"] == "delivery_period"


def test_csv_from_a_foreign_platform_keeps_unknown_columns_and_accepts_aliases(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "contact_id,transcript,wrapup_note,upsell\n"
        'x1,"Caller: my parcel never came\nRep: I will refund it\nIVR: survey offered",refund ok,yes\n',
        encoding="utf-8",
    )
    (contact,) = read_contacts(path)
    assert [t.speaker for t in contact.turns] == ["customer", "agent", "system"]
    assert contact.metadata == {"wrapup_note": "refund ok"}
    assert contact.labels is not None and contact.labels.upsell is True


def _bad_jsonl(tmp_path: Path, records: list[object]) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n")
    return path


GOOD = make_contact(0).to_json_dict()


@pytest.mark.parametrize(
    ("record", "field", "expected"),
    [
        ("{not json", "<line>", "one JSON object per line"),
        ([1, 2], "<record>", "a JSON object"),
        ({**GOOD, "turns": []}, "turns", "at least one turn"),
        ({**GOOD, "turns": [{"speaker": "customer", "text": "  "}]}, "turns", "non-blank"),
        ({**GOOD, "turns": [{"speaker": "bot", "text": "hi"}]}, "turns[0].speaker", "customer, agent or system"),
        ({**GOOD, "labels": {"reason": "buy_boat"}}, "labels.reason", "a reason of taxonomy"),
        ({**GOOD, "agent_labels": {"outcome": "done"}}, "agent_labels.outcome", "one of resolved"),
        ({**GOOD, "labels": {"sentiment": "angry"}}, "labels.sentiment", "one of negative, neutral, positive"),
        ({**GOOD, "ended_at": "2026-03-01T07:00:00+00:00"}, "ended_at", "at or after started_at"),
        ({**GOOD, "started_at": "2026-03-01T09:00:00"}, "started_at", "time zone"),
        ({**GOOD, "channel": "fax"}, "channel", "one of voice"),
        ({**GOOD, "contact_id": ""}, "contact_id", "non-empty"),
        ({**GOOD, "surprise": 1}, "surprise", "no such field"),
        (
            {**GOOD, "turns": [{"speaker": "customer", "text": "x", "offset_s": float("nan")}]},
            "turns[0].offset_s",
            "a finite number (not NaN",
        ),
        ({**GOOD, "turns": [{"speaker": "Bot", "text": "x"}]}, "turns[0].speaker", "one of customer"),
        ({**GOOD, "turns": [{"speaker": "customer", "text": "x"}] * 3001}, "turns", "at most 2000 turns"),
        ({**GOOD, "turns": [{"speaker": "customer", "text": "x" * 20_001}]}, "turns[0].text", "at most 20000"),
    ],
)
def test_bad_records_name_file_line_field_expected_and_found(
    tmp_path: Path, taxonomy: Taxonomy, record: object, field: str, expected: str
) -> None:
    path = _bad_jsonl(tmp_path, [GOOD, record])
    with pytest.raises(RecordError) as info:
        read_contacts(path, taxonomy=taxonomy)
    error = info.value
    assert error.source == str(path) and error.line == 2
    assert any(p.field == field and expected in p.expected for p in error.problems), error.problems
    assert f"{path}:2: field '{field}'" in str(error)


def test_rejects_file_keeps_every_bad_record_with_its_reason(tmp_path: Path, taxonomy: Taxonomy) -> None:
    records = [GOOD, "{oops", {**GOOD, "contact_id": "c2", "labels": {"reason": "nope"}}, {**GOOD, "contact_id": "c3"}]
    path = _bad_jsonl(tmp_path, records)
    reader = ContactReader(path, taxonomy=taxonomy, rejects=tmp_path / "rejects.jsonl")
    accepted = [c.contact_id for c in reader]
    assert accepted == ["c-0000", "c3"]
    stats = reader.stats
    assert (stats.records, stats.accepted, stats.rejected) == (4, 2, 2)
    rejects = [json.loads(line) for line in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert [r["line"] for r in rejects] == [2, 3]
    assert rejects[0]["record"] == "{oops"
    assert rejects[1]["record"]["labels"] == {"reason": "nope"}
    assert rejects[1]["errors"][0]["field"] == "labels.reason"


def test_a_redacting_reader_redacts_contacts_and_scrubs_rejects_before_they_are_written(tmp_path: Path) -> None:
    with_pii = {**GOOD, "turns": [{"speaker": "customer", "text": "mail me at jo@example.com please"}]}
    path = _bad_jsonl(tmp_path, [with_pii, {**GOOD, "channel": "fax", "metadata": {"email": "jo@example.com"}}])
    reader = ContactReader(path, rejects=tmp_path / "r.jsonl", redact=True)
    [contact] = list(reader)
    assert contact.turns[0].text == "mail me at [EMAIL] please"
    written = (tmp_path / "r.jsonl").read_text()
    assert "jo@example.com" not in written and json.loads(written)["record"]["metadata"] == {"email": "[EMAIL]"}


def test_records_come_with_their_position_whether_valid_or_not(tmp_path: Path) -> None:
    path = _bad_jsonl(tmp_path, [GOOD, {**GOOD, "channel": "fax"}, {**GOOD, "contact_id": "C-3"}])
    records = list(iter_records(path))
    assert [(r.position, isinstance(r.item, Rejected)) for r in records] == [(0, False), (1, True), (2, False)]
    assert records[1].item.error.line == 2 and records[1].path == path


@pytest.mark.parametrize(
    ("transcript", "field", "found"),
    [
        ("Customer: hi\nRobot: beep", "transcript line 2", "Robot"),
        ("Customer: hi\njust some words", "transcript line 2", "just some words"),
        ("  dangling continuation", "transcript line 1", "  dangling continuation"),
    ],
)
def test_csv_transcript_errors(tmp_path: Path, transcript: str, field: str, found: str) -> None:
    path = tmp_path / "in.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["contact_id", "transcript"])
        writer.writerow(["ok", "Customer: fine"])
        writer.writerow(["bad", transcript])
    with pytest.raises(RecordError) as info:
        read_contacts(path)
    assert info.value.line == 3
    assert [(p.field, p.found) for p in info.value.problems] == [(field, found)]


def test_csv_row_with_wrong_column_count_and_bad_upsell(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("contact_id,transcript,upsell\na,Customer: hi,maybe\nb,Customer: hi\n")
    reader = ContactReader(path, rejects=tmp_path / "r.jsonl")
    assert list(reader) == []
    rejects = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert [(r["line"], r["errors"][0]["field"]) for r in rejects] == [(2, "upsell"), (3, "<row>")]
    assert rejects[0]["errors"][0]["found"] == "maybe"
    assert rejects[1]["record"] == ["b", "Customer: hi"]


def test_csv_missing_required_columns(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("id,text\n1,hello\n")
    with pytest.raises(InputFormatError, match="contact_id, transcript"):
        read_contacts(path)


def test_flat_parquet_export_is_read_like_csv(tmp_path: Path) -> None:
    path = tmp_path / "flat.parquet"
    table = pa.table(
        {"contact_id": ["p1"], "transcript": ["Customer: refund please\nAgent: done"], "reason": ["get_refund"]}
    )
    pq.write_table(table, path)
    (contact,) = read_contacts(path)
    assert contact.labels is not None and contact.labels.reason == "get_refund"
    assert len(contact.turns) == 2


def test_parquet_bad_row_is_reported_by_row_number(tmp_path: Path) -> None:
    write_contacts([make_contact(0), make_contact(1, channel=None)], tmp_path / "a.parquet")
    table = pq.read_table(tmp_path / "a.parquet").to_pylist()
    table[1]["channel"] = "fax"
    from dispo.io import PARQUET_SCHEMA

    pq.write_table(pa.Table.from_pylist(table, schema=PARQUET_SCHEMA), tmp_path / "b.parquet")
    with pytest.raises(RecordError, match=r"b\.parquet:2: field 'channel'"):
        read_contacts(tmp_path / "b.parquet")


def test_unknown_format_missing_file_and_empty_inputs(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="cannot tell the format"):
        write_contacts([], tmp_path / "x.xml")
    with pytest.raises(InputFormatError, match="no input files"):
        expand_inputs(tmp_path / "missing.jsonl")
    for suffix in (".jsonl", ".csv", ".parquet"):
        write_contacts([], tmp_path / f"empty{suffix}")
        assert read_contacts(tmp_path / f"empty{suffix}") == []


def test_inputs_can_be_a_folder_or_a_glob(contacts: list[Contact], tmp_path: Path) -> None:
    write_contacts(contacts[:2], tmp_path / "in" / "a.jsonl")
    write_contacts(contacts[2:], tmp_path / "in" / "sub" / "b.parquet")
    (tmp_path / "in" / "notes.txt").write_text("ignored: not a contact file")
    assert len(read_contacts(tmp_path / "in")) == len(contacts)
    assert len(read_contacts(str(tmp_path / "in" / "*.jsonl"))) == 2


def test_writer_leaves_no_partial_file_on_failure(contacts: list[Contact], tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    with pytest.raises(RuntimeError), ContactWriter(path) as writer:
        writer.write(contacts[0])
        raise RuntimeError("crash mid-write")
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_limits_are_configurable() -> None:
    raw = {**GOOD, "turns": [{"speaker": "customer", "text": "x"}] * 5}
    with pytest.raises(RecordError, match="at most 4 turns"):
        parse_contact(raw, limits=ContactLimits(max_turns=4))
    with pytest.raises(ConfigError, match="must be positive"):
        ContactLimits(max_turns=0)


def test_hand_written_samples_are_valid(taxonomy: Taxonomy) -> None:
    samples = Path(__file__).resolve().parents[1] / "data" / "samples"
    contacts = read_contacts(samples, taxonomy=taxonomy)
    assert {c.contact_id for c in contacts} >= {"sample-001", "sample-002", "sample-003", "ex-1", "ex-2"}
    exported = {c.contact_id: c for c in contacts}
    assert exported["ex-1"].turns[1].offset_s == 12.0 and exported["ex-1"].metadata == {
        "wrapup_note": "address updated"
    }
    assert exported["ex-2"].agent_labels is not None and exported["ex-2"].agent_labels.outcome == "transferred"


def test_a_json_file_may_be_one_pretty_printed_contact_or_an_array_of_them(tmp_path: Path) -> None:
    """Exports and hand-made samples are often one JSON document, not JSON lines: each contact is read,
    and a bad one is named by the line it starts on."""
    one, two = make_contact(1).model_dump(mode="json"), make_contact(2).model_dump(mode="json")
    (tmp_path / "one.json").write_text(json.dumps(one, indent=2))
    assert [c.contact_id for c in read_contacts(tmp_path / "one.json")] == [one["contact_id"]]
    bad = {**two, "channel": "fax"}
    (tmp_path / "many.json").write_text(json.dumps([one, bad], indent=2))
    records = list(iter_records(tmp_path / "many.json"))
    assert [r.position for r in records] == [0, 1] and isinstance(records[0].item, Contact)
    assert isinstance(records[1].item, Rejected)
    start = 1 + json.dumps([one, bad], indent=2).splitlines().index("  {", 2)
    assert records[1].item.error.line == start and "'channel'" in str(records[1].item.error)
    from dispo.batch.chunks import count_records

    assert count_records(tmp_path / "many.json") == 2 and count_records(tmp_path / "one.json") == 1
    # JSON lines under a .json name are still JSON lines, and a broken document is rejected line by line.
    write_contacts([make_contact(3), make_contact(4)], tmp_path / "lines.jsonl")
    (tmp_path / "lines.json").write_bytes((tmp_path / "lines.jsonl").read_bytes())
    assert len(read_contacts(tmp_path / "lines.json")) == 2
    (tmp_path / "broken.json").write_text(json.dumps(one, indent=2)[:-2])
    assert all(isinstance(r.item, Rejected) for r in iter_records(tmp_path / "broken.json"))


def test_a_byte_order_mark_is_read_past(tmp_path: Path) -> None:
    """Excel, PowerShell and Notepad start UTF-8 files with a BOM, which must not hide the first column."""
    bom = "\ufeff"
    (tmp_path / "in.csv").write_text(bom + "contact_id,transcript\nc1,Customer: refund please\n", encoding="utf-8")
    assert [c.contact_id for c in read_contacts(tmp_path / "in.csv")] == ["c1"]
    write_contacts([make_contact(5)], tmp_path / "plain.jsonl")
    (tmp_path / "bom.jsonl").write_text(bom + (tmp_path / "plain.jsonl").read_text(), encoding="utf-8")
    assert len(read_contacts(tmp_path / "bom.jsonl")) == 1
    (tmp_path / "bom.json").write_text(bom + json.dumps(make_contact(6).model_dump(mode="json"), indent=1))
    assert len(read_contacts(tmp_path / "bom.json")) == 1


def test_a_csv_column_named_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("contact_id,transcript,transcript\nc1,Customer: refund please,Agent: notes\n")
    with pytest.raises(InputFormatError, match=r"more than once \(transcript\)"):
        read_contacts(path)


def test_integer_ids_of_a_typed_parquet_column_are_read_as_text(tmp_path: Path) -> None:
    """A pandas export types numeric ids as integers; CSV reads the same ids as text."""
    pq.write_table(
        pa.table({"contact_id": [101, 102], "transcript": ["Customer: refund please"] * 2, "agent_id": [7, 8]}),
        tmp_path / "flat.parquet",
    )
    read = read_contacts(tmp_path / "flat.parquet")
    assert [(c.contact_id, c.agent_id) for c in read] == [("101", "7"), ("102", "8")]


def test_transcript_files_given_as_contact_files_get_a_hint(tmp_path: Path) -> None:
    (tmp_path / "calls").mkdir()
    (tmp_path / "calls" / "c1.txt").write_text("Agent: hello\nCustomer: my order is late\n")
    with pytest.raises(InputFormatError, match=r"suffix '\.txt'.*in the speaker_text format"):
        read_contacts(tmp_path / "calls" / "c1.txt")
    with pytest.raises(InputFormatError, match=r"holds \.txt files, not .*in the speaker_text format"):
        read_contacts(tmp_path / "calls")


@pytest.mark.parametrize(
    ("transcript", "speakers", "offsets"),
    [
        ("00:00:01 Agent: hello\n00:00:07 Customer: my order is late", ["agent", "customer"], [1.0, 7.0]),
        ("Agent (00:00:01): hello\nCustomer (00:01:02.5): my order is late", ["agent", "customer"], [1.0, 62.5]),
        ("[10:01 AM] Agent: hello\n[10:03 AM] Customer: my order is late", ["agent", "customer"], [0.0, 120.0]),
        ("[11:59 PM] Rep: hello\n[12:01 AM] Caller: my order is late", ["agent", "customer"], [0.0, 120.0]),
        ("Dana (Agent): hello\nMark [Customer]: my order is late", ["agent", "customer"], [None, None]),
        ("Agent (Dana): hello\nVisitor: my order is late", ["agent", "customer"], [None, None]),
        ("Supervisor: hello\nEnd User: my order is late", ["agent", "customer"], [None, None]),
        (
            "Agent 1: hello\nCustomer: my order is late\nAgent 2: billing here",
            ["agent", "customer", "agent"],
            [None] * 3,
        ),
    ],
)
def test_transcript_lines_in_the_styles_tools_export(transcript: str, speakers: list[str], offsets: list) -> None:
    """Timestamps before or after the speaker, 12-hour clock times (offsets from the first turn), a
    role in brackets after a person's name, and more role names of chat and contact-center tools."""
    from dispo.io import parse_transcript

    problems: list = []
    turns = parse_transcript(transcript, problems)
    assert not problems
    assert [t["speaker"] for t in turns] == speakers
    assert [t.get("offset_s") for t in turns] == offsets


def test_a_bracketed_word_that_is_no_role_stays_an_error() -> None:
    from dispo.io import parse_transcript

    problems: list = []
    parse_transcript("Dana (Sales): hello\nCustomer: my order is late", problems)
    assert [p.found for p in problems] == ["Dana (Sales)"]


def test_a_speaker_written_in_capitals_is_the_role_it_names(tmp_path: Path) -> None:
    record = {
        "contact_id": "c1",
        "turns": [{"speaker": "Customer", "text": "my order"}, {"speaker": "AGENT ", "text": "ok"}],
    }
    (tmp_path / "in.jsonl").write_text(json.dumps(record) + "\n")
    assert [t.speaker for t in read_contacts(tmp_path / "in.jsonl")[0].turns] == ["customer", "agent"]


def test_a_spreadsheet_saved_with_semicolons_is_read_as_csv(tmp_path: Path) -> None:
    """Excel in locales whose decimal mark is a comma separates fields with semicolons."""
    path = tmp_path / "export.csv"
    path.write_text('contact_id;transcript;reason\nc1;"Customer: hi, my refund\nAgent: done, sent";get_refund\n')
    (contact,) = read_contacts(path)
    assert contact.turns[0].text == "hi, my refund" and contact.labels is not None
    from dispo.batch.chunks import count_records

    assert count_records(path) == 1


@pytest.mark.parametrize(
    "transcript",
    [
        # Otter, then Rev
        "Speaker 1  0:00\nThanks for calling Acme.\nHow can I help?\n\nSpeaker 2  0:05\nI want a refund.\n",
        "Speaker 1 (00:00):\nThanks for calling Acme.\nHow can I help?\n\nSpeaker 2 (00:05):\nI want a refund.\n",
    ],
)
def test_a_speaker_on_a_line_of_its_own_speaks_the_lines_below(transcript: str) -> None:
    from dispo.io import parse_transcript

    problems: list = []
    turns = parse_transcript(transcript, problems)
    assert not problems
    assert [(t["speaker_label"], t["text"], t["offset_s"]) for t in turns] == [
        ("Speaker 1", "Thanks for calling Acme.\nHow can I help?", 0.0),
        ("Speaker 2", "I want a refund.", 5.0),
    ]


def test_inside_a_block_of_words_a_colon_is_words_unless_a_speaker_follows() -> None:
    from dispo.io import parse_transcript

    problems: list = []
    turns = parse_transcript("Dana (00:00):\nhi there\nNote: calls are recorded\nMark (00:04):\nmy order\n", problems)
    assert not problems
    assert [(t["speaker_label"], t["text"]) for t in turns] == [
        ("Dana", "hi there\nNote: calls are recorded"),
        ("Mark", "my order"),
    ]


def test_labels_are_read_as_the_taxonomy_spells_them(tmp_path: Path, taxonomy: Taxonomy) -> None:
    """A CRM's "Resolved" or " escalated " or "Edit Account" is the taxonomy's label; a label no name
    matches is still an error."""
    record = {"contact_id": "c1", "turns": [{"speaker": "customer", "text": "my order"}],
              "labels": {"reason": "Edit Account", "outcome": "Resolved", "sentiment": " Negative "},
              "agent_labels": {"outcome": " escalated "}}  # fmt: skip
    (tmp_path / "in.jsonl").write_text(json.dumps(record) + "\n")
    [contact] = read_contacts(tmp_path / "in.jsonl", taxonomy=taxonomy)
    assert contact.labels is not None and contact.agent_labels is not None
    assert (contact.labels.reason, contact.labels.outcome, contact.labels.sentiment) == (
        "edit_account",
        "resolved",
        "negative",
    )
    assert contact.agent_labels.outcome == "escalated"
    record["labels"] = {"reason": "teleport parcel"}
    (tmp_path / "bad.jsonl").write_text(json.dumps(record) + "\n")
    with pytest.raises(RecordError, match="teleport parcel"):
        read_contacts(tmp_path / "bad.jsonl", taxonomy=taxonomy)


def test_the_rejects_of_a_run_are_its_own_and_never_read_back_as_input(tmp_path: Path) -> None:
    folder = tmp_path / "calls"
    folder.mkdir()
    good = json.dumps(make_contact(1).to_json_dict())
    (folder / "a.jsonl").write_text(
        good + '\n{"contact_id": "X1", "channel": "phone", "turns": []}\n', encoding="utf-8"
    )
    rejects = folder / "rejects.jsonl"  # kept beside the inputs, a contact suffix
    for _ in range(2):
        reader = ContactReader(folder, rejects=rejects)
        assert len(list(reader)) == 1 and reader.stats.rejected == 1
        assert len(rejects.read_text(encoding="utf-8").splitlines()) == 1
    (folder / "a.jsonl").write_text(good + "\n", encoding="utf-8")
    reader = ContactReader(folder, rejects=rejects)
    assert len(list(reader)) == 1 and reader.stats.rejected == 0 and not rejects.exists()


def test_a_json_array_that_does_not_parse_is_one_rejection_where_it_breaks(tmp_path: Path) -> None:
    path = tmp_path / "pretty.json"
    path.write_text(
        '[\n  {"contact_id": "P1",\n   "turns": []},\n  {"contact_id": "P2"\n   "turns": []}\n]\n', encoding="utf-8"
    )
    with pytest.raises(RecordError, match=r"pretty.json:5: .*invalid JSON \(Expecting ',' delimiter at line 5"):
        list(ContactReader(path))
    huge = tmp_path / "huge.jsonl"  # an integer longer than Python reads: a rejection, not a crash
    huge.write_text('{"contact_id": "H", "turns": [], "metadata": {"n": ' + "9" * 5000 + "}}\n", encoding="utf-8")
    reader = ContactReader(huge, rejects=tmp_path / "r.jsonl")
    assert list(reader) == [] and reader.stats.rejected == 1


def test_a_contact_id_read_twice_is_refused_where_a_run_asks_for_unique_ids(tmp_path: Path) -> None:
    """Overlapping exports, or one file given twice: the repeat is rejected naming where the id was
    read first, so nothing is counted or trained twice and nothing is lost."""
    first, second = tmp_path / "monday.jsonl", tmp_path / "tuesday.jsonl"
    write_contacts([make_contact(1), make_contact(2)], first)
    write_contacts([make_contact(3), make_contact(2)], second)
    rejects = tmp_path / "rejects.jsonl"
    reader = ContactReader([first, second], rejects=rejects, ids=IdLedger())
    assert [c.contact_id for c in reader] == [make_contact(i).contact_id for i in (1, 2, 3)]
    [entry] = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert entry["source"] == str(second) and entry["line"] == 2
    assert entry["errors"][0]["field"] == "contact_id" and f"{first}:2" in entry["errors"][0]["expected"]
    with pytest.raises(RecordError, match=r"contact_id.*read first at .*monday.jsonl:1"):
        read_contacts_once = ContactReader([first, first], ids=IdLedger())
        list(read_contacts_once)
    assert len(read_contacts([first, second])) == 4  # without a ledger, every record is read as it is


def test_dispo_data_validate_counts_a_repeated_id_as_invalid(tmp_path: Path) -> None:
    from dispo.cli import main

    path = tmp_path / "contacts.jsonl"
    write_contacts([make_contact(1), make_contact(1)], path)
    assert main(["data", "validate", str(path), "--rejects", str(tmp_path / "rejects.jsonl")]) == 1
    assert "contact_id" in (tmp_path / "rejects.jsonl").read_text(encoding="utf-8")


def test_dispo_data_validate_scrubs_the_rejects_it_writes_and_checks_the_contacts_as_given(tmp_path: Path) -> None:
    from dispo.cli import main

    card = "my card is 4111 1111 1111 1111, mail jo@example.com"
    with_pii = {**GOOD, "turns": [{"speaker": "customer", "text": card}]}
    path = _bad_jsonl(tmp_path, [with_pii, {**with_pii, "contact_id": "c2", "channel": "fax"}])
    rejects = tmp_path / "rejects.jsonl"
    assert main(["data", "validate", str(path), "--rejects", str(rejects)]) == 1
    [written] = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert written["errors"][0]["field"] == "channel"
    assert written["record"]["turns"][0]["text"] == "my card is [CARD], mail [EMAIL]"
    # A value the error quotes is part of the record too (a transcript line without a speaker).
    flat = tmp_path / "flat.csv"
    flat.write_text('contact_id,transcript\nc1,"Customer: hi\nmy card is 4111 1111 1111 1111"\n', encoding="utf-8")
    assert main(["data", "validate", str(flat), "--rejects", str(rejects)]) == 1
    [quoted] = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert quoted["errors"][0] == {"field": "transcript line 2", "expected": "'Speaker: text'",
                                   "found": "my card is [CARD]"}  # fmt: skip
    assert "4111" not in quoted["message"] and "found 'my card is [CARD]'" in quoted["message"]
    # What is validated is the contact as given; only what is written out is scrubbed.
    reader = ContactReader(path, rejects=rejects, scrub_rejects=True)
    assert [c.turns[0].text for c in reader] == [card]
    assert "4111" not in rejects.read_text(encoding="utf-8")


def test_an_input_without_records_is_said_loudly(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Not an error (a day without contacts exists), but never a silent success."""
    from dispo.cli import main

    empty = tmp_path / "export.jsonl"
    empty.write_text("\n", encoding="utf-8")
    with caplog.at_level("WARNING"):
        assert main(["data", "validate", str(empty)]) == 0
        assert (
            main(["report", "--data", str(empty), "--labels", "agent", "-o", str(tmp_path / "r"), "--no-charts"]) == 0
        )
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("export.jsonl holds no records" in m for m in warned), warned
    assert any("holds no contacts: every figure of the report is empty" in m for m in warned), warned


def test_a_contact_abandoned_in_the_queue_may_leave_out_its_transcript(tmp_path: Path) -> None:
    jsonl = tmp_path / "queue.jsonl"
    jsonl.write_text(
        '{"contact_id": "L-5", "channel": "voice", "queued_at": "2026-03-02T09:00:00Z", "abandoned": true}\n'
        '{"contact_id": "L-6", "channel": "voice"}\n',
        encoding="utf-8",
    )
    reader = ContactReader(jsonl, rejects=tmp_path / "rejects.jsonl")
    [kept] = list(reader)
    assert kept.contact_id == "L-5" and kept.turns == [] and kept.abandoned
    [refused] = [json.loads(line) for line in (tmp_path / "rejects.jsonl").read_text(encoding="utf-8").splitlines()]
    assert refused["errors"][0]["field"] == "turns" and "abandoned or blocked" in refused["errors"][0]["expected"]
    events = tmp_path / "queue.csv"
    events.write_text("contact_id,channel,queued_at,abandoned\nL-7,voice,2026-03-02T09:00:00Z,true\n", encoding="utf-8")
    [from_csv] = read_contacts(events)
    assert from_csv.abandoned and from_csv.turns == []
    flat = pa.table({"contact_id": ["L-9"], "channel": ["voice"], "queued_at": ["2026-03-02T09:00:00Z"],
                     "abandoned": [True]})  # fmt: skip
    pq.write_table(flat, tmp_path / "queue.parquet")
    [from_parquet] = read_contacts(tmp_path / "queue.parquet")
    assert from_parquet.abandoned and from_parquet.turns == []
    (tmp_path / "calls.csv").write_text("contact_id,channel\nL-8,voice\n", encoding="utf-8")
    with pytest.raises(InputFormatError, match="must have columns transcript"):
        read_contacts(tmp_path / "calls.csv")
