"""Training throughput: our Accelerate loop against the transformers Trainer, same process.

Same base model, data, tokenization and hyperparameters (TrainConfig's defaults, or the
flags below) for both; evaluation and checkpointing are off for the Trainer and not counted
for ours (its per-epoch ``train_seconds`` cover the training steps only). Prints samples/s
for both and the ratio ours / Trainer (> 1: ours is faster).

    python bench/bench_train.py --data out/data                  # full 3-epoch run
    python bench/bench_train.py --data out/data --epochs 1 --max-train-samples 2000
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hf_pipeline.config import to_dict
from hf_pipeline.io import atomic_write_json
from hf_pipeline.train.config import TrainConfig


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    defaults = TrainConfig(data="-", output_dir=Path("-"))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="generator output folder (or any train --data)")
    p.add_argument("--base-model", default=defaults.base_model)
    p.add_argument("--epochs", type=int, default=defaults.num_epochs)
    p.add_argument("--batch-size", type=int, default=defaults.batch_size)
    p.add_argument("--max-train-samples", type=int, help="use the first N training rows")
    p.add_argument("--trainer-group-by-length", action="store_true",
                   help="also time the Trainer with its group_by_length sampler")
    p.add_argument("--work-dir", type=Path, help="where the runs write (default: a temp dir)")
    p.add_argument("--json", type=Path, help="also write the results to this file")
    return p.parse_args(argv)


def subset_source(data: str, n: int | None, work: Path) -> str:
    """``data`` itself, or a save_to_disk copy whose train split keeps the first ``n`` rows."""
    if n is None:
        return data
    from hf_pipeline.data_sources import load_splits

    splits = load_splits(data).dataset
    splits["train"] = splits["train"].select(range(min(n, len(splits["train"]))))
    out = work / "subset"
    splits.save_to_disk(str(out))
    return str(out)


def run_ours(cfg: TrainConfig) -> dict[str, Any]:
    from hf_pipeline.train.loop import train

    start = time.perf_counter()
    out = train(cfg)
    wall = time.perf_counter() - start
    metrics = json.loads((out / "training_metrics.json").read_text(encoding="utf-8"))
    samples = sum(e["train_samples"] for e in metrics["epochs"])
    seconds = sum(e["train_seconds"] for e in metrics["epochs"])
    return {"samples": samples, "train_seconds": seconds, "samples_per_second": samples / seconds,
            "wall_seconds_whole_run": wall}


def run_trainer(cfg: TrainConfig, *, group_by_length: bool) -> dict[str, Any]:
    """The same training through ``transformers.Trainer`` (the reference's way)."""
    from accelerate.state import AcceleratorState
    from accelerate.utils import set_seed
    from transformers import AutoTokenizer, Trainer, TrainingArguments

    from hf_pipeline.base_model import resolve_base_model
    from hf_pipeline.data_sources import load_splits
    from hf_pipeline.train.data import tokenize
    from hf_pipeline.train.loop import _load_model

    AcceleratorState._reset_state(reset_partial_state=True)  # our run's state
    base = resolve_base_model(cfg.base_model)
    tokenizer = AutoTokenizer.from_pretrained(base)
    train_set = tokenize(load_splits(cfg.data).dataset["train"], tokenizer,
                         max_length=cfg.max_length)
    set_seed(cfg.seed)
    model = _load_model(base)
    args = TrainingArguments(
        output_dir=str(cfg.output_dir), per_device_train_batch_size=cfg.batch_size,
        learning_rate=cfg.learning_rate, num_train_epochs=cfg.num_epochs,
        lr_scheduler_type=cfg.lr_scheduler, warmup_steps=cfg.warmup_ratio,
        weight_decay=cfg.weight_decay, max_grad_norm=cfg.max_grad_norm, seed=cfg.seed,
        eval_strategy="no", save_strategy="no", report_to="none", use_cpu=cfg.cpu,
        train_sampling_strategy="group_by_length" if group_by_length else "random")
    trainer = Trainer(model=model, args=args, train_dataset=train_set,
                      processing_class=tokenizer)
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    samples = len(train_set) * cfg.num_epochs
    return {"samples": samples, "train_seconds": seconds, "samples_per_second": samples / seconds}


def main(argv: list[str] | None = None) -> int:
    import torch

    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_train_") as tmp:
        work = args.work_dir or Path(tmp)
        data = subset_source(args.data, args.max_train_samples, work)
        cfg = TrainConfig(data=data, output_dir=work / "ours", base_model=args.base_model,
                          num_epochs=args.epochs, batch_size=args.batch_size, dev_set="none",
                          cpu=not torch.cuda.is_available())
        results: dict[str, Any] = {"config": to_dict(cfg), "torch_threads": torch.get_num_threads(),
                                   "device": "cuda" if torch.cuda.is_available() else "cpu"}
        results["ours"] = run_ours(cfg)
        results["trainer"] = run_trainer(TrainConfig(**{**to_dict(cfg), "output_dir": work / "tr"}),
                                         group_by_length=False)
        if args.trainer_group_by_length:
            results["trainer_group_by_length"] = run_trainer(
                TrainConfig(**{**to_dict(cfg), "output_dir": work / "trg"}), group_by_length=True)
    results["ratio"] = results["ours"]["samples_per_second"] / \
        results["trainer"]["samples_per_second"]
    print_results(results)
    if args.json:
        atomic_write_json(args.json, results)
    return 0 if results["ratio"] >= 1.0 or math.isclose(results["ratio"], 1.0, rel_tol=0.02) else 1


def print_results(results: dict[str, Any]) -> None:
    cfg = results["config"]
    print(f"model {cfg['base_model']}, {cfg['num_epochs']} epochs, batch {cfg['batch_size']}, "
          f"device {results['device']}, torch threads {results['torch_threads']}")
    for name in ("ours", "trainer", "trainer_group_by_length"):
        if name in results:
            r = results[name]
            print(f"{name:<24} {r['samples']:>7} samples in {r['train_seconds']:8.1f}s "
                  f"= {r['samples_per_second']:8.1f} samples/s")
    print(f"ratio ours / Trainer: {results['ratio']:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
