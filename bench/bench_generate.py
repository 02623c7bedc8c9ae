"""How long generating the default training set takes (the bar: well under 2 s, one core).

    python bench/bench_generate.py [--samples-per-intent 1000] [--repeat 5]

Prints the in-memory build time (templates + sampling + stats), the full write (JSON,
DatasetDict, verification sample) and samples/s; the baseline in the same run is the cost
of loading the template files alone, so the ratio shows where the time goes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from hf_pipeline.generate import GenerateConfig, build_dataset, generate
from hf_pipeline.generate.slots import SLOT_NAMES
from hf_pipeline.generate.templates import load_templates


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples-per-intent", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n = args.samples_per_intent
    cfg = GenerateConfig(samples_per_intent=n, allow_small=True)
    load = timed(lambda: load_templates(known_slots=SLOT_NAMES), args.repeat)
    build = timed(lambda: build_dataset(cfg), args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "data"
        full_cfg = GenerateConfig(samples_per_intent=n, allow_small=True, output=out,
                                  verification_output=out / "verification.json")
        generate(full_cfg)  # warm the datasets import
        full = timed(lambda: generate(full_cfg), args.repeat)
    total = 8 * n
    print(f"cpu affinity: {len(os.sched_getaffinity(0))} core(s)")
    print(f"load templates      {load * 1000:8.1f} ms   (baseline)")
    print(f"build {total} samples {build * 1000:8.1f} ms   {total / build:,.0f} samples/s   "
          f"{build / load:.1f}x baseline")
    print(f"build + write all   {full * 1000:8.1f} ms   {total / full:,.0f} samples/s   "
          f"{full / load:.1f}x baseline")


if __name__ == "__main__":
    main()
