"""Writing a model folder: the machinery of the stages that write one (release, calibrate,
publish-model). The runtime and the Space never import it (tests/core/test_architecture.py).

A model folder is changed in one step: a complete new copy is staged beside it (unchanged
files hard-linked, changed ones written, checksums and manifest recomputed), then swapped in
with one rename. A kill at any moment leaves either the old folder or the new one, each
verifying, plus at worst a hidden staging folder that the next update removes.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from hf_pipeline.errors import DataFileError, OutputError
from hf_pipeline.io import atomic_write_json, fsync_dir
from hf_pipeline.model_folder.checksums import FileHashes, read_manifest
from hf_pipeline.model_folder.folder import model_version
from hf_pipeline.model_folder.layout import (
    CHECKSUMS_FILE,
    CONTENT_FILES,
    MANIFEST_FILE,
    ONNX_FILE,
    RELEASE_FILES,
    TOKENIZER_FILE,
)
from hf_pipeline.model_folder.manifest import FIELDS, Destination, folder_manifest

log = logging.getLogger(__name__)

STAGING_INFIX, OLD_INFIX = ".staging-", ".old-"


def write_checksums(folder: str | Path, *, model_version: str,
                    destination: Destination | None = None,
                    known: Mapping[str, str] | None = None) -> dict[str, str]:
    """Write checksums.json (SHA-256 of the content files present, read from disk), then
    manifest.json anchoring it. ``destination`` (tag and download address) defaults to the
    one the folder's manifest records, else the unpublished one. ``known``: hashes of content
    files already computed (of these very bytes). Returns the checksums."""
    folder = Path(folder)
    missing = [name for name in (ONNX_FILE, TOKENIZER_FILE) if not (folder / name).is_file()]
    if missing:
        raise DataFileError(folder, f"not a model folder: {', '.join(missing)} missing.",
                            fix="build it with `hf-pipeline release`.")
    try:
        previous = read_manifest(folder)
    except DataFileError:
        previous = {}
    if destination is None:
        destination = Destination.of(previous) or Destination.unpublished(model_version)
    extra = {k: v for k, v in previous.items() if k not in FIELDS}  # the loader allows them
    hashes = FileHashes(folder, {k: v for k, v in (known or {}).items()
                                 if k in CONTENT_FILES})
    checksums = {name: hashes(name) for name in sorted(CONTENT_FILES) if (folder / name).is_file()}
    atomic_write_json(folder / CHECKSUMS_FILE, checksums)
    files = {**checksums, CHECKSUMS_FILE: hashes(CHECKSUMS_FILE)}
    atomic_write_json(folder / MANIFEST_FILE,
                      {**extra, **folder_manifest(model_version, files, destination)})
    return checksums


def is_our_temp_file(name: str) -> bool:
    """A temp file of hf_pipeline.io's atomic writes of a model-folder file (``.NAME.*.tmp``),
    as an interrupted write inside the folder (by an older version) could leave one."""
    return any(name.startswith(f".{file}.") and name.endswith(".tmp") for file in RELEASE_FILES)


def check_output_folder(out_dir: Path) -> None:
    """A release may replace a folder that holds exactly model-folder files (and temp files
    of our own interrupted writes, removed here), nothing else."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(out_dir, "exists and is not a folder.", fix="choose a folder path.")
    for leftover in (p for p in out_dir.iterdir() if is_our_temp_file(p.name)) \
            if out_dir.exists() else ():
        leftover.unlink()
        log.warning("removed %s, left by an interrupted write", leftover)
    extra = sorted(p.name for p in out_dir.iterdir() if p.name not in RELEASE_FILES) \
        if out_dir.exists() else []
    if extra:
        raise OutputError(out_dir, f"holds files that are not part of a model folder: "
                          f"{', '.join(extra)}.",
                          fix="choose an empty or new folder (the release must hold exactly "
                          "the contract's files).")


def stage_folder(target: Path) -> Path:
    """A new hidden folder beside ``target`` to build its next version in."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        return Path(tempfile.mkdtemp(prefix=f".{target.name}{STAGING_INFIX}", dir=target.parent))
    except OSError as e:
        raise OutputError(target.parent, f"cannot write here ({e.strerror}).",
                          fix="choose a writable output location.") from None


def recover(target: Path) -> None:
    """Undo what an interrupted swap or staging left beside ``target``: restore a folder
    moved aside when ``target`` is gone, and remove stale staging folders."""
    parent = target.parent
    if not parent.is_dir():
        return
    olds = sorted(parent.glob(f".{target.name}{OLD_INFIX}*"))
    if olds and not target.exists():
        os.rename(olds[-1], target)
        log.warning("%s: restored the folder an interrupted update had moved aside", target)
        olds = olds[:-1]
    for stale in (*olds, *parent.glob(f".{target.name}{STAGING_INFIX}*")):
        shutil.rmtree(stale, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two folders (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def swap_in(staged: Path, target: Path) -> None:
    """Make ``staged`` the folder at ``target`` in one step; the old one is removed."""
    fsync_dir(staged)
    if not target.exists():
        os.rename(staged, target)
    elif _exchange(staged, target):
        shutil.rmtree(staged)  # now the old folder
    else:  # no atomic exchange here: move aside, move in; `recover` undoes a kill in between
        aside = target.parent / f".{target.name}{OLD_INFIX}{os.getpid()}"
        os.rename(target, aside)
        os.rename(staged, target)
        shutil.rmtree(aside)
    fsync_dir(target.parent)


def update_folder(folder: str | Path, changes: Mapping[str, bytes], *,
                  destination: Destination | None = None,
                  known: Mapping[str, str] | None = None) -> Path:
    """Replace the files named in ``changes`` and refresh manifest and checksums (with
    ``destination``, else the one the manifest records), as one atomic step (see the module
    docstring). ``known``: hashes of the folder's files already computed (``Release.hashes``),
    so unchanged files are not read again."""
    folder = Path(folder).resolve()
    recover(folder)
    version = model_version(folder)
    staged = stage_folder(folder)
    try:
        for path in folder.iterdir():
            if path.is_file() and path.name not in changes:
                try:
                    os.link(path, staged / path.name)
                except OSError:
                    shutil.copy2(path, staged / path.name)
        for name, data in changes.items():
            (staged / name).write_bytes(data)
        unchanged = {k: v for k, v in (known or {}).items() if k not in changes}
        write_checksums(staged, model_version=version, destination=destination,
                        known=unchanged)
        swap_in(staged, folder)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(staged)
        raise
    return folder
