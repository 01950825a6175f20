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


# -- positives ------------------------------------------------------------------------------------
def in_sentence(sentence: str, kind: str, *values: str) -> list[tuple[str, str, str]]:
    return [(sentence, kind, value) for value in values]


# Each value, at the ``{}`` of its sentence, becomes its kind's placeholder; the rest of the sentence stays.
IN_SENTENCE = [
    # written emails
    *in_sentence(
        "you can email me at {}, thanks",
        "email",
        "john.smith@gmail.com",
        "j_smith84@outlook.co.uk",
        "Maria.Garcia+orders@comcast.net",
        "a@b.io",
    ),
    # spoken emails
    *in_sentence(
        "yeah it's {} okay",
        "email",
        "john dot smith at gmail dot com",
        "jsmith42 at yahoo dot com",
        "maria underscore lopez at outlook dot com",
    ),
    # written phones
    *in_sentence(
        "Please call me back at {} after 5pm.",
        "phone",
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
    ),
    # international phones (E.164 grammar)
    *in_sentence(
        "you can reach me on {} most days",
        "phone",
        "+44 (0)20 7946 0958",
        "+353 1 234 5678",
        "+81 3-1234-5678",
        "0033 1 23 45 67 89",
        "+33 1 23 45 67 89",
        "+49 30 9364628",
        "+49-30-1234567",
    ),
    # written cards
    *in_sentence(
        "sure, the card is {} expiring 04/27",
        "card",
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4111111111111111",
        "5500 0000 0000 0004",
        "3782 822463 10005",
        "378282246310005",
        "6011 0009 9013 9424",
        "4222222222222",
    ),
    # written IBANs
    *in_sentence(
        "transfer it to {} OK",
        "iban",
        "DE89 3704 0044 0532 0130 00",
        "DE89370400440532013000",
        "GB82 WEST 1234 5698 7654 32",
        "GB82WEST12345698765432",
        "FR14 2004 1010 0505 0001 3M02 606",
        "NL91ABNA0417164300",
        "ES91 2100 0418 4502 0005 1332",
        "CH93 0076 2011 6238 5295 7",
    ),
    # spoken IBANs
    *in_sentence(
        "please send the money to {} thanks",
        "iban",
        # DE89 3704 0044 0532 0130 00, with "oh" for some zeros
        "d e eight nine three seven oh four zero zero four four oh five three two zero one three zero zero oh",
        # GB82 WEST 1234 5698 7654 32
        "g b eight two w e s t one two three four five six nine eight seven six five four three two",
        # the same, in the NATO alphabet
        "golf bravo eight two whiskey echo sierra tango one two three four five six nine eight seven six five four "
        "three two",
        # GB34 LOYD 3096 2812 3456 78: the "o" of LOYD is a letter, the "oh"s in the digits are zeros
        "g b three four l o y d three oh nine six two eight one two three four five six seven eight",
        # NL44 RABO 0123 4567 89
        "n l four four r a b o zero one two three four five six seven eight nine",
        # FR14 2004 1010 0505 0001 3M02 606, with pairs and "double"
        "f r fourteen two oh oh four one oh one oh oh five oh five oh oh oh one three m oh two six oh six",
        "d e eighty nine three seven oh four double oh four four oh five three two oh one three triple oh",
    ),
    # addresses
    *in_sentence(
        "ship it to {}. thanks",
        "address",
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
    ),
]


@pytest.mark.parametrize(("sentence", "kind", "value"), IN_SENTENCE)
def test_values_in_a_sentence_become_their_placeholder(sentence: str, kind: str, value: str) -> None:
    assert R.redact_text(sentence.format(value)) == sentence.format(f"[{kind.upper()}]")


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
        # misspelt id words
        "The ordr number is 7910008147.",
        "ordr 7523128854, placed on 18 Jan",
        "Right. the refund for orddr 9104455745, where is it",
        "invocie 5829301746 is wrong",
        "tracknig number 4829301746",
        # spoken runs: a spelled-out alphanumeric id (the digits after "o r d" are not a phone)
        "let me find it okay o r d two oh two six one one three two seven",
        # a 9-12 digit spoken id has no phone inside it when said in one breath
        "it's nine three three one eight five nine six four two one",
        # years of dates
        "march twenty fourth twenty twenty six nineteen eighty five",
        "the fifteenth of may twenty twenty six one nine eight five",
        "october fourth twenty twenty six nineteen five",
        # an "oh" interjection after a written date is not a digit
        "I need this sorted before 2026-10-03. Oh great.",
    ],
)
def test_decoys_survive(text: str) -> None:
    assert R.find(text) == [], R.find(text)
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
    assert (report.recall["name"].total, report.recall["name"].hits) == (1, 1) and report.by_design == {}
    assert (report.contacts, report.turns) == (1, 3)
    table = report.to_markdown()
    assert "| card | recall | 1 | 0 caught | 0.00% |" in table
    assert "| order_number | false positives | 2 | 1 redacted | 50.00% |" in table


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


# -- international phones (E.164 grammar) ----------------------------------------------------------
def test_international_phone_stops_at_a_valid_length() -> None:
    # France has 9-digit national numbers: the trailing "2026" is not part of the phone.
    assert R.redact_text("+33 1 23 45 67 89 2026") == "[PHONE] 2026"


@pytest.mark.parametrize(
    "text",
    [
        "+49 30",  # a country and an area code, no subscriber number
        "the score was +12 34",
        "+0 123 456 789",  # there is no country code 0
    ],
)
def test_not_international_phones(text: str) -> None:
    assert "phone" not in kinds(text)


def test_plus_phone_is_a_phone_whatever_the_context() -> None:
    assert R.redact_text("It's +44 20 7187 2051", context="And the order number?") == "It's [PHONE]"
    assert R.redact_text("order 0049301234567 shipped") == "order 0049301234567 shipped"  # 00-prefixed id


# -- spoken IBANs ----------------------------------------------------------------------------------
def test_spoken_iban_needs_the_checksum_and_the_length() -> None:
    bad_check = "d e eight nine three seven oh four zero zero four four oh five three two zero one three zero zero one"
    short = "d e eight nine three seven oh four zero zero four four oh five three two zero one three zero zero"
    for spoken in (bad_check, short):
        assert "iban" not in kinds(f"my bank details are {spoken}")


def test_written_iban_with_a_space_after_the_country() -> None:
    assert R.redact_text("IBAN DE 89 3704 0044 0532 0130 00 please") == "IBAN [IBAN] please"
    # lower case words before a number never start an IBAN
    assert "iban" not in kinds("i chatted with someone on 27 Jan and they said it was fixed 2026")


# -- context: the turn's own cue words and the previous turn's question ----------------------------
@pytest.mark.parametrize(
    ("text", "context", "expected"),
    [
        # "just in case" is not a case number; the callback question decides
        ("It's 4829301746.", "And a callback number, just in case we get disconnected?", "It's [PHONE]."),
        ("seven zero five six nine three two nine five zero", "and a callback number just in case", "[PHONE]"),
        # the question before asked for an order id: the answer is one, also when spoken
        (
            "let me find it okay nine three three one eight five nine six four",
            "do you have the order number handy",
            None,
        ),
        (
            "let me find it okay two nine six two four five one five six eight",
            "can i get the older um number please",
            None,
        ),
        ("It's 4829301746.", "Please DM us your order number and we'll take a look.", None),
        # a head noun phrase beats a bare mention
        ("It's 4829301746.", "Sorry about your order. What's your phone number?", "It's [PHONE]."),
        # a question about both decides nothing: the default (redact) applies
        ("4829301746", "Can I get your phone number and the order number?", "[PHONE]"),
    ],
)
def test_previous_turn_question(text: str, context: str, expected: str | None) -> None:
    assert R.redact_text(text, context=context) == (text if expected is None else expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the phone number on the order is 5551234567", "the phone number on the order is [PHONE]"),
        ("in case we get cut off, my cell is 5551234567", "in case we get cut off, my cell is [PHONE]"),
        # an id word already followed by its own number is spent: the nearer card/social cue decides
        ("cancel order #F5C-210521 My social is 166-56-1575 ok", "cancel order #F5C-210521 My social is [SSN] ok"),
        (
            "about order #B7A-576173 The card I paid with was 4111 1111 1111 1111.",
            "about order #B7A-576173 The card I paid with was [CARD].",
        ),
        # an in-turn id word beats a previous question about a social
        ("The order number is 580204650", "The order number is 580204650"),
    ],
)
def test_turn_cues(text: str, expected: str) -> None:
    context = "Please don't share your full card or social security number."
    assert R.redact_text(text, context=context) == expected


# -- spoken runs ---------------------------------------------------------------------------------
def test_spoken_card_after_asr_to_two() -> None:
    spoken = "four one one one one one one one one one one one one one one one"
    assert R.redact_text(f"just charge it two {spoken} that's the one") == "just charge it two [CARD] that's the one"
    # but "two"/"four" are never dropped to make a phone out of a longer spoken id
    assert "phone" not in kinds("the arrival date for two nine one zero three four eight one one seven nine")


def test_spoken_nine_digits_default_to_ssn_without_any_cue() -> None:
    spoken = "one two three four five six seven eight nine"
    assert kinds(f"do you need my it's {spoken}") == ["ssn"]
    assert kinds(f"here's my social in case you it {spoken}") == ["ssn"]
    assert R.find(spoken, context="What's the order number?") == []
    assert kinds(f"order number {spoken}") == []
    assert kinds(f"my number is {spoken}") == []  # a phone cue: nine digits are no phone either


@pytest.mark.parametrize(
    ("text", "previous", "expected"),
    [
        ("My name is Dana Okafor and I need help", "", "My name is [NAME] and I need help"),
        ("my name is john smith and uh i need a refund", "", "my name is [NAME] and uh i need a refund"),
        ("yeah it's maria lopez", "can i have your er full name please", "yeah it's [NAME]"),
        ("Maria Lopez, that's me.", "Who am I speaking with?", "[NAME], that's me."),
        ("Hi, this is Priya from accounts.", "", "Hi, this is [NAME] from accounts."),
        ("Dear Tom,\n\nwhere is it?\n\nThanks,\nSarah Connor", "", "Dear [NAME],\n\nwhere is it?\n\nThanks,\n[NAME]"),
        ("ok\n\n> Sincerely,\n> Omar Allen", "", "ok\n\n> Sincerely,\n> [NAME]"),
        ("where is my parcel\n\nJo\n\nSent from my iPhone", "", "where is my parcel\n\n[NAME]\n\nSent from my iPhone"),
        ("Thank you Mr. Alvarez, it is updated.", "", "Thank you Mr. [NAME], it is updated."),
        ("Hello, Acme customer care, Jordan speaking.", "", "Hello, Acme customer care, [NAME] speaking."),
    ],
)
def test_names_are_redacted_where_they_are_given(text: str, previous: str, expected: str) -> None:
    assert Redactor().redact_text(text, previous) == expected


@pytest.mark.parametrize(
    ("text", "previous"),
    [
        ("my name is on the account", ""),
        ("It's Tuesday so I can wait", ""),
        ("The order from Seattle never came and I'm Furious", ""),
        ("Dear Kitewood Customer Services,\n\nplease close my account", ""),
        ("Hi, this is Maple & Rye Home. That order shipped.", ""),
        ("KW30552167", "Can I have the name and order number?"),
        ("[caller placed on hold 00:02:05]", "may i have your full name"),
    ],
)
def test_words_that_are_not_names_stay(text: str, previous: str) -> None:
    assert "[NAME]" not in Redactor().redact_text(text, previous)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("send it to Bath BA2 4JT please", "send it to Bath [ADDRESS] please"),
        ("my postcode is sw1a 1aa", "my postcode is [ADDRESS]"),
        ("Toronto M5V 3L9", "Toronto [ADDRESS]"),
        ("order AB123456 and tracking 1Z999AA10123456784", "order AB123456 and tracking 1Z999AA10123456784"),
        ("model TV55 4K, order MR-6377012, code A1 2BC", "model TV55 4K, order MR-6377012, code A1 2BC"),
    ],
)
def test_uk_and_canadian_postcodes_are_addresses(text: str, expected: str) -> None:
    assert Redactor().redact_text(text) == expected
