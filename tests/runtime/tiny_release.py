"""A release folder built from the tiny model through the export stage's own functions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hf_pipeline.contract import TEMPERATURE_FILE
from hf_pipeline.io import atomic_write_json


def build_tiny_release(model_dir: Path, root: Path) -> Path:
    """export_model (fp32 + INT8, no gate) then build_release: the contract's folder."""
    from hf_pipeline.export.config import ExportConfig
    from hf_pipeline.export.release import ReleaseInfo, build_release
    from hf_pipeline.export.stage import export_model

    export_dir = export_model(model_dir, root / "export", cfg=ExportConfig())
    info = ReleaseInfo(model_version="0.0.1-test", dataset_repo="local/tiny",
                       dataset_revision="v0", training_commit="0" * 40)
    return build_release(export_dir, root / "release", info=info, require_gate=False)


@pytest.fixture(scope="session")
def tiny_release_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Read-only: use ``release_copy`` to change anything."""
    return build_tiny_release(tiny_model_dir, tmp_path_factory.mktemp("tiny_release"))


@pytest.fixture
def release_copy(tiny_release_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny release folder, free to tamper with."""
    return Path(shutil.copytree(tiny_release_dir, tmp_path / "release"))


def set_temperature(folder: Path, document: object) -> None:
    """Replace temperature.json and refresh the checksums (a legitimately rebuilt folder)."""
    from hf_pipeline.export.release import write_checksums

    atomic_write_json(folder / TEMPERATURE_FILE, document)
    write_checksums(folder)
