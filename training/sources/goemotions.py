"""GoEmotions (Google), 4-group form: Reddit comments labelled ambiguous / negative / neutral / positive.

License: the GoEmotions data release is CC BY 4.0 (Google); the grouped files come from the
monologg/GoEmotions-pytorch repository, Apache-2.0.

``PATH`` is the ``group`` folder (``train.tsv``, ``dev.tsv``, ``test.tsv``, ``labels.txt``) or the
GoEmotions folder holding it. Each TSV line is ``text<TAB>label ids<TAB>comment id``, CSV-quoted
where the text has quotes (a ``"`` in the text is written ``""`` inside a quoted field). The
quoting is undone, nothing else is changed: the text is the Reddit comment as given, ``[NAME]`` /
``[RELIGION]`` placeholders included, with only surrounding whitespace stripped. Label ids index
the lines of ``labels.txt`` (``ambiguous``, ``negative``, ``neutral``, ``positive``); a label file
without those four names, a line without three fields, an empty text or comment id, or a label id
outside ``labels.txt`` is an error naming file, line and field.

Each comment becomes a contact with one customer turn. ``labels.sentiment`` comes from the label
set, after dropping ``ambiguous`` (surprise, confusion, curiosity, realization: no polarity):

* exactly one of ``negative`` / ``neutral`` / ``positive`` left: that is the sentiment;
* nothing left (the set was ``{ambiguous}`` only): skipped, counted in ``skipped["ambiguous_only"]``;
* ``negative`` and ``positive`` together (with or without ``neutral``): the annotators disagree on
  the polarity, skipped, counted in ``skipped["mixed_positive_negative"]``;
* ``neutral`` with one polarity (``{neutral, positive}``, ``{negative, neutral}``): no single
  answer either, skipped, counted in ``skipped["mixed_with_neutral"]`` (a mild comment is not
  forced to either side).

The raw group names are kept in ``metadata["goemotions_labels"]``, with the comment id and the
source split. There are no reasons (taxonomy with no categories), outcomes or upsell labels: those
stay ``None``. The split is the official one: ``train.tsv`` and ``dev.tsv`` -> ``train.jsonl``
(the dev set is not held out: tune on a slice of train if needed), ``test.tsv`` -> ``test.jsonl``.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from dispo.contact import Contact, Labels, Turn
from dispo.io import InputFormatError
from dispo.taxonomy import Taxonomy
from training.sources.common import Converted, numbered_rows, record_error, require_file

NAME = "goemotions"
SPLITS = {"train": "train", "dev": "train", "test": "test"}
GROUPS = ("ambiguous", "negative", "neutral", "positive")
SENTIMENTS = frozenset({"negative", "neutral", "positive"})


def load(path: Path, *, seed: int, test_size: float) -> Converted:
    """Read the official split; ``seed`` and ``test_size`` do not apply (the split is given)."""
    del seed, test_size
    folder = _folder(path)
    names = _labels(require_file(folder / "labels.txt", "GoEmotions labels.txt"))
    skipped: Counter[str] = Counter()
    out: dict[str, list[Contact]] = {"train": [], "test": []}
    read: Counter[str] = Counter()
    for split, target in SPLITS.items():
        file = require_file(folder / f"{split}.tsv", f"GoEmotions {split}.tsv")
        for line, (text, ids, comment_id) in _rows(file):
            groups = _groups(file, line, ids, names)
            read[split] += 1
            polar = sorted(set(groups) & SENTIMENTS)
            if not polar:
                skipped["ambiguous_only"] += 1
                continue
            if len(polar) > 1:
                skipped[
                    "mixed_positive_negative" if {"negative", "positive"} <= set(polar) else "mixed_with_neutral"
                ] += 1
                continue
            out[target].append(
                Contact(
                    contact_id=f"goemotions-{split}-{comment_id}",
                    turns=[Turn(speaker="customer", text=text)],
                    labels=Labels(sentiment=polar[0]),
                    metadata={
                        "source": NAME,
                        "source_split": split,
                        "source_line": line,
                        "comment_id": comment_id,
                        "goemotions_labels": groups,
                    },
                )
            )
    if not out["train"] or not out["test"]:
        raise InputFormatError(f"GoEmotions: no usable comments in the train or test files of {folder}")
    notes = [
        "official split: train.tsv + dev.tsv -> train (dev is not held out), test.tsv -> test",
        f"rows read: train {read['train']}, dev {read['dev']}, test {read['test']}",
        "sentiment = the one group among negative/neutral/positive left after dropping 'ambiguous'; "
        "rows with none left or with several are skipped",
        "text = the Reddit comment as given (CSV quoting undone, surrounding whitespace stripped, "
        "[NAME]/[RELIGION] placeholders kept); raw groups in metadata.goemotions_labels",
        "no reasons, outcomes or upsell in the source (taxonomy has no categories)",
    ]
    explain = {
        "ambiguous_only": "rows labelled only 'ambiguous' (no polarity)",
        "mixed_positive_negative": "rows labelled both negative and positive",
        "mixed_with_neutral": "rows labelled neutral and one polarity (no single sentiment)",
    }
    for name, count in sorted(skipped.items()):
        notes.append(f"skipped {count} {explain[name]}")
    taxonomy = Taxonomy.from_reasons("goemotions", {})
    return Converted(out["train"], out["test"], taxonomy, "official", notes, dict(skipped))


def _folder(path: Path) -> Path:
    if path.is_dir() and not (path / "labels.txt").is_file() and (path / "group").is_dir():
        return path / "group"
    if not path.is_dir():
        raise InputFormatError(f"GoEmotions: expected the 'group' folder (train/dev/test.tsv, labels.txt), got {path}")
    return path


def _labels(file: Path) -> list[str]:
    names = [line.strip() for line in file.read_text(encoding="utf-8").split("\n") if line.strip()]
    if sorted(names) != sorted(GROUPS):
        raise record_error(file, None, "<file>", "the group names " + ", ".join(GROUPS), ", ".join(names))
    return names


def _rows(file: Path) -> Iterator[tuple[int, tuple[str, str, str]]]:
    """Data rows (text, label ids, comment id) with the line each one starts on."""
    with file.open(encoding="utf-8", newline="") as fh:
        for line, row in numbered_rows(csv.reader(fh, delimiter="\t"), file, what="valid TSV"):
            if not any(cell.strip() for cell in row):
                raise record_error(file, line, "<row>", "text, label ids and comment id", "a blank line")
            if len(row) != 3:
                raise record_error(
                    file, line, "<row>", "3 tab-separated fields (text, label ids, comment id)", f"{len(row)} fields"
                )
            text, ids, comment_id = row[0].strip(), row[1].strip(), row[2].strip()
            if not text:
                raise record_error(file, line, "text", "a non-empty comment", row[0])
            if not comment_id:
                raise record_error(file, line, "comment_id", "a Reddit comment id", row[2])
            yield line, (text, ids, comment_id)


def _groups(file: Path, line: int, ids: str, names: list[str]) -> list[str]:
    expected = f"comma-separated label ids 0-{len(names) - 1} (labels.txt)"
    parts = [p.strip() for p in ids.split(",")]
    if not all(p.isascii() and p.isdigit() and int(p) < len(names) for p in parts):
        raise record_error(file, line, "labels", expected, ids)
    return sorted({names[int(p)] for p in parts}, key=GROUPS.index)
