"""sqry's installable archive of a model folder, and installing one the way sqry does.

sqry's installer (artifact-contract.md, "Today's loader") downloads ``download_url``, checks the
archive's SHA-256 against the manifest compiled into sqry (``sqry-nl/models/manifest.json``),
extracts the gzip tar, and then trusts the folder because that manifest's
``files["checksums.json"]`` equals the folder's ``checksums.json`` (Trusted, instead of the
folder's own manifest in Custom trust).

The archive holds the folder's files at its root, byte-identical for the same folder: sorted
entries, USTAR headers with mtime 0, owner 0:0 and no owner names, mode 0644, and a gzip header
without a file name or time. The same model published again is therefore the same bytes, and
the same hash, and a re-publish is a no-op.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hf_pipeline.io import sha256_file
from hf_pipeline.model_folder.layout import CHECKSUMS_FILE, MANIFEST_FILE, RELEASE_FILES
from hf_pipeline.model_folder.manifest import anchor_problems, manifest_problems

FILE_MODE = 0o644
GZIP_LEVEL = 9


def archive_bytes(folder: str | Path) -> bytes:
    """The gzip tar of the model folder's files (those of the contract that exist)."""
    folder = Path(folder)
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0,
                       compresslevel=GZIP_LEVEL) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(n for n in RELEASE_FILES if (folder / n).is_file()):
            data = (folder / name).read_bytes()
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, FILE_MODE
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def extract_like_installer(archive: str | Path, dest: str | Path) -> Path:
    """Extract ``archive`` into ``dest`` and return the model folder: the root when it holds
    manifest.json, else its one top-level folder that does (sqry's rule). Unsafe members
    (absolute paths, ``..``, links out of the tree) are refused by tarfile's data filter."""
    from hf_pipeline.errors import DataFileError

    dest = Path(dest)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(dest, filter="data")
    except (OSError, tarfile.TarError, EOFError) as e:
        raise DataFileError(archive, f"not a gzip tar that sqry can extract ({e}).",
                            fix="publish the model again; `hf-pipeline publish-model` "
                            "writes the archive.") from None
    if (dest / MANIFEST_FILE).is_file():
        return dest
    folders = [p for p in dest.iterdir() if p.is_dir()]
    if len(folders) == 1 and (folders[0] / MANIFEST_FILE).is_file():
        return folders[0]
    raise DataFileError(archive, f"holds no {MANIFEST_FILE} at its root or in one top-level "
                        "folder, so sqry's installer finds no model in it.",
                        fix="publish the model again with `hf-pipeline publish-model`.")


def trusted_problems(folder: str | Path, expected: Mapping[str, Any]) -> list[str]:
    """The Trusted check of an installed folder: the compiled-in manifest ``expected`` parses,
    anchors the folder's checksums.json, and every listed file matches (empty: trusted)."""
    from hf_pipeline.model_folder.checksums import listed_file_problems

    folder = Path(folder)
    where = "the sqry-nl manifest"
    problems = manifest_problems(expected, where=where)
    if problems:
        return problems
    checksums = folder / CHECKSUMS_FILE
    anchored = anchor_problems(expected, sha256_file(checksums) if checksums.is_file() else None,
                               where=where)
    return [*anchored.values(), *listed_file_problems(folder).values()]


def archive_problems(archive: str | Path, expected: Mapping[str, Any], dest: str | Path
                     ) -> list[str]:
    """Everything sqry's installer and loader check of a downloaded archive, given the
    manifest compiled into sqry: name, SHA-256, extraction, Trusted, and Custom trust of the
    extracted folder (which must also work when a user points sqry at it)."""
    from hf_pipeline.errors import DataFileError
    from hf_pipeline.model_folder.checksums import verification_problems

    archive = Path(archive)
    problems = manifest_problems(expected, where="the sqry-nl manifest")
    if problems:
        return problems
    if archive.name != expected["archive"]:
        problems.append(f"archive is named {archive.name}, the manifest says "
                        f"{expected['archive']}")
    digest = sha256_file(archive)
    if digest != expected["sha256"]:
        return [*problems, f"{archive.name}: SHA-256 {digest[:12]}..., the manifest says "
                f"{expected['sha256'][:12]}... (sqry's installer deletes it)"]
    try:
        folder = extract_like_installer(archive, dest)
    except DataFileError as e:
        return [*problems, str(e)]
    problems += [f"Trusted: {p}" for p in trusted_problems(folder, expected)]
    problems += [f"Custom trust of the extracted folder: {p}"
                 for p in verification_problems(folder)]
    return problems

