"""Shared pieces of the source converters: the summary, the seeded split, input checks, output."""

from __future__ import annotations

import csv
import json
import logging
import random
from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dispo.contact import TASKS, Contact, contact_problems
from dispo.errors import ConfigError, FieldProblem, RecordError
from dispo.io import InputFormatError, write_contacts
from dispo.taxonomy import Taxonomy

logger = logging.getLogger(__name__)

NONE_KEY = "null"


@dataclass
class ConversionSummary:
    """What one conversion produced: counts per split, label distributions, decisions and skips."""

    source: str
    input_path: str
    out_dir: str
    split: str
    seed: int
    test_size: float
    counts: dict[str, int] = field(default_factory=dict)
    label_distributions: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    taxonomy: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "input_path": self.input_path,
            "out_dir": self.out_dir,
            "split": self.split,
            "seed": self.seed,
            "test_size": self.test_size,
            "counts": dict(self.counts),
            "label_distributions": self.label_distributions,
            "taxonomy": dict(self.taxonomy),
            "skipped": dict(self.skipped),
            "notes": list(self.notes),
            "seconds": round(self.seconds, 3),
        }


@dataclass
class Converted:
    """A source read into contacts, before it is written."""

    train: list[Contact]
    test: list[Contact]
    taxonomy: Taxonomy
    split: str
    notes: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------
def require_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise InputFormatError(f"{what} not found: {path}")
    return path


def single_file(path: Path, suffix: str, what: str) -> Path:
    """``path`` itself when it is a file, else the one ``*suffix`` file inside the folder ``path``."""
    if path.is_file():
        return path
    if not path.is_dir():
        raise InputFormatError(f"{what} not found: {path}")
    found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == suffix)
    if len(found) != 1:
        listed = ", ".join(p.name for p in found) or "none"
        raise InputFormatError(
            f"{path}: expected exactly one {suffix} file ({what}) in the folder, found {len(found)}: {listed}; "
            "pass the file itself"
        )
    return found[0]


def record_error(path: Path, line: int | None, field_name: str, expected: str, found: Any) -> RecordError:
    return RecordError(str(path), line, [FieldProblem(field_name, expected, found)])


def iter_json_array(path: Path) -> Iterator[tuple[int, Any]]:
    """The elements of a JSON array file with the line each one starts on."""
    text = path.read_text(encoding="utf-8")
    decoder = json.JSONDecoder()
    pos = _skip_ws(text, 0)
    if pos >= len(text) or text[pos] != "[":
        raise record_error(path, 1, "<file>", "a JSON array", text[pos : pos + 20])
    pos = _skip_ws(text, pos + 1)
    line = 1 + text.count("\n", 0, pos)
    last = pos
    if pos < len(text) and text[pos] == "]":
        return
    while True:
        line += text.count("\n", last, pos)
        last = pos
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise record_error(path, exc.lineno, "<record>", "valid JSON", exc.msg) from None
        yield line, value
        pos = _skip_ws(text, end)
        if pos < len(text) and text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
            continue
        if pos < len(text) and text[pos] == "]":
            return
        bad_line = 1 + text.count("\n", 0, pos)
        raise record_error(path, bad_line, "<file>", "',' or ']' between array elements", text[pos : pos + 20])


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


# ---------------------------------------------------------------------------------------------
# Split
# ---------------------------------------------------------------------------------------------
def check_split_args(seed: int, test_size: float) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"seed must be an integer, got {seed!r}")
    if not 0.0 < test_size < 1.0:
        raise ConfigError(f"test_size must be between 0 and 1 (exclusive), got {test_size!r}")


def stratified_split(
    contacts: Sequence[Contact], key: Callable[[Contact], Hashable], seed: int, test_size: float
) -> tuple[list[Contact], list[Contact]]:
    """A deterministic, seeded split that keeps each stratum's share of the test set at ``test_size``.

    Strata are visited in sorted order and contacts in ``contact_id`` order, each stratum shuffled by
    a generator seeded from ``seed`` and the stratum, so the result depends only on the data, the
    seed and the test size (not on input order or on ``PYTHONHASHSEED``). The test quota is
    ``round(len * test_size)`` in all, shared out by largest remainder; a stratum always keeps at
    least one contact in train.
    """
    check_split_args(seed, test_size)
    strata: dict[str, list[Contact]] = {}
    for contact in contacts:
        strata.setdefault(repr(key(contact)), []).append(contact)
    names = sorted(strata)
    exact = {name: len(strata[name]) * test_size for name in names}
    quota = {name: min(int(exact[name]), len(strata[name]) - 1) for name in names}
    remaining = round(len(contacts) * test_size) - sum(quota.values())
    for name in sorted(names, key=lambda n: (-(exact[n] - int(exact[n])), n)):
        if remaining <= 0:
            break
        if quota[name] < len(strata[name]) - 1:
            quota[name] += 1
            remaining -= 1
    test_ids: set[str] = set()
    for name in names:
        members = sorted(strata[name], key=lambda c: c.contact_id)
        random.Random(f"{seed}:{name}").shuffle(members)
        test_ids.update(c.contact_id for c in members[: quota[name]])
    train = [c for c in contacts if c.contact_id not in test_ids]
    test = [c for c in contacts if c.contact_id in test_ids]
    return train, test


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------
def label_distribution(contacts: Sequence[Contact]) -> dict[str, dict[str, int]]:
    """Per label field with at least one value: counts by value, ``null`` for a missing label."""
    out: dict[str, dict[str, int]] = {}
    for name in TASKS:
        counts: Counter[str] = Counter()
        for contact in contacts:
            value = None if contact.labels is None else getattr(contact.labels, name)
            counts[NONE_KEY if value is None else str(value).lower() if isinstance(value, bool) else str(value)] += 1
        if set(counts) != {NONE_KEY}:
            out[name] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return out


def write_converted(
    source: str, input_path: Path, out_dir: Path, converted: Converted, seed: int, test_size: float
) -> ConversionSummary:
    """Validate every contact against the taxonomy, then write train/test JSONL, taxonomy and summary."""
    ids: set[str] = set()
    for split_name, contacts in (("train", converted.train), ("test", converted.test)):
        for contact in contacts:
            if contact.contact_id in ids:
                raise ConfigError(f"{source}: duplicate contact_id {contact.contact_id!r} ({split_name})")
            ids.add(contact.contact_id)
            problems = contact_problems(contact, taxonomy=converted.taxonomy)
            if problems:
                raise RecordError(f"{source}:{contact.contact_id}", None, problems)
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {
        "train": write_contacts(converted.train, out_dir / "train.jsonl"),
        "test": write_contacts(converted.test, out_dir / "test.jsonl"),
    }
    converted.taxonomy.to_yaml(out_dir / "taxonomy.yaml")
    summary = ConversionSummary(
        source=source,
        input_path=str(input_path),
        out_dir=str(out_dir),
        split=converted.split,
        seed=seed,
        test_size=test_size,
        counts=counts,
        label_distributions={
            "train": label_distribution(converted.train),
            "test": label_distribution(converted.test),
        },
        taxonomy={
            "categories": len(converted.taxonomy.categories),
            "reasons": len(converted.taxonomy.reasons),
        },
        skipped=dict(converted.skipped),
        notes=list(converted.notes),
    )
    return summary


def write_summary(summary: ConversionSummary) -> Path:
    path = Path(summary.out_dir) / "summary.json"
    path.write_text(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def numbered_rows(
    reader: Any, path: Path, *, start: int = 1, what: str = "valid CSV"
) -> Iterator[tuple[int, list[str]]]:
    """The rows of a ``csv.reader`` with the line each starts on (a quoted cell may span lines);
    a malformed row is a :class:`RecordError` naming its line."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise record_error(path, start, "<row>", what, str(exc)) from None
        line, start = start, reader.line_num + 1
        yield line, row


def iter_csv(path: Path, header: Sequence[str], skipped: Counter[str]) -> Iterator[tuple[int, list[str]]]:
    """Data rows of a CSV file with exactly ``header``, each with the line it starts on.

    A row with the wrong number of columns is an error; a row whose cells are all empty (such as a
    trailing ``,,,`` line) is skipped and counted in ``skipped["blank_rows"]``.
    """
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        try:
            first = next(reader)
        except StopIteration:
            raise record_error(path, 1, "<header>", ",".join(header), "an empty file") from None
        except csv.Error as exc:
            raise record_error(path, reader.line_num, "<header>", "valid CSV", str(exc)) from None
        if [h.strip() for h in first] != list(header):
            raise record_error(path, 1, "<header>", ",".join(header), ",".join(first))
        for line, row in numbered_rows(reader, path, start=reader.line_num + 1):
            if not any(cell.strip() for cell in row):
                skipped["blank_rows"] += 1
                continue
            if len(row) != len(header):
                raise record_error(
                    path, line, "<row>", f"{len(header)} columns ({','.join(header)})", f"{len(row)} columns"
                )
            yield line, row
