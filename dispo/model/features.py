"""From contacts to model inputs: segmenting turns, choosing segments within a token budget,
tokenizing, and encoding labels.

A turn longer than ``max_turn_tokens`` (an email, a long explanation on a call) is split into
several segments of the same speaker rather than cut, so nothing is silently dropped inside a
turn. When a contact has more segments than the budget allows, the selection keeps what
decides the labels: the customer's first segments (the reason usually comes early, but not
always in the first turn) and the last segments (outcome, final sentiment). With a learned
salience scorer (:mod:`dispo.model.salience`, the default for new models) the rest of the budget goes
to the segments that carry the most evidence wherever they sit (an upsell offer mid-call, an
escalation); without one, to more customer segments from the start and more segments from the
end, alternating. The choice is deterministic and keeps the original order.

A task can read fewer of the selected segments (:func:`narrow_views`): a narrower budget
(``ModelConfig.task_reading``), or all but the agent's close (``ignore_agent_close``: what the agent
says after the customer's last words and the platform's last event).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch

from dispo.contact import Contact, Turn
from dispo.model.modeling import IGNORE_INDEX, SPEAKER_IDS, TASKS, ModelConfig, TurnBatch
from dispo.model.salience import SegmentSalience, segment_text
from dispo.taxonomy import Taxonomy

# Rough tokens per whitespace word for English WordPiece text; only used to plan segments
# before tokenizing, so the estimate needs to be close, not exact.
TOKENS_PER_WORD = 1.35
FIRST_CUSTOMER_SEGMENTS = 3
LAST_SEGMENTS = 3
# With learned salience: the customer's first two segments and the last two, then by salience.
SALIENT_ANCHORS = (2, 2)
# A timestamp that a text export left at the start of a turn ("[00:01:23] ", "(1:02) ", "00:01:23 "):
# not speech, and tokens no training text has (bench/transcript_robustness.py: v11 read the dev halves'
# end sentiment 5 points and upsell 5.6 points worse with them). A bare "10:30" is said, so it stays.
LEADING_TIMESTAMP = re.compile(
    r"^\s*(?:[\[(]\s*(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d+)?\s*[\])]|\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?)\s+"
)


@dataclass(frozen=True)
class Segment:
    turn: int  # index of the turn in the contact
    speaker: str
    text: str
    est_tokens: int


def segment_turn(turn_index: int, turn: Turn, max_turn_tokens: int) -> list[Segment]:
    """The turn's words (less a leading timestamp) in segments of at most ``max_turn_tokens``."""
    words = LEADING_TIMESTAMP.sub("", turn.text, count=1).split()
    if not words:
        return []
    words_per_segment = max(1, int((max_turn_tokens - 2) / TOKENS_PER_WORD))
    segments = []
    for start in range(0, len(words), words_per_segment):
        chunk = words[start : start + words_per_segment]
        est = min(max_turn_tokens, int(len(chunk) * TOKENS_PER_WORD) + 2)
        segments.append(Segment(turn_index, turn.speaker, " ".join(chunk), est))
    return segments


def contact_segments(turns: Sequence[Turn], max_turn_tokens: int) -> list[Segment]:
    segments: list[Segment] = []
    for index, turn in enumerate(turns):
        segments.extend(segment_turn(index, turn, max_turn_tokens))
    return segments


def over_budget(segments: Sequence[Segment], config: ModelConfig) -> bool:
    """Whether a selection has to drop segments (only then does salience matter)."""
    return len(segments) > config.max_turns or sum(s.est_tokens for s in segments) > config.token_budget


def needs_salience(segments: Sequence[Segment], config: ModelConfig) -> bool:
    """Whether the contact's reading, or a task's narrower one, has to drop segments."""
    return over_budget(segments, config) or any(over_budget(segments, config.narrowed(t)) for t in config.task_reading)


def agent_close_start(segments: Sequence[Segment]) -> int:
    """Where the agent's close begins: the position after the last segment of the customer or of the
    platform (a disconnect, a transfer), or ``len(segments)`` when the contact ends on one of them or
    the customer never speaks (then nothing is the agent's close)."""
    if not any(s.speaker == "customer" for s in segments):
        return len(segments)
    return 1 + max(i for i, s in enumerate(segments) if s.speaker != "agent")


def narrow_views(
    selected: Sequence[Segment],
    config: ModelConfig,
    salience: Sequence[float] | None = None,
    *,
    whole: Sequence[Segment] | None = None,
) -> dict[str, tuple[int, ...]]:
    """For each task with a narrower reading, the positions among the ``selected`` segments it reads.

    A task in ``ModelConfig.ignore_agent_close`` reads the segments before the agent's close (given a
    view only when the contact has one), found among all the contact's segments (``whole``; by
    default the selected ones), since the selection may drop the platform event that ends it. A task in
    ``ModelConfig.task_reading`` reads a selection among those by the same rule (and their salience,
    when the model selects by salience) within its budget."""
    close = len(selected)
    if config.ignore_agent_close:
        whole = selected if whole is None else whole
        start = agent_close_start(whole)
        if start < len(whole):  # the close begins at a turn of its own: count the selected before it
            close = sum(1 for s in selected if s.turn < whole[start].turn)
    views: dict[str, tuple[int, ...]] = {}
    for task in sorted(set(config.task_reading) | set(config.ignore_agent_close)):
        end = close if task in config.ignore_agent_close else len(selected)
        if task in config.task_reading:
            scores = None if salience is None else salience[:end]
            views[task] = tuple(select_segments(selected[:end], config.narrowed(task), scores))
        elif end < len(selected):
            views[task] = tuple(range(end))
    return views


def select_segments(
    segments: Sequence[Segment], config: ModelConfig, salience: Sequence[float] | None = None
) -> list[int]:
    """Indices (in order) of the segments to encode, within ``max_turns`` and ``token_budget``.

    Without ``salience`` the choice is by position only. With it (one score per segment, see
    :mod:`dispo.model.salience`), fewer positional anchors are kept and the rest of the budget goes to
    the most salient segments, wherever they are."""
    n = len(segments)
    if not over_budget(segments, config):
        return list(range(n))
    customer = [i for i, s in enumerate(segments) if s.speaker == "customer"]
    first, last = (FIRST_CUSTOMER_SEGMENTS, LAST_SEGMENTS) if salience is None else SALIENT_ANCHORS
    priority: list[int] = []
    priority += customer[:first]
    priority += list(range(max(0, n - last), n))[::-1]
    if config.closing_customer_segments:
        priority += customer[-config.closing_customer_segments :][::-1]
    if salience is not None:
        if len(salience) != n:
            raise ValueError(f"select_segments: {len(salience)} salience scores for {n} segments")
        priority += sorted(range(n), key=lambda i: (-salience[i], i))
    more_customer = iter(customer[first:])
    from_end = iter(range(n - last - 1, -1, -1))
    for pair in zip(more_customer, from_end, strict=False):
        priority.extend(pair)
    priority += customer[first:] + list(range(n))
    chosen: set[int] = set()
    used = 0
    for index in priority:
        if index in chosen:
            continue
        cost = segments[index].est_tokens
        if used + cost > config.token_budget or len(chosen) >= config.max_turns:
            continue
        chosen.add(index)
        used += cost
        if len(chosen) >= config.max_turns:
            break
    return sorted(chosen)


@dataclass(frozen=True)
class PreparedContact:
    """The selected segments of one contact, ready to tokenize, and every segment of it
    (``transcript``: what a whole-transcript reader such as the blended baseline reads), and the
    narrower selections of tasks that read fewer segments (``views``)."""

    segments: tuple[Segment, ...]
    n_segments_total: int
    transcript: tuple[Segment, ...] = ()
    # task -> positions in ``segments`` that a task with a narrower reading reads
    views: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def positions_from_start(self) -> list[int]:
        return list(range(len(self.segments)))


class Featurizer:
    """Turns contacts into :class:`TurnBatch` objects for a tokenizer and a model config.

    ``salience`` (a fitted :class:`~dispo.model.salience.SegmentSalience`) guides the selection of
    over-budget contacts; without it the selection is by position."""

    def __init__(self, tokenizer: object, config: ModelConfig, salience: SegmentSalience | None = None) -> None:
        self.tokenizer = tokenizer
        self.config = config
        self.salience = salience

    def score(self, segments: Sequence[Segment]) -> list[float] | None:
        """Salience of each segment, or ``None`` without a scorer."""
        if self.salience is None:
            return None
        return self.salience.score([segment_text(s.speaker, s.text) for s in segments]).tolist()

    def prepare(self, contact: Contact | Sequence[Turn]) -> PreparedContact:
        return self.prepare_many([contact])[0]

    def prepare_many(self, contacts: Sequence[Contact | Sequence[Turn]]) -> list[PreparedContact]:
        """Segment and select many contacts; the over-budget ones are scored in one call (the
        scorer's cost is mostly per call: 0.4 ms a contact batched, 2 ms one by one)."""
        segmented = [
            contact_segments(c.turns if isinstance(c, Contact) else c, self.config.max_turn_tokens) for c in contacts
        ]
        scored = [i for i, segments in enumerate(segmented) if needs_salience(segments, self.config)]
        scores: dict[int, list[float]] = {}
        flat = self.score([s for i in scored for s in segmented[i]]) if scored else None
        if flat is not None:
            cursor = 0
            for i in scored:
                scores[i] = flat[cursor : cursor + len(segmented[i])]
                cursor += len(segmented[i])
        prepared = []
        for i, segments in enumerate(segmented):
            salience = scores.get(i)
            keep = select_segments(segments, self.config, salience)
            selected = tuple(segments[j] for j in keep)
            kept = None if salience is None else [salience[j] for j in keep]
            views = narrow_views(selected, self.config, kept, whole=segments)
            prepared.append(PreparedContact(selected, len(segments), tuple(segments), views))
        return prepared

    def tokenize(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        encoded = self.tokenizer(  # type: ignore[operator]
            list(texts),
            truncation=True,
            max_length=self.config.max_turn_tokens,
            padding=True,
            return_tensors="pt",
        )
        return encoded["input_ids"], encoded["attention_mask"]

    def batch(self, prepared: Sequence[PreparedContact]) -> TurnBatch:
        texts: list[str] = []
        rows: list[list[int]] = []
        speakers: list[list[int]] = []
        for item in prepared:
            segments = item.segments or (Segment(0, "customer", "", 2),)
            rows.append(list(range(len(texts), len(texts) + len(segments))))
            texts.extend(s.text for s in segments)
            speakers.append([SPEAKER_IDS[s.speaker] for s in segments])
        input_ids, attention_mask = self.tokenize(texts)
        return assemble_batch(input_ids, attention_mask, rows, speakers, [item.views for item in prepared])


def assemble_batch(
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    rows: list[list[int]],
    speakers: list[list[int]],
    views: Sequence[Mapping[str, Sequence[int]]] = (),
) -> TurnBatch:
    """Build the contact -> turn map. ``rows[b]`` lists the flattened turn indices of contact b;
    ``views[b]``, when given, the positions in it that each narrower-reading task reads (a task a
    contact has no view for reads all of that contact's turns)."""
    width = max(len(r) for r in rows)
    size = (len(rows), width)
    turn_index = torch.zeros(size, dtype=torch.long)
    turn_mask = torch.zeros(size, dtype=torch.bool)
    speaker = torch.zeros(size, dtype=torch.long)
    pos_start = torch.zeros(size, dtype=torch.long)
    pos_end = torch.zeros(size, dtype=torch.long)
    for b, (row, row_speakers) in enumerate(zip(rows, speakers, strict=True)):
        n = len(row)
        turn_index[b, :n] = torch.tensor(row)
        turn_mask[b, :n] = True
        speaker[b, :n] = torch.tensor(row_speakers)
        pos_start[b, :n] = torch.arange(n)
        pos_end[b, :n] = torch.arange(n - 1, -1, -1)
    task_masks: dict[str, torch.Tensor] = {}
    for task in sorted({task for view in views for task in view}):
        mask = turn_mask.clone()
        for b, view in enumerate(views):
            if view.get(task):
                mask[b] = False
                mask[b, list(view[task])] = True
        task_masks[task] = mask
    return TurnBatch(input_ids, attention_mask, turn_index, turn_mask, speaker, pos_start, pos_end, task_masks)


class LabelEncoder:
    """Ordered label ids per task, from a taxonomy. Missing labels become ignore markers."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.labels: dict[str, tuple[str, ...]] = {
            "reason": taxonomy.reason_names,
            "outcome": taxonomy.outcome_names,
            "sentiment": taxonomy.sentiments,
        }
        self.index = {task: {name: i for i, name in enumerate(names)} for task, names in self.labels.items()}

    def encode(self, contacts: Sequence[Contact], source: str = "labels") -> dict[str, torch.Tensor]:
        targets: dict[str, list[int]] = {task: [] for task in TASKS}
        for contact in contacts:
            labels = getattr(contact, source)
            for task in ("reason", "outcome", "sentiment"):
                value = getattr(labels, task) if labels is not None else None
                targets[task].append(self.index[task][value] if value is not None else IGNORE_INDEX)
            upsell = labels.upsell if labels is not None else None
            targets["upsell"].append(-1 if upsell is None else int(upsell))
        return {task: torch.tensor(values, dtype=torch.long) for task, values in targets.items()}

    def decode(self, task: str, index: int) -> str:
        return self.labels[task][index]
