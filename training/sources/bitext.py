"""Bitext customer-service sample: customer requests to a retailer, 27 intents in 11 categories.

``PATH`` is a Bitext CSV (``flags,utterance,category,intent``) or a folder holding exactly one.
Each row becomes a contact with one customer turn. ``reason`` is the intent, which must be a reason
of the default ``retail`` taxonomy (its reasons are the Bitext intents); the one known spelling
variant, ``check_invoice`` in the 8k sample, is mapped to ``check_invoices`` and the raw intent is
kept in ``metadata["bitext_intent"]``. Any other unknown intent is an error naming the line.
The linguistic ``flags`` (kept as given: the samples' READMEs
differ on the letters) and the raw ``category`` are kept in metadata. Placeholders such as
``{{Order Number}}`` are left in the text as they are (the summary counts them). Bitext has no
outcome, sentiment or upsell labels: those stay ``None``. There is no official split: the split
is seeded and stratified by intent. The taxonomy written is the default one.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from dispo.contact import Contact, Labels, Turn
from dispo.taxonomy import load_taxonomy
from training.sources.common import Converted, iter_csv, record_error, single_file, stratified_split

NAME = "bitext"
HEADER = ("flags", "utterance", "category", "intent")
INTENT_ALIASES = {"check_invoice": "check_invoices"}
PLACEHOLDER = re.compile(r"\{\{[^{}]+\}\}")


def load(path: Path, *, seed: int, test_size: float) -> Converted:
    file = single_file(path, ".csv", "Bitext CSV")
    taxonomy = load_taxonomy()
    stem = re.sub(r"^bitext[_-]?", "", file.stem) or "data"
    skipped: Counter[str] = Counter()
    aliased: Counter[str] = Counter()
    placeholders = 0
    contacts: list[Contact] = []
    for index, (line, (flags, utterance, category, intent)) in enumerate(iter_csv(file, HEADER, skipped)):
        if not utterance.strip():
            raise record_error(file, line, "utterance", "a non-empty customer utterance", utterance)
        raw_intent = intent.strip()
        reason = INTENT_ALIASES.get(raw_intent, raw_intent)
        if not taxonomy.has_reason(reason):
            raise record_error(file, line, "intent", f"a reason of taxonomy {taxonomy.name!r}", raw_intent)
        if reason != raw_intent:
            aliased[f"{raw_intent}->{reason}"] += 1
        flags = flags.strip()
        if PLACEHOLDER.search(utterance):
            placeholders += 1
        metadata: dict[str, object] = {
            "source": NAME,
            "source_file": file.name,
            "source_line": line,
            "bitext_flags": flags,
            "bitext_category": category.strip(),
        }
        if reason != raw_intent:
            metadata["bitext_intent"] = raw_intent
        contacts.append(
            Contact(
                contact_id=f"bitext-{stem}-{index:06d}",
                turns=[Turn(speaker="customer", text=utterance)],
                labels=Labels(reason=reason),
                metadata=metadata,
            )
        )
    if not contacts:
        raise record_error(file, None, "<file>", "at least one data row", "none")
    train, test = stratified_split(contacts, lambda c: c.labels.reason if c.labels else None, seed, test_size)
    notes = [
        f"reason = intent, validated against the default taxonomy {taxonomy.name!r} (written as taxonomy.yaml)",
        "no official split: seeded split stratified by intent",
        "flags and raw category kept in metadata (bitext_flags, bitext_category); outcome, sentiment, "
        "upsell left empty",
        f"{placeholders} utterances contain {{{{...}}}} placeholders, left in the text as they are",
    ]
    for mapping, count in sorted(aliased.items()):
        notes.append(f"intent alias {mapping} applied to {count} rows (raw intent in metadata.bitext_intent)")
    if skipped:
        notes.append(f"skipped {skipped['blank_rows']} blank rows (all cells empty)")
    return Converted(train, test, taxonomy, "stratified by intent", notes, dict(skipped))
