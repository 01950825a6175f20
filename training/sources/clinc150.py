"""CLINC150 / oos-eval (Larson et al. 2019): 150 assistant intents in 10 domains plus out-of-scope requests.

License: CC BY 3.0 (clinc/oos-eval).

``PATH`` is ``data_full.json`` (or another file of the same form, e.g. ``data_small.json``) or the
folder holding ``data_full.json``. The file is a JSON object with the lists ``train``, ``val``,
``test``, ``oos_train``, ``oos_val``, ``oos_test``, each of ``[text, intent]`` pairs; a missing or
unexpected list, a pair that is not two strings, an empty text, an ``oos`` intent in an in-scope
list (or another intent in an ``oos_*`` list), or a ``val``/``test`` intent that ``train`` does not
have is an error naming file, line and field.

The point of this source for dispo is requests that no reason of the default ``retail`` taxonomy
fits. A contact with no label trains nothing under the masked loss, unless the run exposes the
reason head to out-of-scope contacts (``training.out_of_scope_weight``: pulled towards a uniform
reason); they also serve evaluation (how confident the model is on requests it has no code for,
``bench/out_of_scope.py``). The few mapped in-scope requests carry a reason. Every request becomes a contact with
one customer turn (the text as given, surrounding whitespace stripped); ``metadata`` keeps
``clinc_intent`` and ``clinc_split`` (the list it came from), and ``out_of_scope`` says whether a retail reason fits:

* ``oos_*`` requests (``clinc_intent`` ``oos``): no reason, ``out_of_scope`` true;
* in-scope intents that match a retail reason unambiguously get that reason, ``out_of_scope``
  false. The mapping is short on purpose (:data:`INTENT_REASONS`): ``order_status`` ->
  ``track_order`` ("track my package", "what's going on with my order") and ``order`` ->
  ``place_order`` ("i want to buy something", "place an order for bread"). Nothing else among the
  150 intents is a retailer's customer-service request: there are no refund, delivery, invoice,
  account or contact intents in CLINC150;
* in-scope intents near a retail reason without matching it (:data:`NEAR_INTENTS`) are skipped and
  counted (``skipped["near_retail_reason"]``): as out-of-scope examples they would teach that
  "why was my card declined" or "pay my bill" fits no reason, while a retail customer saying the
  same words means ``payment_issue`` or ``check_invoices``. They are the bank bill, payment,
  transaction and fraud intents (about utilities, banks and credit cards, not a retailer), the
  bank-account block/freeze and PIN intents (near ``recover_password`` / ``delete_account``), the
  credit-card loss/damage/replacement/expiry intents (near ``payment_issue``,
  ``check_payment_methods``, ``delivery_period``), the shopping-list intents (near ``place_order``),
  the assistant's ``cancel`` (near ``cancel_order``), the user-name intents (near
  ``edit_account``) and ``are_you_a_bot`` (near ``contact_human_agent``);
* every other in-scope request (weather, travel, cooking, small talk, ...) becomes an
  out-of-scope contact too: no reason, ``out_of_scope`` true.

The taxonomy written is the default one. Outcome, sentiment and upsell are not in the source and
stay ``None``. The split is the official one: ``train`` + ``val`` (and ``oos_train`` +
``oos_val``) -> ``train.jsonl``, ``test`` + ``oos_test`` -> ``test.jsonl``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dispo.contact import Contact, Labels, Turn
from dispo.io import InputFormatError
from dispo.taxonomy import load_taxonomy
from training.labelsources import OUT_OF_SCOPE
from training.sources.common import Converted, record_error

NAME = "clinc150"
DEFAULT_FILE = "data_full.json"
OOS = "oos"
# CLINC list -> output split, in reading order; in-scope lists first.
SPLITS = {
    "train": "train",
    "val": "train",
    "test": "test",
    "oos_train": "train",
    "oos_val": "train",
    "oos_test": "test",
}
INTENT_REASONS = {"order_status": "track_order", "order": "place_order"}
NEAR_INTENTS = {
    # banking domain: bills, payments, charges, blocked accounts
    "pay_bill": "payment_issue",
    "bill_balance": "check_invoices",
    "bill_due": "check_invoices",
    "min_payment": "check_invoices",
    "transactions": "check_invoices",
    "spending_history": "check_invoices",
    "report_fraud": "payment_issue",
    "account_blocked": "recover_password",
    "freeze_account": "delete_account",
    "pin_change": "recover_password",
    # credit_cards domain: the customer's card
    "card_declined": "payment_issue",
    "report_lost_card": "payment_issue",
    "damaged_card": "payment_issue",
    "replacement_card_duration": "delivery_period",
    "expiration_date": "check_payment_methods",
    # home domain: shopping lists
    "shopping_list": "place_order",
    "shopping_list_update": "place_order",
    # meta and small talk
    "cancel": "cancel_order",
    "user_name": "edit_account",
    "change_user_name": "edit_account",
    "are_you_a_bot": "contact_human_agent",
}


def load(path: Path, *, seed: int, test_size: float) -> Converted:
    """Read the official split; ``seed`` and ``test_size`` do not apply (the split is given)."""
    del seed, test_size
    file = _file(path)
    taxonomy = load_taxonomy()
    skipped: Counter[str] = Counter()
    near: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    out: dict[str, list[Contact]] = {"train": [], "test": []}
    train_intents: set[str] = set()
    for split, index, line, text, intent in _records(file):
        if split == "train":
            train_intents.add(intent)
        elif split in ("val", "test") and intent not in train_intents:
            raise record_error(file, line, f"{split}[{index}].intent", "an intent of the train list", intent)
        if intent in NEAR_INTENTS:
            skipped["near_retail_reason"] += 1
            near[intent] += 1
            continue
        reason = INTENT_REASONS.get(intent)
        kinds["oos" if intent == OOS else "mapped" if reason else "in_scope_unmatched"] += 1
        out[SPLITS[split]].append(
            Contact(
                contact_id=f"clinc150-{split}-{index:05d}",
                turns=[Turn(speaker="customer", text=text)],
                labels=Labels(reason=reason),
                metadata={
                    "source": NAME,
                    "source_line": line,
                    "clinc_intent": intent,
                    "clinc_split": split,
                    OUT_OF_SCOPE: reason is None,
                },
            )
        )
    if not out["train"] or not out["test"]:
        raise InputFormatError(f"clinc150: no requests left for train or test in {file}")
    notes = [
        "official split: train + val + oos_train + oos_val -> train, test + oos_test -> test",
        "reason mapping to the default taxonomy (written as taxonomy.yaml): "
        + ", ".join(f"{i} -> {r}" for i, r in INTENT_REASONS.items()),
        f"{kinds['oos']} oos requests and {kinds['in_scope_unmatched']} in-scope requests of intents no "
        "retail reason fits: no reason, metadata.out_of_scope = true",
        f"{kinds['mapped']} requests of mapped intents: that reason, metadata.out_of_scope = false",
        f"skipped {skipped['near_retail_reason']} requests of {len(near)} intents near a retail reason without "
        "matching it (bank/utility bills and payments, card and account intents, shopping lists, 'cancel', "
        "user names, are_you_a_bot): " + ", ".join(f"{i} ({n})" for i, n in sorted(near.items())),
        "metadata keeps clinc_intent and clinc_split; outcome, sentiment, upsell left empty",
    ]
    return Converted(out["train"], out["test"], taxonomy, "official", notes, dict(skipped))


def _file(path: Path) -> Path:
    if path.is_file():
        return path
    if path.is_dir() and (path / DEFAULT_FILE).is_file():
        return path / DEFAULT_FILE
    raise InputFormatError(f"clinc150: {DEFAULT_FILE} not found: {path}")


def _records(file: Path) -> Iterator[tuple[str, int, int, str, str]]:
    """``(list name, index, line, text, intent)`` for every pair, lists in :data:`SPLITS` order."""
    lists = _lists(file)
    missing = [name for name in SPLITS if name not in lists]
    if missing:
        raise record_error(file, None, "<file>", "the lists " + ", ".join(SPLITS), "no " + ", ".join(missing))
    for split in SPLITS:
        for index, (line, pair) in enumerate(lists[split]):
            field = f"{split}[{index}]"
            if not isinstance(pair, list) or len(pair) != 2 or not all(isinstance(x, str) for x in pair):
                raise record_error(file, line, field, "a [text, intent] pair of strings", pair)
            text, intent = pair[0], pair[1].strip()
            if not text.strip():
                raise record_error(file, line, f"{field}.text", "a non-empty request", text)
            if split.startswith("oos_") != (intent == OOS):
                expected = "'oos'" if split.startswith("oos_") else "an in-scope intent (not 'oos')"
                raise record_error(file, line, f"{field}.intent", expected, intent)
            if not intent:
                raise record_error(file, line, f"{field}.intent", "an intent name", pair[1])
            yield split, index, line, text.strip(), intent


def _lists(file: Path) -> dict[str, list[tuple[int, Any]]]:
    """The top-level object's lists, each element with the line it starts on.

    ``json.load`` would give the values without their lines; this walks the object with the same
    decoder, one element at a time, so an error can name the line of the bad pair.
    """
    text = file.read_text(encoding="utf-8")
    decoder = json.JSONDecoder()
    lists: dict[str, list[tuple[int, Any]]] = {}
    pos, line = 0, 1

    def skip(to: int) -> int:
        while to < len(text) and text[to] in " \t\r\n":
            to += 1
        return to

    def advance(to: int) -> None:
        nonlocal pos, line
        line += text.count("\n", pos, to)
        pos = to

    def expect(chars: str, what: str) -> str:
        advance(skip(pos))
        if pos >= len(text) or text[pos] not in chars:
            raise record_error(file, line, "<file>", what, text[pos : pos + 20] or "end of file")
        char = text[pos]
        advance(pos + 1)
        return char

    def peek() -> str:
        advance(skip(pos))
        return text[pos] if pos < len(text) else ""

    def decode() -> Any:
        advance(skip(pos))
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise record_error(file, exc.lineno, "<record>", "valid JSON", exc.msg) from None
        advance(end)
        return value

    expect("{", "a JSON object of lists (train, val, test, oos_train, oos_val, oos_test)")
    if peek() == "}":
        return lists
    while True:
        if peek() != '"':
            raise record_error(file, line, "<file>", "a list name", text[pos : pos + 20] or "end of file")
        key_line = line
        key = decode()
        if key not in SPLITS:
            raise record_error(file, key_line, "<file>", "only the lists " + ", ".join(SPLITS), key)
        if key in lists:
            raise record_error(file, key_line, key, "each list once", "a second list")
        expect(":", "':' after the list name")
        expect("[", f"a JSON list for {key!r}")
        items: list[tuple[int, Any]] = []
        lists[key] = items
        if peek() == "]":
            advance(pos + 1)
        else:
            while True:
                peek()
                items.append((line, decode()))
                if expect(",]", "',' or ']' between list elements") == "]":
                    break
        if expect(",}", "',' or '}' between lists") == "}":
            return lists
