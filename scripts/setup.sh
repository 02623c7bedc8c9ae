#!/usr/bin/env bash
# Create .venv and install the project with its dev tools. Needs only python3 (>= 3.10).
# torch goes first, pinned to the CPU build, so pip does not pull multi-GB CUDA wheels;
# on a GPU machine set TORCH_SPEC (e.g. TORCH_SPEC="torch==2.13.0" with a CUDA index).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
stamp="$VENV/.installed"
want="$(cat pyproject.toml scripts/setup.sh | "$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "$TORCH_SPEC"
"$VENV/bin/python" -m pip install --quiet -e ".[dev]"
echo "$want" > "$stamp"
echo "set up $VENV"
