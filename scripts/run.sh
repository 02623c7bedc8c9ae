#!/usr/bin/env bash
# Set everything up, then run the whole cloud-first flow (`hf-pipeline run`):
#   generate -> publish the dataset (tagged) -> base model on the Hub -> train from the Hub
#   dataset with Accelerate -> export (ONNX + INT8, gated) -> release -> calibrate -> publish
#   the model (tagged) -> publish the Gradio Space,
# on a local Hub that the run starts for itself (no token, no network needed). Outputs under
# out/ (--output DIR, or OUT=DIR): data/, train/, export/, release/ (the sqry-nl model folder),
# release.reports/, hub/ (the local Hub's repos), logs/, pipeline_state.json. It ends with a
# summary and the command that starts the demo. Finished stages are skipped on a rerun and an
# interrupted training resumes. Arguments go to `hf-pipeline run` (e.g. --epochs 3,
# --num-processes 2, --hub https://huggingface.co, --serve).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/setup.sh"
venv="${VENV:-.venv}"
case "$venv" in /*) ;; *) venv="$root/$venv" ;; esac
if [ -n "${OUT:-}" ]; then set -- --output "$OUT" "$@"; fi
exec "$venv/bin/hf-pipeline" run "$@"
