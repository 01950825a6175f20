"""PolyAI BANKING77: single customer queries to a bank, 77 intents, official train/test split.

``PATH`` is the folder holding ``train.csv``, ``test.csv`` (``text,category``) and optionally
``categories.json`` (the label list, which fixes the taxonomy's order). Each row becomes a contact
with one customer turn; ``reason`` is the category. The source has no outcome, sentiment or upsell
labels, so those stay ``None``. The taxonomy is the 77 intents as reasons of one category
``BANKING``.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from dispo.contact import Contact, Labels, Turn
from dispo.io import InputFormatError
from dispo.taxonomy import Taxonomy
from training.sources.common import Converted, iter_csv, record_error, require_file

NAME = "banking77"
HEADER = ("text", "category")
SPLITS = ("train", "test")


def load(path: Path, *, seed: int, test_size: float) -> Converted:
    """Read the official split; ``seed`` and ``test_size`` do not apply (the split is given)."""
    del seed, test_size
    if not path.is_dir():
        raise InputFormatError(f"banking77: expected the folder holding train.csv and test.csv, got {path}")
    files = {split: require_file(path / f"{split}.csv", f"banking77 {split} file") for split in SPLITS}
    categories = _categories(path / "categories.json")
    skipped: Counter[str] = Counter()
    contacts: dict[str, list[Contact]] = {}
    seen: list[str] = []
    for split, file in files.items():
        contacts[split] = []
        for index, (line, (text, category)) in enumerate(iter_csv(file, HEADER, skipped)):
            if not text.strip():
                raise record_error(file, line, "text", "a non-empty customer query", text)
            category = category.strip()
            if categories is not None and category not in categories:
                raise record_error(file, line, "category", "one of the 77 categories in categories.json", category)
            if category not in seen:
                seen.append(category)
            contacts[split].append(
                Contact(
                    contact_id=f"banking77-{split}-{index:06d}",
                    turns=[Turn(speaker="customer", text=text)],
                    labels=Labels(reason=category),
                    metadata={"source": NAME, "source_split": split, "source_line": line},
                )
            )
    taxonomy = Taxonomy.from_reasons("banking77", {"BANKING": list(categories) if categories else seen})
    notes = [
        "official split: train.csv -> train, test.csv -> test",
        "reason = category (77 intents, one category BANKING); outcome, sentiment, upsell left empty",
    ]
    if categories is None:
        notes.append("no categories.json: the label set is the categories seen, in order of appearance")
    return Converted(contacts["train"], contacts["test"], taxonomy, "official", notes, dict(skipped))


def _categories(path: Path) -> list[str] | None:
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise record_error(path, exc.lineno, "<file>", "a JSON list of category names", exc.msg) from None
    if not isinstance(raw, list) or not raw or not all(isinstance(c, str) and c.strip() for c in raw):
        raise record_error(path, None, "<file>", "a non-empty JSON list of category names", type(raw).__name__)
    if len(set(raw)) != len(raw):
        dup = next(c for c in raw if raw.count(c) > 1)
        raise record_error(path, None, "<file>", "unique category names", dup)
    return list(raw)
