"""How ``list_repo_commits`` on the local Hub scales with the length of the history.

    python bench/bench_hub_history.py [--commits 2000] [--files 100] [--repeat 3]

Builds one repo of ``--commits`` commits through the storage layer (each commit changes one
of ``--files`` files; ``--files 0``: each commit adds a new file, as the load test's uploads
do, so file maps grow with the history), starts a local Hub on it (cold caches, as after a
restart) and times the real ``HfApi.list_repo_commits`` at the commits that have 250, 500,
1,000 and 2,000 commits of history, interleaved, best of ``--repeat``. Linear walks give a
2000/500 ratio of about 4; the time per commit should stay flat. Loopback only.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from huggingface_hub import HfApi

from hf_pipeline.hub.server import HubServer, HubServerConfig

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # its fixtures
from fixtures.hub_server import build_history  # the tests' history builder

REPO = "bench/history"
SIZES = (250, 500, 1000, 2000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commits", type=int, default=max(SIZES))
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [n for n in SIZES if n <= args.commits]
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        shas = build_history(Path(tmp), REPO, args.commits, files=args.files)
        changes = f"one of {args.files} files" if args.files else "a new file"
        print(f"built {len(shas)} commits in {time.perf_counter() - start:.1f} s, each "
              f"changing {changes}")
        with HubServer(HubServerConfig(data_dir=Path(tmp))) as hub:
            api = HfApi(endpoint=hub.url, token=False)
            best = dict.fromkeys(sizes, float("inf"))
            for _ in range(args.repeat):
                for n in sizes:
                    start = time.perf_counter()
                    listed = api.list_repo_commits(REPO, revision=shas[n - 1])
                    best[n] = min(best[n], time.perf_counter() - start)
                    assert len(listed) == n
    print(f"cpu affinity: {len(os.sched_getaffinity(0))} core(s)")
    for n in sizes:
        print(f"list_repo_commits  {n:5d} commits  {best[n] * 1000:9.1f} ms  "
              f"{best[n] / n * 1e6:7.1f} us/commit")
    if len(sizes) > 1 and 500 in best:
        print(f"ratio {sizes[-1]}/500: {best[sizes[-1]] / best[500]:.1f}x "
              f"(linear: {sizes[-1] / 500:.0f}x)")


if __name__ == "__main__":
    main()
