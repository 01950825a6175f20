"""User Satisfaction Simulation (USS): dialogues with per-turn and overall satisfaction ratings.

``PATH`` is the ``uss_user_satisfaction`` folder, or one of its files. The option ``corpora``
(comma-separated, default ``MWOZ,SGD,CCPE,ReDial``) picks the sub-corpora; ``JDDC`` (Chinese, with
``language="zh"``) is converted only when named and present. Each file holds tab-separated lines
``ROLE, text, action, ratings[, explanations]``, dialogues separated by blank lines, and a last
``USER OVERALL`` line with the dialogue ratings. ``USER`` turns become ``customer`` turns and
``SYSTEM`` turns ``agent`` turns.

Ratings are 1-5 per annotator (3 is the "OK" default most turns get). A set of ratings maps to a
sentiment by its mean, i.e. by rounding it to the nearest rating with ties going to neutral:
mean < 2.5 is ``negative``, mean > 3.5 is ``positive``, else ``neutral``. So one annotator out of
three giving 2 does not make a turn negative; a majority below 3 does. The resulting classes are
imbalanced (about 80 % neutral), which is what the annotators said; the raw ratings and means are
kept so another threshold can be applied later.

* contact ``sentiment`` comes from the ``OVERALL`` ratings;
* ``metadata["turn_sentiment"]`` is aligned with ``turns`` (``None`` for agent turns), as are
  ``metadata["turn_ratings"]`` (raw ratings) and ``metadata["turn_actions"]`` (the dialogue act,
  ``None`` where empty); ``metadata["overall_ratings"]`` / ``["overall_mean"]`` hold the dialogue's;
* turns with empty text are dropped and counted (``skipped["empty_turns"]``); a dialogue with no
  turn left is dropped and counted (``skipped["empty_dialogues"]``);
* there are no reasons (taxonomy with no categories), outcomes or upsell labels: those stay ``None``.

The split is seeded and stratified by sub-corpus and sentiment.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dispo.contact import Contact, Labels, Speaker, Turn
from dispo.errors import ConfigError
from dispo.io import InputFormatError
from dispo.taxonomy import Taxonomy
from training.sources.common import Converted, record_error, stratified_split

NAME = "uss"
DEFAULT_CORPORA = ("MWOZ", "SGD", "CCPE", "ReDial")
KNOWN_CORPORA = (*DEFAULT_CORPORA, "JDDC")
NEGATIVE_BELOW = 2.5
POSITIVE_ABOVE = 3.5
SPEAKERS: dict[str, Speaker] = {"USER": "customer", "SYSTEM": "agent"}
OVERALL = "OVERALL"


def sentiment_for(ratings: list[int]) -> str:
    mean = sum(ratings) / len(ratings)
    if mean < NEGATIVE_BELOW:
        return "negative"
    if mean > POSITIVE_ABOVE:
        return "positive"
    return "neutral"


@dataclass
class _Dialogue:
    start_line: int
    turns: list[Turn] = field(default_factory=list)
    ratings: list[list[int] | None] = field(default_factory=list)
    actions: list[str | None] = field(default_factory=list)
    overall: list[int] | None = None
    overall_line: int | None = None


def load(path: Path, *, seed: int, test_size: float, corpora: str | None = None) -> Converted:
    files = _files(path, corpora)
    skipped: Counter[str] = Counter()
    contacts: list[Contact] = []
    for corpus, file in files:
        language = "zh" if corpus == "JDDC" else "en"
        for index, dialogue in enumerate(_dialogues(file, skipped)):
            if not dialogue.turns:
                skipped["empty_dialogues"] += 1
                continue
            contacts.append(_contact(corpus, index, dialogue, language))
    if not contacts:
        raise InputFormatError(f"USS: no dialogues in {', '.join(str(f) for _, f in files)}")
    train, test = stratified_split(
        contacts, lambda c: (c.metadata["corpus"], c.labels.sentiment if c.labels else None), seed, test_size
    )
    notes = [
        "corpora: " + ", ".join(corpus for corpus, _ in files),
        f"sentiment from the mean of the annotators' 1-5 ratings: < {NEGATIVE_BELOW} negative, "
        f"> {POSITIVE_ABOVE} positive, else neutral; contact sentiment from the OVERALL line, per-turn "
        "sentiments in metadata.turn_sentiment (null for agent turns), raw ratings in metadata",
        "USER -> customer, SYSTEM -> agent; no reasons, outcomes or upsell in the source (taxonomy has no categories)",
        "seeded split stratified by sub-corpus and sentiment",
    ]
    for name, count in sorted(skipped.items()):
        notes.append(f"skipped {count} {name.replace('_', ' ')}")
    taxonomy = Taxonomy.from_reasons("uss", {})
    return Converted(train, test, taxonomy, "stratified by sub-corpus and sentiment", notes, dict(skipped))


def _contact(corpus: str, index: int, dialogue: _Dialogue, language: str) -> Contact:
    assert dialogue.overall is not None
    turn_sentiment = [None if r is None else sentiment_for(r) for r in dialogue.ratings]
    metadata: dict[str, Any] = {
        "source": NAME,
        "corpus": corpus,
        "dialogue_index": index,
        "source_line": dialogue.start_line,
        "overall_ratings": dialogue.overall,
        "overall_mean": round(sum(dialogue.overall) / len(dialogue.overall), 4),
        "turn_sentiment": turn_sentiment,
        "turn_ratings": dialogue.ratings,
        "turn_actions": dialogue.actions,
    }
    return Contact(
        contact_id=f"uss-{corpus.lower()}-{index:04d}",
        language=language,
        turns=dialogue.turns,
        labels=Labels(sentiment=sentiment_for(dialogue.overall)),
        metadata=metadata,
    )


def _files(path: Path, corpora: str | None) -> list[tuple[str, Path]]:
    if path.is_file():
        corpus = path.stem
        if corpus not in KNOWN_CORPORA:
            raise InputFormatError(f"USS: {path.name} is not one of {', '.join(f'{c}.txt' for c in KNOWN_CORPORA)}")
        return [(corpus, path)]
    if not path.is_dir():
        raise InputFormatError(f"USS folder not found: {path}")
    names = DEFAULT_CORPORA if corpora is None else tuple(c.strip() for c in corpora.split(",") if c.strip())
    unknown = [c for c in names if c not in KNOWN_CORPORA]
    if unknown or not names:
        raise ConfigError(f"uss: corpora must be among {', '.join(KNOWN_CORPORA)}; got {corpora!r}")
    files = []
    for corpus in names:
        file = path / f"{corpus}.txt"
        if not file.is_file():
            raise InputFormatError(f"USS {corpus} file not found: {file}")
        files.append((corpus, file))
    return files


def _ratings(file: Path, line: int, cell: str) -> list[int]:
    try:
        ratings = [int(x) for x in cell.split(",")]
    except ValueError:
        raise record_error(file, line, "satisfaction", "comma-separated ratings 1-5", cell) from None
    if not ratings or not all(1 <= r <= 5 for r in ratings):
        raise record_error(file, line, "satisfaction", "comma-separated ratings 1-5", cell)
    return ratings


def _dialogues(file: Path, skipped: Counter[str]) -> list[_Dialogue]:
    dialogues: list[_Dialogue] = []
    current: _Dialogue | None = None

    def close(end_line: int) -> None:
        if current is not None and current.overall is None:
            raise record_error(
                file, current.start_line, "OVERALL", f"a closing 'USER<TAB>OVERALL' line before line {end_line}", "none"
            )

    with file.open(encoding="utf-8") as fh:
        line = 0
        for line, raw_line in enumerate(fh, start=1):
            text_line = raw_line.rstrip("\r\n")
            if not text_line.strip():
                close(line)
                if current is not None:
                    dialogues.append(current)
                current = None
                continue
            cells = text_line.split("\t")
            if not 3 <= len(cells) <= 5:
                raise record_error(
                    file,
                    line,
                    "<row>",
                    "3 to 5 tab-separated fields (role, text, action, ratings)",
                    f"{len(cells)} fields",
                )
            role, text = cells[0].strip(), cells[1]
            if role not in SPEAKERS:
                raise record_error(file, line, "role", "USER or SYSTEM", role)
            if current is None:
                current = _Dialogue(start_line=line)
            elif current.overall is not None:
                raise record_error(file, line, "role", "a blank line after the OVERALL line", role)
            rating_cell = cells[3].strip() if len(cells) > 3 else ""
            if role == "USER" and text.strip() == OVERALL:
                current.overall = _ratings(file, line, rating_cell)
                current.overall_line = line
                continue
            ratings = _ratings(file, line, rating_cell) if role == "USER" else None
            if role == "SYSTEM" and rating_cell:
                raise record_error(file, line, "satisfaction", "no ratings on a SYSTEM line", rating_cell)
            if not text.strip():
                skipped["empty_turns"] += 1
                continue
            current.turns.append(Turn(speaker=SPEAKERS[role], text=text.strip()))
            current.ratings.append(ratings)
            current.actions.append(cells[2].strip() or None)
        close(line + 1)
        if current is not None:
            dialogues.append(current)
    return dialogues
