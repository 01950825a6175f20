"""What a source converter wrote, read back, and the checks every converted source passes
(shared by the source tests; not a test module)."""

from __future__ import annotations

import json
from pathlib import Path

from dispo.contact import Contact, contact_problems
from dispo.taxonomy import Taxonomy
from training.sources import convert


def read_jsonl(path: Path) -> list[Contact]:
    lines = path.read_text(encoding="utf-8").split("\n")  # not splitlines: texts may hold U+2028
    return [Contact.model_validate_json(line) for line in lines if line]


def outputs(out: Path) -> tuple[list[Contact], list[Contact], Taxonomy]:
    return read_jsonl(out / "train.jsonl"), read_jsonl(out / "test.jsonl"), Taxonomy.from_yaml(out / "taxonomy.yaml")


def convert_valid(source: str, path: Path, out: Path) -> tuple[list[Contact], Taxonomy]:
    """Convert ``path`` as ``source`` into ``out`` and check it: both halves written and counted in
    the summary, unique ids, every contact valid under the written taxonomy and naming its source.
    Returns the contacts (train, then test) and the taxonomy."""
    summary = convert(source, path, out)
    train, test, taxonomy = outputs(out)
    assert train and test
    assert summary.counts == {"train": len(train), "test": len(test)}
    assert json.loads((out / "summary.json").read_text())["counts"] == summary.counts
    assert summary.to_dict()["source"] == source and summary.notes
    ids = [c.contact_id for c in train + test]
    assert len(ids) == len(set(ids))
    for contact in train + test:
        assert contact_problems(contact, taxonomy=taxonomy) == []
        assert contact.metadata["source"] == source
    return train + test, taxonomy
