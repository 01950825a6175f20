"""The realistic evaluation set: hand-written contacts, frozen by hash, split once, never trained on.

``data/eval/realistic/`` (set A) holds ``dev.jsonl`` (for decisions: configs, data mixes,
thresholds) and ``test.jsonl`` (reported only), written once by :func:`freeze` from the writers'
parts and recorded with their SHA-256 in ``MANIFEST.json``. :func:`check_frozen` fails when either
file no longer matches its hash, so a changed set is noticed, not silently compared with old figures.
``data/eval/realistic-b/`` (set B) has the same layout: written later by other writers, about other
companies, after the shipped model was tuned, so that its figures are a second, untouched reading.
``data/eval/realistic-c/`` (set C) is a third, written after v10 shipped, when both earlier test
halves had been read for several model versions.

``data/eval/lone-messages/`` (:data:`LONE_DIR`) is another kind of set: lone customer messages (one
customer turn and nothing else: social posts, SMS, unanswered emails and chats) labelled with reason
and sentiment only, frozen the same way (``--lone``). It is not one of the realistic sets: their dev
halves choose the shipped model, while it is read by ``bench/lone_messages_eval.py``.

Training refuses any contact of these sets (:func:`refuse_evaluation_contacts`): their contact ids
start with :data:`CONTACT_ID_PREFIX` or :data:`LONE_ID_PREFIX`. The label conventions are in
``CONVENTIONS.md`` there.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from dispo.contact import Contact
from dispo.errors import ConfigError
from dispo.io import ContactReader, InputFormatError, expand_inputs, write_contacts
from dispo.model.runtime import file_sha256
from dispo.taxonomy import Taxonomy, load_taxonomy
from training.sources.common import stratified_split

logger = logging.getLogger(__name__)

EVAL_ROOT = Path(__file__).resolve().parents[1] / "data" / "eval"
DEFAULT_DIR = EVAL_ROOT / "realistic"
#: Every frozen realistic set by name. A chose the shipped model's settings (its dev half) and reports
#: them (its test half); B was written after v5 shipped and nothing was chosen on it before it was read;
#: C was written after v10 shipped, and v10 was first read on both its halves.
SET_DIRS: dict[str, Path] = {"a": DEFAULT_DIR, "b": EVAL_ROOT / "realistic-b", "c": EVAL_ROOT / "realistic-c"}
CONTACT_ID_PREFIX = "RE-"
LONE_DIR = EVAL_ROOT / "lone-messages"
LONE_ID_PREFIX = "LM-"
LONE_LABELS: tuple[str, ...] = ("reason", "sentiment")
MANIFEST_FILE = "MANIFEST.json"
HALVES: tuple[str, ...] = ("dev", "test")
SPLIT_SEED = 2026
LONG_TURNS = 16


class EvaluationLeakError(ConfigError):
    """Training data contains contacts of the frozen evaluation set."""


class FrozenSetChangedError(ConfigError):
    """A file of the frozen evaluation set no longer matches the hash it was frozen with."""


def half_path(half: str, folder: Path = DEFAULT_DIR) -> Path:
    if half not in HALVES:
        raise ConfigError(f"the realistic set has halves {HALVES}, not {half!r}")
    return folder / f"{half}.jsonl"


def dev_halves() -> str:
    """Every realistic set's dev half, as one glob a reader expands (each file a set of its own)."""
    spec = str(EVAL_ROOT / "realistic*" / "dev.jsonl")
    expected = sorted(half_path("dev", folder) for folder in SET_DIRS.values())
    if expand_inputs(spec) != expected:
        raise ConfigError(f"{spec} names {[str(p) for p in expand_inputs(spec)]}, not the sets' dev halves {expected}")
    return spec


def is_evaluation_contact(contact: Contact) -> bool:
    return contact.contact_id.startswith((CONTACT_ID_PREFIX, LONE_ID_PREFIX))


def refuse_evaluation_contacts(contacts: Iterable[Contact], source: str) -> None:
    """Raise :class:`EvaluationLeakError` when any contact belongs to the realistic evaluation set."""
    leaked = [c.contact_id for c in contacts if is_evaluation_contact(c)]
    if leaked:
        shown = ", ".join(leaked[:5]) + (" ..." if len(leaked) > 5 else "")
        raise EvaluationLeakError(
            f"{source}: {len(leaked)} contacts of a frozen evaluation set ({shown}); it is never trained on"
        )


def set_dir(name: str) -> Path:
    if name not in SET_DIRS:
        raise ConfigError(f"the realistic sets are {sorted(SET_DIRS)}, not {name!r}")
    return SET_DIRS[name]


def refuse_test_half(inputs: str | Path, *, folders: Iterable[Path] = (*SET_DIRS.values(), LONE_DIR)) -> None:
    """A test half is reported only: it may not even choose an epoch or a temperature. ``inputs``
    is what a reader would read (a file, a folder or a glob); every file it names is checked."""
    tests: dict[str, Path] = {}
    for folder in folders:
        manifest_path = folder / MANIFEST_FILE
        if manifest_path.is_file():
            tests[json.loads(manifest_path.read_text(encoding="utf-8"))["halves"]["test"]["sha256"]] = folder
    try:
        files = expand_inputs(inputs)
    except InputFormatError:
        return  # nothing to read: the reader itself reports it
    for path in files:
        owner = tests.get(file_sha256(path))
        if owner is not None:
            raise EvaluationLeakError(
                f"{path} is the test half of {owner.name}: it is reported only, never used to choose"
            )


def split_halves(contacts: Sequence[Contact], *, seed: int = SPLIT_SEED) -> tuple[list[Contact], list[Contact]]:
    """Dev and test halves, stratified by reason and by short/long so both halves hold every reason
    and their share of long calls."""

    def stratum(contact: Contact) -> tuple[str | None, bool]:
        return (contact.labels.reason if contact.labels else None, len(contact.turns) >= LONG_TURNS)

    return stratified_split(contacts, stratum, seed, 0.5)


def freeze(
    parts: Sequence[Path], folder: Path = DEFAULT_DIR, *, taxonomy: Taxonomy | None = None, lone: bool = False
) -> dict[str, Any]:
    """Read the writers' parts (strictly, against the taxonomy), split them once and write the
    halves and their manifest. Refuses to overwrite a frozen set. ``lone``: a set of lone messages
    (ids :data:`LONE_ID_PREFIX`, each one customer turn, labelled with :data:`LONE_LABELS`)."""
    manifest_path = folder / MANIFEST_FILE
    if manifest_path.exists():
        raise ConfigError(f"{manifest_path} exists: the realistic set is frozen and is never rewritten")
    taxonomy = taxonomy or load_taxonomy()
    contacts: list[Contact] = []
    for part in parts:
        contacts.extend(ContactReader(part, taxonomy=taxonomy))
    ids = [c.contact_id for c in contacts]
    if len(set(ids)) != len(ids):
        raise ConfigError("the parts repeat contact ids")
    prefix = LONE_ID_PREFIX if lone else CONTACT_ID_PREFIX
    bad = [i for i in ids if not i.startswith(prefix)]
    if bad:
        raise ConfigError(f"contact ids must start with {prefix!r}: {bad[:5]}")
    needed = LONE_LABELS if lone else ("reason", "outcome", "sentiment", "upsell")
    unlabelled = [
        c.contact_id for c in contacts if c.labels is None or any(getattr(c.labels, t) is None for t in needed)
    ]
    if unlabelled:
        raise ConfigError(f"every contact of the set needs the labels {list(needed)}: {unlabelled[:5]}")
    if lone:
        others = [c.contact_id for c in contacts if len(c.turns) != 1 or c.turns[0].speaker != "customer"]
        if others:
            raise ConfigError(f"a lone message is one customer turn: {others[:5]}")
    dev, test = split_halves(contacts)
    folder.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"split": f"stratified by (reason, 16+ turns), seed {SPLIT_SEED}", "halves": {}}
    for half, members in zip(HALVES, (dev, test), strict=True):
        members = sorted(members, key=lambda c: c.contact_id)
        path = half_path(half, folder)
        write_contacts(members, path)
        manifest["halves"][half] = {"file": path.name, "contacts": len(members), "sha256": file_sha256(path)}
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    logger.info("froze %d contacts: dev %d, test %d -> %s", len(contacts), len(dev), len(test), folder)
    return manifest


def check_frozen(folder: Path = DEFAULT_DIR) -> dict[str, Any]:
    """The manifest, after checking that both halves still match their frozen hashes."""
    manifest_path = folder / MANIFEST_FILE
    if not manifest_path.is_file():
        raise FrozenSetChangedError(f"{manifest_path} is missing: the realistic set has not been frozen")
    manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
    for half, entry in manifest["halves"].items():
        path = folder / entry["file"]
        found = file_sha256(path) if path.is_file() else "a missing file"
        if found != entry["sha256"]:
            raise FrozenSetChangedError(f"{path}: frozen with sha256 {entry['sha256']}, found {found} ({half} half)")
    return manifest


def check_frozen_sets() -> dict[str, dict[str, Any]]:
    """Every realistic set's manifest, each checked against its hashes."""
    return {name: check_frozen(folder) for name, folder in SET_DIRS.items()}


def read_pooled_half(half: str, sets: Sequence[str]) -> tuple[list[Contact], dict[str, str]]:
    """The contacts of the named sets' ``half``, pooled in the order given, each set checked against
    its frozen hashes first; and the SHA-256 of each set's half by name (what a result records)."""
    contacts: list[Contact] = []
    hashes: dict[str, str] = {}
    for name in sets:
        folder = set_dir(name)
        hashes[name] = check_frozen(folder)["halves"][half]["sha256"]
        contacts.extend(ContactReader(half_path(half, folder)))
    return contacts, hashes


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Freeze the realistic evaluation set (once).")
    parser.add_argument("parts", nargs="+", type=Path, help="the writers' JSONL parts")
    parser.add_argument("--folder", type=Path, default=None, help="default: data/eval/realistic (lone-messages)")
    parser.add_argument("--lone", action="store_true", help="a set of lone customer messages (reason, sentiment)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    folder = args.folder or (LONE_DIR if args.lone else DEFAULT_DIR)
    logger.info(json.dumps(freeze(args.parts, folder, lone=args.lone), indent=2))


if __name__ == "__main__":
    main()
