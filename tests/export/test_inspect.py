"""`export verify` and `export benchmark` on real files."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.tiny_export import two_input_model

from hf_pipeline.errors import DataFileError
from hf_pipeline.export.config import BenchmarkConfig
from hf_pipeline.export.inspect import benchmark, verify_onnx
from hf_pipeline.export.stage import FP32_FILE, INT8_FILE
from hf_pipeline.io import sha256_file


def test_verify_a_good_model(export_dir: Path) -> None:
    path = export_dir / INT8_FILE
    report = verify_onnx(path)
    assert report.valid and report.problems == []
    assert report.sha256 == sha256_file(path) and report.size_bytes == path.stat().st_size
    assert report.opsets[""] >= 17 and report.ir_version >= 8
    assert [(t.name, t.dtype, t.shape) for t in report.inputs] == [
        (name, "int64", ["batch", "sequence"])
        for name in ("input_ids", "attention_mask", "token_type_ids")]
    assert [(t.name, t.dtype, t.shape) for t in report.outputs] == [
        ("logits", "float32", ["batch", 8])]
    # The default preset's fused graph: 2 layers x (attention output, FFN in, FFN out) +
    # pooler + classifier as int8 MatMuls, and the QKV projections inside 2 QAttention.
    assert report.quantization["int8_matmuls"] == 8
    assert report.quantization["int8_attention"] == 2
    text = report.text()
    assert "valid:     yes" in text and report.sha256 in text


def test_verify_reports_a_contract_breach(tmp_path: Path) -> None:
    report = verify_onnx(two_input_model(tmp_path / "m.onnx"))
    assert not report.valid
    assert report.problems == ["the graph breaks the runtime contract: inputs are "
                               "['attention_mask', 'input_ids'], expected "
                               "['input_ids', 'attention_mask', 'token_type_ids']"]
    assert "valid:     NO" in report.text()


def test_verify_an_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"\x00\x01 definitely not protobuf \xff" * 10)
    report = verify_onnx(path)
    assert not report.valid and report.problems[0].startswith("not an ONNX model")
    assert report.sha256 == sha256_file(path)


def test_verify_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="no such file"):
        verify_onnx(tmp_path / "missing.onnx")


def test_benchmark_reports_every_setting(export_dir: Path) -> None:
    cfg = BenchmarkConfig(warmup=1, runs=5, threads=(1, 2), batch_size=4, batch_runs=2)
    report = benchmark(export_dir / FP32_FILE, tokenizer=export_dir, cfg=cfg)
    assert {(r.threads, r.tokenization) for r in report.latency} == {
        (1, True), (1, False), (2, True), (2, False)}
    for r in report.latency:
        assert 0 < r.p50_ms <= r.p90_ms <= r.p99_ms
    assert [(t.threads, t.batch_size) for t in report.throughput] == [(1, 4), (2, 4)]
    assert all(t.samples_per_s > 0 for t in report.throughput)
    assert report.p50(threads=1, tokenization=True) > 0
    table = report.table()
    assert "incl. tokenization" in table and "batch 4 throughput" in table


def test_benchmark_config_checks() -> None:
    from hf_pipeline.errors import InvalidValueError

    with pytest.raises(InvalidValueError, match=r"threads: got \(0,\)"):
        BenchmarkConfig(threads=(0,))
    with pytest.raises(InvalidValueError, match="runs: got 0"):
        BenchmarkConfig(runs=0)
