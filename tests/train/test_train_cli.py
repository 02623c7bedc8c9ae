"""`hf-pipeline train` / `hf-pipeline evaluate` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hf_pipeline.cli import main


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "usage: hf-pipeline " + command in out
    if command == "train":
        assert "(default: 0.0001)" in out and "--resume" in out and "--mixed-precision" in out


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory, tiny_data: Path, tiny_dev_set: Path,
            tiny_model_dir: Path) -> Path:
    out = tmp_path_factory.mktemp("cli") / "out"
    config = out.parent / "train.yaml"
    config.write_text("num_epochs: 1\nbatch_size: 8\nlearning_rate: 0.001\n", encoding="utf-8")
    code = main(["train", "--config", str(config), "--data", str(tiny_data), "--dev-set",
                 str(tiny_dev_set), "--base-model", str(tiny_model_dir), "--output", str(out),
                 "--cpu", "--epochs", "2"])
    assert code == 0
    return out


def test_train_command_flags_override_the_config_file(cli_run: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    config = json.loads((cli_run / "run_info.json").read_text(encoding="utf-8"))["config"]
    assert config["num_epochs"] == 2 and config["batch_size"] == 8 and config["cpu"] is True
    assert (cli_run / "final" / "model.safetensors").is_file()


def test_evaluate_command_matches_the_training_evaluation(
        cli_run: Path, tiny_data: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "metrics.json"
    code = main(["evaluate", "--model", str(cli_run / "final"), str(tiny_data), "--split", "test",
                 "--output", str(out_file)])
    assert code == 0
    printed = capsys.readouterr().out
    assert printed.startswith("test: accuracy") and "confusion matrix" in printed
    written = json.loads(out_file.read_text(encoding="utf-8"))
    trained = json.loads((cli_run / "eval_metrics.json").read_text(encoding="utf-8"))["test"]
    # Same model, same data: inference.py and the training loop agree.
    assert written["confusion_matrix"] == trained["confusion_matrix"]
    assert written["accuracy"] == pytest.approx(trained["accuracy"])


def test_evaluate_on_a_dev_set_file(cli_run: Path, tiny_dev_set: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--model", str(cli_run / "final"), str(tiny_dev_set), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["num_samples"] == 16 and result["split"] == str(tiny_dev_set)


def test_train_json_is_the_result(tmp_path: Path, tiny_data: Path, tiny_dev_set: Path,
                                  tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
                                  ) -> None:
    out = tmp_path / "out"
    assert main(["train", "--data", str(tiny_data), "--dev-set", str(tiny_dev_set),
                 "--base-model", str(tiny_model_dir), "-o", str(out), "--cpu", "--epochs", "1",
                 "--batch-size", "8", "--json"]) == 0
    printed = capsys.readouterr()
    result = json.loads(printed.out)  # stdout holds the JSON only
    assert (result["output"], result["final"]) == (str(out), str(out / "final"))
    assert result["metrics"] == json.loads((out / "eval_metrics.json").read_text())
    assert "done in" in printed.err


def test_bad_input_prints_one_clear_error(tmp_path: Path, tiny_model_dir: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["train", "--data", str(tmp_path / "missing"), "--output", str(tmp_path / "o"),
                 "--base-model", str(tiny_model_dir), "--cpu"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
