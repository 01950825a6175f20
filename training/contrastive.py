"""Few-shot mode: contrastive sentence-pair training of the turn encoder before the heads.

With ten examples per reason a classifier head has too little to learn from, but the pairs
of those examples are many: (same reason -> similar, different reason -> dissimilar). As in
SetFit (Tunstall et al. 2022), the encoder is first tuned so that cosine similarity between
two contacts' customer text follows that, then the heads are trained on top. The pair
generator is seeded; each round gives every example one positive and one negative partner.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from tqdm import tqdm

from dispo.contact import Contact
from dispo.features import Featurizer
from dispo.model import DispoModel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PairStats:
    pairs: int
    steps: int
    final_loss: float


def contrastive_text(featurizer: Featurizer, contact: Contact) -> str:
    """The customer's words of the selected segments (the reason lives there), else all text."""
    prepared = featurizer.prepare(contact)
    customer = [s.text for s in prepared.segments if s.speaker == "customer"]
    return " ".join(customer or [s.text for s in prepared.segments])


def make_pairs(labels: Sequence[str], rounds: int, seed: int) -> list[tuple[int, int, float]]:
    rng = random.Random(seed)
    by_label: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        by_label.setdefault(label, []).append(index)
    names = sorted(by_label)
    pairs: list[tuple[int, int, float]] = []
    for _ in range(rounds):
        for index, label in enumerate(labels):
            same = by_label[label]
            if len(same) > 1:
                partner = rng.choice([j for j in same if j != index])
                pairs.append((index, partner, 1.0))
            if len(names) > 1:
                other = rng.choice([n for n in names if n != label])
                pairs.append((index, rng.choice(by_label[other]), 0.0))
    rng.shuffle(pairs)
    return pairs


def contrastive_pretrain(
    model: DispoModel,
    featurizer: Featurizer,
    contacts: Sequence[Contact],
    rounds: int,
    learning_rate: float,
    batch_size: int,
    seed: int,
    device: torch.device,
) -> PairStats:
    """Tune ``model.encoder`` so cosine similarity of mean-pooled customer text tracks same-reason."""
    examples = [(contrastive_text(featurizer, c), c.labels.reason) for c in contacts if c.labels and c.labels.reason]
    if len({label for _, label in examples}) < 2:
        logger.warning("contrastive stage skipped: needs at least two reasons with labels")
        return PairStats(0, 0, float("nan"))
    texts = [text for text, _ in examples]
    pairs = make_pairs([label for _, label in examples], rounds, seed)
    trainable = [p for p in model.encoder.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=learning_rate)
    model.train()
    loss_fn = nn.MSELoss()
    steps = 0
    loss_value = float("nan")
    bar = tqdm(range(0, len(pairs), batch_size), desc="contrastive pairs", unit="step")
    for start in bar:
        chunk = pairs[start : start + batch_size]
        ids, mask = featurizer.tokenize([texts[a] for a, _, _ in chunk] + [texts[b] for _, b, _ in chunk])
        vectors = model.encode_turns(ids.to(device), mask.to(device))
        left, right = vectors[: len(chunk)], vectors[len(chunk) :]
        similarity = nn.functional.cosine_similarity(left, right)
        target = torch.tensor([label for _, _, label in chunk], device=device)
        loss = loss_fn(similarity, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        steps += 1
        loss_value = loss.item()
        bar.set_postfix(loss=f"{loss_value:.4f}")
    logger.info("contrastive stage: %d pairs, %d steps, final loss %.4f", len(pairs), steps, loss_value)
    return PairStats(len(pairs), steps, loss_value)
