"""Speaker roles of diarized transcripts: inferred from what each voice says, recorded, never guessed blind."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from dispo.contact import Contact
from dispo.errors import RecordError
from dispo.io import read_contacts
from dispo.platforms import iter_platform_records
from dispo.roles import ROLES_METADATA_KEY, infer_roles, is_generic_speaker

CALL = [
    ("Speaker 1", "thank you for calling northwind this is dana how can i help"),
    ("Speaker 2", "hi um yeah my order never showed up i ordered it two weeks ago"),
    ("Speaker 1", "sorry to hear that let me pull up your account can you confirm your postcode"),
    ("Speaker 2", "its n w one four"),
    ("Speaker 1", "thanks i can see your parcel is with the courier i'll send you a replacement today"),
]


@pytest.mark.parametrize("name", ["Speaker 1", "spk_0", "SPEAKER_01", "A", "speaker b", "Participant 2", "ch-1"])
def test_diarization_labels_are_recognised(name: str) -> None:
    assert is_generic_speaker(name)


@pytest.mark.parametrize("name", ["Robot", "Bob", "Speaker one two", "Agent Smith"])
def test_names_are_not_diarization_labels(name: str) -> None:
    assert not is_generic_speaker(name)


def test_the_voice_that_reads_like_a_customer_is_the_customer_whoever_speaks_first() -> None:
    assignment = infer_roles(CALL)
    assert assignment.roles == {"Speaker 1": "agent", "Speaker 2": "customer"}
    assert assignment.decided_by == "content" and assignment.margin > 0
    customer_first = [(("Speaker 1" if label == "Speaker 2" else "Speaker 2"), text) for label, text in CALL[1:]]
    assert infer_roles(customer_first).roles == {"Speaker 1": "customer", "Speaker 2": "agent"}


def test_an_agent_who_says_my_apologies_and_my_colleague_is_still_the_agent() -> None:
    """An agent's "my apologies", "my pleasure" or "my system" is not a customer's first person."""
    turns = [
        ("Speaker 1", "hi you guys sent me the wrong size, I ordered a medium and you sent me a large. fix it?"),
        ("Speaker 2", "my apologies, my colleague told me about this issue, my system shows the order. my "
                      "recommendation is an exchange."),
        ("Speaker 1", "you should have checked. whatever, do the exchange."),
        ("Speaker 2", "my pleasure, done."),
    ]  # fmt: skip
    assert infer_roles(turns).roles == {"Speaker 1": "customer", "Speaker 2": "agent"}


def test_a_tie_goes_to_turn_order_and_says_so() -> None:
    assignment = infer_roles([("spk_0", "hello"), ("spk_1", "hello"), ("spk_0", "ok")])
    assert assignment.roles == {"spk_0": "agent", "spk_1": "customer"} and assignment.decided_by == "turn order"


def test_automated_prompts_are_the_system_and_a_second_agent_stays_an_agent() -> None:
    turns = [("Speaker 0", "this call may be recorded for quality and training press 1 for orders"), *CALL,
             ("Speaker 3", "hi there i'm from the returns team let me process that for you")]  # fmt: skip
    assert infer_roles(turns).roles == {"Speaker 0": "system", "Speaker 1": "agent", "Speaker 2": "customer",
                                        "Speaker 3": "agent"}  # fmt: skip


def test_a_lone_unnamed_voice_takes_the_missing_role_or_is_refused() -> None:
    assert infer_roles([("Speaker 2", "my card was charged twice")], named=["agent"]).roles == {"Speaker 2": "customer"}
    assert infer_roles([("spk_1", "hi")], named=["customer"]).roles == {"spk_1": "agent"}
    with pytest.raises(ValueError, match="name the roles"):
        infer_roles([("Speaker 1", "my card was charged twice")])
    two = infer_roles([("A", "how can i help"), ("B", "let me transfer you")], named=["customer"])
    assert two.roles == {"A": "agent", "B": "agent"}  # the customer is named: every other voice is an agent


def test_a_diarized_csv_transcript_gets_roles_and_records_how(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["contact_id", "channel", "transcript"])
        writer.writerow(["c1", "voice", "\n".join(f"{label}: {text}" for label, text in CALL)])
        writer.writerow(["c2", "voice", "Customer: hi\nAgent: hello"])
    first, second = read_contacts(path)
    assert [t.speaker for t in first.turns] == ["agent", "customer", "agent", "customer", "agent"]
    recorded = first.metadata[ROLES_METADATA_KEY]
    assert recorded["roles"] == {"Speaker 1": "agent", "Speaker 2": "customer"} and recorded["decided_by"] == "content"
    assert ROLES_METADATA_KEY not in second.metadata  # named roles: nothing inferred


def test_an_undecidable_transcript_is_a_rejection_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["contact_id", "transcript"])
        writer.writerow(["c1", "Speaker 1: hello\nSpeaker 1: anyone there"])
    with pytest.raises(RecordError) as info:
        read_contacts(path)
    assert info.value.problems[0].field == "transcript" and "name the roles" in info.value.problems[0].found


@pytest.mark.parametrize("suffix", [".txt", ".srt"])
def test_a_diarized_transcript_file_imports_as_a_voice_contact(tmp_path: Path, suffix: str) -> None:
    labels = {"Speaker 1": "SPEAKER_00", "Speaker 2": "SPEAKER_01"}
    if suffix == ".srt":
        body = "\n\n".join(f"{i}\n00:00:{i:02d},000 --> 00:00:{i + 1:02d},000\n{labels[label]}: {text}"
                           for i, (label, text) in enumerate(CALL, start=1))  # fmt: skip
    else:
        body = "\n".join(f"{labels[label]}: {text}" for label, text in CALL)
    (tmp_path / f"call{suffix}").write_text(body + "\n", encoding="utf-8")
    [record] = list(iter_platform_records("speaker_text", tmp_path / f"call{suffix}"))
    contact = record.item
    assert isinstance(contact, Contact) and contact.channel == "voice"
    assert [t.speaker for t in contact.turns][:2] == ["agent", "customer"]
    assert contact.metadata[ROLES_METADATA_KEY]["roles"] == {"SPEAKER_00": "agent", "SPEAKER_01": "customer"}


def test_a_transcript_whose_speakers_are_all_peoples_names_gets_roles(tmp_path: Path) -> None:
    names = {"Speaker 1": "Dana", "Speaker 2": "Marcus Webb"}
    path = tmp_path / "calls.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["contact_id", "transcript"])
        writer.writerow(
            ["c1", "\n".join(f"[00:00:{i:02d}] {names[label]}: {text}" for i, (label, text) in enumerate(CALL))]
        )
    [contact] = read_contacts(path)
    assert [t.speaker for t in contact.turns] == ["agent", "customer", "agent", "customer", "agent"]
    assert contact.metadata[ROLES_METADATA_KEY]["roles"] == {"Dana": "agent", "Marcus Webb": "customer"}


@pytest.mark.parametrize(
    "transcript", ["Customer: hi\nAgnet: hello", "Dana: hi\nDana: hello", "Agent: hi\nBob: x\nSue: y"]
)
def test_a_name_beside_a_role_or_alone_stays_an_error(tmp_path: Path, transcript: str) -> None:
    path = tmp_path / "calls.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["contact_id", "transcript"])
        writer.writerow(["c1", transcript])
    with pytest.raises(RecordError) as info:
        read_contacts(path)
    assert info.value.problems[0].expected == "a speaker customer, agent or system"


def test_an_automated_voice_beside_a_named_agent_and_customer_is_the_system() -> None:
    prompts = [("Speaker 1", "press 1 for billing. this call may be recorded for quality and training")]
    assert infer_roles(prompts, named=["agent", "customer"]).roles == {"Speaker 1": "system"}


def test_labels_that_differ_in_case_or_spacing_are_one_voice(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    spellings = {0: "Speaker 1", 1: "Speaker 2", 2: "speaker 1", 3: "SPEAKER  2", 4: "speaker   1"}
    lines = [f"{spellings[i]}: {text}" for i, (_, text) in enumerate(CALL)]
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["contact_id", "transcript"])
        writer.writerow(["c1", "\n".join(lines)])
    [contact] = read_contacts(path)
    assert [t.speaker for t in contact.turns] == ["agent", "customer", "agent", "customer", "agent"]
    assert set(contact.metadata[ROLES_METADATA_KEY]["roles"]) == {"Speaker 1", "Speaker 2"}


def test_a_chat_export_named_by_people_stays_a_chat(tmp_path: Path) -> None:
    (tmp_path / "chat.txt").write_text("Dana: thanks for contacting us, how can i help\nMarcus: my order is late\n")
    [record] = list(iter_platform_records("speaker_text", tmp_path / "chat.txt"))
    assert isinstance(record.item, Contact) and record.item.channel == "chat"
