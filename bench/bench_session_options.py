"""onnxruntime SessionOptions a runtime can set, timed on one model, interleaved in one process.

Single queries as the runtime sends them (batch 1, unpadded, one intra-op thread); every
variant gets its own session on the same file, and each round runs all of them in an order
shuffled per round (seeded; ``hf_pipeline/export/ort_probe.py`` does the timing, as for
``bench_export.py --runtime-ort``). Ratios are against onnxruntime's defaults with
ORT_ENABLE_ALL, which is what ``hf_pipeline.runtime`` uses.

    python bench/bench_session_options.py out/release/intent_classifier.onnx \\
        --tokenizer out/release
    # the same under onnxruntime 1.22 (what sqry-nl loads), from the cached virtualenv:
    python bench/bench_session_options.py out/release/intent_classifier.onnx \\
        --tokenizer out/release --runtime-ort
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

BASELINE = "defaults (ALL)"
# name -> session settings on top of the runtime's (ort_probe.py: level, config, attributes)
VARIANTS: dict[str, dict[str, Any]] = {
    BASELINE: {},
    "EXTENDED": {"level": "ORT_ENABLE_EXTENDED"},
    "BASIC": {"level": "ORT_ENABLE_BASIC"},
    "no CPU arena": {"attributes": {"enable_cpu_mem_arena": False}},
    "no memory pattern": {"attributes": {"enable_mem_pattern": False}},
    "denormals as zero": {"config": {"session.set_denormal_as_zero": "1"}},
    "no spinning": {"config": {"session.intra_op.allow_spinning": "0"}},
    "no prepacking": {"config": {"session.disable_prepacking": "1"}},
}


def main(argv: list[str] | None = None) -> int:
    import numpy as np

    from hf_pipeline.export.compat import runtime_python, runtime_timings
    from hf_pipeline.export.inspect import BENCH_QUERIES
    from hf_pipeline.runtime.onnx import encode, load_tokenizer

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", type=Path, help="an ONNX model with the runtime's signature")
    p.add_argument("--tokenizer", type=Path, required=True, help="folder with tokenizer.json")
    p.add_argument("--rounds", type=int, default=200, help="timing rounds (x 8 queries)")
    p.add_argument("--runtime-ort", action="store_true",
                   help="measure under onnxruntime 1.22 (cached virtualenv) instead")
    args = p.parse_args(argv)
    tokenizer = load_tokenizer(args.tokenizer)
    feeds = [encode(tokenizer, [query]) for query in BENCH_QUERIES]
    python = runtime_python() if args.runtime_ort else Path(sys.executable)
    version, seconds = runtime_timings(dict.fromkeys(VARIANTS, args.model), feeds,
                                       rounds=args.rounds, python=python, options=VARIANTS)
    base = float(np.median(seconds[BASELINE]))
    print(f"onnxruntime {version}, {args.model.name}, {args.rounds} rounds x {len(feeds)} "
          f"queries, batch 1, 1 thread; x = ratio to the defaults (lower is faster)")
    for name, values in seconds.items():
        p50 = float(np.median(values))
        print(f"  {name:<20} p50 {p50 * 1e3:6.3f} ms  p99 {np.percentile(values, 99) * 1e3:6.3f}"
              f" ms  x {p50 / base:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
