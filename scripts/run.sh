#!/usr/bin/env bash
# Set everything up, then run the whole pipeline on this machine:
#   generate -> train -> export (ONNX + INT8, gated) -> release -> calibrate -> predict.
# Outputs under OUT (default out/): data/, train/, export/, release/ (the sqry-nl model folder)
# and release.reports/ (export and calibration reports, reliability diagrams). A finished stage is not redone: rerunning
# after an interruption resumes training from its last checkpoint and skips what is done.
# Extra arguments go to `hf-pipeline train` (e.g. --epochs 3, --mixed-precision bf16).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
OUT="${OUT:-out}"
hf=.venv/bin/hf-pipeline

if [ ! -f "$OUT/data/dataset.json" ]; then
  $hf generate --samples-per-intent 1000 --seed 1 --output "$OUT/data" \
    --verification-output "$OUT/data/verification.json"
fi
if [ ! -f "$OUT/train/eval_metrics.json" ]; then
  resume=(); [ -d "$OUT/train/checkpoints" ] && resume=(--resume)
  $hf train --data "$OUT/data" --output "$OUT/train" "${resume[@]}" "$@"
fi
if [ ! -f "$OUT/export/export_report.json" ] || ! grep -q '"passed": true' "$OUT/export/export_report.json"; then
  $hf export model --model "$OUT/train/final" --output "$OUT/export" --data "$OUT/data"
fi
if [ ! -f "$OUT/release/checksums.json" ]; then
  # Local data has no Hub repo: record the dataset file's hash as its revision.
  data_sha=$(sha256sum "$OUT/data/dataset.json" | cut -c1-16)
  commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
  $hf release "$OUT/export" --output "$OUT/release" --model-version 0.1.0 \
    --training-commit "$commit" --dataset-repo "local/$OUT/data" \
    --dataset-revision "sha256:$data_sha"
  $hf calibrate fit --model "$OUT/release" --data "$OUT/data"
fi
$hf predict --model "$OUT/release" "who calls login" "path from main to db" "index status" \
  "draw the callers of parse_config as mermaid" "write me a poem"
echo "model folder: $OUT/release"
