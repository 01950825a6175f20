"""DSTC11 Track 2 insurance development set: labelled customer turns from human-to-human calls.

``PATH`` is the JSONL file (``{utterance, utterance_id, intent}`` per line) or a folder holding
exactly one ``.jsonl`` file. Each line becomes a contact with one customer turn, ``contact_id``
``dstc11-<utterance_id>``. ``reason`` is the intent, one of the 22 intents of the set (one
category ``INSURANCE``); an unknown intent is an error naming the line.

Upsell is derived from the intent, and only where the intent says which way it goes:

* ``True`` for the new-business intents, where the customer asks to buy cover or more cover:
  ``GetQuote``, ``EnrollInPlan``, ``AddDependent``;
* ``None`` for ``ChangePlan`` (the calls switch plans in both directions, e.g. "home complete to a
  renters basic" is a downgrade) and ``CreateAccount`` (opening an online account, which may or may
  not come with a new policy);
* ``False`` for every other intent: servicing, billing, claims, and ``CancelPlan`` /
  ``RemoveDependent`` (churn or less cover).

Outcome and sentiment are not in the source and stay ``None``. The split is seeded and stratified
by intent.
"""

from __future__ import annotations

import json
from pathlib import Path

from dispo.contact import Contact, Labels, Turn
from dispo.taxonomy import Taxonomy
from training.sources.common import Converted, record_error, single_file, stratified_split

NAME = "dstc11"
CATEGORY = "INSURANCE"
INTENTS: tuple[str, ...] = (
    "AddDependent",
    "CancelAutomaticBilling",
    "CancelPlan",
    "ChangeAddress",
    "ChangePlan",
    "ChangeSecurityQuestion",
    "CheckAccountBalance",
    "CheckPaymentStatus",
    "CreateAccount",
    "EnrollInPlan",
    "FileClaim",
    "FindAgent",
    "GetPolicyNumber",
    "GetQuote",
    "PayBill",
    "RemoveDependent",
    "ReportAutomobileAccident",
    "ReportBillingIssue",
    "RequestProofOfInsurance",
    "ResetPassword",
    "UpdateBillingFrequency",
    "UpdatePaymentPreference",
)
UPSELL_INTENTS = frozenset({"GetQuote", "EnrollInPlan", "AddDependent"})
UPSELL_UNKNOWN_INTENTS = frozenset({"ChangePlan", "CreateAccount"})
FIELDS = ("utterance", "utterance_id", "intent")


def upsell_for(intent: str) -> bool | None:
    if intent in UPSELL_INTENTS:
        return True
    if intent in UPSELL_UNKNOWN_INTENTS:
        return None
    return False


def load(path: Path, *, seed: int, test_size: float) -> Converted:
    file = single_file(path, ".jsonl", "DSTC11 utterances JSONL")
    contacts: list[Contact] = []
    seen_ids: dict[str, int] = {}
    blank_lines = 0
    with file.open(encoding="utf-8") as fh:
        for line, raw_line in enumerate(fh, start=1):
            if not raw_line.strip():
                blank_lines += 1
                continue
            try:
                raw = json.loads(raw_line)
            except json.JSONDecodeError as exc:
                raise record_error(file, line, "<record>", "a JSON object", exc.msg) from None
            if not isinstance(raw, dict):
                raise record_error(file, line, "<record>", "a JSON object", type(raw).__name__)
            for name in FIELDS:
                value = raw.get(name)
                if not isinstance(value, str) or not value.strip():
                    raise record_error(file, line, name, "a non-empty string", value)
            utterance_id, intent = raw["utterance_id"].strip(), raw["intent"].strip()
            if intent not in INTENTS:
                raise record_error(file, line, "intent", f"one of the {len(INTENTS)} DSTC11 insurance intents", intent)
            if utterance_id in seen_ids:
                first = seen_ids[utterance_id]
                raise record_error(file, line, "utterance_id", f"a unique id (already on line {first})", utterance_id)
            seen_ids[utterance_id] = line
            contacts.append(
                Contact(
                    contact_id=f"dstc11-{utterance_id}",
                    turns=[Turn(speaker="customer", text=raw["utterance"])],
                    labels=Labels(reason=intent, upsell=upsell_for(intent)),
                    metadata={"source": NAME, "utterance_id": utterance_id, "source_line": line},
                )
            )
    if not contacts:
        raise record_error(file, None, "<file>", "at least one utterance", "none")
    train, test = stratified_split(contacts, lambda c: c.labels.reason if c.labels else None, seed, test_size)
    taxonomy = Taxonomy.from_reasons("dstc11-insurance", {CATEGORY: list(INTENTS)})
    notes = [
        f"reason = intent ({len(INTENTS)} intents, one category {CATEGORY}); outcome and sentiment left empty",
        "upsell = true for "
        + ", ".join(sorted(UPSELL_INTENTS))
        + "; null for "
        + ", ".join(sorted(UPSELL_UNKNOWN_INTENTS))
        + " (direction unknown); false for the other intents",
        "no official split: seeded split stratified by intent",
    ]
    skipped = {"blank_lines": blank_lines} if blank_lines else {}
    if blank_lines:
        notes.append(f"skipped {blank_lines} blank lines")
    return Converted(train, test, taxonomy, "stratified by intent", notes, skipped)
