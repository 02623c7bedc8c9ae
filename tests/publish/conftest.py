"""Fixtures: a calibrated release folder built by the real stages, with its reports beside it.

The tiny random BERT (tests/fixtures/tiny_model.py) goes through ``export_model`` with the
accuracy gate on tiny data, ``build_release`` (gate required) and ``calibrate``; the reports
land in ``<release>.reports/`` as ``hf-pipeline release`` and ``calibrate`` will put them.
Accuracy is at chance: these fixtures test publishing, not the model.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

DATASET_REPO = "hf-pipeline-tests/sqry-intents"
TRAINING_COMMIT = "0123456789abcdef0123456789abcdef01234567"


def build_release_with_reports(model_dir: Path, root: Path, *, data: Path, dev: Path) -> Path:
    """export (gated) -> release -> calibrate; returns the release folder. The gate budget is
    wide open: an untrained tiny model flips a few of 40 predictions under INT8 by chance."""
    from hf_pipeline.calibrate.config import CalibrateConfig
    from hf_pipeline.calibrate.stage import calibrate
    from hf_pipeline.data_sources import load_eval_sets
    from hf_pipeline.export.config import ExportConfig
    from hf_pipeline.export.stage import REPORT_FILE, export_model
    from hf_pipeline.publish.model import default_reports_dir
    from hf_pipeline.release.assemble import build_release
    from hf_pipeline.release.folder import ReleaseInfo

    sets, provenance = load_eval_sets(data, dev_set=dev)
    export_dir = export_model(model_dir, root / "export", cfg=ExportConfig(max_drop_points=100),
                              eval_sets=sets, data_provenance=provenance)
    info = ReleaseInfo(model_version="1.0.0", dataset_repo=DATASET_REPO,
                       dataset_revision="v1.0.0", training_commit=TRAINING_COMMIT)
    release = build_release(export_dir, root / "release", info=info)
    reports = default_reports_dir(release)
    calibrate(release, cfg=CalibrateConfig(data=str(data), dev_set=str(dev), report_dir=reports))
    shutil.copy2(export_dir / REPORT_FILE, reports / REPORT_FILE)
    return release


def copy_release(release: Path, dest_root: Path) -> Path:
    """The release folder and its reports folder, copied under ``dest_root``."""
    from hf_pipeline.publish.model import default_reports_dir

    copy = Path(shutil.copytree(release, dest_root / release.name))
    shutil.copytree(default_reports_dir(release), default_reports_dir(copy))
    return copy


def set_model_version(release: Path, model_version: str) -> None:
    """Rebuild version.txt with another model_version and refresh manifest and checksums."""
    from hf_pipeline.release.checksums import write_checksums

    path = release / "version.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(f"model_version={model_version}"
                              if line.startswith("model_version=") else line
                              for line in lines) + "\n", encoding="utf-8")
    write_checksums(release, model_version=model_version)


@pytest.fixture(scope="session")
def model_release(tiny_model_dir: Path, tiny_data: Path, tiny_dev: Path,
                  tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Read-only: a calibrated release (model_version 1.0.0) with ``<release>.reports``."""
    return build_release_with_reports(tiny_model_dir, tmp_path_factory.mktemp("model_v1"),
                                      data=tiny_data, dev=tiny_dev)


@pytest.fixture(scope="session")
def model_release_v2(model_release: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Read-only: the same model rebuilt as model_version 1.1.0 (other version.txt, manifest
    and checksums), reports beside it."""
    release = copy_release(model_release, tmp_path_factory.mktemp("model_v2"))
    set_model_version(release, "1.1.0")
    return release


@pytest.fixture
def release_with_reports(model_release: Path, tmp_path: Path) -> Path:
    """A private copy of ``model_release`` and its reports, free to change."""
    return copy_release(model_release, tmp_path)
