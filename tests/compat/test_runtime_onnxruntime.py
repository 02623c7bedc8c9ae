"""The shipped model under the onnxruntime sqry-nl loads (1.22, via the Rust ort crate).

The fused graph's com.microsoft kernels differ between onnxruntime releases; this runs the
default preset's export of the tiny model in a cached virtualenv with ``onnxruntime==1.22.*``
(built once with pip, under ~/.cache/hf_pipeline/) and compares its logits with the
project's onnxruntime: single unpadded queries as the runtime sends them, and a padded batch.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hf_pipeline.export.compat import runtime_logits, runtime_python
from hf_pipeline.export.onnx_export import PARITY_QUERIES
from hf_pipeline.export.presets import DEFAULT_PRESET
from hf_pipeline.export.stage import FP32_FILE, INT8_FILE, REPORT_FILE
from hf_pipeline.runtime.onnx import encode, load_tokenizer, make_session

pytestmark = pytest.mark.slow

ATOL = 1e-4


def test_default_preset_has_the_same_logits_under_the_runtime_onnxruntime(
        export_dir: Path) -> None:
    assert json.loads((export_dir / REPORT_FILE).read_text())["config"]["preset"] == \
        DEFAULT_PRESET
    tokenizer = load_tokenizer(export_dir)
    feeds = [encode(tokenizer, [q]) for q in PARITY_QUERIES]
    feeds.append(encode(tokenizer, list(PARITY_QUERIES)))  # padded batch (calibration, gate)
    models = {"int8": export_dir / INT8_FILE, "fp32": export_dir / FP32_FILE}
    version, theirs = runtime_logits(models, feeds, python=runtime_python())
    assert version.startswith("1.22.")
    for name, path in models.items():
        session = make_session(path)
        ours = [session.run(["logits"], f)[0] for f in feeds]
        diffs = [float(np.abs(a - b).max()) for a, b in zip(ours, theirs[name], strict=True)]
        assert max(diffs) <= ATOL, f"{name}: max |diff| per input {diffs}"
        assert np.ptp(ours[-1], axis=0).min() > 0.1  # logits that move with the input
