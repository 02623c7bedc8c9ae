"""What a model version holds, read and checked locally before anything is uploaded.

- the release folder (the contract's files, verified the way today's sqry-nl verifies them)
  and its reports (export and calibration, checked to describe this very folder);
- the files transformers loads from the repo root (``model.safetensors`` and
  ``tokenizer_config.json`` of the trained folder the export was made from, checked against
  the export report's input hashes; ``config.json`` and ``tokenizer.json`` are the folder's);
- sqry's installable archive of the folder and the manifest that describes it.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hf_pipeline.errors import DataFileError
from hf_pipeline.io import read_json_object, sha256_file
from hf_pipeline.model_folder.layout import ONNX_FILE, TEMPERATURE_FILE, VERSION_FILE
from hf_pipeline.model_folder.reader import Release

log = logging.getLogger(__name__)

WEIGHTS_FILE = "model.safetensors"
# From the trained folder: what transformers needs beside config.json and tokenizer.json.
TRANSFORMERS_FILES: tuple[str, ...] = (WEIGHTS_FILE, "tokenizer_config.json")


@dataclass(frozen=True)
class LocalRelease:
    """A verified model folder (``open_release``) with all of the contract's files."""

    release: Release
    files: dict[str, Path]  # contract file name -> path, in the contract's order

    @property
    def folder(self) -> Path:
        return self.release.folder

    @property
    def version(self) -> Mapping[str, str]:
        return self.release.version

    @property
    def temperature(self) -> Mapping[str, Any]:
        return self.release.temperature

    def local_files(self) -> list[LocalFile]:
        """The contract's files, with the hashes computed while verifying."""
        return [LocalFile(name, path=path, known_sha256=self.release.sha256(name))
                for name, path in self.files.items()]


@dataclass(frozen=True)
class Reports:
    """The release's reports, read and checked against it."""

    export: dict[str, Any]
    calibration: dict[str, Any]
    files: dict[str, Path]  # repo file name -> local path: both reports, then the diagrams
    diagrams: dict[str, str]  # report set -> its reliability diagram's file name


def read_release(folder: str | Path, *, known: Mapping[str, str] | None = None
                 ) -> LocalRelease:
    """The model folder through ``open_release`` (verified as today's sqry-nl does, each file
    hashed once), with every file of the contract and no other, and a complete version.txt.
    ``known``: hashes just computed of files this process wrote."""
    from hf_pipeline.model_folder.layout import CONTENT_FILES, RELEASE_FILES
    from hf_pipeline.model_folder.reader import open_release

    folder = Path(folder)
    if not folder.is_dir():
        raise DataFileError(folder, "no such model folder.",
                            fix="pass the folder written by `hf-pipeline release`.")
    missing = [name for name in RELEASE_FILES if not (folder / name).is_file()]
    if missing:
        raise DataFileError(folder, f"not a model folder: {', '.join(missing)} missing.",
                            fix="pass the folder written by `hf-pipeline release` (then "
                            "`hf-pipeline calibrate`).")
    extra = sorted(p.name for p in folder.iterdir() if p.name not in RELEASE_FILES)
    if extra:
        raise DataFileError(folder, f"holds files that are not part of a model folder: "
                            f"{', '.join(extra)}.", fix="publish the folder exactly as "
                            "`hf-pipeline release` wrote it; reports go in the reports folder.")
    release = open_release(folder, required=CONTENT_FILES, known=known)
    version = release.version
    for key in ("model_version", "base_model", "dataset_repo", "dataset_revision",
                "training_commit"):
        if not version.get(key):
            raise DataFileError(folder / VERSION_FILE, f"no {key}= line.",
                                fix="rebuild the folder with `hf-pipeline release`.")
    return LocalRelease(release, {name: folder / name for name in RELEASE_FILES})


def read_reports(folder: Path, release: LocalRelease) -> Reports:
    """The export and calibration reports of ``release`` and its diagrams; refused when
    missing, or when they describe another model (ONNX hash) or another calibration (T)."""
    from hf_pipeline.model_folder.layout import CALIBRATION_REPORT, EXPORT_REPORT, INT8_FILE

    release_dir = release.folder
    wanted = {EXPORT_REPORT: "copied from the export folder by `hf-pipeline release`",
              CALIBRATION_REPORT: f"written by `hf-pipeline calibrate fit --model {release_dir}`"}
    missing = [f"{name} ({how})" for name, how in wanted.items() if not (folder / name).is_file()]
    if missing:
        raise DataFileError(folder, "reports missing: " + ", ".join(missing) + ".",
                            fix="put them there (a published model carries its measured "
                            "figures), or pass --reports-dir where they are.")
    export = read_json_object(folder / EXPORT_REPORT,
                              fix="copy it again from the export folder (written by "
                              "`hf-pipeline export model`).")
    calibration = read_json_object(folder / CALIBRATION_REPORT,
                                   fix=f"re-run `hf-pipeline calibrate fit --model {release_dir}`.")
    gate = export.get("gate") or {}
    if not gate.get("passed"):
        raise DataFileError(folder / EXPORT_REPORT, "the INT8 accuracy gate "
                            f"{'failed' if gate else 'did not run'}; a published model needs a "
                            "passed gate.", fix="run `hf-pipeline export gate EXPORT_DIR --data "
                            "DATASET` and rebuild the release.")
    onnx_sha = ((export.get("files") or {}).get(INT8_FILE) or {}).get("sha256")
    if onnx_sha != release.release.sha256(ONNX_FILE):
        raise DataFileError(folder / EXPORT_REPORT, f"describes another model: its INT8 file "
                            f"hashes to {str(onnx_sha)[:12]}, {ONNX_FILE} of {release_dir} to "
                            f"{release.release.sha256(ONNX_FILE)[:12]}.",
                            fix="use the export report of the export this release was built "
                            "from.")
    t = release.temperature["temperature"]
    if calibration.get("temperature") != t or "metrics_by_set" not in calibration:
        raise DataFileError(folder / CALIBRATION_REPORT, f"describes another calibration: T = "
                            f"{calibration.get('temperature')!r} there, {t!r} in "
                            f"{release_dir / TEMPERATURE_FILE}.",
                            fix=f"re-run `hf-pipeline calibrate fit --model {release_dir}`.")
    sets = list(calibration.get("report_sets") or [])
    if not sets or any(name not in calibration["metrics_by_set"] for name in sets):
        raise DataFileError(folder / CALIBRATION_REPORT, f"report_sets {sets!r} do not name "
                            "the sets of metrics_by_set.",
                            fix=f"re-run `hf-pipeline calibrate fit --model {release_dir}`.")
    # The report records where calibrate drew each set's diagram; the file name is what counts.
    drawn = calibration.get("diagrams") or {}
    diagrams = {name: Path(drawn.get(name) or f"reliability_{name}.png").name for name in sets}
    absent = [file for file in diagrams.values() if not (folder / file).is_file()]
    if absent:
        raise DataFileError(folder, f"reliability diagrams missing: {', '.join(absent)}.",
                            fix=f"re-run `hf-pipeline calibrate fit --model {release_dir}`, "
                            "which draws them.")
    files = {name: folder / name for name in (CALIBRATION_REPORT, EXPORT_REPORT,
                                              *diagrams.values())}
    return Reports(export, calibration, files, diagrams)


@dataclass(frozen=True, eq=False)
class LocalFile:
    """One file of the version. Its SHA-256 (what LFS lists) is computed once, or given by
    whoever already computed it; its git blob id (what the Hub lists for files not in LFS)
    only when a comparison needs it."""

    name: str
    data: bytes | None = None  # rendered files (the card, the archive)
    path: Path | None = None
    known_sha256: str | None = field(default=None, repr=False)

    def content(self) -> bytes:
        return self.data if self.data is not None else Path(self.path).read_bytes()

    @functools.cached_property
    def sha256(self) -> str:
        if self.known_sha256 is not None:
            return self.known_sha256
        if self.data is not None:
            return hashlib.sha256(self.data).hexdigest()
        return sha256_file(self.path)

    @functools.cached_property
    def git_sha1(self) -> str:
        from hf_pipeline.hub.server.objects import git_blob_sha1

        return git_blob_sha1(self.content())

    def matches(self, remote: Any) -> bool:
        """Same content as a ``RepoFile`` of the Hub's tree listing."""
        lfs = getattr(remote, "lfs", None)
        sha256 = getattr(lfs, "sha256", None) or (lfs.get("sha256") if isinstance(lfs, dict)
                                                  else None)
        return sha256 == self.sha256 if sha256 else remote.blob_id == self.git_sha1




def transformers_files(export: dict[str, Any], weights_dir: Path | None) -> list[LocalFile]:
    """The trained folder's fp32 weights and tokenizer config, for transformers. They must be
    the ones the release was exported from: each hash equals the export report's input hash.
    ``weights_dir`` None: the folder the export report names (``model_dir``)."""
    from hf_pipeline.model_folder.layout import EXPORT_REPORT as REPORT_FILE

    recorded = export.get("model_dir")
    folder = weights_dir if weights_dir is not None else Path(recorded) if recorded else None
    fix = ("pass --weights with the trained folder this release was exported from (the "
           "final/ folder of `hf-pipeline train`).")
    if folder is None or not folder.is_dir():
        raise DataFileError(folder or REPORT_FILE, "no trained model folder to take the fp32 "
                            "weights from, which transformers loads from the repo.", fix=fix)
    inputs = export.get("inputs") or {}
    files = []
    for name in TRANSFORMERS_FILES:
        path = folder / name
        if not path.is_file():
            raise DataFileError(path, "missing; transformers needs it at the repo root.", fix=fix)
        local = LocalFile(name, path=path)
        if inputs.get(name) != local.sha256:
            raise DataFileError(path, f"is not the file this release was exported from (SHA-256 "
                                f"{local.sha256[:12]}..., the export report says "
                                f"{str(inputs.get(name))[:12]}...).", fix=fix)
        files.append(local)
    return files


def sqry_files(release: LocalRelease) -> tuple[LocalFile, LocalFile]:
    """sqry's archive of the folder and the manifest beside it (what a maintainer commits as
    sqry-nl/models/manifest.json): the folder's manifest with the archive's SHA-256."""
    from hf_pipeline.io import dumps_json
    from hf_pipeline.model_folder.archive import archive_bytes
    from hf_pipeline.model_folder.manifest import PUBLISHED_MANIFEST_FILE, published_manifest

    manifest = release.release.manifest  # as verified while the folder was opened
    archive = LocalFile(manifest["archive"], data=archive_bytes(release.folder))
    published = published_manifest(manifest, archive.sha256)
    return archive, LocalFile(PUBLISHED_MANIFEST_FILE, data=dumps_json(published).encode())
