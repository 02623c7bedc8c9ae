"""Training throughput: our Accelerate loop against the transformers Trainer, equal work.

Same base model, data, tokenization and hyperparameters (TrainConfig's defaults, or the
flags below) for every run; evaluation and checkpointing are off for the Trainer and not
counted for ours. Both are timed over their epochs' training steps (ours: its per-epoch
``train_seconds``; the Trainer: a callback from each epoch's begin to its end), not over
model loading or the Trainer's setup. Four runs:

- ``ours``: our loop without typo'd twins (``typo_twins=0``): the same work as the Trainer,
  one forward and backward per row, length-grouped batches;
- ``ours_twins``: our loop as it trains by default, with typo'd twins (about ``typo_twins``
  more rows per batch, and a KL term); its samples/s counts each sample once, twins not;
- ``trainer``: ``transformers.Trainer`` with its random sampler (the reference's way);
- ``trainer_group_by_length``: the Trainer with its ``group_by_length`` sampler.

Each is run ``--repeats`` times, interleaved, the order reversed every other repetition
(A B C D, D C B A, ...), so that no run always follows the same one or comes first in a warm
or cold process; each figure is the median over the repetitions. Ratios are against the
best (fastest) Trainer configuration of the same process; the one that compares the loops
is ``ours`` / best Trainer.

    python bench/bench_train.py --data out/data                  # full 6-epoch runs
    python bench/bench_train.py --data out/data --epochs 1 --max-train-samples 500
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from hf_pipeline.config import to_dict
from hf_pipeline.io import atomic_write_json
from hf_pipeline.train.config import TrainConfig

RUNS: tuple[str, ...] = ("ours", "ours_twins", "trainer", "trainer_group_by_length")
TRAINERS: tuple[str, ...] = ("trainer", "trainer_group_by_length")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    defaults = TrainConfig(data="-", output_dir=Path("-"))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="generator output folder (or any train --data)")
    p.add_argument("--base-model", default=defaults.base_model)
    p.add_argument("--epochs", type=int, default=defaults.num_epochs)
    p.add_argument("--batch-size", type=int, default=defaults.batch_size)
    p.add_argument("--max-train-samples", type=int, help="use the first N training rows")
    p.add_argument("--repeats", type=int, default=2,
                   help="interleaved repetitions of the four runs (order reversed every other)")
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

    _reset_accelerate()
    start = time.perf_counter()
    out = train(cfg)
    wall = time.perf_counter() - start
    metrics = json.loads((out / "training_metrics.json").read_text(encoding="utf-8"))
    samples = sum(e["train_samples"] for e in metrics["epochs"])
    seconds = sum(e["train_seconds"] for e in metrics["epochs"])
    return {"samples": samples, "train_seconds": seconds, "samples_per_second": samples / seconds,
            "wall_seconds_whole_run": wall}


def _reset_accelerate() -> None:
    """Forget the previous run's Accelerate state: runs of both kinds alternate."""
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)


def run_trainer(cfg: TrainConfig, *, group_by_length: bool) -> dict[str, Any]:
    """The same training through ``transformers.Trainer`` (the reference's way), timed like
    ours: the epochs' training steps, from each epoch's start to its end."""
    from accelerate.utils import set_seed
    from transformers import AutoTokenizer, Trainer, TrainerCallback, TrainingArguments

    class EpochTimer(TrainerCallback):
        def __init__(self) -> None:
            self.seconds, self.start = 0.0, 0.0

        def on_epoch_begin(self, *args: Any, **kwargs: Any) -> None:
            self.start = time.perf_counter()

        def on_epoch_end(self, *args: Any, **kwargs: Any) -> None:
            self.seconds += time.perf_counter() - self.start

    from hf_pipeline.base_model import resolve_base_model
    from hf_pipeline.data_sources import load_splits
    from hf_pipeline.train.data import tokenize
    from hf_pipeline.train.loop import _load_model

    _reset_accelerate()
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
    timer = EpochTimer()
    trainer = Trainer(model=model, args=args, train_dataset=train_set,
                      processing_class=tokenizer, callbacks=[timer])
    start = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - start
    samples = len(train_set) * cfg.num_epochs
    return {"samples": samples, "train_seconds": timer.seconds,
            "samples_per_second": samples / timer.seconds, "wall_seconds_train_call": wall}


def run_order(repeats: int) -> list[tuple[int, str]]:
    """(repetition, run) in the order they run: RUNS, then reversed, and so on."""
    return [(r, name) for r in range(repeats)
            for name in (RUNS if r % 2 == 0 else tuple(reversed(RUNS)))]


def runners(cfg: TrainConfig, work: Path) -> dict[str, Callable[[int], dict[str, Any]]]:
    """Each run of RUNS as a function of the repetition (each writes its own folder)."""
    def folder(name: str, rep: int) -> Path:
        return work / f"{name}_{rep}"

    return {
        "ours": lambda r: run_ours(replace(cfg, typo_twins=0.0, output_dir=folder("ours", r))),
        "ours_twins": lambda r: run_ours(replace(cfg, output_dir=folder("ours_twins", r))),
        "trainer": lambda r: run_trainer(replace(cfg, output_dir=folder("trainer", r)),
                                         group_by_length=False),
        "trainer_group_by_length": lambda r: run_trainer(
            replace(cfg, output_dir=folder("trainer_gbl", r)), group_by_length=True),
    }


def summarize(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Median samples/s per run and the ratios against the best Trainer configuration."""
    rates = {name: statistics.median(r["samples_per_second"] for r in results)
             for name, results in runs.items()}
    best = max(TRAINERS, key=rates.__getitem__)
    return {"samples_per_second": rates, "best_trainer": best,
            "ratio_vs_best_trainer": {name: rate / rates[best] for name, rate in rates.items()}}


def main(argv: list[str] | None = None) -> int:
    import torch

    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_train_") as tmp:
        work = args.work_dir or Path(tmp)
        data = subset_source(args.data, args.max_train_samples, work)
        cfg = TrainConfig(data=data, output_dir=work / "unused", base_model=args.base_model,
                          num_epochs=args.epochs, batch_size=args.batch_size, dev_set="none",
                          cpu=not torch.cuda.is_available())
        run = runners(cfg, work)
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in RUNS}
        for rep, name in run_order(args.repeats):
            runs[name].append({"repetition": rep, **run[name](rep)})
    results: dict[str, Any] = {
        "config": to_dict(cfg), "torch_threads": torch.get_num_threads(),
        "device": "cuda" if torch.cuda.is_available() else "cpu", "repeats": args.repeats,
        "order": [name for _, name in run_order(args.repeats)], "runs": runs,
        **summarize(runs)}
    print_results(results)
    if args.json:
        atomic_write_json(args.json, results)
    return 0


def print_results(results: dict[str, Any]) -> None:
    cfg, rates = results["config"], results["samples_per_second"]
    ratios, best = results["ratio_vs_best_trainer"], results["best_trainer"]
    print(f"model {cfg['base_model']}, {cfg['num_epochs']} epochs, batch {cfg['batch_size']}, "
          f"device {results['device']}, torch threads {results['torch_threads']}, "
          f"{results['repeats']} interleaved repetitions (order: "
          f"{' '.join(results['order'])})")
    labels = {"ours": "ours, no twins", "ours_twins": f"ours, twins {cfg['typo_twins']:g}",
              "trainer": "Trainer, random", "trainer_group_by_length": "Trainer, group_by_length"}
    print(f"{'run':<26} {'samples':>7} {'samples/s':>9}  {'each repetition':<20} {'x best':>6}")
    for name, runs in results["runs"].items():
        each = " ".join(f"{r['samples_per_second']:.1f}" for r in runs)
        print(f"{labels[name]:<26} {runs[0]['samples']:>7} {rates[name]:>9.1f}  {each:<20} "
              f"{ratios[name]:>6.2f}")
    print(f"samples/s: median over the repetitions (training steps only); x best = ratio to the "
          f"fastest Trainer configuration, {labels[best]}. With twins, each batch also carries "
          f"a typo'd copy of about {cfg['typo_twins']:.0%} of its rows (and a KL term), not "
          f"counted as samples.")
    print(f"equal work, ours (no twins) / {labels[best]}: {ratios['ours']:.2f}x")
    print(f"default training, ours (twins) / {labels[best]}: {ratios['ours_twins']:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
