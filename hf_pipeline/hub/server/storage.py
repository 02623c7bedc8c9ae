"""Repositories on disk: refs, commits, blobs and LFS objects under one data directory.

Layout (every file written atomically; objects are immutable and content-addressed)::

    <data_dir>/repos/<type>s/<namespace>/<name>/
        repo.json            settings and refs (branches, tags, pull requests)
        commits/<sha1>.json  one commit: parents, message, and the full file map
        history/<sha1>.json  what history walks read of it (see ``history``)
        blobs/<sha1>         regular file content, by git blob id
        lfs/<sha256>         LFS object content, by sha256

A commit writes its objects first, then its history record and its commit file, then
``repo.json``: the ref update is the single atomic step, so a commit is applied fully or not
at all, and a crash leaves at most unreferenced objects behind. Every file is written under
``<data_dir>/tmp/`` first and renamed into place, so a killed server leaves no half-written
object where it can be seen, and its leftovers are in one folder, emptied at the next start
(``sweep_tmp``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hf_pipeline.hub.server.errors import (
    HubHTTPError,
    bad_request,
    repo_not_found,
    revision_not_found,
)
from hf_pipeline.hub.server.history import CommitSummary, HistoryIndex, last_changes
from hf_pipeline.hub.server.lru import BoundedLRU
from hf_pipeline.hub.server.objects import (
    Commit,
    FileEntry,
    commit_sha1,
    iso,
    tree_ids,
    utc_now,
)
from hf_pipeline.hub.server.paths import validate_path, validate_ref_name
from hf_pipeline.io import dumps_json

log = logging.getLogger(__name__)

REPO_TYPES = ("model", "dataset", "space")
# Names that would make model URLs (no type prefix) ambiguous with the server's own routes.
RESERVED_NAMESPACES = frozenset({"api", "datasets", "spaces", "models", "lfs-objects"})
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_SHA_RE = re.compile(r"^[0-9a-f]{7,40}$")

# The .gitattributes the Hub puts in the first commit of a new repo: what it sends to LFS.
DEFAULT_GITATTRIBUTES = "".join(
    f"{pattern} filter=lfs diff=lfs merge=lfs -text\n" for pattern in (
        "*.7z", "*.arrow", "*.bin", "*.bz2", "*.ckpt", "*.ftz", "*.gz", "*.h5", "*.joblib",
        "*.lfs.*", "*.lz4", "*.mlmodel", "*.model", "*.msgpack", "*.npy", "*.npz", "*.onnx",
        "*.ot", "*.parquet", "*.pb", "*.pickle", "*.pkl", "*.pt", "*.pth", "*.rar",
        "*.safetensors", "saved_model/**/*", "*.tar.*", "*.tar", "*.tflite", "*.tgz", "*.wasm",
        "*.xz", "*.zip", "*.zst", "*tfevents*", "*.mp3", "*.wav", "*.flac", "*.jpg", "*.jpeg",
        "*.png", "*.webp", "*.gif", "*.mp4",
    )
)


@dataclass
class Repo:
    """A repository's settings and refs (the content of ``repo.json``)."""

    type: str
    id: str
    path: Path
    private: bool = False
    gated: str | bool = False
    sdk: str | None = None
    created_at: str = ""
    heads: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    pulls: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "id": self.id, "private": self.private, "gated": self.gated,
                "sdk": self.sdk, "createdAt": self.created_at, "heads": self.heads,
                "tags": self.tags, "pulls": self.pulls}

    @classmethod
    def from_json(cls, data: dict[str, Any], path: Path) -> Repo:
        return cls(type=data["type"], id=data["id"], path=path, private=data["private"],
                   gated=data["gated"], sdk=data["sdk"], created_at=data["createdAt"],
                   heads=data["heads"], tags=data["tags"], pulls=data["pulls"])


@dataclass(frozen=True)
class Operation:
    """One line of a commit: ``file`` (with ``data``, or its ``entry`` when the blob is
    already stored), ``lfsFile``, ``deletedFile``/``Folder``."""

    kind: str
    path: str
    data: bytes = b""
    sha256: str = ""
    size: int | None = None
    entry: FileEntry | None = None


class RepoStore:
    """All repositories under ``data_dir``; thread-safe (one lock serialises writes)."""

    def __init__(self, data_dir: Path, *, cache_commits: int = 512,
                 cache_bytes: int = 32 << 20, cache_records: int = 20_000,
                 cache_record_bytes: int = 8 << 20) -> None:
        """``cache_*``: the parsed commits kept in memory (each with its file map), and the
        history records (``history.HistoryIndex``), each bounded by a count and a size."""
        self.root = Path(data_dir)
        (self.root / "repos").mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").mkdir(exist_ok=True)
        self.lock = threading.RLock()
        self.commits: BoundedLRU[Commit] = BoundedLRU(max_items=cache_commits,
                                                      max_bytes=cache_bytes)
        self.history_index = HistoryIndex(
            write_file=self._write_file, read_commit=self._load_commit_at, lock=self.lock,
            max_items=cache_records, max_bytes=cache_record_bytes)

    def sweep_tmp(self) -> int:
        """Remove what an earlier run left in ``tmp/`` (it was killed mid-write); the count.

        Only safe while no other server uses this data directory (the app holds a lock)."""
        count = 0
        for leftover in (self.root / "tmp").iterdir():
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
            count += 1
        return count

    def _tmp_path(self, kind: str) -> Path:
        return self.root / "tmp" / f"{kind}-{uuid.uuid4().hex}"

    def _write_file(self, path: Path, data: bytes) -> None:
        """Write ``path`` atomically: into ``tmp/``, flushed to disk, then renamed into place."""
        tmp = self._tmp_path("write")
        try:
            with open(tmp, "xb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    # -- repositories ------------------------------------------------------------------
    def repo_dir(self, repo_type: str, repo_id: str) -> Path:
        ns, _, name = repo_id.partition("/")
        if repo_type not in REPO_TYPES or not _NAME_RE.match(ns) or not _NAME_RE.match(name):
            raise repo_not_found(repo_type, repo_id)
        return self.root / "repos" / f"{repo_type}s" / ns / name

    def get(self, repo_type: str, repo_id: str) -> Repo:
        path = self.repo_dir(repo_type, repo_id)
        try:
            data = json.loads((path / "repo.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise repo_not_found(repo_type, repo_id) from None
        return Repo.from_json(data, path)

    def save(self, repo: Repo) -> None:
        self._write_file(repo.path / "repo.json", dumps_json(repo.to_json()).encode())

    def create(self, repo_type: str, repo_id: str, *, author: str, private: bool = False,
               sdk: str | None = None) -> Repo:
        ns, _, name = repo_id.partition("/")
        for part, what in ((ns, "namespace"), (name, "name")):
            if not _NAME_RE.match(part) or part.endswith(".git") or ".." in part:
                raise bad_request(f"Invalid repo {what} {part!r}: use up to 96 letters, digits, "
                                  "'.', '_' or '-', starting with a letter or digit.")
        if ns in RESERVED_NAMESPACES:
            raise bad_request(f"Namespace {ns!r} is reserved on this local Hub; choose another.")
        with self.lock:
            path = self.repo_dir(repo_type, repo_id)
            if (path / "repo.json").exists():
                raise HubHTTPError(409, f"You already created this {repo_type} repo: {repo_id}")
            repo = Repo(type=repo_type, id=repo_id, path=path, private=private, sdk=sdk,
                        created_at=iso(utc_now()))
            files = {".gitattributes": DEFAULT_GITATTRIBUTES.encode()}
            if repo_type == "space":
                files["README.md"] = (f"---\ntitle: {name}\nsdk: {sdk}\napp_file: app.py\n"
                                      "pinned: false\n---\n").encode()
            ops = [Operation("file", p, data=d) for p, d in files.items()]
            commit = self._write_commit(repo, None, ops, title="initial commit", message="",
                                        author=author)
            repo.heads["main"] = commit.id
            self.save(repo)
            log.info("created %s repo %s", repo_type, repo_id)
            return repo

    def delete(self, repo_type: str, repo_id: str) -> None:
        with self.lock:
            repo = self.get(repo_type, repo_id)
            trash = self.root / "tmp" / f"deleted-{uuid.uuid4().hex}"
            repo.path.rename(trash)  # atomic: the repo is gone before the slow rmtree
            shutil.rmtree(trash, ignore_errors=True)
            self.commits.drop(lambda key: key[0] == repo.path)  # type: ignore[index]
            self.history_index.forget(repo.path)
            log.info("deleted %s repo %s", repo_type, repo_id)

    def list_repos(self, repo_type: str) -> Iterator[Repo]:
        base = self.root / "repos" / f"{repo_type}s"
        for repo_json in sorted(base.glob("*/*/repo.json")):
            yield Repo.from_json(json.loads(repo_json.read_text(encoding="utf-8")),
                                 repo_json.parent)

    # -- commits and revisions -------------------------------------------------------------
    def load_commit(self, repo: Repo, sha: str) -> Commit:
        return self._load_commit_at(repo.path, sha)

    def _load_commit_at(self, repo_dir: Path, sha: str) -> Commit:
        key = (repo_dir, sha)
        commit = self.commits.get(key)
        if commit is None:
            path = repo_dir / "commits" / f"{sha}.json"
            commit = Commit.from_json(json.loads(path.read_text(encoding="utf-8")))
            self.commits.put(key, commit, commit.estimated_bytes())
        return commit

    def resolve(self, repo: Repo, revision: str) -> Commit:
        """A branch, tag, ``refs/heads|tags|pr/...`` or (prefix of a) commit id."""
        for refs in (repo.heads, repo.tags):
            if revision in refs:
                return self.load_commit(repo, refs[revision])
        for prefix, refs in (("refs/heads/", repo.heads), ("refs/tags/", repo.tags),
                             ("refs/pr/", repo.pulls)):
            if revision.startswith(prefix) and revision[len(prefix):] in refs:
                return self.load_commit(repo, refs[revision[len(prefix):]])
        if _SHA_RE.match(revision):
            matches = [p.stem for p in (repo.path / "commits").glob(f"{revision}*.json")]
            if len(matches) == 1:
                return self.load_commit(repo, matches[0])
        raise revision_not_found(repo.id, revision)

    def history(self, repo: Repo, commit: Commit) -> list[CommitSummary]:
        """What ``list_repo_commits`` shows of ``commit`` and its ancestors, newest first."""
        return [record.summary for record in self.history_index.walk(repo.path, commit.id)]

    def last_commits(self, repo: Repo, commit: Commit,
                     paths: list[str]) -> dict[str, CommitSummary]:
        """For each path (file or folder), the commit, ending at ``commit``, that last changed
        it: the oldest of the run of commits in which it has its current content."""
        return last_changes(self.history_index.walk(repo.path, commit.id), paths)

    def apply_commit(self, repo_type: str, repo_id: str, revision: str, ops: list[Operation], *,
                     title: str, message: str, author: str, parent: str | None,
                     create_pr: bool) -> tuple[Commit, int | None]:
        """Apply ``ops`` on top of ``revision`` (a branch or PR): (new commit, PR number)."""
        with self.lock:
            repo = self.get(repo_type, repo_id)
            ref_kind, ref_name = self._writable_ref(repo, revision)
            head = self.resolve(repo, revision)
            if create_pr:
                base = self.resolve(repo, parent) if parent else head
            else:
                if parent is not None and not head.id.startswith(parent):
                    raise HubHTTPError(412, "A commit has happened since. Please refresh and try "
                                       f"again: parentCommit {parent} is not the head "
                                       f"{head.id} of {revision!r}.")
                base = head
            commit = self._write_commit(repo, base, ops, title=title, message=message,
                                        author=author)
            pr_num = None
            if create_pr:
                pr_num = 1 + max((int(n) for n in repo.pulls), default=0)
                repo.pulls[str(pr_num)] = commit.id
            elif ref_kind == "pr":
                repo.pulls[ref_name] = commit.id
            else:
                repo.heads[ref_name] = commit.id
            self.save(repo)
            return commit, pr_num

    def _writable_ref(self, repo: Repo, revision: str) -> tuple[str, str]:
        if revision.startswith("refs/pr/"):
            return "pr", revision.removeprefix("refs/pr/")
        name = revision.removeprefix("refs/heads/")
        if name in repo.heads:
            return "head", name
        if name in repo.tags or _SHA_RE.match(name):
            raise bad_request(f"Cannot commit to {revision!r}: it is not a branch. Commit to a "
                              "branch (e.g. 'main') or create one with create_branch.")
        raise revision_not_found(repo.id, revision)

    def _write_commit(self, repo: Repo, base: Commit | None, ops: list[Operation], *, title: str,
                      message: str, author: str) -> Commit:
        files = dict(base.files) if base else {}
        for op in ops:
            self._apply_operation(repo, files, op)
        _check_no_file_folder_clash(files)
        date = utc_now()
        tree = tree_ids(files)[""]
        parents = [base.id] if base else []
        sha = commit_sha1(tree=tree, parents=parents, author=author, date=date, title=title,
                          message=message)
        commit = Commit(id=sha, tree=tree, parents=tuple(parents), title=title, message=message,
                        author=author, date=iso(date), files=files)
        self.history_index.add(repo.path, commit, base)
        self._write_file(repo.path / "commits" / f"{sha}.json",
                         dumps_json(commit.to_json()).encode())
        self.commits.put((repo.path, sha), commit, commit.estimated_bytes())
        return commit

    def _apply_operation(self, repo: Repo, files: dict[str, FileEntry], op: Operation) -> None:
        path = validate_path(op.path.strip("/") if op.kind == "deletedFolder" else op.path)
        if op.kind == "file":
            entry = op.entry or self.store_blob(repo, op.data)
            if not self.content_path(repo, entry).is_file():
                raise bad_request(f"The content of {path!r} was not stored; send it again.")
            files[path] = entry
        elif op.kind == "lfsFile":
            obj = self.lfs_path(repo, op.sha256)
            if not obj.exists():
                raise bad_request(f"LFS object {op.sha256} for {path!r} was never uploaded to "
                                  f"{repo.id}: upload it through the LFS batch API first.")
            size = obj.stat().st_size
            if op.size is not None and op.size != size:
                raise bad_request(f"lfsFile {path!r} announces size {op.size}, but LFS object "
                                  f"{op.sha256} has {size} bytes.")
            files[path] = FileEntry.lfs(op.sha256, size)
        elif op.kind == "deletedFile":
            if files.pop(path, None) is None:
                raise HubHTTPError(404, f"A file with this name doesn't exist: {path!r}",
                                   code="EntryNotFound")
        elif op.kind == "deletedFolder":
            inside = [p for p in files if p.startswith(path + "/")]
            if not inside:
                raise HubHTTPError(404, f"A folder with this name doesn't exist: {path!r}",
                                   code="EntryNotFound")
            for p in inside:
                del files[p]
        else:
            raise bad_request(f"Unknown commit operation {op.kind!r}: expected file, lfsFile, "
                              "deletedFile or deletedFolder.")

    # -- refs --------------------------------------------------------------------------------
    def create_ref(self, repo_type: str, repo_id: str, kind: str, name: str, revision: str) -> str:
        """Create a branch (``kind="heads"``) or tag (``"tags"``) at ``revision``."""
        with self.lock:
            repo = self.get(repo_type, repo_id)
            refs = repo.heads if kind == "heads" else repo.tags
            validate_ref_name(name, "branch" if kind == "heads" else "tag")
            if name in repo.heads or name in repo.tags:
                raise HubHTTPError(409, f"Reference already exists: {name!r} is already a "
                                   f"branch or tag of {repo_id}.")
            refs[name] = self.resolve(repo, revision).id
            self.save(repo)
            return refs[name]

    def delete_ref(self, repo_type: str, repo_id: str, kind: str, name: str) -> None:
        with self.lock:
            repo = self.get(repo_type, repo_id)
            refs = repo.heads if kind == "heads" else repo.tags
            name = name.removeprefix(f"refs/{kind}/")
            if name not in refs:
                raise revision_not_found(repo_id, name)
            if kind == "heads" and name == "main":
                raise HubHTTPError(403, "Cannot delete the default branch 'main'.")
            del refs[name]
            self.save(repo)

    # -- blobs and LFS -----------------------------------------------------------------------
    def store_blob(self, repo: Repo, data: bytes) -> FileEntry:
        """Store regular file content under its git blob id (once; content-addressed)."""
        entry = FileEntry.regular(data)
        blob = repo.path / "blobs" / entry.oid
        if not blob.exists():
            self._write_file(blob, data)
        return entry

    def content_path(self, repo: Repo, entry: FileEntry) -> Path:
        if entry.lfs_sha256:
            return self.lfs_path(repo, entry.lfs_sha256)
        return repo.path / "blobs" / entry.oid

    def lfs_path(self, repo: Repo, sha256: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise bad_request(f"Invalid LFS oid {sha256!r}: expected a sha256 hex digest.")
        return repo.path / "lfs" / sha256

    def store_lfs(self, repo: Repo, sha256: str, read: Callable[[int], bytes], *,
                  size: int | None = None) -> int:
        """Stream an upload to disk, hashing as it goes; it becomes the LFS object ``sha256``
        only if its content has that sha256 (and ``size`` bytes, when given)."""
        target = self.lfs_path(repo, sha256)
        tmp = self._tmp_path("upload")
        digest, got = hashlib.sha256(), 0
        try:
            with open(tmp, "xb") as f:
                while chunk := read(1 << 20):
                    digest.update(chunk)
                    got += len(chunk)
                    f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
            if size is not None and got != size:
                raise bad_request(f"Uploaded {got} bytes, but the LFS object {sha256} was "
                                  f"announced with {size}: the upload is refused.")
            if digest.hexdigest() != sha256:
                raise bad_request(f"Uploaded content has sha256 {digest.hexdigest()}, not the "
                                  f"announced oid {sha256}: the upload is refused.")
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return got


def _check_no_file_folder_clash(files: dict[str, FileEntry]) -> None:
    folders = {p.rsplit("/", 1)[0] for p in files if "/" in p}
    folders |= {f.rsplit("/", i)[0] for f in folders for i in range(1, f.count("/") + 1)}
    clash = sorted(folders & files.keys())
    if clash:
        raise bad_request(f"{clash[0]!r} would be both a file and a folder in this commit.")
