"""TweetEval sentiment (cardiffnlp/tweeteval, SemEval-2017 Task 4): tweets labelled negative / neutral / positive.

License: TweetEval is "released without any restrictions but restrictions may apply to individual
tasks" (here SemEval-2017 Task 4) and the tweets fall under Twitter's terms.

``PATH`` is the folder holding ``sentiment_{split}_text.txt`` (one tweet a line) and
``sentiment_{split}_labels.txt`` (one label a line: ``0`` negative, ``1`` neutral, ``2``
positive); the upstream names ``{split}_text.txt`` / ``{split}_labels.txt`` of the repository's
``datasets/sentiment/`` folder are accepted too. Line ``n`` of the labels file is the label of
line ``n`` of the text file: files of different lengths, a blank tweet, or a label other than
0, 1, 2 is an error naming file, line and field.

Each tweet becomes a contact with one customer turn and ``labels.sentiment``. The text is kept as
given (``@user``, ``#hashtags``, URLs, emoji, quotes), only the surrounding whitespace is stripped
(every line of the files ends with a space); the raw label is kept in ``metadata["tweeteval_label"]``.
There are no reasons (taxonomy with no categories), outcomes or upsell labels.

The split is the official one, as far as the files allow: the shared copy has no train split, so
``val`` (2,000 tweets) becomes ``train.jsonl`` and the official ``test`` (12,284 tweets) becomes
``test.jsonl`` and must never be trained on. When a ``train`` split is present in the folder it
goes to ``train.jsonl`` together with ``val``.
"""

from __future__ import annotations

from pathlib import Path

from dispo.contact import Contact, Labels, Turn
from dispo.io import InputFormatError
from dispo.taxonomy import Taxonomy
from training.sources.common import Converted, record_error

NAME = "tweeteval"
LABELS = {"0": "negative", "1": "neutral", "2": "positive"}
SPLITS = {"train": "train", "val": "train", "test": "test"}
REQUIRED = ("val", "test")


def load(path: Path, *, seed: int, test_size: float) -> Converted:
    """Read the official split; ``seed`` and ``test_size`` do not apply (the split is given)."""
    del seed, test_size
    if not path.is_dir():
        raise InputFormatError(f"tweeteval: expected the folder holding sentiment_{{val,test}}_text.txt, got {path}")
    out: dict[str, list[Contact]] = {"train": [], "test": []}
    read: dict[str, int] = {}
    for split, target in SPLITS.items():
        files = _files(path, split)
        if files is None:
            if split in REQUIRED:
                raise InputFormatError(
                    f"tweeteval: {path / f'sentiment_{split}_text.txt'} and its _labels.txt not found"
                )
            continue
        text_file, label_file = files
        texts, labels = _lines(text_file), _lines(label_file)
        if len(texts) != len(labels):
            shorter, field = (label_file, "label") if len(labels) < len(texts) else (text_file, "text")
            raise record_error(
                shorter,
                min(len(texts), len(labels)) + 1,
                field,
                f"one label per tweet ({text_file.name}: {len(texts)} lines, {label_file.name}: {len(labels)} lines)",
                "end of file",
            )
        for index, (text, label) in enumerate(zip(texts, labels, strict=True)):
            line = index + 1
            if label.strip() not in LABELS:
                raise record_error(label_file, line, "label", "0 (negative), 1 (neutral) or 2 (positive)", label)
            if not text.strip():
                raise record_error(text_file, line, "text", "a non-empty tweet", text)
            out[target].append(
                Contact(
                    contact_id=f"tweeteval-{split}-{index:06d}",
                    turns=[Turn(speaker="customer", text=text.strip())],
                    labels=Labels(sentiment=LABELS[label.strip()]),
                    metadata={
                        "source": NAME,
                        "source_split": split,
                        "source_line": line,
                        "tweeteval_label": int(label.strip()),
                    },
                )
            )
        read[split] = len(texts)
    if not out["train"] or not out["test"]:
        raise InputFormatError(f"tweeteval: no tweets in the val or test files of {path}")
    used = " + ".join(s for s in ("train", "val") if s in read)
    notes = [
        f"official split: {used} -> train, test -> test (official test set: never train on it)",
        "rows read: " + ", ".join(f"{split} {count}" for split, count in read.items()),
        "sentiment = label (0 negative, 1 neutral, 2 positive); raw label in metadata.tweeteval_label",
        "text = the tweet as given (@user, hashtags, URLs kept), surrounding whitespace stripped",
        "no reasons, outcomes or upsell in the source (taxonomy has no categories)",
    ]
    if "train" not in read:
        notes.append("no train split in the folder: the official val split is the training data")
    taxonomy = Taxonomy.from_reasons("tweeteval", {})
    return Converted(out["train"], out["test"], taxonomy, "official", notes, {})


def _files(folder: Path, split: str) -> tuple[Path, Path] | None:
    for prefix in ("sentiment_", ""):
        text_file = folder / f"{prefix}{split}_text.txt"
        label_file = folder / f"{prefix}{split}_labels.txt"
        if text_file.is_file() or label_file.is_file():
            if not text_file.is_file() or not label_file.is_file():
                missing = text_file if not text_file.is_file() else label_file
                raise InputFormatError(f"tweeteval: {missing} not found (the {split} split needs both files)")
            return text_file, label_file
    return None


def _lines(file: Path) -> list[str]:
    """The file's lines, split on ``\\n`` only (tweets may hold other Unicode line separators)."""
    text = file.read_text(encoding="utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]
