"""Verifying a model folder before anything in it is read, as today's sqry-nl loader does
in Custom trust (a folder the operator points at), and writing what it verifies.

The order is the loader's: ``manifest.json`` must parse as its six-field record and anchor
``checksums.json`` (``files["checksums.json"]`` is the checksums file's SHA-256); then every
file ``checksums.json`` lists is hashed. ``checksums.json`` lists the five content files and
neither itself nor the manifest, so the old runtime, which ignores the manifest and checks the
listed files, loads the same folder. A mismatch, a listed file that is missing, a missing
``checksums.json`` or an invalid manifest refuses the folder. Stricter than the runtime in one
way: every file a loader reads must be listed, so nothing it uses escapes verification.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from hf_pipeline.errors import CheckFailedError, DataFileError
from hf_pipeline.io import read_json_object, sha256_file
from hf_pipeline.model_folder.layout import (
    CHECKSUMS_FILE,
    CONTENT_FILES,
    MANIFEST_FILE,
)
from hf_pipeline.model_folder.manifest import (
    anchor_problems,
    manifest_problems,
)

log = logging.getLogger(__name__)

UNVERIFIED_FIX = ("rebuild the folder with `hf-pipeline release` (or refresh it with "
                  "`hf-pipeline calibrate fit`); to load it anyway, pass allow_unverified=True "
                  "(`--allow-unverified`), never for a model you ship.")


class ChecksumError(CheckFailedError, ValueError):
    """A model folder failed verification; ``problems`` lists every failing file."""

    def __init__(self, folder: Path, problems: list[str]) -> None:
        self.folder, self.problems = folder, problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{folder}: model folder failed checksum verification:\n{lines}\n"
                         f"Fix: {UNVERIFIED_FIX}")


def read_checksums(folder: Path) -> dict[str, str]:
    """The name -> hash map of ``folder/checksums.json``; ChecksumError if absent or malformed."""
    path = folder / CHECKSUMS_FILE
    if not path.is_file():
        raise ChecksumError(folder, [f"{CHECKSUMS_FILE}: missing, so nothing can be verified"])
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ChecksumError(folder, [f"{CHECKSUMS_FILE}: unreadable ({e})"]) from None
    if not isinstance(data, dict):
        raise ChecksumError(folder, [f"{CHECKSUMS_FILE}: expected a JSON object of file name "
                                     f"-> SHA-256, got {type(data).__name__}"])
    bad = []
    for name, digest in data.items():
        if not isinstance(digest, str) or Path(name).name != name or name in ("", ".", ".."):
            bad.append(f"{CHECKSUMS_FILE}: entry {name!r}: {digest!r} is not a plain file name "
                       "with a SHA-256 hex string")
    if bad:
        raise ChecksumError(folder, bad)
    return data


class FileHashes:
    """SHA-256 of a folder's files, each read at most once; ``known`` seeds hashes the
    caller computed itself (of files it just wrote)."""

    def __init__(self, folder: str | Path, known: Mapping[str, str] | None = None) -> None:
        self.folder, self.known = Path(folder), dict(known or {})

    def __call__(self, name: str) -> str:
        if name not in self.known:
            self.known[name] = sha256_file(self.folder / name)
        return self.known[name]


def manifest_anchor_problems(folder: str | Path, *, hashes: FileHashes | None = None
                             ) -> dict[str, str]:
    """The loader's first step: ``manifest.json`` parses as its record and anchors
    ``checksums.json``. File at fault -> problem (empty: it does). A folder without a
    manifest is not a model folder to today's sqry-nl at all."""
    folder = Path(folder)
    hashes = hashes or FileHashes(folder)
    path = folder / MANIFEST_FILE
    if not path.is_file():
        return {MANIFEST_FILE: f"{MANIFEST_FILE}: missing; today's sqry-nl does not take this "
                "folder for a model folder"}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        return {MANIFEST_FILE: f"{MANIFEST_FILE}: unreadable ({e})"}
    problems = manifest_problems(manifest)
    if problems:
        return {MANIFEST_FILE: "; ".join(problems)}
    present = (folder / CHECKSUMS_FILE).is_file()
    return anchor_problems(manifest, hashes(CHECKSUMS_FILE) if present else None)


def listed_file_problems(folder: str | Path, *, required: Iterable[str] = (),
                         hashes: FileHashes | None = None) -> dict[str, str]:
    """The per-file pass: every file ``checksums.json`` lists exists and matches, and each
    name in ``required`` (files the caller reads) is listed. File name -> problem."""
    folder = Path(folder)
    hashes = hashes or FileHashes(folder)
    try:
        checksums = read_checksums(folder)
    except ChecksumError as e:
        return {CHECKSUMS_FILE: "; ".join(e.problems)}
    problems = {}
    for name in required:
        if name not in checksums and (folder / name).exists():
            problems[name] = f"{name}: not listed in {CHECKSUMS_FILE}, so it cannot be verified"
    for name, expected in sorted(checksums.items()):
        path = folder / name
        if not path.is_file():
            problems[name] = f"{name}: listed in {CHECKSUMS_FILE} but missing"
            continue
        actual = hashes(name)
        if actual != expected.lower():
            problems[name] = (f"{name}: SHA-256 mismatch ({CHECKSUMS_FILE} says "
                              f"{expected[:12]}..., the file hashes to {actual[:12]}...); it "
                              "was changed after release")
    return problems


def mismatched_files(folder: str | Path, *, required: Iterable[str] = (),
                     hashes: FileHashes | None = None) -> dict[str, str]:
    """File name -> problem for every file of ``folder`` that fails verification (empty:
    verified), in the loader's order: the manifest anchor, then the listed files.
    ``required`` names files that must be listed because the caller reads them."""
    hashes = hashes or FileHashes(folder)
    problems = manifest_anchor_problems(folder, hashes=hashes)
    for name, problem in listed_file_problems(folder, required=required,
                                              hashes=hashes).items():
        problems.setdefault(name, problem)  # a checksums.json the anchor refused: said once
    return problems


def verification_problems(folder: str | Path, *, required: Iterable[str] = ()) -> list[str]:
    """Every problem with ``folder``'s checksums, as messages (empty list: verified)."""
    return list(mismatched_files(folder, required=required).values())


def verify_folder(folder: str | Path, *, required: Iterable[str] = (),
                  allow_unverified: bool = False) -> bool:
    """Raise ChecksumError listing every problem, unless ``allow_unverified`` (then warn).
    Returns True when the folder verified."""
    return not problems_let_past(folder, required=required, allow_unverified=allow_unverified)


def problems_let_past(folder: str | Path, *, required: Iterable[str] = (),
                      allow_unverified: bool = False, repairs: Iterable[str] = (),
                      hashes: FileHashes | None = None) -> tuple[str, ...]:
    """Verify ``folder``; raise ChecksumError naming every failing file, unless
    ``allow_unverified`` (then a warning), or unless every problem is confined to
    ``repairs``, files the caller is about to rewrite, while every other file verifies
    (against checksums.json, or the manifest where that is the broken file). Returns the
    problems let past (empty: verified)."""
    folder = Path(folder)
    hashes = hashes or FileHashes(folder)
    mismatched = mismatched_files(folder, required=required, hashes=hashes)
    problems = tuple(mismatched.values())
    if not problems:
        log.debug("%s: verified", folder)
        return problems
    repairs = set(repairs)
    if repairs and set(mismatched) <= repairs and not problems_outside(
            folder, repairs, mismatched, hashes=hashes):
        log.warning("%s: only %s fail verification, files this command rewrites; every "
                    "other file verifies, so it repairs the folder", folder,
                    ", ".join(sorted(mismatched)))
    elif allow_unverified:
        log.warning("%s: loading an UNVERIFIED model (allow_unverified=True):\n  %s", folder,
                    "\n  ".join(problems))
    else:
        raise ChecksumError(folder, list(problems))
    return problems


def problems_outside(folder: str | Path, owned: Iterable[str],
                     mismatched: dict[str, str], *, hashes: FileHashes | None = None
                     ) -> list[str]:
    """Problems with every file not in ``owned``, given the folder's ``mismatched_files``:
    from checksums.json where it can be read, else against manifest.json's hashes of the
    content files. Lets a stage that rewrites ``owned`` (calibrate: temperature, manifest,
    checksums) finish an update that was interrupted between its files, without trusting
    anything else."""
    folder, owned = Path(folder), set(owned)
    hashes = hashes or FileHashes(folder)
    if CHECKSUMS_FILE not in mismatched:
        return [problem for name, problem in mismatched.items() if name not in owned]
    try:
        listed = read_manifest(folder).get("files")
    except DataFileError as e:
        return [f"{CHECKSUMS_FILE} and {MANIFEST_FILE} both unusable ({e})"]
    if not isinstance(listed, dict):
        return [f"{CHECKSUMS_FILE} unusable and {MANIFEST_FILE} lists no files"]
    problems = []
    for name in CONTENT_FILES:
        if name in owned:
            continue
        path, expected = folder / name, listed.get(name)
        if not isinstance(expected, str) or not path.is_file() or hashes(name) != expected:
            problems.append(f"{name}: does not match {MANIFEST_FILE}")
    return problems


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """manifest.json as a dict; {} when there is none."""
    path = Path(folder) / MANIFEST_FILE
    if not path.is_file():
        return {}
    return read_json_object(path, fix="rebuild the folder with `hf-pipeline release`.")
