"""Real agent language in built contacts: the Bitext responses, cut into lines an agent says."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from dispo.errors import ConfigError
from training.corpus.builder import CorpusBuilder, CorpusConfig
from training.corpus.responses import load_agent_lines, placeholder_text, spoken_paragraphs

HEADER = ["context", "role", "instruction", "intent", "entity_type", "entity_value", "start_offset",
          "end_offset", "category", "tags", "response"]  # fmt: skip


def write_responses(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for intent, response in rows:
            writer.writerow(["cs", "assistant", "help me", intent, "", "", "", "", "X", "B", response])
    return path


def test_placeholders_become_slots_or_the_screen_names_agents_say():
    assert placeholder_text("Customer Support Phone Number") == "our support line"
    assert placeholder_text("Customer Support Email") == "our support email"
    assert placeholder_text("Phone Number") == "{phone}"
    assert placeholder_text("Order Number Anonymized") == "{order}"
    assert placeholder_text("Website Name") == "{company}"
    assert placeholder_text("Order History") == "Order History"
    assert placeholder_text("Update Order") == "Update Order"  # a button, not a date
    assert placeholder_text("Live Chat Anonymized") == "Live Chat"


def test_lists_are_read_out_as_steps_and_long_paragraphs_are_shortened():
    response = (
        "I understand you want to update the address on order {{Order Number}}.\n\n"
        "1. Sign in to your account.\n2. Open {{Order History}}.\n3. Choose **Edit address**.\n\n"
        + " ".join(["This sentence has exactly eight words in it."] * 10)
    )
    lines = spoken_paragraphs(response)
    assert lines[0] == "I understand you want to update the address on order {order}."
    assert lines[1] == "first sign in to your account, then open Order History, then choose Edit address."
    assert len(lines[2].split()) <= 60 and lines[2].endswith(".")


def test_agent_lines_per_reason_drop_boilerplate_and_alias_intents(tmp_path: Path):
    reasons = ("track_refund", "check_invoices", "contact_customer_service")
    path = write_responses(tmp_path / "bitext_responses_short.csv", [
        ("track_refund", "Let me check where your refund of {{Refund Amount}} is right now.\n\n"
                         "Our support team is available at {{Customer Support Phone Number}} around the clock."),
        ("check_invoice", "I can pull up the invoices you were billed for in March."),
        ("contact_customer_service", "You can call our support team at {{Customer Support Phone Number}} today."),
        ("review", "Thanks for wanting to leave a review of your purchase!"),
    ])  # fmt: skip
    lines = load_agent_lines(tmp_path, reasons)
    assert lines["track_refund"] == ("Let me check where your refund of {amount} is right now.",)
    assert lines["check_invoices"] == ("I can pull up the invoices you were billed for in March.",)
    assert lines["contact_customer_service"] == ("You can call our support team at our support line today.",)
    with pytest.raises(ConfigError, match="no agent responses for reasons"):
        load_agent_lines(path, (*reasons, "review", "get_refund"))


def test_built_contacts_carry_the_agent_lines(tmp_path: Path, taxonomy):
    rows = [(reason, f"I am looking into the {reason.replace('_', ' ')} matter for you right now.")
            for reason in taxonomy.reason_names]  # fmt: skip
    path = write_responses(tmp_path / "responses.csv", rows)
    config = CorpusConfig(n_contacts=60, seed=3, responses_path=str(path), response_share=1.0)
    contacts = [b.contact for b in CorpusBuilder(config).build()]
    said = [t.text.lower() for c in contacts for t in c.turns if t.speaker == "agent"]
    assert any("matter for you right now" in text for text in said)
    again = [b.contact for b in CorpusBuilder(config).build()]
    assert [c.model_dump() for c in again] == [c.model_dump() for c in contacts], "deterministic for a seed"


def test_without_responses_and_scenes_the_corpus_is_the_one_built_before_them():
    """The hash of the same 30 contacts built by the builder before real agent lines, scenes and
    bitter, curt or scripted closes existed (commit f4c105c): turning them off gives exactly the old corpus (the
    contract's later optional queue events, all null here, are left out of the dump)."""
    import hashlib

    from dispo.contact import QUEUE_EVENTS

    config = CorpusConfig(
        n_contacts=30,
        seed=11,
        response_share=0.9,
        scene_share=0.0,
        bitter_close_share=0.0,
        curt_close_share=0.0,
        scripted_close_share=0.0,
        system_close_share=0.0,
    )
    built = "\n".join(b.contact.model_dump_json(exclude=set(QUEUE_EVENTS)) for b in CorpusBuilder(config).build())
    assert hashlib.sha256(built.encode()).hexdigest() == (
        "00ff3787f268d379335391015aa002ddf1609146e59c3abe2d42238a1aa94191"
    )


def test_utterances_may_be_the_data_sets_folder(tmp_path: Path, taxonomy):
    folder = tmp_path / "bitext_cs_20k"
    folder.mkdir()
    with (folder / "bitext_cs_20k.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["flags", "utterance", "category", "intent"])
        for reason in taxonomy.reason_names:
            writer.writerow(["B", f"please help me, it is about {reason.replace('_', ' ')}", "X", reason])
    contacts = [
        b.contact for b in CorpusBuilder(CorpusConfig(n_contacts=20, seed=1, utterances_path=str(folder))).build()
    ]
    assert any("it is about" in t.text.lower() for c in contacts for t in c.turns if t.speaker == "customer")
    (folder / "another.csv").write_text("flags,utterance,category,intent\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="exactly one Bitext CSV"):
        CorpusBuilder(CorpusConfig(n_contacts=1, seed=1, utterances_path=str(folder)))
