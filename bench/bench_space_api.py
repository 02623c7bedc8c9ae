"""Latency of ``/classify`` through gradio_client: what a user of the Space's API waits.

    python bench/bench_space_api.py --model out/release          # serves app.py here
    python bench/bench_space_api.py --url http://127.0.0.1:7860   # a running demo or Space

Sequential calls on one client, after a few warm-up calls; prints p50, p90 and the mean.
A bench, not part of the package or the Space.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

QUERIES = ("who calls authenticate_user", "where is the Config struct defined",
           "draw the call graph of login as mermaid", "is the index up to date")


def measure(url: str, calls: int, warmup: int = 5) -> list[float]:
    from gradio_client import Client

    client = Client(url, verbose=False)
    try:
        for i in range(warmup):
            client.predict(QUERIES[i % len(QUERIES)], api_name="/classify")
        seconds = []
        for i in range(calls):
            start = time.perf_counter()
            client.predict(QUERIES[i % len(QUERIES)], api_name="/classify")
            seconds.append(time.perf_counter() - start)
        return seconds
    finally:
        client.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", "-m", type=Path, metavar="MODEL",
                        help="release folder to serve here")
    source.add_argument("--url", help="a running demo")
    p.add_argument("-n", "--calls", type=int, default=100)
    args = p.parse_args()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    demo = None
    url = args.url
    if args.model is not None:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from spaces_demo import app

        loaded = app.load_model(model_dir=args.model)
        if loaded.error:
            raise SystemExit(loaded.error)
        demo = app.build_demo(loaded.classifier, loaded.about)
        _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True)
    try:
        ms = sorted(s * 1000 for s in measure(url, args.calls))
    finally:
        if demo is not None:
            demo.close()
    p90 = ms[max(0, round(0.9 * len(ms)) - 1)]
    print(f"/classify through gradio_client, {len(ms)} calls: p50 {statistics.median(ms):.1f} "
          f"ms, p90 {p90:.1f} ms, mean {statistics.fmean(ms):.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
