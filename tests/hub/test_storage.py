"""The local Hub's storage layer, without HTTP: git-compatible ids and all-or-nothing commits."""

from __future__ import annotations

import gc
import hashlib
import io
import tracemalloc
from pathlib import Path

import pytest

from hf_pipeline.errors import OutputError
from hf_pipeline.hub.server import HubServer, HubServerConfig
from hf_pipeline.hub.server.errors import HubHTTPError
from hf_pipeline.hub.server.lru import BoundedLRU
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


def test_lru_evicts_the_least_recently_used_within_count_and_bytes() -> None:
    lru: BoundedLRU[str] = BoundedLRU(max_items=3, max_bytes=100)
    for key in "abc":
        lru.put(key, key.upper(), 10)
    assert lru.get("a") == "A"  # now the most recently used
    lru.put("d", "D", 10)  # over the count: "b" goes
    assert [lru.get(k) for k in "abcd"] == ["A", None, "C", "D"]
    lru.put("e", "E", 85)  # over the bytes: the oldest go until it fits
    assert len(lru) == 2 and lru.size_bytes == 95 and lru.get("e") == "E"
    lru.put("huge", "H", 101)  # larger than the whole cache: not kept, nothing evicted
    assert lru.get("huge") is None and len(lru) == 2


def test_the_commit_cache_stays_within_its_bound(tmp_path: Path) -> None:
    # 20 commits that each add 200 files: the history holds 42,000 file entries (~14 MB
    # parsed), which the unbounded cache kept for the life of the server. (One content for
    # all files: one blob to write.)
    store = RepoStore(tmp_path, cache_commits=1000, cache_bytes=2 << 20)
    store.create("model", "me/m", author="me")
    for i in range(20):
        ops = [Operation("file", f"d{i}/f{j}.txt", b"same") for j in range(200)]
        store.apply_commit("model", "me/m", "main", ops, title=f"c{i}", message="",
                           author="me", parent=None, create_pr=False)
    reopened = RepoStore(tmp_path, cache_commits=1000, cache_bytes=2 << 20)
    repo = reopened.get("model", "me/m")
    shas = [p.stem for p in (repo.path / "commits").glob("*.json")]
    gc.collect()
    tracemalloc.start()
    try:
        for sha in shas:
            assert reopened.load_commit(repo, sha).id == sha
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(shas) == 21
    assert reopened.commits.size_bytes <= 2 << 20
    assert held < 4 << 20, f"{held / 2**20:.1f} MB held after loading every commit"


def test_writes_leave_nothing_half_written_and_the_next_start_sweeps_tmp(
        tmp_path: Path) -> None:
    store = RepoStore(tmp_path)
    repo = store.create("model", "me/m", author="me")
    data = b"x" * 1000
    with pytest.raises(HubHTTPError, match="announced with 999"):
        store.store_lfs(repo, hashlib.sha256(data).hexdigest(), io.BytesIO(data).read, size=999)
    assert not (repo.path / "lfs").exists() and list((tmp_path / "tmp").iterdir()) == []
    # What a killed server leaves behind is only ever in tmp/, and goes at the next start.
    (tmp_path / "tmp" / "upload-killed").write_bytes(b"half")
    with HubServer(HubServerConfig(data_dir=tmp_path)) as hub:
        assert list((tmp_path / "tmp").iterdir()) == []
        # One server per data directory: a second one would overwrite the first one's refs.
        with pytest.raises(OutputError, match="is in use by another local Hub server"):
            HubServer(HubServerConfig(data_dir=tmp_path)).start()
        assert hub.url.startswith("http://127.0.0.1:")
