"""The probe that runs models under another interpreter's onnxruntime, here under our own:
timing rounds per model, with per-model session settings."""

from __future__ import annotations

import sys
from pathlib import Path

import onnxruntime
import pytest

from hf_pipeline.export.compat import RuntimeEnvError, runtime_timings
from hf_pipeline.export.onnx_export import PARITY_QUERIES
from hf_pipeline.export.stage import INT8_FILE
from hf_pipeline.runtime.onnx import encode, load_tokenizer


def test_timings_per_model_with_their_own_session_settings(export_dir: Path) -> None:
    tokenizer = load_tokenizer(export_dir)
    feeds = [encode(tokenizer, [q]) for q in PARITY_QUERIES[:3]]
    model = export_dir / INT8_FILE
    version, seconds = runtime_timings(
        {"defaults": model, "basic": model}, feeds, rounds=2, python=Path(sys.executable),
        options={"basic": {"level": "ORT_ENABLE_BASIC",
                           "config": {"session.intra_op.allow_spinning": "0"},
                           "attributes": {"enable_mem_pattern": False}}})
    assert version == onnxruntime.__version__
    assert {name: len(s) for name, s in seconds.items()} == {"defaults": 6, "basic": 6}
    assert all(t > 0 for s in seconds.values() for t in s)


def test_an_unknown_setting_fails_naming_it(export_dir: Path) -> None:
    feeds = [encode(load_tokenizer(export_dir), ["who calls parse_config"])]
    with pytest.raises(RuntimeEnvError, match="ORT_ENABLE_EVERYTHING"):
        runtime_timings({"m": export_dir / INT8_FILE}, feeds, rounds=1,
                        python=Path(sys.executable),
                        options={"m": {"level": "ORT_ENABLE_EVERYTHING"}})
