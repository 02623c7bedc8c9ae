"""kill -9 of the local Hub in the middle of uploads, a restart on the same data directory,
and an integrity check: every file of every reachable commit has its hash, no object is
half-written under its name, the interrupted writes left nothing visible, and the clients
finish the job. Loopback only."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures.hub_server import LocalHub, connect
from huggingface_hub import HfApi, get_session, hf_hub_download, snapshot_download

pytestmark = [pytest.mark.slow, pytest.mark.hub]

MB = 1 << 20


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def _tmp_bytes(hub: LocalHub) -> int:
    return sum(p.stat().st_size for p in (hub.data_dir / "tmp").glob("upload-*"))


def check_integrity(data_dir: Path) -> int:
    """Every object under its name has that hash, and every commit a ref reaches has its
    history record and the content of each of its files; the number of files checked."""
    checked = 0
    for repo_json in data_dir.glob("repos/*/*/*/repo.json"):
        repo_dir = repo_json.parent
        for blob in (repo_dir / "blobs").glob("*"):
            data = blob.read_bytes()
            assert hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest() == blob.name, blob
        for obj in (repo_dir / "lfs").glob("*"):
            assert hashlib.sha256(obj.read_bytes()).hexdigest() == obj.name, obj
        for name in os.listdir(repo_dir):
            assert name in ("repo.json", "commits", "history", "blobs", "lfs"), \
                f"stray {repo_dir / name}"
        refs = json.loads(repo_json.read_text())
        tips = [*refs["heads"].values(), *refs["tags"].values(), *refs["pulls"].values()]
        seen: set[str] = set()
        while tips:
            sha = tips.pop()
            if sha in seen:
                continue
            seen.add(sha)
            commit = json.loads((repo_dir / "commits" / f"{sha}.json").read_text())
            record = json.loads((repo_dir / "history" / f"{sha}.json").read_text())
            assert record["parent"] == (commit["parents"] or [None])[0], sha
            for path, entry in commit["files"].items():
                where = repo_dir / ("lfs" if entry["lfs"] else "blobs") / (
                    entry["lfs"] or entry["oid"])
                assert where.is_file(), f"{path} of {sha}: missing {where}"
                assert where.stat().st_size == entry["size"], path
                checked += 1
            tips += commit["parents"]
    return checked


def _start_lfs_upload(hub: LocalHub, repo: str, data: bytes) -> tuple[object, int]:
    """An LFS upload URL from the batch API, then a PUT that sends half the object and stops:
    (the open socket, the bytes sent)."""
    oid = hashlib.sha256(data).hexdigest()
    batch = get_session().post(
        f"{hub.url}/{repo}.git/info/lfs/objects/batch",
        json={"operation": "upload", "transfer": ["basic"],
              "objects": [{"oid": oid, "size": len(data)}]},
        headers={"Authorization": f"Bearer {hub.token}"}).json()
    href = batch["objects"][0]["actions"]["upload"]["href"]
    sock = connect(hub.url)
    target = href.split("/", 3)[3]
    sock.sendall(f"PUT /{target} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(data)}\r\n\r\n"
                 .encode() + data[: len(data) // 2])
    return sock, len(data) // 2


def test_kill_9_mid_upload_then_restart(make_local_hub: Callable[..., LocalHub],
                                        hub_env: LocalHub, tmp_path: Path) -> None:
    hub = make_local_hub()
    api = HfApi(endpoint=hub.url, token=hub.token)
    repo = "crash/model"
    api.create_repo(repo)
    v1 = {"model.onnx": os.urandom(3 * MB), "config.json": b'{"v": 1}\n'}
    for path, data in v1.items():
        api.upload_file(path_or_fileobj=data, path_in_repo=path, repo_id=repo)
    api.create_tag(repo, tag="v1")
    head = api.model_info(repo).sha

    # 1. Killed while an LFS object streams in (half of it is on disk, in tmp/).
    big = os.urandom(16 * MB)
    sock, sent = _start_lfs_upload(hub, repo, big)
    _wait_for(lambda: _tmp_bytes(hub) >= sent, "the half-sent object to reach the disk")
    hub.kill()
    sock.close()
    assert _tmp_bytes(hub) > 0  # the half-written object: in tmp/, under no object name

    # 2. Killed while a commit streams in: its first file already stored, the rest not sent.
    hub.start()
    blob = b"first file of an unfinished commit\n"
    lines = [{"key": "header", "value": {"summary": "never finished"}},
             {"key": "file", "value": {"path": "one.txt",
                                       "content": base64.b64encode(blob).decode()}}]
    payload = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    sock = connect(hub.url)
    sock.sendall(f"POST /api/models/{repo}/commit/main HTTP/1.1\r\nHost: x\r\n"
                 f"Authorization: Bearer {hub.token}\r\nContent-Type: application/x-ndjson\r\n"
                 f"Content-Length: {len(payload) + 1000}\r\n\r\n".encode() + payload + b'{"key"')
    blob_id = hashlib.sha1(b"blob %d\0" % len(blob) + blob).hexdigest()
    repo_dir = hub.data_dir / "repos" / "models" / repo
    _wait_for(lambda: (repo_dir / "blobs" / blob_id).exists(), "the first file to be stored")
    hub.kill()
    sock.close()

    # 3. Killed under the real client, in the middle of upload_folder.
    hub.start()
    folder = tmp_path / "v2"
    folder.mkdir()
    v2 = {"model.onnx": os.urandom(24 * MB), "config.json": b'{"v": 2}\n'}
    for path, data in v2.items():
        (folder / path).write_bytes(data)
    errors: list[BaseException] = []

    def upload() -> None:
        try:
            HfApi(endpoint=hub.url, token=hub.token).upload_folder(
                folder_path=folder, repo_id=repo, commit_message="v2")
        except BaseException as e:  # the server dies under it: any error is expected
            errors.append(e)
    client = threading.Thread(target=upload)
    client.start()
    _wait_for(lambda: _tmp_bytes(hub) > MB, "the client's upload to be under way")
    hub.kill()
    leftovers = set((hub.data_dir / "tmp").iterdir())
    assert leftovers  # three interrupted writes, all in tmp/

    # Restart on the same data directory: what the kills left is swept, all else intact.
    hub.start()
    assert not leftovers & set((hub.data_dir / "tmp").iterdir())
    client.join(timeout=300)
    assert not client.is_alive()
    print(f"\nthe client under the kill: {[type(e).__name__ for e in errors] or 'no error'}")
    assert check_integrity(hub.data_dir) >= 2 * len(v1)
    assert api.model_info(repo, revision="v1").sha == head
    if api.model_info(repo).sha != head:  # the client's retries got v2 in: all of it
        assert errors == []
        for path, data in v2.items():
            got = hf_hub_download(repo, path, endpoint=hub.url, token=hub.token,
                                  cache_dir=tmp_path / "c0")
            assert Path(got).read_bytes() == data
    assert "never finished" not in [c.title for c in api.list_repo_commits(repo)]

    # The clients finish the job: upload again, and every file downloads with its hash.
    commit = api.upload_folder(folder_path=folder, repo_id=repo, commit_message="v2 again")
    api.upload_file(path_or_fileobj=big, path_in_repo="big.bin", repo_id=repo)
    expected = {**v2, "big.bin": big}
    for path, data in expected.items():
        got = Path(hf_hub_download(repo, path, endpoint=hub.url, token=hub.token,
                                   cache_dir=tmp_path / "cache", force_download=True))
        assert hashlib.sha256(got.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
    local = Path(snapshot_download(repo, revision=commit.oid, endpoint=hub.url,
                                   token=hub.token, local_dir=tmp_path / "v2-snapshot"))
    result = api.verify_repo_checksums(repo, revision=commit.oid, local_dir=local)
    assert result.mismatches == [] and result.missing_paths == []
    v1_local = Path(snapshot_download(repo, revision="v1", endpoint=hub.url, token=hub.token,
                                      local_dir=tmp_path / "v1-snapshot"))
    assert (v1_local / "model.onnx").read_bytes() == v1["model.onnx"]
    assert check_integrity(hub.data_dir) > len(v1) + len(expected)
