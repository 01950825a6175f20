"""Benchmark: how far the base encoder gets on TweetEval sentiment with the data the project may use.

The shipped model reads TweetEval's test split at macro-F1 0.588 (target 0.65). The shared copy of
TweetEval has no training split: its 2,000 validation tweets are the only tweets to train on. This
script asks whether the target is within reach of the same encoder trained *for tweets alone*, with
none of the shipped model's constraints (32-token turns, 4 frozen layers, heads shared with
contacts): all-MiniLM-L6-v2 with every layer trained, mean pooling and a linear head, on

* ``tweets``: 1,500 of the validation tweets (stratified, seed 0), 3 epochs;
* ``tweets+goemotions``: the same tweets and the recipe's 16,000 GoEmotions comments, 1 epoch;
* ``tweets, 1 epoch``: ``tweets`` with the one pass over the tweets that ``tweets+goemotions`` makes;
* ``tweets x3+goemotions``: one pass over the comments and three over the tweets (as ``tweets``);
* ``tweets, 4 layers frozen`` and ``tweets, 32 tokens``: ``tweets`` under one of the shipped model's
  constraints each (its lower 4 encoder layers frozen; its 32-token turns), to say which costs what.

Each is scored by macro-F1 on the other 500 validation tweets (``held_out_val``, never trained on)
and on the official test split (``test``, read once per run, never used to choose anything).

    python bench/tweet_sentiment_ceiling.py --shared ../shared/data
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from transformers import AutoModel, AutoTokenizer

from dispo.cli import configure_logging
from dispo.model.modeling import resolve_base_model
from training.sources import goemotions, tweeteval

logger = logging.getLogger("bench.tweet_sentiment_ceiling")
RESULTS = Path("bench/results/tweet_sentiment_ceiling.json")
LABELS = ("negative", "neutral", "positive")
MAX_TOKENS = 64
BATCH = 32
LEARNING_RATE = 5e-5
GOEMOTIONS_SAMPLE = 16_000  # as training/configs/default-model.yaml samples them


class TweetClassifier(torch.nn.Module):
    def __init__(self, base: str) -> None:
        super().__init__()
        self.encoder = AutoModel.from_pretrained(base)
        self.head = torch.nn.Linear(self.encoder.config.hidden_size, len(LABELS))

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        hidden = self.encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return self.head((hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0))


def fit(
    texts: Sequence[str], labels: Sequence[int], *, base: str, epochs: int, seed: int, frozen: int, max_tokens: int
) -> tuple[Any, Any]:
    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = TweetClassifier(base)
    for module in [model.encoder.embeddings, *model.encoder.encoder.layer[:frozen]] if frozen else []:
        module.requires_grad_(False)
    steps = epochs * -(-len(texts) // BATCH)
    trained = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=LEARNING_RATE, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: max(0.0, 1.0 - step / steps))
    order = list(range(len(texts)))
    rng = random.Random(seed)
    model.train()
    for epoch in range(epochs):
        rng.shuffle(order)
        for start in range(0, len(order), BATCH):
            picked = order[start : start + BATCH]
            batch = tokenizer([texts[i] for i in picked], truncation=True, max_length=max_tokens, padding=True,
                              return_tensors="pt")  # fmt: skip
            loss = torch.nn.functional.cross_entropy(model(dict(batch)), torch.tensor([labels[i] for i in picked]))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        logger.info("epoch %d of %d done (loss %.3f)", epoch + 1, epochs, float(loss.detach()))
    return model, tokenizer


@torch.inference_mode()
def macro_f1(model: Any, tokenizer: Any, texts: Sequence[str], labels: Sequence[int], *, max_tokens: int) -> float:
    model.eval()
    predicted: list[int] = []
    for start in range(0, len(texts), 128):
        batch = tokenizer(list(texts[start : start + 128]), truncation=True, max_length=max_tokens, padding=True,
                          return_tensors="pt")  # fmt: skip
        predicted.extend(model(dict(batch)).argmax(-1).tolist())
    return round(float(f1_score(labels, predicted, average="macro")), 4)


def texts_and_labels(contacts: Sequence[Any]) -> tuple[list[str], list[int]]:
    return [c.turns[0].text for c in contacts], [LABELS.index(c.labels.sentiment) for c in contacts]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--base-model", default="all-MiniLM-L6-v2")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--runs", nargs="+", default=None, help="run these only, merged into --results")
    args = parser.parse_args()
    configure_logging("INFO")
    torch.set_num_threads(os.cpu_count() or 1)
    base = resolve_base_model(args.base_model)
    tweets = tweeteval.load(args.shared / "tweeteval_sentiment", seed=args.seed, test_size=0.0)
    val_texts, val_labels = texts_and_labels(tweets.train)
    fit_texts, held_texts, fit_labels, held_labels = train_test_split(
        val_texts, val_labels, test_size=500, stratify=val_labels, random_state=args.seed
    )
    test_texts, test_labels = texts_and_labels(tweets.test)
    comments = goemotions.load(args.shared / "goemotions", seed=args.seed, test_size=0.0).train
    comments = random.Random(args.seed).sample(comments, min(GOEMOTIONS_SAMPLE, len(comments)))
    comment_texts, comment_labels = texts_and_labels(comments)
    runs = {  # name: texts, labels, epochs, frozen layers, tokens
        "tweets": (fit_texts, fit_labels, 3, 0, MAX_TOKENS),
        "tweets+goemotions": (fit_texts + comment_texts, fit_labels + comment_labels, 1, 0, MAX_TOKENS),
        "tweets, 1 epoch": (fit_texts, fit_labels, 1, 0, MAX_TOKENS),  # the mix's one pass over the tweets
        "tweets x3+goemotions": (fit_texts * 3 + comment_texts, fit_labels * 3 + comment_labels, 1, 0, MAX_TOKENS),
        "tweets, 4 layers frozen": (fit_texts, fit_labels, 3, 4, MAX_TOKENS),
        "tweets, 32 tokens": (fit_texts, fit_labels, 3, 0, 32),
    }
    if args.runs:
        runs = {name: runs[name] for name in args.runs}
    record: dict[str, Any] = {
        "encoder": args.base_model, "batch": BATCH,
        "learning_rate": LEARNING_RATE, "seed": args.seed, "threads": torch.get_num_threads(),
        "held_out_val": len(held_texts), "test": len(test_texts), "runs": {},
    }  # fmt: skip
    if args.runs and args.results.is_file():  # a subset is merged into the record it belongs to
        record["runs"] = json.loads(args.results.read_text(encoding="utf-8"))["runs"]
    for name, (texts, labels, epochs, frozen, tokens) in runs.items():
        started = time.perf_counter()
        model, tokenizer = fit(
            texts, labels, base=base, epochs=epochs, seed=args.seed, frozen=frozen, max_tokens=tokens
        )
        seconds = time.perf_counter() - started
        record["runs"][name] = {
            "train_texts": len(texts), "epochs": epochs, "frozen_layers": frozen, "max_tokens": tokens,
            "train_seconds": round(seconds, 1),
            "held_out_val_macro_f1": macro_f1(model, tokenizer, held_texts, held_labels, max_tokens=tokens),
            "test_macro_f1": macro_f1(model, tokenizer, test_texts, test_labels, max_tokens=tokens),
        }  # fmt: skip
        logger.info("%s: %s", name, record["runs"][name])
    args.results.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    logger.info("wrote %s", args.results)


if __name__ == "__main__":
    main()
