"""onnxruntime SessionOptions a runtime can set, timed on one model, interleaved in one process.

Single queries as the runtime sends them (batch 1, unpadded, one intra-op thread); every
variant gets its own session on the same file, and each round runs all of them in an order
shuffled per round (seeded). Ratios are against onnxruntime's defaults with
ORT_ENABLE_ALL, which is what ``hf_pipeline.runtime`` uses.

    python bench/bench_session_options.py out/release/intent_classifier.onnx \\
        --tokenizer out/release
    # the same under onnxruntime 1.22 (what sqry-nl loads), from the cached virtualenv:
    python bench/bench_session_options.py out/release/intent_classifier.onnx \\
        --tokenizer out/release --runtime-ort

The measuring half needs only numpy and onnxruntime, so ``--runtime-ort`` reruns this file
under the virtualenv's python (``hf_pipeline.export.compat.runtime_python``) on saved inputs.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# name -> (graph optimization level, session config entries, SessionOptions attributes)
VARIANTS: dict[str, tuple[str, dict[str, str], dict[str, Any]]] = {
    "defaults (ALL)": ("ORT_ENABLE_ALL", {}, {}),
    "EXTENDED": ("ORT_ENABLE_EXTENDED", {}, {}),
    "BASIC": ("ORT_ENABLE_BASIC", {}, {}),
    "no CPU arena": ("ORT_ENABLE_ALL", {}, {"enable_cpu_mem_arena": False}),
    "no memory pattern": ("ORT_ENABLE_ALL", {}, {"enable_mem_pattern": False}),
    "denormals as zero": ("ORT_ENABLE_ALL", {"session.set_denormal_as_zero": "1"}, {}),
    "no spinning": ("ORT_ENABLE_ALL", {"session.intra_op.allow_spinning": "0"}, {}),
    "no prepacking": ("ORT_ENABLE_ALL", {"session.disable_prepacking": "1"}, {}),
}


def measure(model: Path, feeds_file: Path, rounds: int) -> None:
    """Time every variant on the saved feeds and print the table (numpy + onnxruntime only)."""
    import numpy as np
    import onnxruntime as ort

    data = np.load(feeds_file)
    count = len({key.split("/")[0] for key in data.files})
    feeds = [{key.split("/")[1]: data[key] for key in data.files if key.startswith(f"{i}/")}
             for i in range(count)]
    sessions = {}
    for name, (level, entries, attributes) in VARIANTS.items():
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
        options.log_severity_level = 3
        for key, value in entries.items():
            options.add_session_config_entry(key, value)
        for key, value in attributes.items():
            setattr(options, key, value)
        sessions[name] = ort.InferenceSession(str(model), options,
                                              providers=["CPUExecutionProvider"])
    times: dict[str, list[float]] = {name: [] for name in sessions}
    for session in sessions.values():  # warm-up
        for feed in feeds:
            session.run(["logits"], feed)
    names = list(sessions)
    shuffle = random.Random(0).shuffle
    for _ in range(rounds):
        shuffle(names)
        for name in names:
            for feed in feeds:
                start = time.perf_counter()
                sessions[name].run(["logits"], feed)
                times[name].append(time.perf_counter() - start)
    base = float(np.median(times["defaults (ALL)"]))
    print(f"onnxruntime {ort.__version__}, {model.name}, {rounds} rounds x {count} queries, "
          f"batch 1, 1 thread; x = ratio to the defaults (lower is faster)")
    for name, values in times.items():
        p50 = float(np.median(values))
        print(f"  {name:<20} p50 {p50 * 1e3:6.3f} ms  p99 {np.percentile(values, 99) * 1e3:6.3f}"
              f" ms  x {p50 / base:.3f}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", type=Path, help="an ONNX model with the runtime's signature")
    p.add_argument("--tokenizer", type=Path, help="folder with tokenizer.json")
    p.add_argument("--feeds", type=Path, help=argparse.SUPPRESS)  # the measuring half
    p.add_argument("--rounds", type=int, default=200)
    p.add_argument("--runtime-ort", action="store_true",
                   help="measure under onnxruntime 1.22 (cached virtualenv) instead")
    args = p.parse_args(argv)
    if args.feeds:
        measure(args.model, args.feeds, args.rounds)
        return 0
    if args.tokenizer is None:
        p.error("--tokenizer is required")
    import numpy as np

    from hf_pipeline.export.inspect import BENCH_QUERIES
    from hf_pipeline.runtime.onnx import encode, load_tokenizer

    tokenizer = load_tokenizer(args.tokenizer)
    with tempfile.TemporaryDirectory(prefix="bench_options_") as tmp:
        feeds = Path(tmp) / "feeds.npz"
        np.savez(feeds, **{f"{i}/{name}": array for i, query in enumerate(BENCH_QUERIES)
                           for name, array in encode(tokenizer, [query]).items()})
        if not args.runtime_ort:
            measure(args.model, feeds, args.rounds)
            return 0
        from hf_pipeline.export.compat import runtime_python

        # -I: this folder's neighbours stay off sys.path, as in export.compat's probe.
        return subprocess.run([str(runtime_python()), "-I", __file__, str(args.model),
                               "--feeds", str(feeds), "--rounds", str(args.rounds)],
                              check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
