#!/usr/bin/env bash
# The transformer's row of bench/label_noise.py at one agent-code error rate: the dispo model
# fine-tuned on gold labels, on the agents' codes as they are, and on the codes with confident-
# learning pruning, and on the codes replaced by forward loss correction's posteriors; each scored on
# the built held-out split and the realistic test half. Methods already trained keep their bundle, so
# one method can be (re)run alone; the results file gathers every method trained under DIR.
# The model reads as the shipped default does (320-token budget, 5 of 6 encoder layers frozen, their
# output cached), which keeps each run to minutes on 2 cores.
#   bash bench/label_noise_transformer.sh [RATE] [EPOCHS] [METHODS]   # e.g. 0.2 2 "correct"
set -euo pipefail
rate="${1:-0.2}"
epochs="${2:-2}"
methods="${3:-gold naive prune correct}"
work="data/work/label-noise-${rate}"
models="${work}/models"
if [[ ! -f "${work}/train.jsonl" ]]; then  # the export is deterministic (seed 7): written once
  python bench/label_noise.py --rates "${rate}" --export "${work}"
fi
for method in ${methods}; do
  case "${method}" in
    gold) labels=(--labels labels) ;;
    naive) labels=(--labels agent) ;;
    prune) labels=(--labels agent --label-noise prune) ;;
    correct) labels=(--labels agent --label-noise correct) ;;
  esac
  dispo train --data "${work}/train.jsonl" "${labels[@]}" --name "noise-${method}" --models-dir "${models}" \
    --epochs "${epochs}" --freeze-layers 5 --token-budget 320 --max-turns 12 --eval "${work}/held_out.jsonl"
  dispo evaluate "noise-${method}" --models-dir "${models}" --data data/eval/realistic/test.jsonl \
    -o "${work}/realistic-${method}" --no-pictures
done
python - "${work}" "${rate}" <<'PY'
import json, sys
from pathlib import Path
work, rate = Path(sys.argv[1]), float(sys.argv[2])
rows = {}
for method in ("gold", "naive", "prune", "correct"):
    if not (work / f"realistic-{method}" / "report.json").is_file():
        continue
    bundle = sorted((work / "models" / f"noise-{method}").glob("v*"))[-1]
    held = json.loads((bundle / "report" / "report.json").read_text())["model"]
    real = json.loads((work / f"realistic-{method}" / "report.json").read_text())["model"]
    data = json.loads((bundle / "data.json").read_text())
    seconds = json.loads((bundle / "metrics.json").read_text())["training"]["seconds"]
    rows[method] = {
        "built_held_out": {"reason_accuracy": held["reason"]["accuracy"], "outcome_macro_f1": held["outcome"]["macro_f1"]},
        "realistic_test": {"reason_accuracy": real["reason"]["accuracy"], "outcome_macro_f1": real["outcome"]["macro_f1"]},
        "training_seconds": seconds,
        "label_noise": data.get("label_noise") and {k: data["label_noise"].get(k) for k in ("method", "judged", "flagged", "corrected", "judging_seconds", "seconds")},
    }
out = Path("bench/results/label_noise_transformer.json")
out.write_text(json.dumps({"agent_error_rate": rate, "learner": "dispo transformer (5 frozen layers, 320-token budget)", "methods": rows}, indent=2) + "\n")
print(json.dumps(rows, indent=2))
PY
