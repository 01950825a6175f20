#!/usr/bin/env bash
# The transformer's row of bench/label_noise.py at one agent-code error rate: the dispo model
# fine-tuned on gold labels, on the agents' codes as they are, and on the codes with confident-
# learning pruning, on the codes replaced by forward loss correction's posteriors, and on those with the
# flagged codes the correction kept dropped (correct-prune, not run by default), and on the codes
# as given through cleanlab's noise matrix (forward loss correction, not run by default), and on the
# corrected codes with each one's posterior as the target (correct-soft, not run by default), and on the
# corrected codes relabelled after epoch 1 by the posterior and the fine-tune's own reading together
# (correct-refine, not run by default); each scored on
# the built held-out split and the realistic test half. A method already evaluated is kept (delete
# DIR/realistic-METHOD to train it again); the results file gathers every method under DIR, with its
# gap to gold and a paired bootstrap interval (bench/label_noise_transformer_report.py).
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
  if [[ -f "${work}/realistic-${method}/report.json" ]]; then  # trained and evaluated: kept
    continue
  fi
  case "${method}" in
    gold) labels=(--labels labels) ;;
    naive) labels=(--labels agent) ;;
    prune) labels=(--labels agent --label-noise prune) ;;
    correct) labels=(--labels agent --label-noise correct) ;;
    correct-prune) labels=(--labels agent --label-noise correct-prune) ;;
    forward) labels=(--labels agent --label-noise forward) ;;
    correct-soft) labels=(--labels agent --label-noise correct-soft) ;;
    correct-refine) labels=(--labels agent --label-noise correct-refine) ;;
  esac
  dispo train --data "${work}/train.jsonl" "${labels[@]}" --name "noise-${method}" --models-dir "${models}" \
    --epochs "${epochs}" --freeze-layers 5 --token-budget 320 --max-turns 12 --eval "${work}/held_out.jsonl"
  dispo evaluate "noise-${method}" --models-dir "${models}" --data data/eval/realistic/test.jsonl \
    -o "${work}/realistic-${method}" --no-pictures
done
python bench/label_noise_transformer_report.py "${work}" "${rate}"
