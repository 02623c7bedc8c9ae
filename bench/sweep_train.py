"""A small hyperparameter grid, each run a real ``accelerate launch ... train``; picks by
validation macro-F1.

Selection uses the validation split only (template lines held out of training). The human
dev set and the test split are printed for the record, never used to choose: tuning to the
dev set would make it stop measuring generalization.

    python bench/sweep_train.py --data out/data --output runs/sweep \\
        --grid learning-rate=5e-5,1e-4 --grid epochs=5,8 -- --mixed-precision bf16

Arguments after ``--`` go to every ``hf-pipeline train`` run; ``--launch-args`` to
``accelerate launch`` (default: one process). Runs already finished in ``--output`` are
read back, not rerun, so an interrupted sweep resumes.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from hf_pipeline.io import atomic_write_json


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    argv = list(sys.argv[1:] if argv is None else argv)
    train_args = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="as `hf-pipeline train --data`")
    p.add_argument("--output", type=Path, required=True, help="one sub-folder per run")
    p.add_argument("--grid", action="append", default=[], metavar="FLAG=V1,V2",
                   help="a train flag (without --) and its values; repeat for more flags")
    p.add_argument("--launch-args", default="--num_processes 1",
                   help="arguments for `accelerate launch` (default: %(default)s)")
    p.add_argument("--json", type=Path, help="also write the table to this file")
    return p.parse_args(argv), train_args


def grid(specs: list[str]) -> list[dict[str, str]]:
    """Every combination of the ``flag=v1,v2`` specs, in the order given."""
    axes = []
    for spec in specs:
        flag, sep, values = spec.partition("=")
        if not sep or not flag or not values:
            raise SystemExit(f"--grid {spec!r}: expected FLAG=V1,V2 (e.g. learning-rate=5e-5)")
        axes.append([(flag.strip().lstrip("-"), v.strip()) for v in values.split(",")])
    return [dict(combo) for combo in itertools.product(*axes)] if axes else [{}]


def run_name(point: dict[str, str]) -> str:
    return "_".join(f"{k}-{v}" for k, v in point.items()) or "default"


def launch(point: dict[str, str], out: Path, args: argparse.Namespace,
           train_args: list[str]) -> float:
    """One ``accelerate launch -m hf_pipeline train`` run; returns its wall seconds."""
    flags = [x for k, v in point.items() for x in (f"--{k}", v)]
    cmd = [sys.executable, "-m", "accelerate.commands.launch", *args.launch_args.split(),
           "-m", "hf_pipeline", "train", "--data", args.data, "--output", str(out),
           *flags, *train_args]
    print("$", " ".join(cmd), flush=True)
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - start


def row(point: dict[str, str], out: Path, wall: float | None) -> dict[str, Any]:
    evals = json.loads((out / "eval_metrics.json").read_text(encoding="utf-8"))
    train = json.loads((out / "training_metrics.json").read_text(encoding="utf-8"))
    samples = sum(e["train_samples"] for e in train["epochs"])
    return {"run": run_name(point), **point, "best_epoch": evals["best_epoch"],
            "validation_macro_f1": evals["validation"]["macro_f1"],
            "validation_accuracy": evals["validation"]["accuracy"],
            "test_accuracy": evals["test"]["accuracy"],
            "dev_accuracy": evals.get("dev", {}).get("accuracy"),
            "train_seconds": train["train_seconds"],
            "samples_per_second": samples / max(train["train_seconds"], 1e-9),
            "wall_seconds": wall}


def table(rows: list[dict[str, Any]]) -> str:
    width = max(len(r["run"]) for r in rows)
    lines = [f"{'run':<{width}}  best  val-F1  val-acc  test-acc  dev-acc  train-s  samples/s",
             ]
    for i, r in enumerate(rows):
        dev = "-" if r["dev_accuracy"] is None else f"{r['dev_accuracy']:.4f}"
        lines.append(f"{r['run']:<{width}}  {r['best_epoch']:>4}  {r['validation_macro_f1']:.4f}"
                     f"  {r['validation_accuracy']:.4f}   {r['test_accuracy']:.4f}   {dev:>6}"
                     f"  {r['train_seconds']:>7.1f}  {r['samples_per_second']:>9.1f}"
                     + ("   <- chosen (validation macro-F1)" if i == 0 else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args, train_args = parse_args(argv)
    rows = []
    for point in grid(args.grid):
        out = args.output / run_name(point)
        wall = None
        if not (out / "eval_metrics.json").is_file():
            wall = launch(point, out, args, train_args + (["--resume"] if out.exists() else []))
        rows.append(row(point, out, wall))
    rows.sort(key=lambda r: r["validation_macro_f1"], reverse=True)
    print(table(rows))
    print("dev-acc (human-written) and test-acc are reported, not used to choose.")
    if args.json:
        atomic_write_json(args.json, {"train_args": train_args, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
