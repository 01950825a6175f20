"""Tests of the synthetic corpus builder (training/corpus)."""

from __future__ import annotations

import collections
import json
import re
import statistics
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from dispo.contact import contact_problems
from dispo.errors import ConfigError
from dispo.redact.spoken import SPOKEN_DIGITS
from dispo.taxonomy import Taxonomy, load_taxonomy
from training.corpus import BuiltContact, CorpusBuilder, CorpusConfig, PlantedPII, build_contacts
from training.corpus import phrases as ph
from training.corpus.pii import DECOY_KINDS, PLANTED_KINDS, iban_valid, luhn_valid

BITEXT = Path(__file__).parents[2] / "shared/data/bitext_cs_20k/bitext_cs_20k.csv"


def _build(n: int, **kw: object) -> list[BuiltContact]:
    return list(CorpusBuilder(CorpusConfig(n_contacts=n, **kw)).build())  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def big() -> list[BuiltContact]:
    return _build(2000)


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy()


def _dump(built: list[BuiltContact]) -> str:
    return json.dumps([[b.contact.to_json_dict(), [vars(p) for p in b.pii]] for b in built], sort_keys=True)


def test_same_seed_same_corpus_and_different_seed_differs() -> None:
    a, b, c = _build(200, seed=11), _build(200, seed=11), _build(200, seed=12)
    assert _dump(a) == _dump(b)
    assert _dump(a) != _dump(c)
    assert [x.contact.labels for x in a] != [x.contact.labels for x in c]


def test_every_contact_validates_and_has_all_gold_labels(big: list[BuiltContact], taxonomy: Taxonomy) -> None:
    for b in big:
        c = b.contact
        assert contact_problems(c, taxonomy=taxonomy) == [], c.contact_id
        assert c.labels is not None and c.agent_labels is not None
        assert None not in (c.labels.reason, c.labels.outcome, c.labels.sentiment, c.labels.upsell)
        assert c.started_at is not None and c.ended_at is not None and c.ended_at > c.started_at
        assert c.started_at.tzinfo is not None
        assert c.provider and c.agent_id and c.queue and c.customer_id
    assert len({b.contact.contact_id for b in big}) == len(big)


def test_label_balance(big: list[BuiltContact], taxonomy: Taxonomy) -> None:
    n = len(big)
    reasons = collections.Counter(b.contact.labels.reason for b in big if b.contact.labels)
    assert set(reasons) == set(taxonomy.reason_names)
    assert min(reasons.values()) / n >= 0.007, reasons.most_common()[-3:]
    assert max(reasons.values()) / n <= 0.15
    outcomes = collections.Counter(b.contact.labels.outcome for b in big if b.contact.labels)
    assert set(outcomes) == set(taxonomy.outcome_names)
    assert min(outcomes.values()) / n >= 0.05
    assert outcomes.most_common(1)[0][0] == "resolved"
    sentiments = collections.Counter(b.contact.labels.sentiment for b in big if b.contact.labels)
    assert min(sentiments[s] for s in taxonomy.sentiments) / n >= 0.10
    upsell = sum(bool(b.contact.labels and b.contact.labels.upsell) for b in big) / n
    assert 0.08 <= upsell <= 0.20


def test_channels_read_like_themselves(big: list[BuiltContact]) -> None:
    by_channel: dict[str, list[BuiltContact]] = collections.defaultdict(list)
    for b in big:
        by_channel[str(b.contact.channel)].append(b)
    assert set(by_channel) == {"voice", "chat", "email", "sms", "social", "mobile_app"}
    # Voice is ASR output: lower case, no punctuation, no digits, fillers.
    voice_text = " ".join(t.text for b in by_channel["voice"] for t in b.contact.turns)
    assert re.fullmatch(r"[a-z' ]+", voice_text)
    assert re.search(r"\b(um|uh)\b", voice_text)
    assert all(t.offset_s is not None for b in by_channel["voice"] for t in b.contact.turns)
    # Chat customers abbreviate.
    chat_customer = " ".join(b.contact.customer_text() for b in by_channel["chat"])
    assert re.search(r"\b(pls|plz|thx|u|ur|idk)\b", chat_customer)
    # Email is formal: greeting and sign-off lines, quoted replies.
    emails = [t.text for b in by_channel["email"] for t in b.contact.turns]
    agent_emails = [t.text for b in by_channel["email"] for t in b.contact.turns if t.speaker == "agent"]
    assert all("\n\n" in e for e in agent_emails)
    # Customers' short replies may be a bare line ("Sent from my iPhone"), most emails are letters.
    assert sum("\n\n" in e for e in emails) >= 0.8 * len(emails)
    assert any("> " in e for e in emails)
    assert all(t.offset_s is None for b in by_channel["email"] for t in b.contact.turns)

    def words(b: BuiltContact) -> int:
        return sum(len(t.text.split()) for t in b.contact.turns)

    assert statistics.median(map(words, by_channel["sms"])) < statistics.median(map(words, by_channel["chat"]))
    voice_words = [words(b) for b in by_channel["voice"]]
    assert 250 <= statistics.median(voice_words) <= 650
    assert max(voice_words) >= 1000
    chat_turns = [len(b.contact.turns) for b in by_channel["chat"]]
    assert 6 <= statistics.median(chat_turns) <= 20
    assert min(len(b.contact.turns) for b in by_channel["sms"] + by_channel["social"]) <= 3


def test_planted_values_are_exact_substrings_of_their_turns(big: list[BuiltContact]) -> None:
    kinds: collections.Counter[str] = collections.Counter()
    for b in big:
        for p in b.pii:
            assert p.kind in PLANTED_KINDS
            assert p.value and p.value in b.contact.turns[p.turn].text, (b.contact.contact_id, p)
            kinds[p.kind] += 1
    for kind in PLANTED_KINDS:
        assert kinds[kind] >= 10, (kind, kinds)
    # Cards, SSNs and IBANs are common enough that a 1,000-contact redaction measurement is not noise.
    for kind in ("card", "ssn", "iban"):
        assert kinds[kind] >= 100 * len(big) / 1000, (kind, kinds)
    # Decoys are frequent, including bare 8-12 digit order numbers.
    assert all(kinds[k] >= 200 for k in DECOY_KINDS)
    long_orders = [p for b in big for p in b.pii if p.kind == "order_number" and re.fullmatch(r"\d{8,12}", p.value)]
    assert len(long_orders) >= 50


def test_planted_pii_is_not_stored_in_the_contact(big: list[BuiltContact]) -> None:
    for b in big[:300]:
        outside = json.dumps({k: v for k, v in b.contact.to_json_dict().items() if k != "turns"})
        for p in b.pii:
            if p.kind in ("email", "phone", "card", "ssn", "iban", "address"):
                assert p.value not in outside
    p = PlantedPII("email", "a@b.co", 0)
    with pytest.raises(FrozenInstanceError):
        p.kind = "phone"  # type: ignore[misc]


def _digits(value: str) -> str:
    if re.search(r"\d", value):
        return re.sub(r"\D", "", value)
    return "".join(SPOKEN_DIGITS.get(w, "") for w in value.split())


def test_planted_cards_are_luhn_valid_in_every_channel(big: list[BuiltContact]) -> None:
    cards = [p.value for b in big for p in b.pii if p.kind == "card"]
    assert len(cards) >= 10
    for card in cards:
        assert luhn_valid(_digits(card)), card
    assert luhn_valid("4539 1488 0343 6467") and not luhn_valid("4539 1488 0343 6468")


def test_planted_ibans_have_valid_check_digits(big: list[BuiltContact]) -> None:
    written = [p.value for b in big for p in b.pii if p.kind == "iban" and b.contact.channel != "voice"]
    assert written
    for iban in written:
        assert iban_valid(iban), iban
    assert {i[:2] for i in written} >= {"DE", "GB"}
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and not iban_valid("GB83 WEST 1234 5698 7654 32")


def test_ssns_are_in_valid_ranges(big: list[BuiltContact]) -> None:
    ssns = [p.value for b in big for p in b.pii if p.kind == "ssn" and b.contact.channel != "voice"]
    assert ssns
    for ssn in ssns:
        area, group, serial = ssn.split("-")
        assert area not in ("000", "666") and int(area) < 900 and group != "00" and serial != "0000"


def test_agent_error_rate_follows_config(big: list[BuiltContact]) -> None:
    rate = sum(b.contact.labels != b.contact.agent_labels for b in big) / len(big)
    assert 0.075 <= rate <= 0.125, rate
    by_provider: dict[str, list[bool]] = collections.defaultdict(list)
    for b in big:
        by_provider[str(b.contact.provider)].append(b.contact.labels != b.contact.agent_labels)
    rates = [sum(v) / len(v) for v in by_provider.values()]
    assert max(rates) > 1.5 * min(rates), rates
    # Mistakes are realistic: confusable reasons or outcomes, not noise.
    assert any(
        b.contact.labels
        and b.contact.agent_labels
        and (b.contact.labels.reason, b.contact.agent_labels.reason)
        in {("get_refund", "track_refund"), ("track_refund", "get_refund")}
        for b in big
    )
    clean = _build(300, agent_error_rate=0.0)
    assert all(b.contact.labels == b.contact.agent_labels for b in clean)
    noisy = _build(600, agent_error_rate=0.4)
    assert 0.3 <= sum(b.contact.labels != b.contact.agent_labels for b in noisy) / 600 <= 0.5


def test_repeat_customers_come_back_more_after_unresolved_outcomes(big: list[BuiltContact]) -> None:
    by_customer: dict[str, list[BuiltContact]] = collections.defaultdict(list)
    for b in big:
        by_customer[str(b.contact.customer_id)].append(b)
    assert sum(len(v) > 1 for v in by_customer.values()) >= 100
    came_back: dict[bool, list[bool]] = {True: [], False: []}
    for contacts in by_customer.values():
        for first, nxt in zip(contacts, [*contacts[1:], None], strict=True):
            assert first.contact.labels and first.contact.started_at
            again = (
                nxt is not None
                and nxt.contact.started_at is not None
                and (nxt.contact.started_at - first.contact.started_at).days <= 8
            )
            came_back[first.contact.labels.outcome == "resolved"].append(again)
    resolved_rate = sum(came_back[True]) / len(came_back[True])
    other_rate = sum(came_back[False]) / len(came_back[False])
    assert other_rate > 2.5 * resolved_rate, (other_rate, resolved_rate)


def test_config_is_validated() -> None:
    for bad in (
        {"n_contacts": 0},
        {"agent_error_rate": 1.5},
        {"start_date": "05/01/2026"},
        {"days": 0},
        {"utterances_path": "/nonexistent/file.csv"},
        {"channel_mix": {"fax": 1.0}},
        {"seed": "x"},
    ):
        with pytest.raises(ConfigError):
            CorpusConfig(**bad)


def test_taxonomy_reasons_must_be_covered() -> None:
    t = Taxonomy.from_reasons("custom", {"ORDER": ["track_order", "teleport_order"]})
    with pytest.raises(ConfigError, match="teleport_order"):
        CorpusBuilder(CorpusConfig(n_contacts=5), taxonomy=t)
    ok = Taxonomy.from_reasons("small", {"ORDER": ["track_order", "cancel_order"]})
    contacts = build_contacts(CorpusConfig(n_contacts=50))
    assert len(contacts) == 50
    small = list(CorpusBuilder(CorpusConfig(n_contacts=50), taxonomy=ok).build())
    assert {b.contact.labels.reason for b in small if b.contact.labels} <= {"track_order", "cancel_order"}


def test_bitext_utterances(tmp_path: Path) -> None:
    if not BITEXT.is_file():
        pytest.skip(f"Bitext file not available at {BITEXT}")
    built = _build(300, utterances_path=str(BITEXT), channel_mix={"email": 1.0})
    import csv

    with BITEXT.open(encoding="utf-8", newline="") as fh:
        utterances = {row["utterance"].strip().rstrip(".?!").lower() for row in csv.DictReader(fh)}
    hits = 0
    for b in built:
        text = b.contact.turns[0].text.lower()
        hits += any(u in text for u in utterances if len(u) > 25)
    assert hits >= 100
    # Placeholders are filled with generated values.
    fake = tmp_path / "bitext.csv"
    t = Taxonomy.from_reasons("tiny", {"ORDER": ["track_order"]})
    fake.write_text('flags,utterance,category,intent\nB,"where is order {{Order Number}}",ORDER,track_order\n')
    tiny = list(CorpusBuilder(CorpusConfig(n_contacts=30, utterances_path=str(fake)), taxonomy=t).build())
    assert all("{{" not in tt.text for b in tiny for tt in b.contact.turns)
    assert any(p.kind == "order_number" for b in tiny for p in b.pii)
    with pytest.raises(ConfigError, match="no utterances"):
        CorpusBuilder(CorpusConfig(n_contacts=5, utterances_path=str(fake)))


def test_upsell_moments_are_varied_and_not_formulaic() -> None:
    """The phrase bank's own upsell moments (the scene bank's are checked in test_scene_bank.py)."""

    big = _build(3000, scene_share=0.0)  # 2,000 held 16 to 30 disguised declines over seeds

    def said(b: BuiltContact, lines: tuple[str, ...]) -> bool:
        text = " ".join(t.text.lower() for t in b.contact.turns if t.speaker == "customer")
        return any(line.lower().rstrip(".?!").split("{")[0] in text for line in lines if len(line) > 12)

    true = [b for b in big if b.contact.labels and b.contact.labels.upsell]
    false = [b for b in big if b.contact.labels and not b.contact.labels.upsell]
    # Implicit or conditional acceptances and indirect customer interest are upsells.
    assert sum(said(b, ph.UPSELL_ACCEPT_IMPLICIT) for b in true) >= 20
    assert sum(said(b, ph.UPSELL_QUESTION_BUY + ph.UPSELL_CUSTOMER_INITIATED) for b in true) >= 20
    # Declines that sound like acceptance, ignored offers and questions without a purchase are not.
    assert sum(said(b, ph.UPSELL_DECLINE_AS_ACCEPT) for b in false) >= 20
    assert sum(said(b, ph.UPSELL_IGNORED) for b in false) >= 10
    assert sum(said(b, ph.UPSELL_QUESTION_NO_BUY) for b in false) >= 20

    # Some acceptances come several turns after the offer.
    def norm(text: str) -> str:
        return re.sub(r"[^a-z ]", "", text.lower())

    def starts(lines: tuple[str, ...]) -> list[str]:
        return [" ".join(norm(line.split("{")[0]).split()[:4]) for line in lines]

    offers, lates = starts(ph.UPSELL_OFFER), starts(ph.UPSELL_LATE_ACCEPT)
    late = 0
    for b in true:
        turns = [" ".join(norm(t.text).split()) for t in b.contact.turns]
        offer = [i for i, t in enumerate(turns) if any(o in t for o in offers)]
        accept = [i for i, t in enumerate(turns) if any(a in t for a in lates)]
        late += bool(offer and accept and accept[0] - offer[0] >= 4)
    assert late >= 5, late


def test_composed_requests_are_clean_and_varied() -> None:
    import random

    from training.corpus.dialogue import bank_openings
    from training.corpus.requests import compose_request

    rng = random.Random(3)
    for reason in load_taxonomy().reason_names:
        texts = {bank_openings(reason, rng) for _ in range(300)}
        assert len(texts) >= 120, (reason, len(texts))
        for text in texts:
            leftover = re.findall(r"\{(\w+)\}", text)
            assert set(leftover) <= {
                "order",
                "product",
                "plan",
                "amount",
                "date",
                "email",
                "address",
                "card",
                "iban",
                "tracking",
            }, text
    assert compose_request("teleport_order", rng) is None


def test_short_email_replies_are_written_like_replies() -> None:
    built = _build(300, channel_mix={"email": 1.0})
    customer = [t.text for b in built for t in b.contact.turns if t.speaker == "customer"]
    # No bare spoken acknowledgement wrapped in a formal letter.
    for text in customer:
        assert not re.search(r"^(Dear [^\n]*|To whom it may concern,)\n\n(Nah|Uh huh|Mm-hm)\.\n", text), text
    casual = [t for t in customer if not re.match(r"^(Hello|Hi|Dear|To whom|Good afternoon)", t)]
    assert len(casual) >= 20


def test_a_curt_sign_off_ends_negative_and_neutral_contacts_alike() -> None:
    """The sign-off alone must not give the end sentiment away: it closes both, and in a negative
    contact a bitter remark comes before it."""
    built = _build(600, channel_mix={"chat": 1.0}, scene_share=0.0)
    curt = {line.lower() for line in ph.CUSTOMER_CURT_SIGNOFF}
    bitter = {line.lower() for line in ph.CUSTOMER_BITTER}
    closes: collections.Counter[tuple[str, str]] = collections.Counter()
    for b in built:
        customer = [t.text.lower() for t in b.contact.turns if t.speaker == "customer"]
        if customer[-1] in curt:
            before = "bitter" if customer[-2] in bitter else "other"
            closes[(str(b.contact.labels.sentiment), before)] += 1
    assert closes[("negative", "bitter")] >= 15 and closes[("neutral", "other")] >= 15
    assert closes[("neutral", "bitter")] == closes[("positive", "bitter")] == 0


def test_scripted_sign_offs_end_contacts_whatever_their_labels() -> None:
    """The agent's scripted sign-off and the platform's end event follow the customer's last words
    at the same rate whatever the end sentiment, so neither can give it away; none follows a
    transfer (another team takes over) and no email ends on one."""
    built = _build(
        900, channel_mix={"chat": 0.8, "email": 0.2}, scene_share=0.5, scripted_close_share=0.4, system_close_share=0.25
    )
    parts = {p.format(company=c) for options in ph.SCRIPTED_CLOSE_PARTS for p in options for c in ph.COMPANIES}
    events = set(ph.SYSTEM_CLOSE["chat"])
    signed: dict[str, list[bool]] = collections.defaultdict(list)
    for b in built:
        turns, labels = b.contact.turns, b.contact.labels
        last_customer = max(i for i, t in enumerate(turns) if t.speaker == "customer")
        after = turns[last_customer + 1 :]
        scripted = [t for t in after if t.speaker == "agent" and any(p in t.text for p in parts)]
        if b.contact.channel == "email":
            assert not scripted and not any(t.text in events for t in after)
            continue
        if labels.outcome == "transferred":
            assert not scripted
            continue
        signed[str(labels.sentiment)].append(bool(scripted))
    rates = {sentiment: sum(flags) / len(flags) for sentiment, flags in signed.items()}
    assert set(rates) == {"negative", "neutral", "positive"}
    assert all(0.28 <= rate <= 0.52 for rate in rates.values()), rates
    assert any(t.speaker == "system" and t.text in events for b in built for t in b.contact.turns)
