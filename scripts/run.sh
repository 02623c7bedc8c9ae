#!/usr/bin/env bash
# Set everything up, then run the pipeline's main job (today: generate the training data).
# Extra arguments go to `hf-pipeline generate`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/hf-pipeline generate --samples-per-intent 1000 --seed 1 \
  --output out/data --verification-output out/data/verification.json "$@"
