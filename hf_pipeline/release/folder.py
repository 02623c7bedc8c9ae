"""version.txt, config.json and whole-folder updates of a model folder.

A model folder is changed in one step: a complete new copy is staged beside it (unchanged
files hard-linked, changed ones written, manifest and checksums recomputed), then swapped in
with one rename. A kill at any moment leaves either the old folder or the new one, each
verifying, plus at worst a hidden staging folder that the next update removes.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hf_pipeline import __version__
from hf_pipeline.contract import DEFAULT_BASE_MODEL, MAX_LENGTH
from hf_pipeline.errors import DataFileError, InvalidValueError, OutputError
from hf_pipeline.intents import ID2LABEL, INTENTS, LABEL2ID, check_label_order
from hf_pipeline.io import read_json_object
from hf_pipeline.model_folder.checksums import read_manifest, write_checksums
from hf_pipeline.model_folder.layout import CONFIG_FILE, RELEASE_FILES, VERSION_FILE
from hf_pipeline.model_folder.manifest import Destination

log = logging.getLogger(__name__)

REBUILD = "rebuild the folder with `hf-pipeline release`."
STAGING_INFIX, OLD_INFIX = ".staging-", ".old-"


@dataclass(frozen=True)
class ReleaseInfo:
    """What version.txt and manifest.json say about where the model came from."""

    model_version: str
    dataset_repo: str
    dataset_revision: str
    training_commit: str
    base_model: str = DEFAULT_BASE_MODEL
    date: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).date().isoformat())

    def __post_init__(self) -> None:
        for name in ("model_version", "dataset_repo", "dataset_revision", "training_commit",
                     "base_model", "date"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip() or "\n" in value:
                raise InvalidValueError(name, value, "a non-empty single-line string",
                                        fix="it is written as a key=value line in version.txt.")
        check_model_version(self.model_version)


VERSION_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$")


def check_model_version(version: str) -> None:
    """A model version names tags, files and lines: letters, digits, '.', '+', '-' only."""
    if not isinstance(version, str) or not VERSION_PATTERN.match(version):
        raise InvalidValueError("model_version", version, "a version like 1.0.0 (letters, "
                                "digits, '.', '+' and '-'; no spaces or slashes)")


def version_text(info: ReleaseInfo, *, preset: str | None = None) -> str:
    lines = [f"# sqry-nl intent classifier, assembled by hf-pipeline {__version__}",
             f"model_version={info.model_version}", f"base_model={info.base_model}",
             f"dataset_repo={info.dataset_repo}", f"dataset_revision={info.dataset_revision}",
             f"training_commit={info.training_commit}", f"date={info.date}",
             f"max_length={MAX_LENGTH}"]
    if preset:
        lines.append(f"quantization=int8 dynamic, preset {preset}")
    return "\n".join(lines) + "\n"


def read_version(folder: str | Path) -> dict[str, str]:
    """version.txt's key=value lines ({} when there is none); '#' lines are comments."""
    path = Path(folder) / VERSION_FILE
    if not path.is_file():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DataFileError(path, f"unreadable ({e}).", fix=REBUILD) from None
    return parse_version(text)


def parse_version(text: str) -> dict[str, str]:
    """version.txt's text as key -> value (as the runtime reads it)."""
    pairs = (line.split("=", 1) for line in text.splitlines()
             if "=" in line and not line.lstrip().startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def model_version(folder: str | Path) -> str:
    """The folder's model version: manifest.json first, else version.txt."""
    version = read_manifest(folder).get("model_version") or read_version(folder).get(
        "model_version")
    if not version:
        raise DataFileError(folder, "no model_version in manifest.json or version.txt.",
                            fix=REBUILD)
    return str(version)


def release_config(model_config: Mapping[str, Any]) -> dict[str, Any]:
    """The transformers config with id2label/label2id in the runtime's order, plus max_length."""
    config = dict(model_config)
    config["id2label"] = {str(i): label for i, label in ID2LABEL.items()}
    config["label2id"] = dict(LABEL2ID)
    config["num_labels"] = len(INTENTS)
    config["max_length"] = MAX_LENGTH
    return config


def check_config(folder: str | Path) -> None:
    """config.json (optional; people read it, the runtime does not) must agree with the
    runtime's fixed label order and the pipeline's truncation, or the folder is mixed up."""
    path = Path(folder) / CONFIG_FILE
    if not path.is_file():
        return
    config = read_json_object(path, fix=REBUILD)
    id2label = config.get("id2label")
    if id2label is not None and not isinstance(id2label, dict):
        raise DataFileError(path, f"id2label is a {type(id2label).__name__}, expected an object "
                            "of index -> label (the transformers config format).", fix=REBUILD)
    if id2label is not None:
        check_label_order(config["id2label"], where=path, field="id2label",
                          fix="export the model trained by `hf-pipeline train`, which uses "
                          "that order.")
    max_length = config.get("max_length")
    if max_length is not None and max_length != MAX_LENGTH:
        raise DataFileError(path, f"max_length is {max_length!r}, this pipeline truncates at "
                            f"{MAX_LENGTH}.", fix="rebuild the folder with this version.")


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


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
    _fsync_dir(staged)
    if not target.exists():
        os.rename(staged, target)
    elif _exchange(staged, target):
        shutil.rmtree(staged)  # now the old folder
    else:  # no atomic exchange here: move aside, move in; `recover` undoes a kill in between
        aside = target.parent / f".{target.name}{OLD_INFIX}{os.getpid()}"
        os.rename(target, aside)
        os.rename(staged, target)
        shutil.rmtree(aside)
    _fsync_dir(target.parent)


def update_folder(folder: str | Path, changes: Mapping[str, bytes], *,
                  destination: Destination | None = None) -> Path:
    """Replace the files named in ``changes`` and refresh manifest and checksums (with
    ``destination``, else the one the manifest records), as one atomic step (see the module
    docstring)."""
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
        write_checksums(staged, model_version=version, destination=destination)
        swap_in(staged, folder)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(staged)
        raise
    return folder
