"""Checksum verification of a model folder, before anything in it is read.

Like the sqry-nl runtime: ``checksums.json`` maps file name -> SHA-256 of every other file;
a mismatch, a listed file that is missing, or a missing ``checksums.json`` refuses the folder.
Stricter than the runtime in one way: every file this loader reads must be listed, so nothing
it uses escapes verification.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path

from hf_pipeline.contract import CHECKSUMS_FILE
from hf_pipeline.errors import PipelineError
from hf_pipeline.io import sha256_file

log = logging.getLogger(__name__)

UNVERIFIED_FIX = ("rebuild the folder with `hf-pipeline release` (or refresh it with "
                  "`hf-pipeline calibrate`); to load it anyway, pass allow_unverified=True "
                  "(`--allow-unverified`), never for a model you ship.")


class ChecksumError(PipelineError, ValueError):
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


def verification_problems(folder: str | Path, *, required: Iterable[str] = ()) -> list[str]:
    """Every problem with ``folder``'s checksums (empty list: verified). ``required`` names
    files that must be listed because the caller will read them."""
    folder = Path(folder)
    try:
        checksums = read_checksums(folder)
    except ChecksumError as e:
        return e.problems
    problems = []
    for name in required:
        if name not in checksums and (folder / name).exists():
            problems.append(f"{name}: not listed in {CHECKSUMS_FILE}, so it cannot be verified")
    for name, expected in sorted(checksums.items()):
        path = folder / name
        if not path.is_file():
            problems.append(f"{name}: listed in {CHECKSUMS_FILE} but missing")
            continue
        actual = sha256_file(path)
        if actual != expected.lower():
            problems.append(f"{name}: SHA-256 mismatch ({CHECKSUMS_FILE} says {expected[:12]}..., "
                            f"the file hashes to {actual[:12]}...); it was changed after release")
    return problems


def verify_folder(folder: str | Path, *, required: Iterable[str] = (),
                  allow_unverified: bool = False) -> bool:
    """Raise ChecksumError listing every problem, unless ``allow_unverified`` (then warn).
    Returns True when the folder verified."""
    folder = Path(folder)
    problems = verification_problems(folder, required=required)
    if not problems:
        log.debug("%s: %s verified", folder, CHECKSUMS_FILE)
        return True
    if not allow_unverified:
        raise ChecksumError(folder, problems)
    log.warning("%s: loading an UNVERIFIED model (allow_unverified=True):\n  %s", folder,
                "\n  ".join(problems))
    return False
