"""Fixtures for the training tests: tiny labelled datasets on disk, a base config."""

from __future__ import annotations

from pathlib import Path

import pytest

from .tiny_data import write_dataset_dict, write_dev_set


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Read-only: 64 train, 16 validation, 16 test samples."""
    return write_dataset_dict(tmp_path_factory.mktemp("tiny_data"))


@pytest.fixture(scope="session")
def tiny_dev_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dev_set(tmp_path_factory.mktemp("dev") / "dev.jsonl")


@pytest.fixture
def train_kwargs(tiny_data: Path, tiny_dev_set: Path, tiny_model_dir: Path) -> dict:
    """TrainConfig options for a run of a few seconds on the tiny model."""
    return {"data": str(tiny_data), "dev_set": str(tiny_dev_set),
            "base_model": str(tiny_model_dir), "num_epochs": 2, "batch_size": 8,
            "learning_rate": 1e-3, "cpu": True, "logging_steps": 2}
