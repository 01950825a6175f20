"""PII redaction: positives per kind and format, decoys that must survive, contacts, measurement."""

from __future__ import annotations

import itertools
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from dispo.contact import Contact, Labels, Turn
from dispo.errors import ConfigError
from dispo.redact import PIISpan, Redactor, iban_valid, luhn_valid, redact_contact, redact_text
from training.redaction_eval import measure_redaction

R = Redactor()


def kinds(text: str) -> list[str]:
    return [s.kind for s in R.find(text)]


def assert_redacted(text: str, value: str, kind: str) -> None:
    out = R.redact_text(text)
    assert value not in out, out
    assert f"[{kind.upper()}]" in out, out


# -- positives ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [
        "john.smith@gmail.com",
        "j_smith84@outlook.co.uk",
        "Maria.Garcia+orders@comcast.net",
        "a@b.io",
    ],
)
def test_written_emails(value: str) -> None:
    assert_redacted(f"you can email me at {value}, thanks", value, "email")


@pytest.mark.parametrize(
    "value",
    [
        "john dot smith at gmail dot com",
        "jsmith42 at yahoo dot com",
        "maria underscore lopez at outlook dot com",
    ],
)
def test_spoken_emails(value: str) -> None:
    text = f"yeah it's {value} okay"
    assert R.redact_text(text) == "yeah it's [EMAIL] okay"


@pytest.mark.parametrize(
    "value",
    [
        "(555) 123-4567",
        "555-123-4567",
        "555.123.4567",
        "+1 555 123 4567",
        "1-800-555-0199",
        "+15551234567",
        "555 123 4567",
        "+44 20 7946 0958",
        "+49 30 1234567",
        "+33 1 23 45 67 89",
        "0044 20 7946 0958",
        "5551234567",
        "555-1234",
    ],
)
def test_written_phones(value: str) -> None:
    text = f"Please call me back at {value} after 5pm."
    assert R.redact_text(text) == "Please call me back at [PHONE] after 5pm."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my number is five five five one two three four", "my number is [PHONE]"),
        ("it's five five five one two three four five six seven thanks", "it's [PHONE] thanks"),
        ("uh it's five five five uh one two three four five six oh", "uh it's [PHONE]"),
        ("double five five, one two three, four five six seven", "[PHONE]"),
        ("call one eight hundred five five five oh one nine nine", "call [PHONE]"),
        ("five five five twelve thirty four please", "[PHONE] please"),
        ("I have two, five five five one two three four five six seven", "I have two, [PHONE]"),
        ("it's plus four four two oh seven nine four six oh nine five eight", "it's [PHONE]"),
    ],
)
def test_spoken_phones(text: str, expected: str) -> None:
    assert R.redact_text(text) == expected


@pytest.mark.parametrize(
    "value",
    [
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4111111111111111",
        "5500 0000 0000 0004",
        "3782 822463 10005",
        "378282246310005",
        "6011 0009 9013 9424",
        "4222222222222",
    ],
)
def test_written_cards(value: str) -> None:
    assert_redacted(f"sure, the card is {value} expiring 04/27", value, "card")


def test_spoken_card_luhn_checked() -> None:
    spoken = "four one one one one one one one one one one one one one one one"
    assert R.redact_text(f"card number {spoken} ok") == "card number [CARD] ok"
    wrong = "four one one one one one one one one one one one one one one two"
    assert "[CARD]" not in R.redact_text(f"card number {wrong} ok")


@pytest.mark.parametrize(
    "text",
    [
        "my ssn is 123-45-6789",
        "social 123 45 6789 ok",
        "SSN: 123456789",
        "my social security number is one two three four five six seven eight nine",
        "social is one two three, four five, six seven eight nine",
    ],
)
def test_ssns(text: str) -> None:
    spans = R.find(text)
    assert [s.kind for s in spans] == ["ssn"], spans


@pytest.mark.parametrize(
    "value",
    [
        "DE89 3704 0044 0532 0130 00",
        "DE89370400440532013000",
        "GB82 WEST 1234 5698 7654 32",
        "GB82WEST12345698765432",
        "FR14 2004 1010 0505 0001 3M02 606",
        "NL91ABNA0417164300",
        "ES91 2100 0418 4502 0005 1332",
        "CH93 0076 2011 6238 5295 7",
    ],
)
def test_ibans(value: str) -> None:
    text = f"transfer it to {value} OK"
    assert R.redact_text(text) == "transfer it to [IBAN] OK"


@pytest.mark.parametrize(
    "value",
    [
        "1234 Maple Street",
        "1234 Maple St, Apt 5B, Springfield, IL 62704",
        "55 north oak avenue",
        "P.O. Box 123",
        "po box 4471",
        "77 Sunset Blvd Suite 300, Austin TX 73301",
        "9 W 42nd St",
        "410 Cedar Ln, Unit 210, Columbus, OH 43004",
        "18 Elm Ct",
        "302 Lincoln Parkway",
        "12 Riverside Drive, Portland, Oregon",
        "twelve thirty four maple street apartment five b springfield illinois six two seven oh four",
        "one thousand two hundred thirty four oak avenue austin t x seven three three oh one",
    ],
)
def test_addresses(value: str) -> None:
    text = f"ship it to {value}. thanks"
    assert R.redact_text(text) == "ship it to [ADDRESS]. thanks"


# -- negatives ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "my order 100293847 never arrived",
        "order #A7K-203948 was damaged",
        "the order number is 4829301746",
        "tracking number for your package is 4829301746",
        "invoice 5829301746 and ticket 7829301746",
        "reference: 9912345678",
        "#4829301746",
        "ORD-2025-12345",
        "order 4111111111111111 is listed",  # Luhn-valid but an order id
        "I was charged $49.99 twice, then 129 dollars, then 1,299.00",
        "€12.50 and 12.50 USD and £300",
        "it shipped 2026-03-14, due 03/14/2026, or March 3rd, or 14 Mar",
        "call after 10:30 or 4:45pm",
        "I ordered 3 of them in 2025",
        "the ZIP is 62704",
        "I waited 2 hours on the way and 3 days on the road",
        "4111 1111 1111 1112",  # fails Luhn
        "1234 5678 9012 3456 7890 12",  # 22-digit tracking number
        "DE89 3704 0044 0532 0130 01",  # IBAN with a wrong checksum
        "GB82WEST12345698765433",
        "I bought it at amazon dot com",
        "one two three, it's easy",
        "the card ending in 4242",
        "I need two or three more",
        "we took one last drive down a one way street, a ten minute drive",
    ],
)
def test_decoys_survive(text: str) -> None:
    assert R.find(text) == []
    assert R.redact_text(text) == text


def test_previous_turn_is_context() -> None:
    assert R.redact_text("It's 4829301746.") == "It's [PHONE]."
    assert R.redact_text("It's 4829301746.", context="Can I get the order number please?") == "It's 4829301746."
    assert R.redact_text("4829301746", context="What's the best phone number to reach you?") == "[PHONE]"


def test_luhn_and_iban_checks() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert iban_valid("DE89370400440532013000")
    assert not iban_valid("DE89370400440532013001")
    assert not iban_valid("DE8937040044053201300")  # one character short of Germany's 22


# -- spans, placeholders and configuration ----------------------------------------------------------
def test_find_returns_sorted_non_overlapping_spans_with_offsets() -> None:
    text = "card 4111 1111 1111 1111, mail a@b.com, ssn 123-45-6789, phone five five five one two three four"
    spans = R.find(text)
    assert [s.kind for s in spans] == ["card", "email", "ssn", "phone"]
    for s in spans:
        assert isinstance(s, PIISpan)
        assert text[s.start : s.end] == s.text
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))
    assert spans[-1].text == "five five five one two three four"
    with pytest.raises(AttributeError):
        spans[0].kind = "x"  # type: ignore[misc]


def test_placeholders_keep_the_type() -> None:
    text = "a@b.com 4111111111111111 123-45-6789 (555) 123-4567 DE89370400440532013000 12 Oak St"
    assert R.redact_text(text) == "[EMAIL] [CARD] [SSN] [PHONE] [IBAN] [ADDRESS]"
    custom = Redactor(placeholder="<{kind}>")
    assert custom.redact_text(text) == "<email> <card> <ssn> <phone> <iban> <address>"


def test_only_enabled_kinds_are_redacted() -> None:
    r = Redactor(kinds=["email"])
    assert r.redact_text("a@b.com and 555-123-4567") == "[EMAIL] and 555-123-4567"
    with pytest.raises(ConfigError):
        Redactor(kinds=["email", "passport"])
    with pytest.raises(ConfigError):
        Redactor(placeholder="[{type}]")


# -- contacts -------------------------------------------------------------------------------------
def _contact() -> Contact:
    return Contact(
        contact_id="c-1",
        customer_id="cust-9",
        channel="voice",
        agent_id="a-7",
        queue="billing",
        started_at=datetime(2026, 3, 14, 9, 0, tzinfo=UTC),
        ended_at=datetime(2026, 3, 14, 9, 5, tzinfo=UTC),
        turns=[
            Turn(speaker="agent", text="Can I have your phone number?", offset_s=0.0),
            Turn(speaker="customer", text="five five five one two three four five six seven", offset_s=3.5),
            Turn(speaker="customer", text="order 100293847 was $49.99", offset_s=9.0),
        ],
        labels=Labels(reason="billing_dispute", outcome="resolved", sentiment="negative", upsell=False),
        metadata={"email": "x.y@example.com", "nested": {"notes": ["call 555-123-4567", 42]}, "n": 3},
    )


def test_redact_contact_redacts_text_and_metadata_only() -> None:
    original = _contact()
    before = original.model_dump()
    out = redact_contact(original)
    assert [t.text for t in out.turns] == ["Can I have your phone number?", "[PHONE]", "order 100293847 was $49.99"]
    assert out.metadata == {"email": "[EMAIL]", "nested": {"notes": ["call [PHONE]", 42]}, "n": 3}
    assert [(t.speaker, t.offset_s) for t in out.turns] == [(t.speaker, t.offset_s) for t in original.turns]
    for name in (
        "contact_id",
        "customer_id",
        "channel",
        "agent_id",
        "queue",
        "started_at",
        "ended_at",
        "labels",
        "agent_labels",
        "language",
    ):
        assert getattr(out, name) == getattr(original, name)
    assert original.model_dump() == before  # the input is untouched
    assert out is not original


def test_module_level_redact_text() -> None:
    assert redact_text("mail me: a@b.com") == "mail me: [EMAIL]"


# -- measurement ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Planted:
    kind: str
    value: str
    turn: int


def test_measure_redaction_on_a_hand_built_set() -> None:
    contact = Contact(
        contact_id="m-1",
        turns=[
            Turn(speaker="customer", text="email a@b.com, phone 555-123-4567, order 100293847"),
            Turn(speaker="customer", text="card 4111 1111 1111 1112 on March 3rd for $49.99"),  # bad Luhn: a miss
            Turn(speaker="customer", text="I am Maria Lopez at 12 Oak St"),
        ],
    )
    planted = [
        Planted("email", "a@b.com", 0),
        Planted("phone", "555-123-4567", 0),
        Planted("order_number", "100293847", 0),
        Planted("card", "4111 1111 1111 1112", 1),
        Planted("date", "March 3rd", 1),
        Planted("amount", "$49.99", 1),
        Planted("name", "Maria Lopez", 2),
        Planted("address", "12 Oak St", 2),
        # The value is gone but under the wrong placeholder: not a catch.
        Planted("ssn", "555-123-4567", 0),
        # A decoy that the redactor destroys (it is inside an address): a false positive.
        Planted("order_number", "12", 2),
    ]
    report = measure_redaction([(contact, planted)], R)
    assert (report.recall["email"].total, report.recall["email"].hits) == (1, 1)
    assert (report.recall["phone"].total, report.recall["phone"].hits) == (1, 1)
    assert (report.recall["card"].total, report.recall["card"].hits) == (1, 0)
    assert (report.recall["ssn"].total, report.recall["ssn"].hits) == (1, 0)
    assert report.recall["address"].rate == 1.0
    assert report.recall["iban"].total == 0
    assert (report.false_positive["order_number"].total, report.false_positive["order_number"].hits) == (2, 1)
    assert report.false_positive["order_number"].rate == 0.5
    assert report.false_positive["date"].rate == 0.0 and report.false_positive["amount"].total == 1
    assert report.by_design == {"name": 1}
    assert (report.contacts, report.turns) == (1, 3)
    table = report.to_markdown()
    assert "| card | recall | 1 | 0 caught | 0.00% |" in table
    assert "| order_number | false positives | 2 | 1 redacted | 50.00% |" in table
    assert "not redacted by design" in table


# -- throughput -----------------------------------------------------------------------------------
_TEMPLATES = (
    "Hi, I'm calling about order {order}, it was supposed to arrive on {date} but it never came.",
    "Sure, my email is {email} and you can reach me at {phone}.",
    "I was charged {amount} twice on my card ending in 4242, can you refund one of them?",
    "Okay let me pull that up for you, one moment please while I check the account.",
    "The address on file is {address}, is that still correct?",
    "yeah my number is five five five {d} {d} {d} {d} {d} {d} {d} uh thanks",
    "I understand your frustration, I'm going to escalate this to our billing team today.",
    "Thanks for holding. I see the refund of {amount} was issued on {date}.",
)


def _turns(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    words = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    out = []
    for _ in range(n):
        t = rng.choice(_TEMPLATES)
        out.append(
            t.format(
                order=rng.randint(10_000_000, 999_999_999_999),
                date=f"March {rng.randint(1, 28)}",
                email=f"user{rng.randint(1, 999)}@gmail.com",
                phone=f"({rng.randint(201, 989)}) 555-0{rng.randint(100, 199)}",
                amount=f"${rng.randint(5, 900)}.99",
                address=f"{rng.randint(10, 9999)} Maple Street, Austin, TX 73301",
                d=rng.choice(words),
            )
        )
    return out


def test_throughput_is_well_above_2000_turns_per_second() -> None:
    turns = _turns(5_000)
    t0 = time.perf_counter()
    for text in turns:
        R.redact_text(text)
    rate = len(turns) / (time.perf_counter() - t0)
    assert rate > 2_000, f"{rate:.0f} turns/s"
