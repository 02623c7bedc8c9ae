"""The export/release commands, through a parser built from this stage's ``register``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from fixtures.tiny_export import two_input_model

from hf_pipeline.errors import ConfigError
from hf_pipeline.export.cli import register
from hf_pipeline.export.stage import FP32_FILE, INT8_FILE, REPORT_FILE
from hf_pipeline.release.cli import register as register_release


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hf-pipeline")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    register_release(sub)
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.mark.parametrize("argv", [
    ["export"], ["export", "model"], ["export", "gate"], ["export", "verify"],
    ["export", "benchmark"], ["release"]])
def test_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        run([*argv, "--help"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: hf-pipeline {' '.join(argv)}")


def test_verify(export_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["export", "verify", str(export_dir / INT8_FILE)]) == 0
    assert "valid:     yes" in capsys.readouterr().out
    assert run(["export", "verify", "--json", str(two_input_model(tmp_path / "m.onnx"))]) == 1
    assert json.loads(capsys.readouterr().out)["valid"] is False


def test_benchmark_table_and_json(export_dir: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    argv = ["export", "benchmark", str(export_dir / FP32_FILE), "--threads", "1", "--runs", "3",
            "--batch-size", "2", "--output", str(out)]
    assert run(argv) == 0
    assert "p50 ms" in capsys.readouterr().out
    assert run([*argv, "--json"]) == 0
    printed, _ = json.JSONDecoder().raw_decode(capsys.readouterr().out)
    assert printed.keys() == json.loads(out.read_text()).keys()
    data = json.loads(out.read_text())
    assert [(r["threads"], r["tokenization"]) for r in data["latency"]] == [(1, True), (1, False)]
    assert data["throughput"][0]["batch_size"] == 2


@pytest.mark.slow
def test_export_gate_release(tiny_model_dir: Path, eval_files: tuple[Path, Path],
                             tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dataset, dev = eval_files
    export = tmp_path / "export"
    assert run(["export", "model", "--model", str(tiny_model_dir), "-o", str(export),
                "--preset", "matmul", "--data", str(dataset), "--dev-set", str(dev),
                "--max-drop", "100", "--json"]) == 0
    report = json.loads((export / REPORT_FILE).read_text())
    assert json.loads(capsys.readouterr().out) == {"output": str(export), "report": report}
    assert report["config"]["preset"] == "matmul" and report["gate"]["passed"]
    assert [s["name"] for s in report["gate"]["sets"]] == ["test", "dev"]
    capsys.readouterr()
    assert run(["export", "gate", str(export), "--data", str(dataset), "--dev-set", str(dev),
                "--max-drop", "100"]) == 0
    assert "gate passed" in capsys.readouterr().out
    assert run(["export", "gate", str(export), "--data", str(dataset), "--dev-set", str(dev),
                "--max-drop", "100", "--json"]) == 0
    gate = capsys.readouterr()
    assert json.loads(gate.out)["passed"] is True and "gate passed" in gate.err
    release = ["release", str(export), "--output", str(tmp_path / "model"),
               "--model-version", "0.1.0", "--training-commit", "abc123"]
    with pytest.raises(ConfigError, match="--dataset-repo and --dataset-revision are required"):
        run(release)  # the gate's data was a local file: no repo to name
    assert run([*release, "--dataset-repo", "acme/intents", "--dataset-revision", "v1",
                "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["output"] == str(tmp_path / "model")
    assert printed["manifest"]["model_version"] == "0.1.0"
    version = (tmp_path / "model" / "version.txt").read_text()
    assert "dataset_repo=acme/intents\n" in version and "quantization=int8 dynamic, " \
        "preset matmul" in version
