"""TrainConfig: defaults as the reference, checks that quote the bad value, precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from hf_pipeline.config import resolve
from hf_pipeline.contract import DEFAULT_BASE_MODEL, MAX_LENGTH
from hf_pipeline.errors import DataFileError, InvalidValueError
from hf_pipeline.train.config import TrainConfig


def test_defaults_are_the_chosen_hyperparameters() -> None:
    cfg = TrainConfig(data="d", output_dir=Path("o"))
    assert (cfg.num_epochs, cfg.batch_size, cfg.learning_rate) == (6, 32, 1e-4)
    assert (cfg.typo_twins, cfg.consistency_weight, cfg.typo_prob) == (0.5, 0.5, 0.0)
    assert (cfg.lr_scheduler, cfg.warmup_ratio, cfg.weight_decay) == ("linear", 0.1, 0.01)
    assert (cfg.seed, cfg.max_length, cfg.base_model) == (42, MAX_LENGTH, DEFAULT_BASE_MODEL)
    assert cfg.mixed_precision == "no" and cfg.report_to == "none" and cfg.resume is False


@pytest.mark.parametrize(("field", "value", "message"), [
    ("num_epochs", 0, "num_epochs: got 0, expected an integer >= 1"),
    ("batch_size", 2.5, "batch_size: got 2.5, expected an integer >= 1"),
    ("warmup_ratio", 1.5, "warmup_ratio: got 1.5, expected a finite number in [0, 1]"),
    ("label_smoothing", 1.0, "label_smoothing: got 1.0, expected a finite number in [0, 1)"),
    ("mixed_precision", "fp8", "mixed_precision: got 'fp8', expected one of no, fp16, bf16"),
    ("report_to", "tensorbored", "report_to: got 'tensorbored'"),
    ("checkpointing_steps", 0, "checkpointing_steps: got 0"),
    ("learning_rate", 0.0, "learning_rate: got 0.0"),
])
def test_bad_values_are_quoted(field: str, value: object, message: str) -> None:
    with pytest.raises(InvalidValueError) as info:
        TrainConfig(data="d", output_dir=Path("o"), **{field: value})
    assert message in str(info.value)


def test_data_and_output_are_required() -> None:
    with pytest.raises(InvalidValueError, match=r"data: got ''.*pass --data"):
        TrainConfig(output_dir=Path("o"))
    with pytest.raises(InvalidValueError, match=r"output_dir.*pass --output"):
        TrainConfig(data="d")


def test_precedence_default_file_flag(tmp_path: Path) -> None:
    config_file = tmp_path / "train.yaml"
    config_file.write_text("num_epochs: 5\nbatch_size: 16\ndata: from-file\n", encoding="utf-8")
    cfg = resolve(TrainConfig, config_file=config_file,
                  overrides={"batch_size": 8, "output_dir": tmp_path, "seed": None})
    assert (cfg.num_epochs, cfg.batch_size, cfg.data, cfg.seed) == (5, 8, "from-file", 42)


def test_unknown_key_in_config_file(tmp_path: Path) -> None:
    config_file = tmp_path / "train.yaml"
    config_file.write_text("epochs: 5\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"unknown option.*epochs"):
        resolve(TrainConfig, config_file=config_file, overrides={"data": "d"})
