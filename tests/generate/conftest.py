from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hf_pipeline.generate import GenerateConfig, GeneratedDataset, build_dataset
from hf_pipeline.generate.templates import TEMPLATES_DIR


@pytest.fixture(scope="session")
def full_dataset() -> GeneratedDataset:
    """The real default: 8 x 1000, seed 1 (a quarter of a second)."""
    return build_dataset(GenerateConfig(seed=1))


@pytest.fixture
def templates_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped templates, for breaking on purpose."""
    return Path(shutil.copytree(TEMPLATES_DIR, tmp_path / "templates"))
