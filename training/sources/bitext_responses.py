"""Bitext customer-support LLM training set: a customer request and an agent-style response, 27 intents.

License: CDLA-Sharing-1.0 (Bitext); shared copies of the converted data stay under the same terms.

``PATH`` is the ``bitext_responses`` folder (every ``.csv`` in it, in name order: the shared copy
has ``bitext_responses_long.csv`` and ``bitext_responses_short.csv``, two versions of the same
file from the repository's history) or one of the files. Each file is a CSV with the header
``context,role,instruction,intent,entity_type,entity_value,start_offset,end_offset,category,tags,response``.

Each row becomes a two-turn contact: a ``customer`` turn with the instruction and an ``agent``
turn with the response. ``reason`` is the intent, which must be a reason of the default ``retail``
taxonomy (its reasons are the Bitext intents); the spelling ``check_invoice`` of these files is
mapped to ``check_invoices`` (as in :mod:`training.sources.bitext`) and the raw intent kept in
``metadata["bitext_intent"]``. Any other unknown intent, an empty instruction or response, or an
offset that is not an integer is an error naming file, line and field. The ``tags`` (language
variation flags), ``category`` and the annotated entity (type, value, offsets as given: the
offsets do not always point at the value) are kept in metadata. Outcome, sentiment and upsell are
not in the source and stay ``None``.

The two files share most instructions (4,364 of them) with a long and a short response each: both
are kept, as different agent answers to the same request. A row whose (instruction, response) pair
was already read, in the same or an earlier file, is dropped and counted
(``skipped["duplicate_pairs"]``).

Placeholders such as ``{{Order Number}}`` or ``{{Customer Support Phone Number}}`` (only in the long
responses; 333 distinct ones) are handled by the option ``placeholders``:

* ``fill`` (default): each placeholder is replaced by a plausible value, drawn by a generator
  seeded from ``seed``, the row and the placeholder's type, so a conversion is reproducible. The
  same placeholder gets the same value throughout a contact, and one fictitious store (name,
  domain) is drawn per contact for the store-related types. The known types (:data:`TYPES`, matched
  on the placeholder's words, a trailing ``Anonymized`` ignored): order numbers (the row's
  ``order_id`` entity when it has one), invoice numbers (the row's ``invoice_id`` entity), phone
  numbers (fictitious 555-01xx numbers), email addresses, website URLs, website and app names,
  company names, review websites, opening hours and their start/end times, response times, numbers
  of days, percentages, money amounts, dates, customer names and payment methods. Placeholders of
  digits or hex digits only (``{{113542617735902}}``) lose their braces. Everything else, i.e. the
  names of website sections, buttons, departments and channels (``{{Order History}}``,
  ``{{Cancel Order}}``, ``{{Live Chat}}``, ``{{Email}}``) and a few free descriptions, is replaced
  by its own words, which is what such a label says on a real site. The summary's notes count
  the replacements by type; ``metadata["placeholder_fills"]`` maps each placeholder of the contact
  to its value.
* ``keep``: the text is left as it is, placeholders included (the notes count them).

There is no official split: the split is seeded and stratified by intent, over groups of rows
that share an instruction, so the long and the short answer to one request always land in the same
split (a request in test was never seen in train). The stratum of a group is its first row's
intent (the rows of a group have the same intent in the shared copy); the test share is
``test_size`` of the groups, so of the rows up to the group sizes.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dispo.contact import Contact, Labels, Turn
from dispo.errors import ConfigError
from dispo.io import InputFormatError
from dispo.taxonomy import load_taxonomy
from training.sources.common import Converted, iter_csv, record_error, stratified_split

NAME = "bitext_responses"
HEADER = (
    "context",
    "role",
    "instruction",
    "intent",
    "entity_type",
    "entity_value",
    "start_offset",
    "end_offset",
    "category",
    "tags",
    "response",
)
INTENT_ALIASES = {"check_invoice": "check_invoices"}
PLACEHOLDER_MODES = ("fill", "keep")
PLACEHOLDER = re.compile(r"\{\{([^{}]+)\}\}")
LITERAL = re.compile(r"^(?=.*[0-9])[0-9A-Fa-f]+$")

STORES = (
    ("Northwind Goods", "northwindgoods.com"),
    ("Bluebell Market", "bluebellmarket.com"),
    ("Harbor & Pine", "harborandpine.com"),
    ("Cedar Lane Shop", "cedarlaneshop.com"),
    ("Maple Street Store", "maplestreetstore.com"),
)
FIRST_NAMES = ("Alex", "Jordan", "Maria", "Sam", "Priya", "Daniel", "Chen", "Fatima", "Lucas", "Emma")
LAST_NAMES = ("Garcia", "Smith", "Nguyen", "Johnson", "Okafor", "Rossi", "Kowalski", "Tanaka", "Brown", "Silva")
HOURS = (
    "Monday to Friday, 9 AM to 6 PM",
    "24/7",
    "Monday to Saturday, 8 AM to 8 PM",
    "every day from 9 AM to 9 PM",
)
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October")


@dataclass
class _Row:
    """What the generators may use from the row: its annotated entity and the contact's store."""

    entity_type: str
    entity_value: str
    store: tuple[str, str]


Generator = Callable[[random.Random, _Row, str], str]


def _order_number(rng: random.Random, row: _Row, words: str) -> str:
    if row.entity_type == "order_id" and row.entity_value:
        return row.entity_value
    return str(rng.randrange(10**9, 10**12))


def _invoice_number(rng: random.Random, row: _Row, words: str) -> str:
    if row.entity_type == "invoice_id" and row.entity_value:
        return row.entity_value
    return f"#{rng.randrange(10**4, 10**5)}"


def _email(rng: random.Random, row: _Row, words: str) -> str:
    box = (
        "feedback" if "feedback" in words else "complaints" if "complaint" in words else rng.choice(("support", "help"))
    )
    return f"{box}@{row.store[1]}"


def _start_time(rng: random.Random, row: _Row, words: str) -> str:
    return rng.choice(("8 AM", "9 AM", "10 AM"))


def _end_time(rng: random.Random, row: _Row, words: str) -> str:
    return rng.choice(("5 PM", "6 PM", "8 PM"))


def _percentage(rng: random.Random, row: _Row, words: str) -> str:
    return "full" if "full" in words else rng.choice(("50%", "75%", "80%"))


def _date(rng: random.Random, row: _Row, words: str) -> str:
    return f"{rng.choice(MONTHS)} {rng.randint(1, 28)}, {rng.choice((2023, 2024))}"


def _review_site(rng: random.Random, row: _Row, words: str) -> str:
    sites = ("Trustpilot", "Google Reviews", "Yelp")
    number = words.rsplit(" ", 1)[-1]
    return sites[int(number) - 1] if number in ("1", "2", "3") else rng.choice(sites)


# (type, pattern over the placeholder's lower-cased words, generator); the first match wins.
TYPES: tuple[tuple[str, re.Pattern[str], Generator], ...] = (
    ("order_number", re.compile(r"\b(order|purchase) (number|id)\b|^tracking number$"), _order_number),
    ("invoice_number", re.compile(r"\b(invoice|bill) number\b"), _invoice_number),
    (
        "phone_number",
        re.compile(r"^(customer (support|service|assistance) |support |complaint )?phone number$"),
        lambda rng, row, words: f"+1 (800) 555-01{rng.randrange(100):02d}",
    ),
    (
        "email_address",
        re.compile(r"^(?!e-?mail$).*e-?mail( address)?$|^customer support email or phone number$"),
        _email,
    ),
    ("website_url", re.compile(r"^website url$"), lambda rng, row, words: f"https://www.{row.store[1]}"),
    (
        "website_name",
        re.compile(r"^(website name|website/app name|company website|service website|website)$"),
        lambda rng, row, words: row.store[1],
    ),
    ("app_name", re.compile(r"^mobile app name$"), lambda rng, row, words: f"the {row.store[0]} app"),
    ("company_name", re.compile(r"^company name$"), lambda rng, row, words: row.store[0]),
    ("review_site", re.compile(r"^review website \d+$"), _review_site),
    ("start_time", re.compile(r"start time$"), _start_time),
    ("end_time", re.compile(r"end time$"), _end_time),
    ("opening_hours", re.compile(r"\b(availability|hours)\b"), lambda rng, row, words: rng.choice(HOURS)),
    ("response_time", re.compile(r"^response time$"), lambda rng, row, words: rng.choice(("24 hours", "48 hours"))),
    ("number_of_days", re.compile(r"^number of days$"), lambda rng, row, words: str(rng.choice((14, 30, 60)))),
    ("percentage", re.compile(r"^percentage( or full)?$"), _percentage),
    ("money_amount", re.compile(r"^(money|refund) amount$"), lambda rng, row, words: f"${rng.randint(10, 300)}.00"),
    ("date", re.compile(r"^(purchase )?date$"), _date),
    (
        "customer_name",
        re.compile(r"^(name field|client first name|customer name)$"),
        lambda rng, row, words: rng.choice(FIRST_NAMES),
    ),
    ("customer_last_name", re.compile(r"^client last name$"), lambda rng, row, words: rng.choice(LAST_NAMES)),
    (
        "payment_method",
        re.compile(r"^payment method$"),
        lambda rng, row, words: f"{rng.choice(('Visa', 'Mastercard', 'PayPal'))} ending in {rng.randrange(10**4):04d}",
    ),
)

GENERATORS: dict[str, Generator] = {name: generate for name, _, generate in TYPES}


def placeholder_type(words: str) -> str:
    """The type of a placeholder's inner words (``literal`` or ``label`` when no known type matches)."""
    key = _key(words)
    for name, pattern, _ in TYPES:
        if pattern.search(key):
            return name
    return "literal" if LITERAL.match(_bare(words)) else "label"


def _bare(words: str) -> str:
    return re.sub(r"\s+anonymized$", "", words.strip(), flags=re.IGNORECASE)


def _key(words: str) -> str:
    return " ".join(_bare(words).lower().split())


class _Filler:
    """Replaces the placeholders of one contact, the same value for the same placeholder."""

    def __init__(self, seed: int, row_key: str, row: _Row, counts: Counter[str]) -> None:
        self.seed, self.row_key, self.row, self.counts = seed, row_key, row, counts
        self.values: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        return PLACEHOLDER.sub(self._value, text)

    def _value(self, match: re.Match[str]) -> str:
        placeholder, words = match.group(0), match.group(1)
        kind = placeholder_type(words)
        self.counts[kind] += 1
        if placeholder not in self.values:
            if kind in ("literal", "label"):
                value = _bare(words)
            else:
                rng = random.Random(f"{self.seed}:{self.row_key}:{kind}:{_key(words)}")
                value = GENERATORS[kind](rng, self.row, _key(words))
            self.values[placeholder] = value
        return self.values[placeholder]


def load(path: Path, *, seed: int, test_size: float, placeholders: str = "fill") -> Converted:
    if placeholders not in PLACEHOLDER_MODES:
        raise ConfigError(f"bitext_responses: placeholders must be fill or keep, got {placeholders!r}")
    files = _files(path)
    taxonomy = load_taxonomy()
    skipped: Counter[str] = Counter()
    aliased: Counter[str] = Counter()
    fills: Counter[str] = Counter()
    per_file: Counter[str] = Counter()
    kept_placeholders = 0
    seen_pairs: set[tuple[str, str]] = set()
    contacts: list[Contact] = []
    groups: dict[str, list[Contact]] = {}
    for file in files:
        stem = re.sub(r"^bitext_responses[_-]?", "", file.stem) or "data"
        for index, (line, cells) in enumerate(iter_csv(file, HEADER, skipped)):
            row = dict(zip(HEADER, cells, strict=True))
            instruction, response = row["instruction"], row["response"]
            if not instruction.strip():
                raise record_error(file, line, "instruction", "a non-empty customer request", instruction)
            if not response.strip():
                raise record_error(file, line, "response", "a non-empty agent response", response)
            raw_intent = row["intent"].strip()
            reason = INTENT_ALIASES.get(raw_intent, raw_intent)
            if not taxonomy.has_reason(reason):
                raise record_error(file, line, "intent", f"a reason of taxonomy {taxonomy.name!r}", raw_intent)
            offsets = {}
            for name in ("start_offset", "end_offset"):
                value = row[name].strip()
                if value and not (value.isascii() and value.isdigit()):
                    raise record_error(file, line, name, "an integer offset or nothing", row[name])
                offsets[name] = int(value) if value else None
            if (instruction, response) in seen_pairs:
                skipped["duplicate_pairs"] += 1
                continue
            seen_pairs.add((instruction, response))
            per_file[file.name] += 1
            metadata: dict[str, object] = {
                "source": NAME,
                "source_file": file.name,
                "source_line": line,
                "bitext_flags": row["tags"].strip(),
                "bitext_category": row["category"].strip(),
            }
            if reason != raw_intent:
                aliased[f"{raw_intent}->{reason}"] += 1
                metadata["bitext_intent"] = raw_intent
            entity_type, entity_value = row["entity_type"].strip(), row["entity_value"].strip()
            if entity_type:
                metadata["bitext_entity"] = {
                    "type": entity_type,
                    "value": entity_value,
                    "start": offsets["start_offset"],
                    "end": offsets["end_offset"],
                }
            customer, agent = instruction, response
            if placeholders == "fill":
                store = random.Random(f"{seed}:{file.name}:{line}:store").choice(STORES)
                filler = _Filler(seed, f"{file.name}:{line}", _Row(entity_type, entity_value, store), fills)
                customer, agent = filler(instruction), filler(response)
                if filler.values:
                    metadata["placeholder_fills"] = dict(filler.values)
            else:
                kept_placeholders += len(PLACEHOLDER.findall(instruction)) + len(PLACEHOLDER.findall(response))
            contact = Contact(
                contact_id=f"bitext_responses-{stem}-{index:06d}",
                turns=[Turn(speaker="customer", text=customer), Turn(speaker="agent", text=agent)],
                labels=Labels(reason=reason),
                metadata=metadata,
            )
            contacts.append(contact)
            groups.setdefault(instruction, []).append(contact)
    if not contacts:
        raise InputFormatError(f"bitext_responses: no data rows in {', '.join(str(f) for f in files)}")
    train, test = _grouped_split(contacts, groups, seed, test_size)
    notes = [
        "files: " + ", ".join(f"{name} ({count} rows kept)" for name, count in per_file.items()),
        f"customer turn = instruction, agent turn = response; reason = intent, validated against the default "
        f"taxonomy {taxonomy.name!r} (written as taxonomy.yaml); outcome, sentiment, upsell left empty",
        "no official split: seeded split stratified by intent over groups of rows sharing an instruction "
        f"({len(groups)} groups; the answers to one request are in the same split)",
        "tags, category and the annotated entity kept in metadata (bitext_flags, bitext_category, bitext_entity)",
    ]
    for mapping, count in sorted(aliased.items()):
        notes.append(f"intent alias {mapping} applied to {count} rows (raw intent in metadata.bitext_intent)")
    if placeholders == "fill":
        by_type = ", ".join(f"{kind} {count}" for kind, count in sorted(fills.items(), key=lambda kv: (-kv[1], kv[0])))
        notes.append(
            f"placeholders=fill: {sum(fills.values())} {{{{...}}}} placeholders replaced by seeded plausible values "
            f"(by type: {by_type or 'none'}); 'label' = section/button/channel names replaced by their own words"
        )
    else:
        notes.append(f"placeholders=keep: {kept_placeholders} {{{{...}}}} placeholders left in the text as they are")
    if skipped["duplicate_pairs"]:
        notes.append(
            f"skipped {skipped['duplicate_pairs']} rows repeating an (instruction, response) pair already read"
        )
    if skipped["blank_rows"]:
        notes.append(f"skipped {skipped['blank_rows']} blank rows (all cells empty)")
    return Converted(train, test, taxonomy, "stratified by intent, grouped by instruction", notes, dict(skipped))


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise InputFormatError(f"bitext_responses CSV not found: {path}")
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".csv")
    if not files:
        raise InputFormatError(f"{path}: no .csv file (bitext_responses_long.csv, bitext_responses_short.csv)")
    return files


def _grouped_split(
    contacts: list[Contact], groups: dict[str, list[Contact]], seed: int, test_size: float
) -> tuple[list[Contact], list[Contact]]:
    """Split the groups (their first contacts stand for them); every row follows its group, in reading order."""
    firsts = [members[0] for members in groups.values()]
    _, test_firsts = stratified_split(firsts, lambda c: c.labels.reason if c.labels else None, seed, test_size)
    chosen = {c.contact_id for c in test_firsts}
    test_ids = {c.contact_id for members in groups.values() if members[0].contact_id in chosen for c in members}
    train = [c for c in contacts if c.contact_id not in test_ids]
    test = [c for c in contacts if c.contact_id in test_ids]
    return train, test
