"""Few-shot mode: supervised contrastive tuning of the turn encoder before the heads.

With ten examples per reason a classifier head has too little to learn from, but the pairs
of those examples are many. As in SetFit (Tunstall et al. 2022) the encoder is first tuned so
that contacts with the same reason lie close together, then the heads are fitted on top.

The loss is the supervised contrastive loss (Khosla et al. 2020): in a batch, every contact
is pulled towards the others with its reason and pushed from the rest, at a temperature.
Batches are class-balanced (a few contacts from each of several reasons), so every anchor has
positives. Measured on BANKING77 10-shot with all-MiniLM-L6-v2 and logistic heads: 85.0-85.4%
test accuracy after 2-6 epochs against 84.2% for the untuned encoder, where SetFit's cosine
pair loss (one positive and one negative partner per example, 20 rounds) lowered it to 77-79%.
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
from dispo.model.features import Featurizer
from dispo.model.modeling import DispoModel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ContrastiveStats:
    examples: int
    steps: int
    final_loss: float


def contrastive_text(featurizer: Featurizer, contact: Contact) -> str:
    """The customer's words of the selected segments (the reason lives there), else all text."""
    prepared = featurizer.prepare(contact)
    customer = [s.text for s in prepared.segments if s.speaker == "customer"]
    return " ".join(customer or [s.text for s in prepared.segments])


def class_balanced_batches(
    labels: Sequence[str], batch_size: int, per_class: int, rng: random.Random
) -> list[list[int]]:
    """One epoch of batches made of groups of up to ``per_class`` indices sharing a label.

    Every index appears exactly once; groups are shuffled, then packed into batches."""
    by_label: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        by_label.setdefault(label, []).append(index)
    groups: list[list[int]] = []
    for label in sorted(by_label):
        members = by_label[label][:]
        rng.shuffle(members)
        groups.extend(members[i : i + per_class] for i in range(0, len(members), per_class))
    rng.shuffle(groups)
    batches: list[list[int]] = []
    current: list[int] = []
    for group in groups:
        current.extend(group)
        if len(current) >= batch_size:
            batches.append(current)
            current = []
    if current:
        batches.append(current)
    return batches


def supervised_contrastive_loss(vectors: torch.Tensor, labels: torch.Tensor, temperature: float) -> torch.Tensor:
    """Mean over anchors with at least one positive of -mean log p(positive | anchor)."""
    z = nn.functional.normalize(vectors, dim=-1)
    n = z.shape[0]
    self_mask = torch.eye(n, dtype=torch.bool, device=z.device)
    similarity = (z @ z.T / temperature).masked_fill(self_mask, torch.finfo(z.dtype).min)
    log_prob = similarity - torch.logsumexp(similarity, dim=1, keepdim=True)
    positives = (labels[:, None] == labels[None, :]) & ~self_mask
    anchors = positives.any(dim=1)
    if not bool(anchors.any()):
        return vectors.sum() * 0.0
    per_anchor = log_prob.masked_fill(~positives, 0.0).sum(dim=1)[anchors] / positives.sum(dim=1)[anchors]
    return -per_anchor.mean()


def contrastive_pretrain(
    model: DispoModel,
    featurizer: Featurizer,
    contacts: Sequence[Contact],
    epochs: int,
    learning_rate: float,
    batch_size: int,
    temperature: float,
    seed: int,
    device: torch.device,
    per_class: int = 4,
) -> ContrastiveStats:
    """Tune ``model.encoder`` (all of it) so that mean-pooled customer text clusters by reason."""
    examples = [(contrastive_text(featurizer, c), c.labels.reason) for c in contacts if c.labels and c.labels.reason]
    names = sorted({label for _, label in examples})
    if len(names) < 2:
        logger.warning("contrastive stage skipped: needs at least two reasons with labels")
        return ContrastiveStats(len(examples), 0, float("nan"))
    texts = [text for text, _ in examples]
    label_ids = torch.tensor([names.index(label) for _, label in examples])
    rng = random.Random(seed)
    epoch_batches = [
        class_balanced_batches([label for _, label in examples], batch_size, per_class, rng) for _ in range(epochs)
    ]
    total = sum(len(b) for b in epoch_batches)
    trainable = [p for p in model.encoder.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=learning_rate, weight_decay=0.01)
    warmup = max(1, total // 10)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / warmup) * max(0.0, (total - step) / total)
    )
    model.train()
    steps = 0
    loss_value = float("nan")
    with tqdm(total=total, desc="contrastive", unit="step") as bar:
        for epoch, batches in enumerate(epoch_batches):
            for indices in batches:
                ids, mask = featurizer.tokenize([texts[i] for i in indices])
                vectors = model.encode_turns(ids.to(device), mask.to(device))
                loss = supervised_contrastive_loss(vectors, label_ids[indices].to(device), temperature)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(trainable, 1.0)
                optimizer.step()
                scheduler.step()
                steps += 1
                loss_value = loss.item()
                bar.update(1)
                bar.set_postfix(epoch=epoch + 1, loss=f"{loss_value:.4f}")
    logger.info("contrastive stage: %d examples, %d steps, final loss %.4f", len(examples), steps, loss_value)
    return ContrastiveStats(len(examples), steps, loss_value)
