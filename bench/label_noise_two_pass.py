"""Two readers for the agent codes: a second fine-tune on codes that the first one helped correct.

Issue 16, session 26. ``--label-noise correct`` replaces each agent code by its posterior true label
under a TF-IDF reader; on today's 20% export it leaves about 400 of 8,000 reason codes wrong, the
ones that reader is sure of. A transformer fine-tuned on the corrected codes reads many of them
differently. This script measures whether that second reader's view makes better training codes,
and writes them for a second fine-tune:

1. it recomputes the correction of ``DIR/train.jsonl`` with the first run's seed (the same
   out-of-fold folds, hence the same posteriors as the run);
2. it reads every training contact with the first run's transformer (``DIR/models/noise-correct-seedS``:
   its heads alone, no baseline blend);
3. each agent code becomes ``argmax_j log P(j | text, code) + log P_model(j | text)``, the two readers
   weighed as experts (``training.noise_correction.refine_labels``, the rule ``--label-noise correct-refine``
   applies after epoch 1);
4. it writes ``DIR/train-twopass-seedS.jsonl`` with those codes as the agents', and counts, against the
   file's gold labels, the codes left wrong before and after, and how many the second reader fixed
   and broke, split by whether the first run trained on the contact or held it for validation.

Then a second fine-tune from scratch, with the first run's options, reads the codes as given:

    python bench/label_noise_two_pass.py data/work/label-noise-0.2-today --seed 43
    dispo train --data data/work/label-noise-0.2-today/train-twopass-seed43.jsonl --labels agent --seed 43 \
        --name noise-twopass-seed43 --models-dir data/work/label-noise-0.2-today/models --epochs 2 \
        --freeze-layers 5 --token-budget 320 --max-turns 12 --eval data/work/label-noise-0.2-today/held_out.jsonl

and ``python bench/label_noise_transformer_report.py DIR 0.2 --results ...`` scores it beside the other
methods (``twopass-seedS``).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from dispo.cli import configure_logging
from dispo.io import read_contacts
from dispo.model.predictor import Predictor
from dispo.redact import default_redactor
from training.labelsources import resolve_labels
from training.noise import NOISE_TASKS, OutOfFold, correct
from training.noise_correction import refine_labels
from training.trainer import split_validation

logger = logging.getLogger("bench.label_noise_two_pass")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("work", type=Path, help="the export: train.jsonl, and models/noise-correct-seedS")
    parser.add_argument("--seed", type=int, required=True, help="the first run's --seed")
    parser.add_argument("--first", default=None, help="the first run's model name (default noise-correct-seedS)")
    parser.add_argument("--max-features", type=int, default=200_000, help="the run's baseline_max_features")
    parser.add_argument("--validation-fraction", type=float, default=0.1, help="the run's validation_fraction")
    parser.add_argument("--results", type=Path, default=None, help="default bench/results/label_noise_two_pass.json")
    args = parser.parse_args()
    configure_logging("INFO")
    first = args.first or f"noise-correct-seed{args.seed}"
    redactor = default_redactor()
    contacts = [redactor.redact_contact(c) for c in read_contacts(args.work / "train.jsonl") if c.turns]
    gold = {c.contact_id: c.labels for c in contacts}
    agent = resolve_labels(contacts, priority=["agent"])
    started = time.perf_counter()
    corrected, _, posteriors = correct(
        agent.contacts, agent.sources, reader=OutOfFold(5, args.seed, args.max_features)
    )  # fmt: skip
    _, validation = split_validation(corrected, args.validation_fraction, args.seed)
    held = {c.contact_id for c in validation}
    predictor = Predictor.load(args.work / "models" / first / "v1")
    predictor.blend = None  # the transformer's own reading
    logits = {c.contact_id: raw["logits"] for c, raw in zip(corrected, predictor.logits(corrected), strict=True)}
    seconds = time.perf_counter() - started
    codes: dict[str, dict[str, str]] = {}
    record: dict[str, Any] = {"work": str(args.work), "seed": args.seed, "first": first, "seconds": round(seconds, 1)}
    for task in NOISE_TASKS:
        labels = list(predictor.labels[task])
        classes, rows = posteriors[task]
        ids = list(rows)
        prior = np.zeros((len(ids), len(labels)))
        prior[:, [labels.index(c) for c in classes]] = np.array([rows[k] for k in ids])
        refined = refine_labels(prior, np.array([logits[k][task] for k in ids]))
        truth = np.array([labels.index(str(getattr(gold[k], task))) for k in ids])
        given = np.array([labels.index(str(getattr(c.labels, task))) for c in agent.contacts if c.contact_id in rows])
        before = prior.argmax(axis=1)
        for k, j in zip(ids, refined, strict=True):
            codes.setdefault(k, {})[task] = labels[int(j)]
        changed = refined != before
        counts: dict[str, Any] = {
            "codes": len(ids),
            "wrong_as_given": int((given != truth).sum()),
            "wrong_corrected": int((before != truth).sum()),
            "wrong_two_readers": int((refined != truth).sum()),
            "changed": int(changed.sum()),
            "fixed": int((changed & (refined == truth)).sum()),
            "broken": int((changed & (before == truth)).sum()),
        }
        for part, keep in (("trained_on", [k not in held for k in ids]), ("validation", [k in held for k in ids])):
            mask = np.array(keep)
            counts[part] = {"codes": int(mask.sum()), "wrong_corrected": int((before != truth)[mask].sum()),
                            "wrong_two_readers": int((refined != truth)[mask].sum())}  # fmt: skip
        record[task] = counts
        logger.info("%s: %s", task, counts)
    out = args.work / f"train-twopass-seed{args.seed}.jsonl"
    with (args.work / "train.jsonl").open(encoding="utf-8") as lines, out.open("w", encoding="utf-8") as written:
        for line in lines:
            row = json.loads(line)
            row["agent_labels"] = {**(row.get("agent_labels") or {}), **codes.get(row["contact_id"], {})}
            written.write(json.dumps(row) + "\n")
    record["written"] = str(out)
    results = args.results or Path("bench/results/label_noise_two_pass.json")
    merged = json.loads(results.read_text(encoding="utf-8")) if results.is_file() else {}
    merged[f"seed{args.seed}"] = record
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(merged, indent=2) + "\n", encoding="utf-8")
    logger.info("wrote %s and %s", out, results)


if __name__ == "__main__":
    main()
