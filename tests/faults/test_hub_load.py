"""A bounded load test of the local Hub: 8 client threads for 20 s (or 400 operations each),
loopback only, with the real huggingface_hub client; every download is hash-checked and the
server's memory is read from /proc/<pid>/status.

It prints its figures (operations, errors, server memory); run with ``-s`` to see them.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fixtures.hub_server import LocalHub

if TYPE_CHECKING:
    from huggingface_hub import HfApi

pytestmark = [pytest.mark.slow, pytest.mark.hub]

THREADS = 8
SECONDS = 20.0
MAX_OPS_PER_THREAD = 400
# Server memory ceilings (MB), with the commit cache set to 16 MB. Measured: 27 at start,
# 45 at peak, 55 after reading every commit. Before the fixes, the unbounded commit cache and
# a history listing that held every commit whole took it to ~150 after this load.
PEAK_RSS_CEILING_MB = 100
AFTER_HISTORY_RSS_CEILING_MB = 100


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    uploads: int = 0
    downloads: int = 0
    listings: int = 0
    errors: list[str] = field(default_factory=list)
    files: list[tuple[str, str]] = field(default_factory=list)  # (path, sha256) committed

    @property
    def operations(self) -> int:
        return self.uploads + self.downloads + self.listings


def _worker(index: int, hub: LocalHub, repo: str, cache: Path, tally: Tally,
            stop_at: float) -> None:
    from huggingface_hub import HfApi, hf_hub_download

    api = HfApi(endpoint=hub.url, token=hub.token)
    rng = random.Random(index)
    for n in range(MAX_OPS_PER_THREAD):
        if time.monotonic() > stop_at:
            return
        roll = rng.random()
        try:
            if roll < 0.25 or not tally.files:  # a regular file (text, inline in the commit)
                data = rng.randbytes(rng.randrange(500, 30_000)).hex().encode()
                _upload(api, repo, f"t{index}/f{n}.txt", data, tally)
            elif roll < 0.4:  # an LFS file (binary: preupload says lfs)
                data = rng.randbytes(rng.randrange(100_000, 1_500_000))
                _upload(api, repo, f"t{index}/b{n}.bin", data, tally)
            elif roll < 0.9:
                with tally.lock:
                    path, digest = rng.choice(tally.files)
                local = Path(hf_hub_download(repo, path, endpoint=hub.url, token=hub.token,
                                             cache_dir=cache / str(index), force_download=True))
                got = hashlib.sha256(local.read_bytes()).hexdigest()
                local.unlink()
                with tally.lock:
                    tally.downloads += 1
                    if got != digest:
                        tally.errors.append(f"{path}: downloaded sha256 {got}, not {digest}")
            else:
                api.list_repo_tree(repo, path_in_repo=f"t{index}")
                with tally.lock:
                    tally.listings += 1
        except Exception as e:  # every failure is counted and reported, none stops the run
            with tally.lock:
                tally.errors.append(f"{type(e).__name__}: {str(e)[:300]}")


def _upload(api: HfApi, repo: str, path: str, data: bytes, tally: Tally) -> None:
    api.upload_file(path_or_fileobj=data, path_in_repo=path, repo_id=repo,
                    commit_message=f"add {path}")
    with tally.lock:
        tally.uploads += 1
        tally.files.append((path, hashlib.sha256(data).hexdigest()))


def test_load(make_local_hub: Callable[..., LocalHub], hub_env: LocalHub,
              hub_repo_id: Callable[[str], str], tmp_path: Path) -> None:
    from huggingface_hub import HfApi

    hub = make_local_hub({"commit_cache_mb": 16})
    api = HfApi(endpoint=hub.url, token=hub.token)
    repo = hub_repo_id("load")
    api.create_repo(repo)
    start_rss = hub.proc_status("VmRSS") / 1024
    tally, peak_rss = Tally(), 0.0
    stop_at = time.monotonic() + SECONDS
    threads = [threading.Thread(target=_worker, args=(i, hub, repo, tmp_path, tally, stop_at))
               for i in range(THREADS)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        peak_rss = max(peak_rss, hub.proc_status("VmRSS") / 1024)
        time.sleep(0.2)
    for t in threads:
        t.join()

    # Every file committed is in the repo with the content uploaded (a final check from the
    # tree: sha256 for LFS files, the git blob id for the others).
    tree = {e.path: e for e in api.list_repo_tree(repo, recursive=True) if hasattr(e, "lfs")}
    for path, digest in tally.files:
        entry = tree[path]
        if entry.lfs is not None:
            assert entry.lfs.sha256 == digest, path
    # Reading every commit of the history is what grew the unbounded commit cache.
    commits = api.list_repo_commits(repo)
    for commit in commits:
        assert api.model_info(repo, revision=commit.commit_id).sha == commit.commit_id
    after_history_rss = hub.proc_status("VmRSS") / 1024
    print(f"\nload: {THREADS} threads, {tally.operations} operations ({tally.uploads} uploads, "
          f"{tally.downloads} hash-checked downloads, {tally.listings} listings), "
          f"{len(tally.errors)} errors, {len(commits)} commits; server RSS {start_rss:.0f} MB "
          f"at start, peak {peak_rss:.0f} MB, {after_history_rss:.0f} MB after reading every "
          "commit")

    assert tally.errors == []
    assert tally.uploads >= THREADS and tally.downloads >= THREADS  # counts, not speed
    assert len(commits) == tally.uploads + 1  # one commit per upload, plus the initial one
    assert peak_rss < PEAK_RSS_CEILING_MB
    assert after_history_rss < AFTER_HISTORY_RSS_CEILING_MB
    assert hub.token not in hub.log()
