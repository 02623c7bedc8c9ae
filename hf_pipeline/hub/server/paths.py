"""Names that come from clients and end up in a repo: file paths and ref names.

A file path is refused when it could mean something else on a client's disk or in git than
it says: NUL and control characters, '.' and '..' segments, empty segments, absolute and
drive paths, backslashes, the .git and .cache folders, text that is not valid Unicode, and
lengths no filesystem takes.
"""

from __future__ import annotations

import re

from hf_pipeline.hub.server.errors import bad_request

_REF_RE = re.compile(r"^[A-Za-z0-9._-][A-Za-z0-9._/-]{0,199}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE_RE = re.compile(r"^[A-Za-z]:")
# Folders no repo file may live in: git's, and the one downloads to a local_dir write their
# metadata to (huggingface_hub refuses both on its side too).
FORBIDDEN_FOLDERS = (".git", ".cache")
MAX_PATH_BYTES = 4096
MAX_SEGMENT_BYTES = 255


def path_problem(path: str) -> str | None:
    """Why ``path`` cannot be a file path in a repo, or None when it can."""
    if not path:
        return "it is empty"
    if _CONTROL_RE.search(path):
        return "it contains a NUL byte or another control character"
    try:
        size = len(path.encode("utf-8"))
    except UnicodeEncodeError:
        return "it is not valid Unicode"
    if size > MAX_PATH_BYTES:
        return f"it is longer than {MAX_PATH_BYTES} bytes"
    if path.startswith("/") or _DRIVE_RE.match(path):
        return "it is absolute"
    if "\\" in path:
        return "it contains a backslash"
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return "it has an empty, '.' or '..' segment"
    if any(p in FORBIDDEN_FOLDERS for p in parts):
        return f"it is inside a {' or '.join(FORBIDDEN_FOLDERS)} folder"
    if any(len(p.encode()) > MAX_SEGMENT_BYTES for p in parts):
        return f"a segment is longer than {MAX_SEGMENT_BYTES} bytes"
    return None


def validate_path(path: str) -> str:
    problem = path_problem(path)
    if problem is not None:
        raise bad_request(f"Invalid path in repo {path[:200]!r}: {problem}. Use a relative POSIX "
                          "path of non-empty segments, without '.', '..', '.git' or '.cache'.")
    return path


def validate_ref_name(name: str, what: str) -> str:
    if not _REF_RE.match(name) or name.startswith("refs/") or ".." in name or name.endswith(
            ("/", ".lock")):
        raise bad_request(f"Invalid {what} name {name!r}: use letters, digits, '.', '_', '-' "
                          "and '/', not starting with 'refs/'.")
    return name
