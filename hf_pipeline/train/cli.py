"""``hf-pipeline train`` and ``hf-pipeline evaluate``.

Every train flag defaults to None so that precedence stays default < --config file < flag;
the defaults shown in --help are read from TrainConfig, their only home.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

from hf_pipeline.cli_options import (
    add_batch_size_option,
    add_json_option,
    add_model_option,
    add_output_option,
    note,
    print_result,
)
from hf_pipeline.contract import SPLITS
from hf_pipeline.io import check_outputs, file_output, folder_output
from hf_pipeline.train.config import (
    LR_SCHEDULERS,
    MIXED_PRECISION,
    REPORT_TO,
    TrainConfig,
)

_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrainConfig)}

# (flag, config field, type, help); bool fields get --x/--no-x.
_TRAIN_OPTIONS: tuple[tuple[str, str, Any, str], ...] = (
    ("--data", "data", str, "generator output folder, save_to_disk folder, dataset.json, or "
     "Hub dataset repo id"),
    ("--output", "output_dir", Path, "output folder (final/, metrics, checkpoints/)"),
    ("--revision", "revision", str, "Hub dataset tag or commit"),
    ("--dev-set", "dev_set", str, "human dev set: 'packaged', 'none', or a .jsonl path"),
    ("--base-model", "base_model", str, "Hub model id or local model folder"),
    ("--real-data", "real_data", str, "reviewed requests to mix into training: a "
     "requests.jsonl, its folder, or a Hub dataset NS/NAME@TAG (its 'train' rows only)"),
    ("--real-data-repeat", "real_data_repeat", int, "times each real request is repeated"),
    ("--real-data-max-share", "real_data_max_share", float, "most share of the training rows "
     "the repeated real requests may take (the repeat is lowered to fit)"),
    ("--epochs", "num_epochs", int, "training epochs"),
    ("--batch-size", "batch_size", int, "batch size per process"),
    ("--eval-batch-size", "eval_batch_size", int, "evaluation batch size per process"),
    ("--learning-rate", "learning_rate", float, "peak learning rate"),
    ("--lr-scheduler", "lr_scheduler", str, "learning-rate schedule"),
    ("--warmup-ratio", "warmup_ratio", float, "share of steps warming up"),
    ("--weight-decay", "weight_decay", float, "AdamW weight decay"),
    ("--max-grad-norm", "max_grad_norm", float, "gradient clipping (0: off)"),
    ("--label-smoothing", "label_smoothing", float, "cross-entropy label smoothing"),
    ("--typo-prob", "typo_prob", float, "share of training rows given a fresh typo each epoch"),
    ("--typo-twins", "typo_twins", float, "share of training rows given a typo'd twin in the "
     "same batch"),
    ("--consistency-weight", "consistency_weight", float, "weight of KL(row || its typo'd "
     "twin)"),
    ("--gradient-accumulation-steps", "gradient_accumulation_steps", int,
     "batches per optimizer step"),
    ("--max-length", "max_length", int, "truncation limit in tokens"),
    ("--group-by-length", "group_by_length", bool, "batch rows of similar length"),
    ("--seed", "seed", int, "random seed"),
    ("--mixed-precision", "mixed_precision", str, "autocast precision"),
    ("--cpu", "cpu", bool, "train on CPU even when a GPU is present"),
    ("--early-stopping-patience", "early_stopping_patience", int,
     "stop after this many epochs without a new top validation macro-F1"),
    ("--later-epoch-tolerance", "later_epoch_tolerance", float,
     "keep a later epoch unless the best validation macro-F1 so far beats it by more than "
     "this many standard errors (0: keep the top score's epoch)"),
    ("--checkpointing-steps", "checkpointing_steps", int,
     "also checkpoint every N optimizer steps (checkpoints are always saved each epoch)"),
    ("--keep-checkpoints", "keep_checkpoints", int, "checkpoints kept on disk"),
    ("--resume", "resume", bool, "continue from the last checkpoint in --output"),
    ("--report-to", "report_to", str, "experiment tracker, through Accelerate"),
    ("--logging-steps", "logging_steps", int, "log loss and learning rate every N steps"),
)
_CHOICES = {"mixed_precision": MIXED_PRECISION, "lr_scheduler": LR_SCHEDULERS,
            "report_to": REPORT_TO}


def register(sub: argparse._SubParsersAction) -> None:
    _register_train(sub)
    _register_evaluate(sub)


def _register_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="fine-tune the base model into the intent classifier",
                       description="Fine-tune the base model with Accelerate. Runs unchanged "
                       "under `python`, `accelerate launch` on CPU, one GPU or many.")
    p.add_argument("--config", type=Path, help="YAML/JSON file of TrainConfig options")
    for flag, field, kind, text in _TRAIN_OPTIONS:
        default = _DEFAULTS[field]
        shown = "" if default in ("", Path()) else f" (default: {default})"
        if flag == "--output":
            add_output_option(p, dest=field, metavar="DIR", help=text + shown)
        elif kind is bool:
            p.add_argument(flag, dest=field, action=argparse.BooleanOptionalAction, default=None,
                           help=text + shown)
        else:
            p.add_argument(flag, dest=field, type=kind, default=None,
                           choices=_CHOICES.get(field), help=text + shown,
                           metavar=None if field in _CHOICES else flag[2:].upper())
    add_json_option(p, result="the final model folder and its metrics")
    p.set_defaults(func=run_train)


def _register_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="metrics of a trained model on a dataset",
                       description="Accuracy, macro/weighted F1, per-intent F1 and the confusion "
                       "matrix of MODEL (a final/ folder) on DATA.")
    add_model_option(p, type=Path, accepts="a trained model folder (final/ of "
                     "`hf-pipeline train`)")
    p.add_argument("data", help="dataset (as for train --data), a dev-set .jsonl, or 'dev' for "
                   "the packaged human dev set")
    p.add_argument("--split", default="test", choices=SPLITS,
                   help="split of a dataset to evaluate (default: test)")
    p.add_argument("--revision", help="Hub dataset tag or commit")
    add_batch_size_option(p, default=64, help="inference batch size (default: 64)")
    add_output_option(p, metavar="FILE.json", help="also write the metrics to this JSON file")
    add_json_option(p, result="the metrics")
    p.set_defaults(func=run_evaluate)


def run_train(args: argparse.Namespace) -> int:
    from hf_pipeline.config import resolve

    overrides = {field: getattr(args, field) for _, field, _, _ in _TRAIN_OPTIONS}
    cfg = resolve(TrainConfig, config_file=args.config, overrides=overrides)
    check_outputs({"--output": folder_output(cfg.output_dir)},
                  inputs={**cfg.inputs, "--config": args.config})
    from hf_pipeline.train.loop import train  # torch: only once the options are good

    start = time.perf_counter()
    out = train(cfg)
    _print_train_summary(args, out, time.perf_counter() - start)
    return 0


def _print_train_summary(args: argparse.Namespace, out: Path, seconds: float) -> None:
    from accelerate import PartialState

    from hf_pipeline.train.evaluation import summary_line
    from hf_pipeline.train.outputs import EVAL_METRICS

    if not PartialState().is_main_process:
        return
    metrics = json.loads((out / EVAL_METRICS).read_text(encoding="utf-8"))
    print_result(args, {"output": str(out), "final": str(out / "final"),
                        "seconds": round(seconds, 3), "metrics": metrics}, lambda: "\n".join(
        [f"final model (epoch {metrics['best_epoch']}): {out / 'final'}"]
        + ["  " + summary_line(split, metrics[split])
           for split in ("validation", "test", "dev") if split in metrics]))
    note(args, f"done in {seconds:.1f}s")


def run_evaluate(args: argparse.Namespace) -> int:
    from hf_pipeline.data_sources import load_eval_sets
    from hf_pipeline.io import atomic_write_json
    from hf_pipeline.train.evaluation import evaluate_model_dir, format_report

    check_outputs({"--output": file_output(args.output)},
                  inputs={"--model": args.model, "DATA": None if args.data == "dev" else args.data})
    if args.data == "dev" or args.data.endswith(".jsonl"):
        name = args.data
        sets, _ = load_eval_sets(None, dev_set=None if args.data == "dev" else args.data)
        texts, labels = sets["dev"]
    else:
        name = args.split
        sets, _ = load_eval_sets(args.data, revision=args.revision, splits=(args.split,),
                                 with_dev=False)
        texts, labels = sets[args.split]
    metrics = evaluate_model_dir(args.model, texts, labels, batch_size=args.batch_size)
    result = {"model": str(args.model), "data": args.data, "split": name, **metrics}
    if args.output:
        atomic_write_json(args.output, result)
    print(json.dumps(result, indent=2) if args.json else format_report(name, metrics))
    return 0
