"""Platform exports (written by hand in each vendor's documented shape) read into the contract."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dispo.contact import Contact
from dispo.errors import ConfigError
from dispo.io import InputFormatError, Rejected, read_contacts
from dispo.platforms import CodeMap, iter_platform_records
from dispo.taxonomy import Taxonomy

FIXTURES = Path(__file__).parent / "fixtures" / "platforms"
CODES = CodeMap.from_yaml(FIXTURES / "wrapup-codes.yaml")


def _only(fmt: str, name: str, tmp_path: Path, codes: CodeMap | None = None) -> Contact | Rejected:
    shutil.copy(FIXTURES / name, tmp_path / name)
    [record] = list(iter_platform_records(fmt, tmp_path / name, codes=codes))
    return record.item


def test_contact_lens_speakers_offsets_ids_and_analytics_in_metadata(tmp_path: Path) -> None:
    contact = _only("contact_lens", "contact_lens_call.json", tmp_path, CODES)
    assert isinstance(contact, Contact)
    assert contact.contact_id == "0d5c1f6a-3b8e-4c4e-9c1e-2f7d8a6b4e21" and contact.channel == "voice"
    assert [t.speaker for t in contact.turns] == ["system", "customer", "agent", "customer", "agent"]  # bot: system
    assert [t.offset_s for t in contact.turns][:3] == [0.0, 3.3, 7.37]
    platform = contact.metadata["platform"]
    assert platform["Categories"]["MatchedCategories"] == ["Cancellation"] and platform["InstanceId"]
    assert platform["turns"][1] == {"turn": 1, "Sentiment": "NEGATIVE", "IssuesDetected": [
        {"CharacterOffsets": {"BeginOffsetChar": 2, "EndOffsetChar": 25}}]}  # fmt: skip
    assert contact.labels is None  # the platform's analytics are never labels
    assert contact.agent_labels is not None and contact.agent_labels.reason == "cancel_order"  # through the map


def test_transcribe_call_analytics_roles_and_job_name(tmp_path: Path) -> None:
    contact = _only("transcribe_call_analytics", "transcribe_call_analytics.json", tmp_path)
    assert isinstance(contact, Contact) and contact.contact_id == "call-2026-03-01-0915"
    assert [t.speaker for t in contact.turns] == ["agent", "customer", "agent", "customer", "agent"]
    assert contact.metadata["platform"]["turns"][4]["OutcomesDetected"][0]["CharacterOffsets"]["Begin"] == 12
    assert contact.agent_labels is None


def test_twilio_sentences_become_turns_by_channel_participant(tmp_path: Path) -> None:
    contact = _only("twilio", "twilio_transcript.json", tmp_path)
    assert isinstance(contact, Contact) and contact.contact_id == "GT0123456789abcdef0123456789abcdef"
    assert [t.speaker for t in contact.turns] == ["agent", "customer", "agent"]  # one turn per speaker run
    assert contact.turns[1].text == "Hi, I never got my tracking number. The order was placed last week."
    assert contact.turns[1].offset_s == 3.5
    doc = json.loads((FIXTURES / "twilio_transcript.json").read_text())
    del doc["transcript"]["channel"]["participants"][1]  # who is on channel 2 is no longer known
    (tmp_path / "t.json").write_text(json.dumps(doc))
    [record] = list(iter_platform_records("twilio", tmp_path / "t.json"))
    assert isinstance(record.item, Rejected)
    assert record.item.error.problems[0].field == "transcript.channel.participants"
    # Channel numbers written as digits are the same channels.
    doc = json.loads((FIXTURES / "twilio_transcript.json").read_text())
    for participant in doc["transcript"]["channel"]["participants"]:
        participant["channel_participant"] = str(participant["channel_participant"])
    (tmp_path / "s.json").write_text(json.dumps(doc))
    [digits] = list(iter_platform_records("twilio", tmp_path / "s.json"))
    assert isinstance(digits.item, Contact) and [t.speaker for t in digits.item.turns] == ["agent", "customer", "agent"]


def test_zendesk_requester_is_the_customer_and_private_notes_stay_out(tmp_path: Path) -> None:
    contact = _only("zendesk", "zendesk_ticket.json", tmp_path, CODES)
    assert isinstance(contact, Contact) and contact.contact_id == "zendesk-35436" and contact.channel == "email"
    assert [t.speaker for t in contact.turns] == ["customer", "agent"]
    assert (contact.customer_id, contact.agent_id, contact.queue) == ("20978392", "235323", "98738")
    assert contact.metadata["platform"]["private_notes"] == 1 and "carrier claim" not in str(contact.turns)
    assert contact.agent_labels is not None and contact.agent_labels.reason == "get_refund"


def test_genesys_purposes_epoch_offsets_and_the_wrap_up_code(tmp_path: Path) -> None:
    contact = _only("genesys", "genesys_transcript.json", tmp_path, CODES)
    assert isinstance(contact, Contact) and contact.contact_id == "b657c46c-f88d-414a-8ec7-a2f446fc1d12"
    assert [t.speaker for t in contact.turns] == ["system", "agent", "customer", "agent"]
    assert [t.offset_s for t in contact.turns] == [1.0, 6.4, 10.1, 15.0]
    assert contact.metadata["platform"]["analytics"][0]["sentiment"][0]["sentiment"] == -0.6
    assert contact.agent_labels is not None and contact.agent_labels.reason == "cancel_order"
    # One transcript per channel: the phrases of both are read in the order they were said.
    doc = json.loads((FIXTURES / "genesys_transcript.json").read_text())
    phrases = doc["transcripts"][0]["phrases"]
    doc["transcripts"] = [{"phrases": [p for p in phrases if p["participantPurpose"] == "external"]},
                          {"phrases": [p for p in phrases if p["participantPurpose"] != "external"]}]  # fmt: skip
    (tmp_path / "legs.json").write_text(json.dumps(doc))
    [legs] = list(iter_platform_records("genesys", tmp_path / "legs.json"))
    assert isinstance(legs.item, Contact) and [t.speaker for t in legs.item.turns] == [
        "system",
        "agent",
        "customer",
        "agent",
    ]


def test_contact_lens_with_the_contact_record_joined_gives_the_queue_events(tmp_path: Path) -> None:
    contact = _only("contact_lens", "contact_lens_with_record.json", tmp_path, CODES)
    assert isinstance(contact, Contact) and (contact.queue, contact.agent_id) == ("Billing", "maria.k")
    assert contact.queued_at is not None and contact.answered_at is not None
    assert (contact.answered_at - contact.queued_at).total_seconds() == 32.0
    assert (contact.abandoned, contact.disconnected_by) == (False, "agent") and contact.duration_s() == 449.0
    assert contact.turns and contact.agent_labels is not None  # the analysis and the code are read as before


def test_a_contact_record_abandoned_in_the_queue_needs_no_transcript(tmp_path: Path) -> None:
    contact = _only("contact_lens", "contact_lens_abandoned.json", tmp_path)
    assert isinstance(contact, Contact) and contact.contact_id.endswith("abandoned0001") and contact.turns == []
    assert (contact.abandoned, contact.disconnected_by, contact.answered_at) == (True, "customer", None)


def test_genesys_conversation_details_give_the_queue_events(tmp_path: Path) -> None:
    contact = _only("genesys", "genesys_with_details.json", tmp_path, CODES)
    assert isinstance(contact, Contact) and contact.queue == "q-billing" and contact.agent_id == "u-ana"
    assert contact.queued_at is not None and contact.answered_at is not None
    assert (contact.answered_at - contact.queued_at).total_seconds() == 25.0
    # the customer's last segment ended because the other side (the agent) hung up
    assert (contact.abandoned, contact.disconnected_by) == (False, "agent")
    assert contact.started_at is not None and contact.duration_s() == 390.0


def test_genesys_details_of_an_abandoned_call_make_a_contact_without_turns(tmp_path: Path) -> None:
    contact = _only("genesys", "genesys_abandoned.json", tmp_path)
    assert isinstance(contact, Contact) and contact.turns == []
    assert (contact.abandoned, contact.disconnected_by, contact.answered_at) == (True, "customer", None)
    assert contact.queued_at is not None and contact.queue == "q-billing"


def test_genesys_details_edge_cases_are_read_not_guessed() -> None:
    from dispo.platforms.genesys import queue_events

    def segment(start: str, kind: str = "interact", disconnect: str | None = None) -> dict[str, object]:
        return {"segmentStart": f"2026-03-03T10:{start}Z", "segmentType": kind, "disconnectType": disconnect}

    acd = {"purpose": "acd", "sessions": [{"segments": [segment("01:00")], "metrics": None}]}
    dialer = {"purpose": "dialer", "sessions": [{"segments": [segment("00:00")]}]}  # says nothing of the queue
    agent = {"purpose": "agent", "userId": "u1", "sessions": [{"segments": [segment("00:30"), segment("02:00")]}]}
    events, problems = queue_events([dialer, acd, agent])
    # the agent's interact before the queue (an outbound leg) is not the answer
    assert problems == [] and events["answered_at"] == "2026-03-03T10:02:00Z" and events["abandoned"] is False
    timeout = {"purpose": "customer", "sessions": [{"segments": [segment("01:00", disconnect="timeout")]}]}
    events, _ = queue_events([acd, timeout])
    assert "abandoned" not in events and events["disconnected_by"] == "system"  # unanswered, not left: unknown
    # two legs answering at the same moment, one without a user id: the first listed answers
    nameless = {"purpose": "agent", "sessions": [{"segments": [segment("02:00")]}]}
    events, problems = queue_events([acd, nameless, agent])
    assert problems == [] and events["answered_at"] == "2026-03-03T10:02:00Z" and "agent_id" not in events


def test_ccai_roles_or_call_channels_and_the_disposition_code(tmp_path: Path) -> None:
    contact = _only("ccai", "ccai_conversation.json", tmp_path, CODES)
    assert isinstance(contact, Contact) and contact.contact_id == "conv-7731" and contact.channel == "voice"
    # Segments 3 and 4 have no participant role: callMetadata says which channel is whose.
    assert [t.speaker for t in contact.turns] == ["agent", "customer", "agent", "customer"]
    assert [t.offset_s for t in contact.turns] == [0.4, 3.1, 9.0, 15.5]
    assert (contact.agent_id, contact.queue) == ("agent-552", "billing")
    assert contact.metadata["platform"]["turns"] == [{"turn": 1, "sentiment": {"magnitude": 0.8, "score": -0.6}}]
    assert contact.agent_labels is not None and contact.agent_labels.reason == "get_refund"


@pytest.mark.parametrize(
    ("name", "speakers", "first_offset"),
    [("call.srt", ["agent", "customer", "agent"], 1.2), ("call.vtt", ["agent", "customer", "agent"], 0.5),
     ("chat.txt", ["agent", "customer", "agent"], 2.0)],
)  # fmt: skip
def test_text_subtitles_and_transcripts(tmp_path: Path, name: str, speakers: list[str], first_offset: float) -> None:
    contact = _only("speaker_text", name, tmp_path)
    assert isinstance(contact, Contact) and contact.contact_id == Path(name).stem
    assert [t.speaker for t in contact.turns] == speakers and contact.turns[0].offset_s == first_offset
    assert "<v" not in contact.turns[1].text


def test_amazon_transcribe_diarized_words_make_turns_with_inferred_roles(tmp_path: Path) -> None:
    contact = _only("transcribe", "transcribe_diarized.json", tmp_path)
    assert isinstance(contact, Contact) and contact.contact_id == "harbor-call-0193" and contact.channel == "voice"
    assert [t.speaker for t in contact.turns] == ["agent", "customer", "agent", "customer", "agent"]
    assert contact.turns[0].text.startswith("thank you for calling") and contact.turns[0].text.endswith("help.")
    assert contact.turns[1].offset_s == 4.1
    assert contact.metadata["speaker_roles"]["roles"] == {"spk_0": "agent", "spk_1": "customer"}


def test_diarized_segments_continue_an_unattributed_segment_and_count_it(tmp_path: Path) -> None:
    contact = _only("diarized_json", "whisperx_segments.json", tmp_path)
    assert isinstance(contact, Contact) and contact.contact_id == "whisperx_segments"
    assert [t.speaker for t in contact.turns] == ["agent", "customer", "agent", "customer", "agent"]
    assert contact.turns[1].text.endswith("I need to know why. It's been like that since March.")
    assert contact.metadata["platform"] == {"unattributed_segments": 1}
    assert contact.metadata["speaker_roles"]["roles"] == {"SPEAKER_01": "agent", "SPEAKER_00": "customer"}


@pytest.mark.parametrize(
    ("fmt", "doc", "field"),
    [
        ("transcribe", {"results": {"transcripts": []}}, "results.items"),
        ("transcribe", {"results": {"items": [{"type": "pronunciation", "alternatives": [{"content": "hi"}]}]}},
         "results.items[].speaker_label"),
        ("diarized_json", {"text": "no segments"}, "segments"),
        ("diarized_json", [{"text": "hello", "speaker": None}], "segments[0].speaker"),
        ("diarized_json", [{"text": "hello", "speaker": "Bob"}, {"text": "hi", "speaker": "A"}], "segments[].speaker"),
        ("diarized_json", [{"text": "my card was charged twice", "speaker": "A"}], "turns[].speaker"),
        ("diarized_json", [{"text": "hi", "speaker": "A", "start": "soon"}], "segments[0].start"),
        ("diarized_json", [{"text": "hi", "speaker": "A", "start": -3}], "segments[0].start"),
        ("transcribe", {"results": {"items": ["x"]}}, "results.items[0]"),
        ("transcribe", {"results": {"items": [{"alternatives": {"content": "x"}}]}}, "results.items[0]"),
        ("transcribe", {"results": {"items": [{"speaker_label": "spk_0", "start_time": "nan",
                                               "alternatives": [{"content": "hi"}]}]}}, "results.items[0].start_time"),
    ],
)  # fmt: skip
def test_a_diarized_export_that_cannot_be_read_names_the_field(tmp_path: Path, fmt: str, doc: object,
                                                                field: str) -> None:  # fmt: skip
    (tmp_path / "x.json").write_text(json.dumps(doc))
    [record] = list(iter_platform_records(fmt, tmp_path / "x.json"))
    assert isinstance(record.item, Rejected) and record.item.error.problems[0].field == field


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("contact_lens_no_contact_id.json", "ContactId"),
        ("contact_lens_unknown_role.json", "Transcript[1].ParticipantRole"),
    ],
)
def test_a_bad_export_is_a_rejection_naming_format_file_record_and_field(tmp_path: Path, name: str, field: str) -> None:
    rejected = _only("contact_lens", name, tmp_path)
    assert isinstance(rejected, Rejected)
    assert rejected.error.problems[0].field == field
    assert f"{name} (contact_lens):1:" in str(rejected.error)


def test_broken_files_unknown_formats_and_bad_code_maps(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("{not json")
    [broken] = list(iter_platform_records("contact_lens", tmp_path / "x.json"))
    assert isinstance(broken.item, Rejected) and "invalid JSON" in str(broken.item.error)
    (tmp_path / "y.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nRobot: beep\n")
    [unknown] = list(iter_platform_records("speaker_text", tmp_path / "y.srt"))
    assert isinstance(unknown.item, Rejected) and unknown.item.error.problems[0].found == "Robot"
    # A cue is named by its number: WebVTT's header and notes are not cues.
    (tmp_path / "z.vtt").write_text("WEBVTT\n\nNOTE made by hand\n\n00:00:01.000 --> 00:00:02.000\nAgent: hi\n\n"
                                    "00:00:03.000 --> 00:00:04.000\nno speaker here\n")  # fmt: skip
    [no_voice] = list(iter_platform_records("speaker_text", tmp_path / "z.vtt"))
    assert isinstance(no_voice.item, Rejected) and no_voice.item.error.problems[0].field == "cue 2"
    with pytest.raises(InputFormatError, match="unknown platform format"):
        list(iter_platform_records("avaya", tmp_path / "x.json"))
    (tmp_path / "codes.yaml").write_text("codes:\n  X: {reason: a, colour: red}\n")
    with pytest.raises(ConfigError, match="reason and/or outcome"):
        CodeMap.from_yaml(tmp_path / "codes.yaml")
    strict = CodeMap({"Order cancelled": {"reason": "cancel_order"}}, unmapped="reject")
    doc = json.loads((FIXTURES / "contact_lens_call.json").read_text()) | {"wrapup_code": "Something else"}
    (tmp_path / "z.json").write_text(json.dumps(doc))
    [refused] = list(iter_platform_records("contact_lens", tmp_path / "z.json", codes=strict))
    assert isinstance(refused.item, Rejected) and refused.item.error.problems[0].field == "wrapup_code"


def test_a_code_map_is_checked_against_the_taxonomy_when_it_is_loaded(tmp_path: Path, taxonomy: Taxonomy) -> None:
    codes = tmp_path / "codes.yaml"
    codes.write_text('codes:\n  x: {reason: track_ordr}\n  "Refund - Done": {reason: get_refund, outcome: resolvd}\n')
    with pytest.raises(ConfigError) as info:
        CodeMap.from_yaml(codes, taxonomy=taxonomy)
    message = str(info.value)
    assert message.startswith(f"{codes}: code 'x': field 'reason':")
    assert "found 'track_ordr' (did you mean 'track_order'?)" in message
    assert (
        "code 'Refund - Done': field 'outcome':" in message and "found 'resolvd' (did you mean 'resolved'?)" in message
    )
    assert CodeMap.from_yaml(codes).codes["x"] == {"reason": "track_ordr"}  # no taxonomy, nothing to check against
    assert CodeMap.from_yaml(FIXTURES / "wrapup-codes.yaml", taxonomy=taxonomy) == CODES
    codes.write_text("codes:\n  x: {reason: [track_order]}\n")
    with pytest.raises(ConfigError, match=f"{codes}: 'x' must map to reason and/or outcome"):
        CodeMap.from_yaml(codes, taxonomy=taxonomy)
    codes.write_text("codes:\n  x: {reason: Track Order, outcome: Resolved}\n")  # spelt as people spell them
    assert CodeMap.from_yaml(codes, taxonomy=taxonomy).codes["x"] == {"reason": "Track Order", "outcome": "Resolved"}


def test_dispo_data_import_refuses_a_code_map_outside_its_taxonomy_before_reading(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from dispo.cli import main

    codes = tmp_path / "codes.yaml"
    codes.write_text("codes:\n  refund_issued: {reason: get_refnd}\n")
    out, rejects = tmp_path / "contacts.jsonl", tmp_path / "rejects.jsonl"
    command = ["data", "import", "zendesk", str(FIXTURES / "zendesk_ticket.json"), "-o", str(out),
               "--rejects", str(rejects), "--codes", str(codes)]  # fmt: skip
    assert main(command) == 2
    assert f"{codes}: code 'refund_issued': field 'reason'" in caplog.text and "'get_refund'?" in caplog.text
    assert not out.exists() and not rejects.exists()
    # The taxonomy the import checks labels against is the one the map is checked against.
    custom = tmp_path / "taxonomy.yaml"
    custom.write_text("name: refunds\ncategories:\n  refund:\n    reasons: {get_refnd: {}}\n"
                      "outcomes:\n  resolved: {resolved: true}\n")  # fmt: skip
    assert main([*command, "--taxonomy", str(custom)]) == 0
    [contact] = read_contacts(out)
    assert contact.agent_labels is not None and contact.agent_labels.reason == "get_refnd"


def test_dispo_data_import_writes_contacts_and_accounts_for_rejects(tmp_path: Path) -> None:
    from dispo.cli import main

    exports = tmp_path / "exports"
    exports.mkdir()
    for name in ("contact_lens_call.json", "contact_lens_unknown_role.json"):
        shutil.copy(FIXTURES / name, exports / name)
    out, rejects = tmp_path / "contacts.jsonl", tmp_path / "rejects.jsonl"
    code = main(["data", "import", "contact_lens", str(exports), "-o", str(out), "--rejects", str(rejects),
                 "--codes", str(FIXTURES / "wrapup-codes.yaml")])  # fmt: skip
    assert code == 1  # one record rejected
    [contact] = read_contacts(out)
    assert contact.agent_labels is not None and contact.agent_labels.outcome == "resolved"
    [reject] = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert reject["errors"][0]["field"] == "Transcript[1].ParticipantRole"


def test_dispo_data_import_scrubs_the_rejects_it_writes(tmp_path: Path) -> None:
    from dispo.cli import main

    doc = json.loads((FIXTURES / "contact_lens_unknown_role.json").read_text())
    doc["Transcript"][0]["Content"] = "my card is 4111 1111 1111 1111"
    (tmp_path / "call.json").write_text(json.dumps(doc))
    rejects = tmp_path / "rejects.jsonl"
    code = main(["data", "import", "contact_lens", str(tmp_path / "call.json"), "-o", str(tmp_path / "out.jsonl"),
                 "--rejects", str(rejects)])  # fmt: skip
    assert code == 1
    [reject] = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert reject["errors"][0]["field"] == "Transcript[1].ParticipantRole"
    assert reject["record"]["Transcript"][0]["Content"] == "my card is [CARD]"


@pytest.mark.parametrize(
    ("fmt", "name"),
    [
        ("contact_lens", "contact_lens_call.json"),
        ("transcribe_call_analytics", "transcribe_call_analytics.json"),
        ("twilio", "twilio_transcript.json"),
        ("zendesk", "zendesk_ticket.json"),
        ("ccai", "ccai_conversation.json"),
        ("genesys", "genesys_transcript.json"),
        ("speaker_text", "call.srt"),
        ("transcribe", "transcribe_diarized.json"),
        ("diarized_json", "whisperx_segments.json"),
    ],
)
def test_each_format_goes_through_dispo_label_and_dispo_report(
    tmp_path: Path, tiny_bundle: Path, fmt: str, name: str
) -> None:
    from dispo.batch.job import LabelJob, run_label_job
    from dispo.cli import main
    from tests.factories import install_bundle

    install_bundle(tiny_bundle, tmp_path / "models")
    exports = tmp_path / "exports"
    exports.mkdir()
    shutil.copy(FIXTURES / name, exports / name)
    (exports / "notes.md").write_text("not an export: a folder is read for the format's files only")
    labelled = tmp_path / "labelled.parquet"
    summary = run_label_job(LabelJob(inputs=[exports], output=labelled, model="tiny", models_dir=tmp_path / "models",
                                     backend="torch", progress=False, platform=fmt))  # fmt: skip
    assert (summary.records, summary.outputs, summary.rejects) == (1, 1, 0)
    assert main(["report", "--data", str(labelled), "-o", str(tmp_path / "report"), "--no-charts"]) == 0
    # Straight from the export, no model: the agents' codes (where the code map gives them).
    report = tmp_path / "from-export"
    assert main(["report", "--data", str(exports), "--format", fmt, "--labels", "agent", "-o", str(report),
                 "--no-charts"]) == 0  # fmt: skip
    assert json.loads((report / "metrics.json").read_text())["overall"]["contacts"]["value"] == 1


def test_the_batch_api_takes_a_platform_export(tmp_path: Path, tiny_bundle: Path) -> None:
    import time

    from tests.factories import database_url, install_bundle, make_api

    install_bundle(tiny_bundle, tmp_path / "models", name="dispo-default")
    for api in make_api(tmp_path / "models", database_url("sqlite", tmp_path), batch_dir=str(tmp_path / "batches")):
        service = api.headers("service")
        upload = ("call.json", (FIXTURES / "contact_lens_call.json").read_bytes(), "application/json")
        submitted = api.client.post("/v1/batches?format=contact_lens", files={"file": upload}, headers=service)
        assert submitted.status_code == 202, submitted.text
        deadline = time.monotonic() + 120
        while (job := api.client.get(f"/v1/batches/{submitted.json()['job_id']}", headers=service).json())["state"] in (
            "queued",
            "running",
        ):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert (job["state"], job["outputs"], job["platform"]) == ("done", 1, "contact_lens")
        wrong = api.client.post("/v1/batches?format=contact_lens", files={"file": ("c.jsonl", b"{}", "x")},
                                headers=service)  # fmt: skip
        assert wrong.status_code == 422 and "contact_lens export is a .json file" in wrong.json()["detail"]
        unknown = api.client.post("/v1/batches?format=avaya", files={"file": upload}, headers=service)
        assert unknown.status_code == 422 and "unknown platform format" in unknown.json()["detail"]


@pytest.mark.parametrize(
    ("fmt", "name", "field"),
    [
        ("contact_lens", "contact_lens_call.json", "wrapup_code"),
        ("zendesk", "zendesk_ticket.json", "ticket.custom_fields[id=27642]"),
        ("genesys", "genesys_transcript.json", "wrapUpCode"),
        ("ccai", "ccai_conversation.json", "qualityMetadata.agentInfo[0].dispositionCode"),
    ],
)
def test_every_reader_keeps_the_code_and_refuses_an_unmapped_one_when_asked(fmt: str, name: str, field: str) -> None:
    keep = CodeMap({"nothing": {"reason": "track_order"}})
    [kept] = list(iter_platform_records(fmt, FIXTURES / name, codes=keep))
    assert isinstance(kept.item, Contact) and kept.item.agent_labels is None
    assert kept.item.metadata["platform"]["wrapup_code"]
    strict = CodeMap({"nothing": {"reason": "track_order"}}, unmapped="reject")
    [refused] = list(iter_platform_records(fmt, FIXTURES / name, codes=strict))
    assert isinstance(refused.item, Rejected) and refused.item.error.problems[0].field == field


@pytest.mark.parametrize(
    ("doc", "offset"),
    [
        ({"results": {"utterances": [{"speaker": 0, "transcript": "thanks for calling how can i help", "start": 0.5},
                                     {"speaker": 1, "transcript": "my card was charged twice", "start": 3.25}]}}, 3.25),
        ({"audio_duration": 9,
          "utterances": [{"speaker": "A", "text": "thanks for calling how can i help", "start": 500},
                         {"speaker": "B", "text": "my card was charged twice", "start": 3250}]}, 3.25),
    ],
)  # fmt: skip
def test_deepgram_and_assemblyai_utterances(tmp_path: Path, doc: dict[str, object], offset: float) -> None:
    (tmp_path / "call.json").write_text(json.dumps(doc))
    [record] = list(iter_platform_records("diarized_json", tmp_path / "call.json"))
    contact = record.item
    assert isinstance(contact, Contact) and [t.speaker for t in contact.turns] == ["agent", "customer"]
    assert contact.turns[1].offset_s == offset


def test_amazon_transcribe_channel_identification_reads_channels_as_voices(tmp_path: Path) -> None:
    def word(channel: str, content: str, start: float) -> dict[str, object]:
        return {"type": "pronunciation", "start_time": str(start), "channel_label": channel,
                "alternatives": [{"content": content}]}  # fmt: skip

    said = [("ch_1", "my parcel never arrived", 2.0), ("ch_0", "sorry to hear that let me check", 5.0)]
    items = [word(ch, w, t + k) for ch, text, t in said for k, w in enumerate(text.split())]
    (tmp_path / "call.json").write_text(json.dumps({"jobName": "c-9", "results": {"items": items}}))
    [record] = list(iter_platform_records("transcribe", tmp_path / "call.json"))
    contact = record.item
    assert isinstance(contact, Contact) and [t.speaker for t in contact.turns] == ["customer", "agent"]
    assert contact.metadata["speaker_roles"]["roles"] == {"ch_1": "customer", "ch_0": "agent"}


def _mutated(name: str, where: tuple[str | int, ...], value: object, tmp_path: Path) -> Path:
    """A copy of a fixture with the value at ``where`` replaced (or dropped, for ``...``)."""
    doc = json.loads((FIXTURES / name).read_text())
    parent = doc
    for key in where[:-1]:
        parent = parent[key]
    if value is ...:
        del parent[where[-1]]
    else:
        parent[where[-1]] = value
    (tmp_path / name).write_text(json.dumps(doc))
    return tmp_path / name


@pytest.mark.parametrize(
    ("fmt", "name", "where", "value", "field"),
    [
        ("twilio", "twilio_transcript.json", ("sentences", 0, "sentence_index"), None, "sentences[0].sentence_index"),
        ("twilio", "twilio_transcript.json", ("sentences", 0, "media_channel"), [2], "transcript.channel.participants"),
        ("twilio", "twilio_transcript.json", ("transcript", "channel", "participants"), 7,
         "transcript.channel.participants"),
        ("contact_lens", "contact_lens_call.json", ("Participants",), 7, "Participants"),
        ("contact_lens", "contact_lens_call.json", ("Transcript", 0, "ParticipantId"), ["BOT"],
         "Transcript[0].ParticipantRole"),
        ("genesys", "genesys_with_details.json", ("participants", 2, "sessions", 0, "metrics"), 7,
         "participants[2].sessions[0].metrics"),
        ("ccai", "ccai_conversation.json", ("callMetadata", "customerChannel"), [1], "callMetadata.customerChannel"),
        ("ccai", "ccai_conversation.json", ("transcript", "transcriptSegments", 2, "channelTag"), [2],
         "transcript.transcriptSegments[2].segmentParticipant.role"),
        ("zendesk", "zendesk_ticket.json", ("ticket", "id"), ..., "ticket.id"),
    ],
)  # fmt: skip
def test_a_field_of_an_unexpected_type_is_a_rejection_naming_it(
    tmp_path: Path, fmt: str, name: str, where: tuple[str | int, ...], value: object, field: str
) -> None:
    [record] = list(iter_platform_records(fmt, _mutated(name, where, value, tmp_path)))
    assert isinstance(record.item, Rejected) and record.item.error.problems[0].field == field


def test_a_reader_failing_on_one_file_rejects_that_file_and_reads_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from dispo.platforms import FORMATS, Platform
    from dispo.platforms.twilio import read_twilio

    def fragile(path: Path, codes: CodeMap | None, name: str) -> Iterator[Any]:
        if path.name == "a.json":
            raise KeyError("sid")  # a structure the reader did not foresee
        yield from read_twilio(path, codes, name)

    monkeypatch.setitem(FORMATS, "twilio", Platform(fragile, (".json",), "a Twilio transcript"))
    for name in ("a.json", "b.json"):
        shutil.copy(FIXTURES / "twilio_transcript.json", tmp_path / name)
    failed, read = list(iter_platform_records("twilio", tmp_path))
    assert isinstance(read.item, Contact) and isinstance(failed.item, Rejected)
    assert f"{tmp_path / 'a.json'} (twilio):1: field '<file>': expected a Twilio transcript" in str(failed.item.error)
    assert "KeyError('sid')" in str(failed.item.error) and failed.item.raw["transcript"]["sid"]
    assert "a.json (twilio): unexpected structure" in caplog.text


def test_zendesk_ids_compare_as_strings_and_sideloaded_end_users_are_customers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    contact = _only("zendesk", "zendesk_ticket.json", tmp_path)
    assert isinstance(contact, Contact) and contact.metadata["platform"]["customer_comments"] == 1
    requester = _mutated("zendesk_ticket.json", ("ticket", "requester_id"), "20978392", tmp_path)
    [record] = list(iter_platform_records("zendesk", requester))
    assert isinstance(record.item, Contact) and [t.speaker for t in record.item.turns] == ["customer", "agent"]
    doc = json.loads((FIXTURES / "zendesk_ticket.json").read_text())
    doc["comments"].insert(1, {"id": 9, "author_id": 555, "public": True, "body": "I'm her husband, same problem."})
    (tmp_path / "cc.json").write_text(json.dumps(doc))
    [cc] = list(iter_platform_records("zendesk", tmp_path / "cc.json"))
    assert isinstance(cc.item, Contact) and [t.speaker for t in cc.item.turns] == ["customer", "agent", "agent"]
    doc["users"] = [{"id": 555, "role": "end-user"}, {"id": 235323, "role": "agent"}]
    (tmp_path / "cc.json").write_text(json.dumps(doc))
    [cc] = list(iter_platform_records("zendesk", tmp_path / "cc.json"))
    assert isinstance(cc.item, Contact) and [t.speaker for t in cc.item.turns] == ["customer", "customer", "agent"]
    nobody = _mutated("zendesk_ticket.json", ("ticket", "requester_id"), 1, tmp_path)  # a ticket no customer wrote
    [record] = list(iter_platform_records("zendesk", nobody))
    assert isinstance(record.item, Contact) and record.item.metadata["platform"]["customer_comments"] == 0
    assert "no public comment by the customer (requester 1)" in caplog.text


def test_items_without_words_are_skipped_and_counted(tmp_path: Path) -> None:
    doc = json.loads((FIXTURES / "zendesk_ticket.json").read_text())
    doc["comments"].insert(1, {"id": 9, "author_id": 20978392, "public": True, "body": "",
                               "attachments": [{"file_name": "photo.jpg"}]})  # fmt: skip
    (tmp_path / "zd.json").write_text(json.dumps(doc))
    [ticket] = list(iter_platform_records("zendesk", tmp_path / "zd.json"))
    assert isinstance(ticket.item, Contact) and len(ticket.item.turns) == 2
    assert ticket.item.metadata["platform"]["skipped_items"] == 1
    doc = json.loads((FIXTURES / "contact_lens_call.json").read_text()) | {"Channel": "CHAT"}
    doc["Transcript"].insert(0, {"Id": "e", "Type": "EVENT", "ParticipantId": "CUSTOMER"})  # joined the chat
    doc["Transcript"].insert(3, {"Id": "a", "Type": "ATTACHMENT", "ParticipantId": "CUSTOMER", "Attachments": []})
    (tmp_path / "cl.json").write_text(json.dumps(doc))
    [chat] = list(iter_platform_records("contact_lens", tmp_path / "cl.json"))
    assert isinstance(chat.item, Contact) and len(chat.item.turns) == 5 and chat.item.channel == "chat"
    assert chat.item.metadata["platform"]["skipped_items"] == 2
    turn = chat.item.metadata["platform"]["turns"][1]
    assert (turn["turn"], turn["Sentiment"]) == (1, "NEGATIVE")  # the analytics stay on their turn
    doc["Transcript"] = doc["Transcript"][:1]  # nothing but the event: no conversation
    (tmp_path / "cl.json").write_text(json.dumps(doc))
    [empty] = list(iter_platform_records("contact_lens", tmp_path / "cl.json"))
    assert isinstance(empty.item, Rejected) and empty.item.error.problems[0].field == "Transcript"


@pytest.mark.parametrize("starts", [[15, 10, 5, 0], [0, 10, 5, 15]])  # shuffled; two channels concatenated
def test_diarized_segments_are_read_in_the_order_they_were_said(tmp_path: Path, starts: list[int]) -> None:
    said = {0: ("A", "thanks for calling how can I help you"), 5: ("B", "I was charged twice for my order"),
            10: ("A", "sorry about that I have refunded it"), 15: ("B", "great thanks bye")}  # fmt: skip
    segments = [{"speaker": said[s][0], "text": said[s][1], "start": s} for s in starts]
    (tmp_path / "s.json").write_text(json.dumps({"segments": segments}))
    [record] = list(iter_platform_records("diarized_json", tmp_path / "s.json"))
    assert isinstance(record.item, Contact) and [t.offset_s for t in record.item.turns] == [0, 5, 10, 15]
    del segments[0]["start"]  # not every segment is timed: the given order
    (tmp_path / "s.json").write_text(json.dumps({"segments": segments}))
    [record] = list(iter_platform_records("diarized_json", tmp_path / "s.json"))
    assert isinstance(record.item, Contact) and record.item.turns[0].text.startswith(said[starts[0]][1])


def test_twilio_sentences_without_an_index_are_read_by_start_time(tmp_path: Path) -> None:
    doc = json.loads((FIXTURES / "twilio_transcript.json").read_text())
    for sentence in doc["sentences"]:
        del sentence["sentence_index"]
    doc["sentences"].reverse()
    (tmp_path / "t.json").write_text(json.dumps(doc))
    [record] = list(iter_platform_records("twilio", tmp_path / "t.json"))
    assert isinstance(record.item, Contact) and [t.speaker for t in record.item.turns] == ["agent", "customer", "agent"]
    assert record.item.turns[1].text == "Hi, I never got my tracking number. The order was placed last week."


@pytest.mark.parametrize(
    ("times", "extra", "offset"),
    [([(0, 100), (3250, 3300)], {"confidence": 0.9}, 3.25),  # AssemblyAI's fields
     ([(0, 3000), (3250, 6000)], {}, 3.25),  # 3000 seconds in one utterance: milliseconds
     ([(0, 2), (3, 5)], {}, 3)],  # whole seconds
)  # fmt: skip
def test_assemblyai_milliseconds_are_recognised_without_audio_duration(
    tmp_path: Path, times: list[tuple[int, int]], extra: dict[str, object], offset: float
) -> None:
    said = [("A", "thanks for calling how can i help"), ("B", "my card was charged twice")]
    utterances = [{"speaker": who, "text": text, "start": start, "end": end} | extra
                  for (who, text), (start, end) in zip(said, times, strict=True)]  # fmt: skip
    (tmp_path / "call.json").write_text(json.dumps({"id": "aai-1", "utterances": utterances}))
    [record] = list(iter_platform_records("diarized_json", tmp_path / "call.json"))
    assert isinstance(record.item, Contact) and record.item.turns[1].offset_s == offset


def test_names_taken_from_files_are_their_paths_in_the_input_folder(tmp_path: Path) -> None:
    for day in ("day1", "day2"):
        (tmp_path / day).mkdir()
        shutil.copy(FIXTURES / "chat.txt", tmp_path / day / "ab.txt")
    contacts = [record.item for record in iter_platform_records("speaker_text", tmp_path)]
    assert [(c.contact_id, c.metadata["platform"]["file"]) for c in contacts if isinstance(c, Contact)] == [
        ("day1/ab", "day1/ab.txt"), ("day2/ab", "day2/ab.txt")]  # fmt: skip
    [single] = list(iter_platform_records("speaker_text", tmp_path / "day2" / "ab.txt"))
    assert isinstance(single.item, Contact) and single.item.contact_id == "ab"
    shutil.copy(FIXTURES / "whisperx_segments.json", tmp_path / "day1" / "call.json")  # no id of its own
    [diarized] = list(iter_platform_records("diarized_json", tmp_path))
    assert isinstance(diarized.item, Contact) and diarized.item.contact_id == "day1/call"


def test_a_transcript_file_header_goes_to_metadata(tmp_path: Path) -> None:
    """Call-recording tools write fields above the conversation; a line that names a speaker is no header."""
    (tmp_path / "call.txt").write_text(
        "Call ID: 88231\nDate: 2026-03-01 10:02\nDuration: 4m12s\n\n"
        "Agent: Thanks for calling.\nCustomer: refund please\n"
    )
    [record] = list(iter_platform_records("speaker_text", tmp_path / "call.txt"))
    assert isinstance(record.item, Contact)
    assert record.item.metadata["platform"]["header"] == {"Call ID": "88231", "Date": "2026-03-01 10:02",
                                                           "Duration": "4m12s"}  # fmt: skip
    assert [t.speaker for t in record.item.turns] == ["agent", "customer"]
    (tmp_path / "chat.txt").write_text("Agent: hi\n\nCustomer: refund please\n")
    [chat] = list(iter_platform_records("speaker_text", tmp_path / "chat.txt"))
    assert (
        isinstance(chat.item, Contact) and len(chat.item.turns) == 2 and "header" not in chat.item.metadata["platform"]
    )


def test_a_number_too_large_for_a_float_rejects_its_file_and_the_others_are_read(tmp_path: Path) -> None:
    fixture = Path(__file__).parent / "fixtures" / "platforms" / "contact_lens_call.json"
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "good.json").write_text(fixture.read_text(encoding="utf-8"), encoding="utf-8")
    huge = fixture.read_text(encoding="utf-8").replace(
        '"BeginOffsetMillis": 3300', '"BeginOffsetMillis": 1' + "0" * 400
    )
    (tmp_path / "exports" / "huge.json").write_text(huge, encoding="utf-8")
    records = list(iter_platform_records("contact_lens", tmp_path / "exports"))
    assert [type(r.item).__name__ for r in records] == ["Contact", "Rejected"]


def test_an_output_path_the_command_cannot_write_is_a_one_line_error(tmp_path: Path) -> None:
    from dispo.cli import main

    exports = tmp_path / "exports"
    exports.mkdir()
    shutil.copy(FIXTURES / "contact_lens_call.json", exports / "call.json")
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    assert main(["data", "import", "contact_lens", str(exports), "-o", str(tmp_path / "a-file" / "out.jsonl")]) == 2


def test_the_import_help_names_every_format(capsys: pytest.CaptureFixture[str]) -> None:
    from dispo.cli import main
    from dispo.platforms import FORMATS

    with pytest.raises(SystemExit):
        main(["data", "import", "--help"])
    described = " ".join(capsys.readouterr().out.split())
    assert all(name in described for name in FORMATS)


def test_the_same_call_in_two_overlapping_exports_is_imported_once(tmp_path: Path) -> None:
    from dispo.cli import main

    for day in ("monday", "tuesday"):  # the call's ContactId is in both
        (tmp_path / day).mkdir()
        shutil.copy(FIXTURES / "contact_lens_call.json", tmp_path / day / "call.json")
    out, rejects = tmp_path / "contacts.jsonl", tmp_path / "rejects.jsonl"
    code = main(["data", "import", "contact_lens", str(tmp_path / "*" / "call.json"), "-o", str(out),
                 "--rejects", str(rejects)])  # fmt: skip
    assert code == 1 and [c.contact_id for c in read_contacts(out)] == ["0d5c1f6a-3b8e-4c4e-9c1e-2f7d8a6b4e21"]
    [reject] = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert reject["errors"][0]["field"] == "contact_id" and "monday" in reject["errors"][0]["expected"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda doc: doc.update(Channel="FAX"), "Channel"),
        (lambda doc: doc["Transcript"][1].update(BeginOffsetMillis="00:01:02"), "Transcript[1].BeginOffsetMillis"),
        (lambda doc: doc["Transcript"][0].update(BeginOffsetMillis=-40), "Transcript[0].BeginOffsetMillis"),
    ],
)
def test_a_contact_lens_channel_or_offset_it_cannot_read_is_a_rejection_not_a_guess(
    tmp_path: Path, change: Any, field: str
) -> None:
    doc = json.loads((FIXTURES / "contact_lens_call.json").read_text())
    change(doc)
    (tmp_path / "call.json").write_text(json.dumps(doc))
    [record] = list(iter_platform_records("contact_lens", tmp_path / "call.json"))
    assert isinstance(record.item, Rejected)
    assert [p.field for p in record.item.error.problems] == [field]
