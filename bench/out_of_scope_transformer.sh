#!/usr/bin/env bash
# Outlier exposure in the transformer (training.out_of_scope_weight), judged on the realistic dev half.
#
# The gold model of bench/label_noise_transformer.sh (8,000 built contacts with gold labels, 5 frozen
# layers, the 320-token budget, 2 epochs) against the same run with 3,000 CLINC150 training requests
# added (nearly all out of scope) at weight WEIGHT. Both are scored by bench/out_of_scope.py: reason
# accuracy and ECE on the realistic dev half, confidence on 1,000 out-of-scope test requests, and the
# AUROC of the confidence as an in-scope detector. Transformer alone (no blend): 25-35 min on 2 cores.
#
#   bash bench/out_of_scope_transformer.sh [WEIGHT]
set -euo pipefail
weight="${1:-1}"
work="data/work/label-noise-0.2"
models="${work}/models"
shared="${SHARED:-../shared/data}"
if [[ ! -f "${work}/train.jsonl" ]]; then  # the export is deterministic (seed 7): written once
  python bench/label_noise.py --rates 0.2 --export "${work}"
fi
clinc="$(python -c "from pathlib import Path; from training.default_model import convert_source; \
print(convert_source('clinc150', Path('${shared}/clinc150'), Path('data/work/default-model'), {}))")"
train=(--labels labels --epochs 2 --freeze-layers 5 --token-budget 320 --max-turns 12
       --eval "${work}/held_out.jsonl" --models-dir "${models}")
if [[ ! -d "${models}/noise-gold" ]]; then  # the gold model of bench/label_noise_transformer.sh
  dispo train --data "${work}/train.jsonl" "${train[@]}" --name noise-gold
fi
config="${work}/out-of-scope-${weight}.yaml"
cat > "${config}" <<YAML
data:
  train: ["${work}/train.jsonl", "${clinc}/train.jsonl"]
  sample_sizes: {"${clinc}/train.jsonl": 3000}
training:
  out_of_scope_weight: ${weight}
YAML
if [[ ! -d "${models}/out-of-scope-${weight}" ]]; then
  dispo train --data "${work}/train.jsonl" "${clinc}/train.jsonl" "${train[@]}" --config "${config}" \
    --name "out-of-scope-${weight}"
fi
for name in noise-gold "out-of-scope-${weight}"; do
  python bench/out_of_scope.py --model "${models}/${name}/v1" --shared "${shared}" --no-proxy \
    --results "bench/results/out_of_scope_transformer_${name}.json"
done
