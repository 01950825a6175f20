"""From contacts to model inputs: segmenting turns, choosing segments within a token budget,
tokenizing, and encoding labels.

A turn longer than ``max_turn_tokens`` (an email, a long explanation on a call) is split into
several segments of the same speaker rather than cut, so nothing is silently dropped inside a
turn. When a contact has more segments than the budget allows, the selection keeps what
decides the labels: the customer's first segments (the reason usually comes early, but not
always in the first turn), the last segments (outcome, final sentiment), then more customer
segments from the start and more segments from the end, alternating, until the budget is
spent. The choice is deterministic and keeps the original order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from dispo.contact import Contact, Turn
from dispo.model import IGNORE_INDEX, SPEAKER_IDS, TASKS, ModelConfig, TurnBatch
from dispo.taxonomy import Taxonomy

# Rough tokens per whitespace word for English WordPiece text; only used to plan segments
# before tokenizing, so the estimate needs to be close, not exact.
TOKENS_PER_WORD = 1.35
FIRST_CUSTOMER_SEGMENTS = 3
LAST_SEGMENTS = 3


@dataclass(frozen=True)
class Segment:
    turn: int  # index of the turn in the contact
    speaker: str
    text: str
    est_tokens: int


def segment_turn(turn_index: int, turn: Turn, max_turn_tokens: int) -> list[Segment]:
    words = turn.text.split()
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


def select_segments(segments: Sequence[Segment], config: ModelConfig) -> list[int]:
    """Indices (in order) of the segments to encode, within ``max_turns`` and ``token_budget``."""
    n = len(segments)
    if n <= config.max_turns and sum(s.est_tokens for s in segments) <= config.token_budget:
        return list(range(n))
    customer = [i for i, s in enumerate(segments) if s.speaker == "customer"]
    priority: list[int] = []
    priority += customer[:FIRST_CUSTOMER_SEGMENTS]
    priority += list(range(max(0, n - LAST_SEGMENTS), n))[::-1]
    more_customer = iter(customer[FIRST_CUSTOMER_SEGMENTS:])
    from_end = iter(range(n - LAST_SEGMENTS - 1, -1, -1))
    for pair in zip(more_customer, from_end, strict=False):
        priority.extend(pair)
    priority += customer[FIRST_CUSTOMER_SEGMENTS:] + list(range(n))
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
    """The selected segments of one contact, ready to tokenize."""

    segments: tuple[Segment, ...]
    n_segments_total: int

    @property
    def positions_from_start(self) -> list[int]:
        return list(range(len(self.segments)))


class Featurizer:
    """Turns contacts into :class:`TurnBatch` objects for a tokenizer and a model config."""

    def __init__(self, tokenizer: object, config: ModelConfig) -> None:
        self.tokenizer = tokenizer
        self.config = config

    def prepare(self, contact: Contact | Sequence[Turn]) -> PreparedContact:
        turns = contact.turns if isinstance(contact, Contact) else contact
        segments = contact_segments(turns, self.config.max_turn_tokens)
        keep = select_segments(segments, self.config)
        return PreparedContact(tuple(segments[i] for i in keep), len(segments))

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
        return assemble_batch(input_ids, attention_mask, rows, speakers)


def assemble_batch(
    input_ids: torch.Tensor, attention_mask: torch.Tensor, rows: list[list[int]], speakers: list[list[int]]
) -> TurnBatch:
    """Build the contact -> turn map. ``rows[b]`` lists the flattened turn indices of contact b."""
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
    return TurnBatch(input_ids, attention_mask, turn_index, turn_mask, speaker, pos_start, pos_end)


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
