"""Data and training variants side by side, chosen on the validation split only.

Each variant is a generator config (typo and option rates, sample counts) plus train flags
(label smoothing, epochs, mixed precision). Every variant generates its own data, trains
with a real ``accelerate launch ... train``, and is then scored on ONE fixed selection set:
the validation split of the ``--reference`` variant's data (template lines and slot values
held out of every variant's training, since the held-out partitions do not depend on the
rates or the seed), clean, with one typo anywhere, and with one typo in the word that
carries the intent. T is fitted on the clean validation logits; ECE and wrong-at-0.85 are
read at that T. The test split and the human dev set are printed for the record, never
used to choose.

    python bench/sweep_robustness.py --variants bench/robustness_variants.json \\
        --output runs/robustness --parallel 4 --device cuda -- --base-model PATH

Arguments after ``--`` go to every ``hf-pipeline train`` run. Variants already trained in
``--output`` are scored again, not retrained, so an interrupted sweep resumes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from hf_pipeline.contract import EXECUTE_THRESHOLD
from hf_pipeline.io import atomic_write_json

ECE_BINS = 15


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    argv = list(sys.argv[1:] if argv is None else argv)
    train_args = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--variants", type=Path, required=True,
                   help='JSON: {"name": {"generate": {GenerateConfig fields}, "train": '
                   '{"flag": value}}}')
    p.add_argument("--output", type=Path, required=True, help="one sub-folder per variant")
    p.add_argument("--reference", help="variant whose validation/test splits score every "
                   "variant (default: the first)")
    p.add_argument("--only", help="comma-separated variant names to run (default: all)")
    p.add_argument("--parallel", type=int, default=1, help="trainings at once (one GPU "
                   "holds several of these small runs)")
    p.add_argument("--device", default="cpu", help="where scoring runs (cpu, cuda)")
    p.add_argument("--launch-args", default="--num_processes 1",
                   help="arguments for `accelerate launch` (default: %(default)s)")
    p.add_argument("--typo-seed", type=int, default=0)
    p.add_argument("--train-timeout", type=float, help="seconds one training may take; a run "
                   "past it is stopped and left out of the table")
    return p.parse_args(argv), train_args


def generate_data(name: str, spec: dict[str, Any], out: Path) -> Path:
    from hf_pipeline.generate.config import GenerateConfig
    from hf_pipeline.generate.pipeline import generate

    data = out / name / "data"
    if not (data / "dataset.json").is_file():
        generate(GenerateConfig(output=data, **spec.get("generate", {})))
    return data


def train_variant(name: str, spec: dict[str, Any], data: Path, out: Path,
                  args: argparse.Namespace, train_args: list[str]) -> float | None:
    run = out / name / "train"
    if (run / "final" / "model.safetensors").is_file():
        return None
    flags = [x for k, v in spec.get("train", {}).items() for x in (f"--{k}", str(v))]
    cmd = [sys.executable, "-m", "accelerate.commands.launch", *args.launch_args.split(),
           "-m", "hf_pipeline", "train", "--data", str(data), "--output", str(run), *flags,
           *train_args, *(["--resume"] if run.exists() else [])]
    log = out / name / "train.log"
    print(f"[{name}] $ {' '.join(cmd)}", flush=True)
    start = time.perf_counter()
    with log.open("w") as f:
        try:
            code = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, check=False,
                                  timeout=args.train_timeout).returncode
        except subprocess.TimeoutExpired:
            code = f"timeout after {args.train_timeout:.0f}s"
    if code:
        print(f"[{name}] FAILED (exit {code}); last lines of {log}:\n"
              + "\n".join(log.read_text(errors="replace").splitlines()[-15:]), flush=True)
        return float("nan")
    print(f"[{name}] trained in {time.perf_counter() - start:.0f}s", flush=True)
    return time.perf_counter() - start


def eval_sets(reference_data: Path, seed: int) -> dict[str, tuple[list[str], np.ndarray]]:
    """validation (clean, typo anywhere, typo in the intent word, typo in a direction word)
    for choosing; test and the dev set (original rows, added rows, typos) for the record."""
    from hf_pipeline.data_sources import load_eval_sets
    from hf_pipeline.devset.typos import typo_views

    sets, _ = load_eval_sets(str(reference_data), splits=("validation", "test"))
    out = {name: (list(t), np.asarray(y)) for name, (t, y) in sets.items()}
    rows_of = {"dev": np.arange(len(out["dev"][1]))}
    for base in ("validation", "dev"):
        for suffix, (texts, labels, rows) in typo_views(*sets[base], seed=seed).items():
            out[f"{base}_{suffix}"] = (texts, np.asarray(labels))
            rows_of[f"{base}_{suffix}"] = np.asarray(rows, dtype=np.int64)
    original = np.array([c is None for c in dev_categories()])
    if (~original).any():  # the same typo'd texts, restricted to the original rows
        for name in ("dev", "dev_typo", "dev_intent_typo"):
            if name in out:
                texts, labels = out[name]
                keep = original[rows_of[name]]
                out[name.replace("dev", "dev_original", 1)] = (
                    [t for t, k in zip(texts, keep, strict=True) if k], labels[keep])
        texts, labels = out["dev"]
        out["dev_added"] = ([t for t, m in zip(texts, original, strict=True) if not m],
                            labels[~original])
        latest = np.array([r == LATEST_ROUND for r in dev_rounds()])
        if latest.any():
            out["dev_latest"] = ([t for t, m in zip(texts, latest, strict=True) if m],
                                 labels[latest])
    return out


# Where each round of added dev rows starts in human_dev.jsonl (rows are only appended).
ROUND_STARTS = (("original", 0), ("issue 14", 354), ("issue 23", 477))
LATEST_ROUND = ROUND_STARTS[-1][0]


def dev_rounds() -> list[str]:
    """Each dev-set row's round (original, issue 14, issue 23...), in file order."""
    n = len(dev_categories())
    out = []
    for i in range(n):
        out.append(next(name for name, start in reversed(ROUND_STARTS) if i >= start))
    return out


def dev_categories() -> list[str | None]:
    """Each dev-set row's ``category`` (the rows added for issue 14), None for the original
    rows; in file order, as ``load_eval_sets`` reads them."""
    from hf_pipeline.data_sources import DEV_SET_PATH
    from hf_pipeline.io import read_text_rows

    return [row.get("category") for _, row in read_text_rows(DEV_SET_PATH)]


def scores(logits: np.ndarray, labels: np.ndarray, t: float) -> dict[str, float]:
    """The calibration package's own metrics, without netcal (not on every GPU machine): ECE
    from its reliability bins, which are netcal's bins."""
    from hf_pipeline.calibrate.metrics import nll, reliability_bins
    from hf_pipeline.runtime.classifier import softmax

    p = softmax(logits, t)
    conf, right = p.max(axis=1), p.argmax(axis=1) == labels
    ece = sum(b.count * abs(b.accuracy - b.confidence)
              for b in reliability_bins(p, labels, bins=ECE_BINS) if b.count) / len(labels)
    return {"n": len(labels), "accuracy": float(right.mean()), "nll": nll(p, labels),
            "ece": float(ece), "wrong_at_085": int((~right & (conf >= EXECUTE_THRESHOLD)).sum())}


def score_variant(folder: Path, sets: dict[str, tuple[list[str], np.ndarray]], device: str
                  ) -> dict[str, Any]:
    from hf_pipeline.calibrate.fit import fit_temperature
    from hf_pipeline.train.inference import TorchClassifier

    model = TorchClassifier.from_dir(folder, device=device)
    logits = {name: model.logits(texts) for name, (texts, _) in sets.items()}
    t = fit_temperature(logits["validation"], sets["validation"][1]).temperature
    return {"temperature": t, **{name: scores(logits[name], sets[name][1], t) for name in sets}}


SELECT = ("validation", "validation_typo", "validation_intent_typo",
          "validation_direction_typo")
RECORD = ("test", "dev", "dev_original", "dev_added", "dev_typo", "dev_intent_typo",
          "dev_direction_typo", "dev_original_typo", "dev_original_intent_typo")


def table(rows: dict[str, dict[str, Any]]) -> str:
    cols = [c for c in SELECT + RECORD if any(c in r["scores"] for r in rows.values())]
    width = max(map(len, rows))
    head = f"{'variant':<{width}} {'train s':>7} {'T':>5} " + " ".join(f"{c[:14]:>14}"
                                                                      for c in cols)
    lines = [head, f"{'':<{width}} {'':>7} {'':>5} " + " ".join(f"{'acc  ece  w85':>14}"
                                                              for _ in cols)]
    for name, r in rows.items():
        s = r["scores"]
        cells = [f"{s[c]['accuracy']:6.2%} {s[c]['ece']:.2f} {s[c]['wrong_at_085']:>2}"
                 if c in s else f"{'-':>14}" for c in cols]
        secs = "-" if r["train_seconds"] is None else f"{r['train_seconds']:.0f}"
        lines.append(f"{name:<{width}} {secs:>7} {s['temperature']:5.2f} " + " ".join(
            f"{c:>14}" for c in cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args, train_args = parse_args(argv)
    variants: dict[str, dict[str, Any]] = json.loads(args.variants.read_text())
    if args.only:
        keep = args.only.split(",")
        variants = {k: v for k, v in variants.items() if k in keep}
    reference = args.reference or next(iter(variants))
    args.output.mkdir(parents=True, exist_ok=True)
    datas = {name: generate_data(name, spec, args.output) for name, spec in variants.items()}
    with ThreadPoolExecutor(max_workers=args.parallel) as pool:
        walls = dict(zip(variants, pool.map(
            lambda kv: train_variant(kv[0], kv[1], datas[kv[0]], args.output, args, train_args),
            variants.items()), strict=True))
    sets = eval_sets(datas[reference], args.typo_seed)
    rows: dict[str, dict[str, Any]] = {}
    for name in variants:
        final = args.output / name / "train" / "final"
        if not (final / "model.safetensors").is_file():
            continue
        metrics = json.loads((args.output / name / "train" / "training_metrics.json")
                             .read_text())
        rows[name] = {"spec": variants[name], "train_seconds": metrics.get("train_seconds"),
                      "wall_seconds": walls[name],
                      "scores": score_variant(final, sets, args.device)}
    print(table(rows))
    print(f"scored on {reference}'s validation split (chosen on: {', '.join(SELECT)}); "
          "test and dev are reported, never used to choose.")
    atomic_write_json(args.output / "sweep.json", {"reference": reference,
                                                   "train_args": train_args, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
