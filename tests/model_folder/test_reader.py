"""open_release: the one reader of a model folder, and each file hashed once per command."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

from hf_pipeline.io import sha256_file
from hf_pipeline.model_folder import checksums
from hf_pipeline.model_folder.layout import CHECKSUMS_FILE, CONTENT_FILES
from hf_pipeline.model_folder.reader import open_release


@pytest.fixture
def hash_reads(monkeypatch: pytest.MonkeyPatch) -> collections.Counter:
    """Every SHA-256 the model folder code computes, counted by path."""
    reads: collections.Counter = collections.Counter()

    def counting(path, **kwargs):
        reads[Path(path).resolve()] += 1
        return sha256_file(path, **kwargs)

    monkeypatch.setattr(checksums, "sha256_file", counting)
    return reads


def test_it_returns_what_it_verified(tiny_release_dir: Path, hash_reads) -> None:
    release = open_release(tiny_release_dir)
    assert release.verified and release.model_version == "0.0.1-test"
    assert release.temperature["temperature"] == 1.0
    assert release.version["dataset_repo"] == "local/tiny"
    assert release.manifest["files"][CHECKSUMS_FILE] == release.hashes[CHECKSUMS_FILE]
    assert sorted(release.hashes) == sorted([*CONTENT_FILES, CHECKSUMS_FILE])
    for name, digest in release.hashes.items():
        assert digest == sha256_file(tiny_release_dir / name)
    assert set(hash_reads.values()) == {1}  # each file read once


def test_calibrate_hashes_each_file_once(release_copy: Path, tiny_data: Path, tiny_dev: Path,
                                         hash_reads) -> None:
    from hf_pipeline.calibrate.config import CalibrateConfig
    from hf_pipeline.calibrate.stage import calibrate

    calibrate(release_copy, cfg=CalibrateConfig(data=str(tiny_data), dev_set=str(tiny_dev)))
    assert hash_reads and max(hash_reads.values()) == 1, hash_reads
    # The folder's unchanged files were read once, while verifying; the new temperature.json
    # and checksums.json once each, in the staged copy.
    assert len(hash_reads) == len(CONTENT_FILES) + 1 + 2
