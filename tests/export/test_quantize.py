"""INT8 presets: which ops each one quantizes, and that the result still runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hf_pipeline.errors import DataFileError, InvalidValueError
from hf_pipeline.export.quantize import PRESETS, quantize
from hf_pipeline.export.stage import FP32_FILE
from hf_pipeline.release.int8 import quantization_summary
from hf_pipeline.runtime.onnx import OnnxClassifier

# The tiny model: 2 layers x (Q, K, V, attention output, FFN in, FFN out) + pooler + classifier.
WEIGHT_MATMULS = 2 * 6 + 2
EMBEDDING_TABLES = 3  # word, position, token type


@pytest.fixture(scope="module")
def quantized(export_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("quantized")
    return {name: quantize(export_dir / FP32_FILE, out / f"{name}.onnx", preset=name)
            for name in PRESETS}


def test_fp32_graph_has_the_expected_weights(export_dir: Path) -> None:
    summary = quantization_summary(export_dir / FP32_FILE)
    assert summary["fp32_weight_matmuls"] == WEIGHT_MATMULS
    assert summary["fp32_gathers"] == EMBEDDING_TABLES
    assert summary["int8_matmuls"] == summary["int8_gathers"] == 0


def test_matmul_preset_quantizes_matmuls_only(quantized: dict[str, Path]) -> None:
    summary = quantization_summary(quantized["matmul"])
    assert summary["int8_matmuls"] == WEIGHT_MATMULS
    assert summary["fp32_weight_matmuls"] == 0
    assert summary["int8_gathers"] == 0
    assert summary["fp32_gathers"] == EMBEDDING_TABLES


def test_matmul_gather_preset_also_quantizes_embeddings(quantized: dict[str, Path]) -> None:
    summary = quantization_summary(quantized["matmul_gather"])
    assert summary["int8_matmuls"] == WEIGHT_MATMULS
    assert summary["int8_gathers"] == EMBEDDING_TABLES
    assert summary["fp32_gathers"] == 0
    assert summary["op_counts"]["DequantizeLinear"] == EMBEDDING_TABLES


def test_embedding_quantization_shrinks_the_file(export_dir: Path,
                                                 quantized: dict[str, Path]) -> None:
    fp32 = (export_dir / FP32_FILE).stat().st_size
    matmul = quantized["matmul"].stat().st_size
    gather = quantized["matmul_gather"].stat().st_size
    # The tiny model is mostly its 30522 x 32 word-embedding table: int8 is ~1/4 of it.
    assert gather < 0.4 * matmul
    assert matmul < fp32


@pytest.mark.parametrize("preset", list(PRESETS))
def test_quantized_model_runs_and_stays_close(export_dir: Path, quantized: dict[str, Path],
                                              preset: str) -> None:
    texts = ["who calls parse_config", "is the index fresh", "hmm"]
    fp32 = OnnxClassifier(export_dir / FP32_FILE, tokenizer=export_dir).logits(texts)
    int8 = OnnxClassifier(quantized[preset], tokenizer=export_dir).logits(texts)
    assert int8.shape == (3, 8) and int8.dtype == np.float32
    assert np.abs(int8 - fp32).max() < 0.25 * np.abs(fp32).max()


def test_unknown_preset(export_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidValueError, match="preset: got 'fp16'"):
        quantize(export_dir / FP32_FILE, tmp_path / "q.onnx", preset="fp16")


def test_missing_input(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="no fp32 ONNX model to quantize"):
        quantize(tmp_path / "none.onnx", tmp_path / "q.onnx", preset="matmul")
    assert list(tmp_path.iterdir()) == []
