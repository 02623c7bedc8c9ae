#!/usr/bin/env bash
# Set everything up, lint, then run the test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/install_browser.sh
.venv/bin/ruff check hf_pipeline tests bench spaces_demo
exec .venv/bin/python -m pytest "$@"
