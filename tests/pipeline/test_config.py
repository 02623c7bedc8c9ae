"""``hf-pipeline run``'s configuration: one section per stage, the stage config classes, and
errors that name what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from hf_pipeline.cli import main
from hf_pipeline.errors import DataFileError, InvalidValueError
from hf_pipeline.pipeline.config import PENDING_DATA, load_run_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults() -> None:
    cfg = load_run_config()
    assert cfg.pipeline.output == Path("out") and cfg.pipeline.local
    assert cfg.pipeline.dataset_tag == "v1.0.0" and cfg.pipeline.model_tag == "v0.1.0"
    assert cfg.generate.output == Path("out/data") and cfg.generate.samples_per_intent == 1000
    assert cfg.train.output_dir == Path("out/train") and cfg.train.num_epochs == 6
    assert cfg.train.data == PENDING_DATA  # set once the Hub's namespace is known


def test_file_then_flags(tmp_path: Path) -> None:
    path = write(tmp_path, "pipeline: {output: elsewhere, num_processes: 2}\n"
                 "generate: {samples_per_intent: 40, allow_small: true}\n"
                 "train: {num_epochs: 3, learning_rate: 0.001}\n"
                 "export: {max_drop_points: 5}\ncalibrate: {bins: 10}\n")
    cfg = load_run_config(path, {"train": {"num_epochs": 5, "base_model": None}})
    assert cfg.pipeline.output == Path("elsewhere") and cfg.pipeline.num_processes == 2
    assert cfg.generate.output == Path("elsewhere/data")
    assert cfg.generate.samples_per_intent == 40
    assert cfg.train.num_epochs == 5 and cfg.train.learning_rate == 0.001  # flag > file
    assert cfg.train.output_dir == Path("elsewhere/train")
    assert cfg.export.max_drop_points == 5 and cfg.calibrate.bins == 10


def test_an_unknown_section_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "train: {num_epochs: 3}\ntraining: {num_epochs: 3}\n")
    with pytest.raises(DataFileError) as info:
        load_run_config(path)
    assert str(info.value) == (f"{path}: unknown section(s) training. Fix: use only: pipeline, "
                               "generate, train, export, calibrate.")


def test_an_unknown_key_is_named_with_its_section(tmp_path: Path) -> None:
    path = write(tmp_path, "train: {num_epochs: 3, epochs: 3}\n")
    with pytest.raises(DataFileError, match=r"unknown option\(s\) epochs in section 'train'\. "
                       r"Fix: use only: .*num_epochs"):
        load_run_config(path)


def test_a_key_the_pipeline_sets_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "train: {data: me/other-data}\n")
    with pytest.raises(DataFileError, match=r"section 'train': data set by the pipeline"):
        load_run_config(path)


def test_bad_values_are_checked_by_their_class(tmp_path: Path) -> None:
    with pytest.raises(InvalidValueError, match=r"hub: got 'ftp://x'"):
        load_run_config(write(tmp_path, "pipeline: {hub: 'ftp://x'}\n"))
    with pytest.raises(InvalidValueError, match=r"model_tag: got '1\.0'"):
        load_run_config(None, {"pipeline": {"model_tag": "1.0"}})
    with pytest.raises(InvalidValueError, match=r"samples_per_intent: got 20"):
        load_run_config(None, {"generate": {"samples_per_intent": 20}})


def test_cli_errors_name_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "export: {preset: matmul, opsett: 18}\n")
    assert main(["run", "--config", str(path), "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: unknown option(s) opsett in section 'export'.")
    assert not (tmp_path / "out").exists()  # nothing started


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: hf-pipeline run")
    assert "--from STAGE" in out and "(default: sqry-nl-intents@v1.0.0)" in out
