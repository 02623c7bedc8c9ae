"""Git-compatible objects and their ids: file entries, commits, blob/LFS pointer/tree/commit
hashes.

The ids the server hands out are the ones git (and the Hub) would compute, so the client's
own checks hold: ``huggingface_hub`` compares a regular file's git blob sha1 with the
``oid`` from ``preupload`` to skip unchanged files, and an LFS file's sha256 with its ``lfs.oid``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

# Measured with tracemalloc on parsed commits: ~300 bytes per file entry beyond its path
# (more for LFS files); the estimate errs high.
_ENTRY_BYTES, _COMMIT_BYTES = 360, 1024
LFS_POINTER_TEMPLATE = "version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n"


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a blob with this content (``git hash-object``)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    """The LFS pointer file git stores in place of an LFS object."""
    return LFS_POINTER_TEMPLATE.format(oid=sha256, size=size).encode()


@dataclass(frozen=True, slots=True)  # slots: a server holds many of these in memory
class FileEntry:
    """One file in a commit: its git blob id and size, plus the LFS object when it has one."""

    oid: str
    size: int
    lfs_sha256: str | None = None

    @classmethod
    def regular(cls, data: bytes) -> FileEntry:
        return cls(oid=git_blob_sha1(data), size=len(data))

    @classmethod
    def lfs(cls, sha256: str, size: int) -> FileEntry:
        return cls(oid=git_blob_sha1(lfs_pointer(sha256, size)), size=size, lfs_sha256=sha256)

    @property
    def pointer_size(self) -> int:
        assert self.lfs_sha256 is not None
        return len(lfs_pointer(self.lfs_sha256, self.size))

    @property
    def etag(self) -> str:
        """What the Hub sends as ETag: the sha256 for LFS files, the git blob id otherwise."""
        return self.lfs_sha256 or self.oid

    def lfs_info(self) -> dict[str, Any] | None:
        """The ``lfs`` object of tree/paths-info answers (``oid`` is the sha256)."""
        if self.lfs_sha256 is None:
            return None
        return {"oid": self.lfs_sha256, "size": self.size, "pointerSize": self.pointer_size}

    def to_json(self) -> dict[str, Any]:
        return {"oid": self.oid, "size": self.size, "lfs": self.lfs_sha256}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FileEntry:
        return cls(oid=data["oid"], size=int(data["size"]), lfs_sha256=data.get("lfs"))


@dataclass(frozen=True)
class Commit:
    """One commit as ``commits/<sha>.json`` holds it: parents, message and the full file map."""

    id: str
    tree: str
    parents: tuple[str, ...]
    title: str
    message: str
    author: str
    date: str
    files: dict[str, FileEntry]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "tree": self.tree, "parents": list(self.parents),
                "title": self.title, "message": self.message, "author": self.author,
                "date": self.date, "files": {p: e.to_json() for p, e in self.files.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Commit:
        return cls(id=data["id"], tree=data["tree"], parents=tuple(data["parents"]),
                   title=data["title"], message=data["message"], author=data["author"],
                   date=data["date"],
                   files={p: FileEntry.from_json(e) for p, e in data["files"].items()})

    def estimated_bytes(self) -> int:
        """What this parsed commit costs in memory, roughly (for the commit cache's bound)."""
        return _COMMIT_BYTES + sum(_ENTRY_BYTES + len(path) for path in self.files)


def tree_ids(files: Mapping[str, FileEntry]) -> dict[str, str]:
    """Git tree ids of every folder in ``files`` ("" is the root), as git would compute them."""
    children: dict[str, dict[str, tuple[bool, str]]] = {"": {}}
    for path in files:
        parts = path.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            children.setdefault(folder, {})
            parent = "/".join(parts[: depth - 1])
            children[parent][parts[depth - 1]] = (True, folder)
        children["/".join(parts[:-1])][parts[-1]] = (False, path)
    ids: dict[str, str] = {}
    for folder in sorted(children, key=lambda f: f.count("/") + bool(f), reverse=True):
        body = b""
        # git sorts tree entries by name, with a folder sorting as if its name ended in "/".
        for name, (is_dir, path) in sorted(children[folder].items(),
                                           key=lambda kv: kv[0] + ("/" if kv[1][0] else "")):
            mode, oid = (b"40000", ids[path]) if is_dir else (b"100644", files[path].oid)
            body += mode + b" " + name.encode() + b"\0" + bytes.fromhex(oid)
        ids[folder] = hashlib.sha1(b"tree %d\0" % len(body) + body).hexdigest()
    return ids


def commit_sha1(*, tree: str, parents: list[str], author: str, date: datetime, title: str,
                message: str) -> str:
    """The git commit id for this tree, parents, author, date and message."""
    stamp = f"{int(date.timestamp())} +0000"
    lines = [f"tree {tree}", *(f"parent {p}" for p in parents),
             f"author {author} <{author}@local-hub> {stamp}",
             f"committer {author} <{author}@local-hub> {stamp}", "", title]
    if message:
        lines += ["", message]
    body = ("\n".join(lines) + "\n").encode()
    return hashlib.sha1(b"commit %d\0" % len(body) + body).hexdigest()


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def iso(date: datetime) -> str:
    """The Hub's date format: ``2024-05-01T12:00:00.000Z``."""
    return date.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
