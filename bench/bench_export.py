"""Size, accuracy and speed of each INT8 preset against the fp32 ONNX model, in one process.

Takes an export folder (``hf-pipeline export model ... --output DIR``: fp32 + the default
preset), quantizes every other preset from the same fp32 file into a temp folder, then for
each model prints the file size, accuracy on the template test split and the human dev set
(with the drop against fp32), single-query p50 (tokenization included and excluded, 1 thread,
as the runtime) and batch-64 throughput; ratios are against fp32 and against the MatMul-only
preset measured in this same run.

    python bench/bench_export.py out/export --data out/data
    python bench/bench_export.py out/export --data out/data --runs 2000 --json runs/export.json

The bars (issue: INT8 with embeddings <= 24 MB, p50 incl. tokenization <= 1.2 ms on one
thread, batch-64 throughput >= 1.5x fp32) are printed as met / missed, not asserted: timing
depends on the machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from hf_pipeline.export.config import DEFAULT_PRESET, PRESET_NAMES, BenchmarkConfig
from hf_pipeline.export.stage import FP32_FILE, INT8_FILE
from hf_pipeline.io import atomic_write_json
from hf_pipeline.release.layout import TOKENIZER_FILE

BARS = {"size_mb": 24.0, "p50_ms": 1.2, "throughput_vs_fp32": 1.5}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("export_dir", type=Path, help="folder written by `hf-pipeline export model`")
    p.add_argument("--data", help="dataset for the accuracy columns (test split); omit to skip")
    p.add_argument("--runs", type=int, default=1000, help="timed single queries per setting")
    p.add_argument("--batch-runs", type=int, default=20, help="timed batches per setting")
    p.add_argument("--json", type=Path, help="also write the results to this file")
    return p.parse_args(argv)


def models(export_dir: Path, work: Path) -> dict[str, Path]:
    """fp32, then every preset: the export's own INT8 file for the default, new ones else."""
    from hf_pipeline.export.quantize import quantize

    out = {"fp32": export_dir / FP32_FILE}
    for preset in PRESET_NAMES:
        out[preset] = export_dir / INT8_FILE if preset == DEFAULT_PRESET else \
            quantize(export_dir / FP32_FILE, work / f"{preset}.onnx", preset=preset)
    return out


def accuracies(paths: dict[str, Path], tokenizer: Path, data: str) -> dict[str, dict[str, float]]:
    import numpy as np

    from hf_pipeline.export.gate import load_eval_sets
    from hf_pipeline.runtime.onnx import OnnxClassifier, load_tokenizer

    sets, _ = load_eval_sets(data)
    tok = load_tokenizer(tokenizer)
    out: dict[str, dict[str, float]] = {}
    for name, path in paths.items():
        model = OnnxClassifier(path, tokenizer=tok, threads=0)
        out[name] = {s: float((model.predict(texts, batch_size=64) == np.asarray(labels)).mean())
                     for s, (texts, labels) in sets.items()}
    return out


def measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from hf_pipeline.export.inspect import benchmark

    paths = models(args.export_dir, work)
    tokenizer = args.export_dir / TOKENIZER_FILE
    cfg = BenchmarkConfig(runs=args.runs, batch_runs=args.batch_runs, threads=(1,))
    rows: dict[str, Any] = {}
    for name, path in paths.items():
        report = benchmark(path, tokenizer=tokenizer, cfg=cfg)
        rows[name] = {"size_mb": report.size_bytes / 1e6,
                      "p50_ms": report.p50(threads=1, tokenization=True),
                      "p50_model_ms": report.p50(threads=1, tokenization=False),
                      "samples_per_s": report.samples_per_s(threads=1),
                      "latency": [vars(r) for r in report.latency]}
    if args.data:
        for name, acc in accuracies(paths, tokenizer, args.data).items():
            rows[name]["accuracy"] = acc
    return rows


def print_table(rows: dict[str, Any]) -> None:
    fp32, base = rows["fp32"], rows["matmul"]
    print(f"{'model':<14} {'MB':>6} {'p50 ms':>7} {'model ms':>8} {'batch64/s':>9} "
          f"{'x fp32':>6} {'x matmul':>8}   accuracy (drop vs fp32, points)")
    for name, r in rows.items():
        acc = "  ".join(f"{s} {a:.2%} ({(fp32['accuracy'][s] - a) * 100:+.2f})"
                        for s, a in r.get("accuracy", {}).items())
        print(f"{name:<14} {r['size_mb']:>6.1f} {r['p50_ms']:>7.3f} {r['p50_model_ms']:>8.3f} "
              f"{r['samples_per_s']:>9.0f} {r['samples_per_s'] / fp32['samples_per_s']:>6.2f} "
              f"{r['samples_per_s'] / base['samples_per_s']:>8.2f}   {acc}")
    d = rows[DEFAULT_PRESET]
    checks = [("size <= 24 MB", d["size_mb"] <= BARS["size_mb"], f"{d['size_mb']:.1f} MB"),
              ("p50 incl. tokenization <= 1.2 ms", d["p50_ms"] <= BARS["p50_ms"],
               f"{d['p50_ms']:.3f} ms"),
              ("batch-64 throughput >= 1.5x fp32",
               d["samples_per_s"] / fp32["samples_per_s"] >= BARS["throughput_vs_fp32"],
               f"{d['samples_per_s'] / fp32['samples_per_s']:.2f}x")]
    for what, ok, value in checks:
        print(f"{DEFAULT_PRESET} {what}: {value} ({'met' if ok else 'MISSED'})")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_export_") as tmp:
        rows = measure(args, Path(tmp))
    print_table(rows)
    if args.json:
        atomic_write_json(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
