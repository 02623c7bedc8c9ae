"""manifest.json: the six-field record today's sqry-nl loader needs, and its anchor.

Facts (../shared/docs/artifact-contract.md, "Today's loader"): a folder is a model folder only
if it holds ``manifest.json``, which must parse as the loader's record: ``model_version``,
``release_tag``, ``archive``, ``sha256``, ``download_url`` (strings) and ``files`` (an object
of file name -> SHA-256). ``files`` lists the content files *and* ``checksums.json``: the
manifest anchors the checksums file, which in turn lists the content files and neither
itself nor the manifest (no circle). Extra fields are allowed; we write none.

What the fields hold, in a folder and in the archive beside it:

- ``release_tag``, ``archive``, ``download_url``: where this release is (or will be)
  published. A folder that ``release`` builds without a destination is *unpublished*: its
  tag is ``v<model_version>``, its archive ``sqry-models-v<model_version>.tar.gz``, and its
  ``download_url`` is the empty string (no address exists yet). ``hf-pipeline run`` and
  ``release --publish-as REPO@TAG`` write the planned destination; ``publish-model`` writes
  the actual one before it uploads (one atomic folder update) when they differ.
- ``sha256``: inside the folder always the empty string, since the folder is inside the
  archive and cannot hold the archive's own hash. The manifest published *beside* the archive
  (``sqry-nl-manifest.json``, the file sqry's maintainers commit as
  ``sqry-nl/models/manifest.json``) is the same record with the archive's ``sha256``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hf_pipeline.model_folder.layout import CHECKSUMS_FILE, MANIFEST_FILE

FIELDS: tuple[str, ...] = ("model_version", "release_tag", "archive", "sha256",
                           "download_url", "files")
PUBLISHED_MANIFEST_FILE = "sqry-nl-manifest.json"  # beside the archive, outside it
UNPUBLISHED_URL = ""  # download_url of a folder with no destination yet


def archive_name(model_version: str) -> str:
    """sqry's convention for the archive of a model version."""
    return f"sqry-models-v{model_version}.tar.gz"


def resolve_url(endpoint: str, repo_id: str, revision: str, filename: str) -> str:
    """The Hub's download address of a model repo file: ``<endpoint>/<repo>/resolve/<rev>/<f>``."""
    return f"{endpoint.rstrip('/')}/{repo_id}/resolve/{revision}/{filename}"


@dataclass(frozen=True)
class Destination:
    """Where a release is published: the tag, and the archive's download address."""

    release_tag: str
    download_url: str

    @classmethod
    def unpublished(cls, model_version: str) -> Destination:
        return cls(f"v{model_version}", UNPUBLISHED_URL)

    @classmethod
    def on_hub(cls, endpoint: str, repo_id: str, tag: str, model_version: str) -> Destination:
        """The archive at the tag (not a commit: the commit that holds the archive cannot be
        named inside it, and our tags are never moved; the sha256 guards the bytes)."""
        return cls(tag, resolve_url(endpoint, repo_id, tag, archive_name(model_version)))

    @classmethod
    def of(cls, manifest: Mapping[str, Any]) -> Destination | None:
        """The destination a manifest records, if it records one of ours."""
        tag, url = manifest.get("release_tag"), manifest.get("download_url")
        return cls(tag, url) if isinstance(tag, str) and isinstance(url, str) else None


def folder_manifest(model_version: str, files: Mapping[str, str],
                    destination: Destination) -> dict[str, Any]:
    """The folder's manifest.json: ``files`` must hold the content files and checksums.json."""
    if CHECKSUMS_FILE not in files:
        raise ValueError(f"{MANIFEST_FILE} must anchor {CHECKSUMS_FILE}")
    return {"model_version": model_version, "release_tag": destination.release_tag,
            "archive": archive_name(model_version), "sha256": "",
            "download_url": destination.download_url, "files": dict(sorted(files.items()))}


def published_manifest(manifest: Mapping[str, Any], archive_sha256: str) -> dict[str, Any]:
    """The record beside the archive: the folder's, with the archive's own SHA-256."""
    return {**{k: manifest[k] for k in FIELDS}, "sha256": archive_sha256}


def manifest_problems(manifest: Any, *, where: str = MANIFEST_FILE) -> list[str]:
    """Why the loader would not parse ``manifest`` as its record (empty: it would)."""
    if not isinstance(manifest, dict):
        return [f"{where}: expected a JSON object, got {type(manifest).__name__}"]
    problems = []
    for name in FIELDS:
        kind = dict if name == "files" else str
        value = manifest.get(name)
        if value is None:
            problems.append(f"{where}: field {name} missing (today's sqry-nl refuses the folder: "
                            "manifest anchor invalid)")
        elif not isinstance(value, kind):
            problems.append(f"{where}: field {name} is a {type(value).__name__}, the loader "
                            f"needs {'an object' if kind is dict else 'a string'}")
    return problems


def anchor_problems(manifest: Mapping[str, Any], checksums_sha256: str | None, *,
                    where: str = MANIFEST_FILE) -> dict[str, str]:
    """The anchor: ``files["checksums.json"]`` equals the checksums file's hash (None: the
    file is missing, which the per-file pass reports). File at fault -> problem."""
    anchor = manifest["files"].get(CHECKSUMS_FILE)
    if not isinstance(anchor, str):
        return {MANIFEST_FILE: f"{where}: files has no {CHECKSUMS_FILE} entry, so nothing "
                "anchors the checksums (today's sqry-nl refuses the folder)"}
    if checksums_sha256 is not None and checksums_sha256 != anchor.lower():
        return {CHECKSUMS_FILE: f"{CHECKSUMS_FILE}: SHA-256 {checksums_sha256[:12]}... is not "
                f"the {anchor[:12]}... that {where} anchors; the checksums were changed after "
                "release"}
    return {}
