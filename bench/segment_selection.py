"""Benchmark: does the segment selection keep the evidence of long contacts?

The transformer reads at most ``token_budget`` tokens of a contact. This script asks what a
bag-of-words reader (the TF-IDF + logistic-regression baseline) can still learn from the
segments a selection keeps, compared with reading the whole transcript: a selection that drops
the deciding segments shows up as lost F1 whatever model reads it. It compares position-only
selection with learned salience (:mod:`dispo.model.salience`, fitted on the training split only) at
the default model's budget, and times the scoring.

    python bench/segment_selection.py --contacts 10000 --seed 7 \\
        --utterances ../shared/data/bitext_cs_20k/bitext_cs_20k.csv \\
        --out bench/results/segment_selection.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score

from dispo.cli import configure_logging
from dispo.contact import Contact
from dispo.model.baseline import BaselineModel
from dispo.model.features import contact_segments, select_segments
from dispo.model.modeling import TASKS, ModelConfig
from dispo.model.salience import SegmentSalience, segment_text
from training.corpus import CorpusBuilder, CorpusConfig

logger = logging.getLogger("bench.segment_selection")


def labels_of(contacts: Sequence[Contact]) -> dict[str, list[Any]]:
    return {task: [getattr(c.labels, task) if c.labels else None for c in contacts] for task in TASKS}


def baseline_scores(train: list[str], test: list[str], y_train: dict[str, list[Any]], y_test: dict[str, list[Any]]):
    model = BaselineModel().fit(train, y_train)
    out = {}
    for task in model.tasks_:
        predicted = model.predict(task, test)
        average = "binary" if task == "upsell" else "macro"
        out[task] = round(float(f1_score(y_test[task], predicted, average=average)), 4)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--utterances", default=None, help="real Bitext CSV for customer openings")
    parser.add_argument("--max-turn-tokens", type=int, default=32)
    parser.add_argument("--max-turns", type=int, default=8)
    parser.add_argument("--token-budget", type=int, default=160)
    parser.add_argument("--out", type=Path, default=Path("bench/results/segment_selection.json"))
    args = parser.parse_args()
    configure_logging("INFO")

    built = CorpusBuilder(CorpusConfig(args.contacts, seed=args.seed, utterances_path=args.utterances)).build()
    contacts = [b.contact for b in built]
    random.Random(args.seed).shuffle(contacts)
    cut = int(0.8 * len(contacts))
    train, test = contacts[:cut], contacts[cut:]
    config = ModelConfig(max_turn_tokens=args.max_turn_tokens, max_turns=args.max_turns, token_budget=args.token_budget)
    segmented = {id(c): contact_segments(c.turns, config.max_turn_tokens) for c in contacts}

    started = time.perf_counter()
    salience = SegmentSalience().fit(
        [[segment_text(s.speaker, s.text) for s in segmented[id(c)]] for c in train], labels_of(train)
    )
    fit_seconds = time.perf_counter() - started

    scoring_seconds = 0.0

    def selected_text(contact: Contact, scored: bool) -> str:
        nonlocal scoring_seconds
        segments = segmented[id(contact)]
        scores = None
        if scored:
            t0 = time.perf_counter()
            scores = salience.score([segment_text(s.speaker, s.text) for s in segments]).tolist()
            scoring_seconds += time.perf_counter() - t0
        keep = select_segments(segments, config, scores)
        return "\n".join(segment_text(segments[i].speaker, segments[i].text) for i in keep)

    readers: dict[str, Callable[[Contact], str]] = {
        "whole_transcript": lambda c: "\n".join(segment_text(t.speaker, t.text) for t in c.turns),
        "position_selection": lambda c: selected_text(c, scored=False),
        "salience_selection": lambda c: selected_text(c, scored=True),
    }
    y_train, y_test = labels_of(train), labels_of(test)
    over_budget = sum(1 for c in test if len(select_segments(segmented[id(c)], config)) < len(segmented[id(c)]))
    results: dict[str, Any] = {}
    for name, reader in readers.items():
        results[name] = baseline_scores([reader(c) for c in train], [reader(c) for c in test], y_train, y_test)
        logger.info("%s: %s", name, results[name])
    tokens = [sum(s.est_tokens for s in segmented[id(c)]) for c in test]
    record = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "contacts": args.contacts,
        "seed": args.seed,
        "utterances": args.utterances,
        "budget": {
            "max_turn_tokens": config.max_turn_tokens,
            "max_turns": config.max_turns,
            "token_budget": config.token_budget,
        },
        "test_contacts": len(test),
        "test_contacts_over_budget": over_budget,
        "test_tokens_median": float(np.median(tokens)),
        "test_tokens_p90": float(np.percentile(tokens, 90)),
        "metric": "macro-F1 (upsell: F1 of the positive class) of TF-IDF+LR reading the selected text",
        "results": results,
        "salience_fit_seconds": round(fit_seconds, 1),
        "salience_ms_per_contact": round(1000 * scoring_seconds / (len(train) + len(test)), 3),
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    logger.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
