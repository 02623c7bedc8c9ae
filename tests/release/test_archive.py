"""sqry's archive of a model folder: reproducible bytes, and installed the way sqry installs it."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from fixtures.tampering import flip_byte, read_json

from hf_pipeline.errors import DataFileError
from hf_pipeline.io import dumps_json, sha256_file
from hf_pipeline.model_folder.archive import (
    archive_bytes,
    archive_problems,
    extract_like_installer,
    trusted_problems,
)
from hf_pipeline.model_folder.checksums import verification_problems
from hf_pipeline.model_folder.layout import RELEASE_FILES
from hf_pipeline.model_folder.manifest import published_manifest

LOADER_CHECK = Path(__file__).resolve().parents[3] / "shared" / "tools" / "sqry_nl_loader_check.py"


def write_archive(folder: Path, dest: Path) -> tuple[Path, dict]:
    """The archive under its manifest name, and the manifest a maintainer would bake in."""
    manifest = read_json(folder / "manifest.json")
    archive = dest / manifest["archive"]
    archive.write_bytes(archive_bytes(folder))
    return archive, published_manifest(manifest, sha256_file(archive))


def test_the_same_folder_gives_the_same_bytes(release_copy: Path, tmp_path: Path) -> None:
    first = archive_bytes(release_copy)
    copy = Path(shutil.copytree(release_copy, tmp_path / "elsewhere"))
    for path in copy.iterdir():  # other times and modes: none of it may reach the archive
        os.utime(path, (1_000_000, 1_000_000))
        path.chmod(0o600)
    assert archive_bytes(copy) == first
    flip_byte(copy / "version.txt")
    assert archive_bytes(copy) != first


def test_entries_are_sorted_with_fixed_times_owners_and_modes(tiny_release_dir: Path) -> None:
    data = archive_bytes(tiny_release_dir)
    assert data[3] & 0x08 == 0, "gzip header names a file"
    assert data[4:8] == b"\0\0\0\0", "gzip header has a time"
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == sorted(RELEASE_FILES)
        for m in members:
            assert (m.mtime, m.uid, m.gid, m.uname, m.gname, m.mode) == (0, 0, 0, "", "", 0o644)
            assert m.isfile()
            assert tar.extractfile(m).read() == (tiny_release_dir / m.name).read_bytes()


def test_installed_like_sqry_it_is_trusted_and_custom_verified(tiny_release_dir: Path,
                                                               tmp_path: Path) -> None:
    archive, expected = write_archive(tiny_release_dir, tmp_path)
    assert archive.name == "sqry-models-v0.0.1-test.tar.gz"
    assert archive_problems(archive, expected, tmp_path / "installed") == []
    installed = tmp_path / "installed"
    assert sorted(p.name for p in installed.iterdir()) == sorted(RELEASE_FILES)
    assert verification_problems(installed) == []


def test_the_independent_loader_check_accepts_archive_and_manifest(tiny_release_dir: Path,
                                                                   tmp_path: Path) -> None:
    if not LOADER_CHECK.is_file():
        pytest.skip(f"{LOADER_CHECK} is not here")
    archive, expected = write_archive(tiny_release_dir, tmp_path)
    (tmp_path / "expected.json").write_text(dumps_json(expected), encoding="utf-8")
    done = subprocess.run([sys.executable, str(LOADER_CHECK), str(tiny_release_dir),
                           str(tmp_path / "expected.json"), str(archive)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout.strip() == "sqry-nl loader contract: ok", done.stdout


def test_an_archive_with_other_bytes_is_refused_by_hash(tiny_release_dir: Path,
                                                        tmp_path: Path) -> None:
    archive, expected = write_archive(tiny_release_dir, tmp_path)
    archive.write_bytes(archive.read_bytes() + b"\0")
    [problem] = archive_problems(archive, expected, tmp_path / "installed")
    assert problem.startswith("sqry-models-v0.0.1-test.tar.gz: SHA-256 ")
    assert problem.endswith("(sqry's installer deletes it)")
    assert not (tmp_path / "installed").exists()


def test_trusted_anchors_on_the_baked_manifest_not_the_folders(release_copy: Path,
                                                               tmp_path: Path) -> None:
    # A folder rebuilt whole (content, checksums and its own manifest consistent) passes
    # Custom trust, but not Trusted: the compiled-in manifest anchors the original checksums.
    from hf_pipeline.model_folder.checksums import write_checksums

    _, expected = write_archive(release_copy, tmp_path)
    flip_byte(release_copy / "intent_classifier.onnx")
    write_checksums(release_copy, model_version="0.0.1-test")
    assert verification_problems(release_copy) == []
    [problem] = trusted_problems(release_copy, expected)
    assert problem.startswith("checksums.json: SHA-256 ")
    assert problem.endswith("that the sqry-nl manifest anchors; the checksums were changed "
                            "after release")


def test_a_baked_manifest_missing_a_field_is_refused(tiny_release_dir: Path,
                                                     tmp_path: Path) -> None:
    archive, expected = write_archive(tiny_release_dir, tmp_path)
    del expected["download_url"]
    assert archive_problems(archive, expected, tmp_path / "installed") == [
        "the sqry-nl manifest: field download_url missing (today's sqry-nl refuses the "
        "folder: manifest anchor invalid)"]


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_the_model_may_sit_in_one_top_level_folder(tiny_release_dir: Path,
                                                   tmp_path: Path) -> None:
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(_tar_gz({f"model/{p.name}": p.read_bytes()
                                 for p in sorted(tiny_release_dir.iterdir())}))
    assert extract_like_installer(archive, tmp_path / "x") == tmp_path / "x" / "model"


@pytest.mark.parametrize(("members", "problem"), [
    ({"README.md": b"no model"}, "holds no manifest.json at its root or in one top-level"),
    ({"a/manifest.json": b"{}", "b/manifest.json": b"{}"}, "holds no manifest.json at its"),
    ({"../escape.json": b"{}"}, "not a gzip tar that sqry can extract"),
])
def test_archives_sqry_would_not_install_are_refused(tmp_path: Path, members: dict,
                                                     problem: str) -> None:
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(_tar_gz(members))
    with pytest.raises(DataFileError, match=problem):
        extract_like_installer(archive, tmp_path / "x")
    assert not (tmp_path / "escape.json").exists()


def test_not_a_gzip_tar_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "a.tar.gz"
    archive.write_text(json.dumps({"not": "a tar"}), encoding="utf-8")
    with pytest.raises(DataFileError, match="not a gzip tar that sqry can extract"):
        extract_like_installer(archive, tmp_path / "x")
