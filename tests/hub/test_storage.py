"""The local Hub's storage layer, without HTTP: git-compatible ids and all-or-nothing commits."""

from __future__ import annotations

from pathlib import Path

import pytest

from hf_pipeline.hub.server.errors import HubHTTPError
from hf_pipeline.hub.server.objects import FileEntry, git_blob_sha1, tree_ids
from hf_pipeline.hub.server.storage import Operation, RepoStore


def test_ids_are_the_ones_git_computes() -> None:
    # Expected values from `git hash-object` / `git write-tree` on the same files.
    assert git_blob_sha1(b"hello") == "b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0"
    files = {p: FileEntry.regular(d) for p, d in
             {"a/hello.txt": b"hello", "a.txt": b"x", "b/c/d": b"y", "b-c": b"z"}.items()}
    ids = tree_ids(files)
    assert ids[""] == "504edbc6c65270ac6d6453327a23ef7ffb5a9ac3"  # "b-c" sorts before "b/"
    assert ids["a"] == "04df07b08ca746b3167d0f1d1514e2f39a52c16c"


def test_interrupted_commit_leaves_the_previous_head(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    store = RepoStore(tmp_path)
    store.create("dataset", "me/data", author="me")
    head = store.apply_commit("dataset", "me/data", "main", [Operation("file", "a.txt", b"1")],
                              title="one", message="", author="me", parent=None,
                              create_pr=False)[0]

    def crash(repo: object) -> None:
        raise OSError("disk full")
    monkeypatch.setattr(store, "save", crash)  # dies just before the ref update
    with pytest.raises(OSError):
        store.apply_commit("dataset", "me/data", "main", [Operation("file", "a.txt", b"2")],
                           title="two", message="", author="me", parent=None, create_pr=False)

    reopened = RepoStore(tmp_path)  # as after a restart
    repo = reopened.get("dataset", "me/data")
    assert repo.heads["main"] == head.id
    entry = reopened.resolve(repo, "main").files["a.txt"]
    assert reopened.content_path(repo, entry).read_bytes() == b"1"


def test_a_path_cannot_be_file_and_folder(tmp_path: Path) -> None:
    store = RepoStore(tmp_path)
    store.create("model", "me/m", author="me")
    store.apply_commit("model", "me/m", "main", [Operation("file", "x", b"1")], title="t",
                       message="", author="me", parent=None, create_pr=False)
    with pytest.raises(HubHTTPError, match="both a file and a folder"):
        store.apply_commit("model", "me/m", "main", [Operation("file", "x/y", b"2")],
                           title="t", message="", author="me", parent=None, create_pr=False)
