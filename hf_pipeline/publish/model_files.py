"""What a model version holds, read and checked locally before anything is uploaded.

- the release folder (the contract's files, verified the way today's sqry-nl verifies them)
  and its reports (export and calibration, checked to describe this very folder);
- the files transformers loads from the repo root (``model.safetensors`` and
  ``tokenizer_config.json`` of the trained folder the export was made from, checked against
  the export report's input hashes; ``config.json`` and ``tokenizer.json`` are the folder's);
- sqry's installable archive of the folder and the manifest that describes it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hf_pipeline.errors import DataFileError
from hf_pipeline.io import read_json_object, sha256_file
from hf_pipeline.model_folder.layout import ONNX_FILE, TEMPERATURE_FILE, VERSION_FILE

log = logging.getLogger(__name__)

WEIGHTS_FILE = "model.safetensors"
# From the trained folder: what transformers needs beside config.json and tokenizer.json.
TRANSFORMERS_FILES: tuple[str, ...] = (WEIGHTS_FILE, "tokenizer_config.json")


@dataclass(frozen=True)
class LocalRelease:
    """A verified model folder and what it says about itself."""

    folder: Path
    files: dict[str, Path]  # contract file name -> path, in the contract's order
    version: dict[str, str]  # version.txt key=value
    temperature: dict[str, Any]  # temperature.json, checked


@dataclass(frozen=True)
class Reports:
    """The release's reports, read and checked against it."""

    export: dict[str, Any]
    calibration: dict[str, Any]
    files: dict[str, Path]  # repo file name -> local path: both reports, then the diagrams
    diagrams: dict[str, str]  # report set -> its reliability diagram's file name


def read_release(folder: str | Path) -> LocalRelease:
    """The one place this module reads a model folder: the contract's files, verified the way
    the runtime verifies them, and what version.txt and temperature.json say.
    The format itself is read through ``hf_pipeline.release``."""
    from hf_pipeline.model_folder.checksums import verify_folder
    from hf_pipeline.model_folder.folder import read_version
    from hf_pipeline.model_folder.layout import CONTENT_FILES, RELEASE_FILES
    from hf_pipeline.model_folder.temperature import read_temperature

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
    verify_folder(folder, required=CONTENT_FILES)
    version = read_version(folder)
    for key in ("model_version", "base_model", "dataset_repo", "dataset_revision",
                "training_commit"):
        if not version.get(key):
            raise DataFileError(folder / VERSION_FILE, f"no {key}= line.",
                                fix="rebuild the folder with `hf-pipeline release`.")
    return LocalRelease(folder, {name: folder / name for name in RELEASE_FILES}, version,
                        read_temperature(folder / TEMPERATURE_FILE))


def read_reports(folder: Path, release: LocalRelease) -> Reports:
    """The export and calibration reports of ``release`` and its diagrams; refused when
    missing, or when they describe another model (ONNX hash) or another calibration (T)."""
    from hf_pipeline.export.stage import INT8_FILE
    from hf_pipeline.model_folder.layout import CALIBRATION_REPORT, EXPORT_REPORT

    release_dir = release.folder
    wanted = {EXPORT_REPORT: "copied from the export folder by `hf-pipeline release`",
              CALIBRATION_REPORT: f"written by `hf-pipeline calibrate fit --model {release_dir}`"}
    missing = [f"{name} ({how})" for name, how in wanted.items() if not (folder / name).is_file()]
    if missing:
        raise DataFileError(folder, "reports missing: " + ", ".join(missing) + ".",
                            fix="put them there (a published model carries its measured "
                            "figures), or pass --reports-dir where they are.")
    export = read_json_object(folder / EXPORT_REPORT,
                              fix="copy the export folder's report again.")
    calibration = read_json_object(folder / CALIBRATION_REPORT,
                                   fix=f"re-run `hf-pipeline calibrate fit --model {release_dir}`.")
    gate = export.get("gate") or {}
    if not gate.get("passed"):
        raise DataFileError(folder / EXPORT_REPORT, "the INT8 accuracy gate "
                            f"{'failed' if gate else 'did not run'}; a published model needs a "
                            "passed gate.", fix="run `hf-pipeline export gate EXPORT_DIR --data "
                            "DATASET` and rebuild the release.")
    onnx_sha = ((export.get("files") or {}).get(INT8_FILE) or {}).get("sha256")
    if onnx_sha != sha256_file(release.files[ONNX_FILE]):
        raise DataFileError(folder / EXPORT_REPORT, f"describes another model: its INT8 file "
                            f"hashes to {str(onnx_sha)[:12]}, {ONNX_FILE} of {release_dir} to "
                            f"{sha256_file(release.files[ONNX_FILE])[:12]}.",
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


@dataclass(frozen=True)
class LocalFile:
    """One file of the version, with both hashes the Hub may list (LFS sha256, git blob sha1)."""

    name: str
    data: bytes | None = None  # rendered files (the card)
    path: Path | None = None
    sha256: str = field(init=False)
    git_sha1: str = field(init=False)

    def __post_init__(self) -> None:
        import hashlib

        content = self.data if self.data is not None else Path(self.path).read_bytes()
        object.__setattr__(self, "sha256", hashlib.sha256(content).hexdigest())
        # git's blob id, which the Hub lists for files not stored in LFS
        blob = hashlib.sha1(f"blob {len(content)}\0".encode(), usedforsecurity=False)
        blob.update(content)
        object.__setattr__(self, "git_sha1", blob.hexdigest())

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
    from hf_pipeline.export.stage import REPORT_FILE

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


def sqry_files(folder: Path) -> tuple[LocalFile, LocalFile]:
    """sqry's archive of the folder and the manifest beside it (what a maintainer commits as
    sqry-nl/models/manifest.json): the folder's manifest with the archive's SHA-256."""
    from hf_pipeline.io import dumps_json
    from hf_pipeline.model_folder.archive import archive_bytes
    from hf_pipeline.model_folder.checksums import read_manifest
    from hf_pipeline.model_folder.manifest import PUBLISHED_MANIFEST_FILE, published_manifest

    manifest = read_manifest(folder)
    archive = LocalFile(manifest["archive"], data=archive_bytes(folder))
    published = published_manifest(manifest, archive.sha256)
    return archive, LocalFile(PUBLISHED_MANIFEST_FILE, data=dumps_json(published).encode())
