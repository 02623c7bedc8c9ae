"""The runtime stands alone: a release loads and predicts with the training stack gone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BLOCKED = ("torch", "transformers", "datasets", "accelerate", "onnx", "sklearn")

# Runs in a fresh interpreter: any import of a blocked package raises, as if not installed.
SCRIPT = """
import importlib.abc, json, sys
BLOCKED = set(sys.argv[2].split(","))

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked in this test")
        return None

sys.meta_path.insert(0, Block())
from hf_pipeline.runtime import IntentClassifier
[p] = IntentClassifier.from_dir(sys.argv[1]).predict(["who calls parse_config"])
loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
print(json.dumps({"prediction": p.to_dict(), "loaded": loaded}))
"""


@pytest.mark.slow
def test_a_release_predicts_without_the_training_stack(tiny_release_dir: Path,
                                                       tmp_path: Path) -> None:
    from hf_pipeline.runtime import IntentClassifier

    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tiny_release_dir),
                           ",".join(BLOCKED)], capture_output=True, text=True, cwd=tmp_path,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["loaded"] == []
    [expected] = IntentClassifier.from_dir(tiny_release_dir).predict(["who calls parse_config"])
    assert result["prediction"]["intent"] == expected.intent
    assert result["prediction"]["probabilities"] == pytest.approx(expected.probabilities,
                                                                  abs=1e-9)


@pytest.mark.slow
def test_the_blocker_works(tmp_path: Path) -> None:
    """The test above could not pass by accident: a blocked import really fails."""
    code = SCRIPT.replace("from hf_pipeline.runtime import IntentClassifier", "import torch")
    done = subprocess.run([sys.executable, "-c", code, "x", "torch"], capture_output=True,
                          text=True, cwd=tmp_path, timeout=60)
    assert done.returncode != 0 and "torch is blocked in this test" in done.stderr
