"""``open_release(folder) -> Release``: the one reader of a model folder.

It verifies the folder the way today's sqry-nl loader does in Custom trust (``checksums``:
the manifest anchors ``checksums.json``, then every listed file matches, and every file the
caller reads must be listed), reading each file once, and returns what the runtime, calibrate
and publish-model need: the hashes it computed, the version record (``version.txt``), the
manifest and the temperature document. ``config.json`` is checked against the runtime's label
order. Nothing here writes: updating a folder is ``hf_pipeline.model_folder.update``'s.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hf_pipeline.errors import DataFileError
from hf_pipeline.model_folder.checksums import FileHashes, problems_let_past, read_manifest
from hf_pipeline.model_folder.folder import check_config, read_version
from hf_pipeline.model_folder.layout import LOADED_FILES, TEMPERATURE_FILE
from hf_pipeline.model_folder.temperature import read_temperature

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Release:
    """A model folder as read and verified, once."""

    folder: Path
    hashes: Mapping[str, str]  # SHA-256 of every file read while verifying
    version: Mapping[str, str]  # version.txt's key=value lines ({} when absent)
    manifest: Mapping[str, Any]
    temperature: Mapping[str, Any]  # temperature.json, checked; {"temperature": 1.0} if absent
    problems: tuple[str, ...] = field(default=())  # what failed verification, when let past

    @property
    def verified(self) -> bool:
        return not self.problems

    @property
    def model_version(self) -> str | None:
        return self.manifest.get("model_version") or self.version.get("model_version")

    def path(self, name: str) -> Path:
        return self.folder / name

    def sha256(self, name: str) -> str:
        """A file's SHA-256: the one computed while verifying, else computed now."""
        return self.hashes.get(name) or FileHashes(self.folder)(name)


def open_release(folder: str | Path, *, required: Iterable[str] = LOADED_FILES,
                 allow_unverified: bool = False, repairs: Iterable[str] = (),
                 known: Mapping[str, str] | None = None) -> Release:
    """Read and verify ``folder``. A failed verification raises ChecksumError naming every
    file, unless ``allow_unverified`` (then a warning), or unless every problem is confined to
    ``repairs``, files the caller is about to rewrite, while every other file verifies
    (against ``checksums.json``, or the manifest where that is the broken file). ``known``:
    hashes the caller just computed of files it wrote."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataFileError(folder, "no such model folder.",
                            fix="pass the folder written by `hf-pipeline release`.")
    hashes = FileHashes(folder, known)
    problems = problems_let_past(folder, required=required, allow_unverified=allow_unverified,
                                 repairs=repairs, hashes=hashes)
    try:
        manifest = read_manifest(folder)
    except DataFileError:
        if not problems:
            raise
        manifest = {}  # unreadable, and reported above
    check_config(folder)
    return Release(folder, dict(hashes.known), read_version(folder), manifest,
                   _temperature_document(folder), tuple(problems))


def _temperature_document(folder: Path) -> dict[str, Any]:
    """temperature.json of a folder. A missing file means T = 1 (as the runtime, but
    loudly); a malformed one is an error, because the runtime would silently use T = 1 and
    every confidence would differ from what calibration measured."""
    path = folder / TEMPERATURE_FILE
    if not path.is_file():
        log.warning("%s: no %s, so T = 1 (uncalibrated confidences); run `hf-pipeline "
                    "calibrate fit` on this folder", folder, TEMPERATURE_FILE)
        return {"temperature": 1.0}
    return read_temperature(path)
