"""``hf-pipeline export {model,gate,verify,benchmark}`` and ``hf-pipeline release``.

Each command is a few lines over a library call; heavy imports happen inside the commands.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from hf_pipeline.export.config import ATTENTION_IMPLEMENTATIONS, PRESET_NAMES


def register(subparsers: Any) -> None:
    export = subparsers.add_parser(
        "export", help="export the trained model to ONNX + INT8, and tools on ONNX files",
        description="Turn a trained model folder into ONNX (parity-checked) and INT8 "
        "(accuracy-gated), and inspect or time ONNX files.")
    sub = export.add_subparsers(dest="export_command", metavar="ACTION", required=True)
    _add_model(sub)
    _add_gate(sub)
    _add_verify(sub)
    _add_benchmark(sub)
    _add_release(subparsers)


def _add_config_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="YAML/JSON file of ExportConfig options")
    p.add_argument("--max-drop", type=float, dest="max_drop_points",
                   help="INT8 accuracy drop budget in points (default 2.0)")


def _add_data_options(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument("--data", required=required,
                   help="dataset for the gate's test split: generator folder, save_to_disk "
                   "folder, dataset.json, or Hub repo id")
    p.add_argument("--revision", help="Hub revision (tag/commit) of --data")
    p.add_argument("--dev-set", type=Path, help="human dev set JSONL (default: the packaged one)")


def _add_model(sub: Any) -> None:
    p = sub.add_parser("model", help="export MODEL_DIR to fp32 + INT8 ONNX in --output",
                       description="Export a trained model folder: fp32 ONNX checked against "
                       "PyTorch, INT8 by preset, and (with --data) the accuracy gate.")
    p.add_argument("model_dir", type=Path, metavar="MODEL_DIR",
                   help="folder written by `hf-pipeline train` (its final/)")
    p.add_argument("--output", "-o", type=Path, required=True, help="export folder to write")
    p.add_argument("--preset", choices=PRESET_NAMES, help="INT8 preset (default matmul_gather)")
    p.add_argument("--opset", type=int, help="ONNX opset, >= 17 (default 18)")
    p.add_argument("--attention", choices=ATTENTION_IMPLEMENTATIONS,
                   help="attention code traced into the graph (default eager)")
    _add_config_options(p)
    _add_data_options(p, required=False)
    p.set_defaults(func=run_model)


def _add_gate(sub: Any) -> None:
    p = sub.add_parser("gate", help="run the INT8 accuracy gate on an export folder",
                       description="Compare fp32 and INT8 accuracy on the template test split "
                       "and the human dev set; fail when the drop exceeds the budget.")
    p.add_argument("export_dir", type=Path, metavar="EXPORT_DIR")
    _add_config_options(p)
    _add_data_options(p, required=True)
    p.set_defaults(func=run_gate_command)


def _add_verify(sub: Any) -> None:
    p = sub.add_parser("verify", help="check an ONNX file against the runtime contract",
                       description="Valid or not, IR/opset, inputs/outputs, size, SHA-256.")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run_verify)


def _add_benchmark(sub: Any) -> None:
    p = sub.add_parser("benchmark", help="time an ONNX classifier on this CPU",
                       description="Single-query latency p50/p90/p99 (with and without "
                       "tokenization, per thread count) and batch throughput.")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--tokenizer", type=Path,
                   help="tokenizer.json or its folder (default: next to FILE)")
    p.add_argument("--threads", type=int, nargs="+", help="thread counts (default 1 2)")
    p.add_argument("--runs", type=int, help="timed single queries per setting (default 300)")
    p.add_argument("--batch-size", type=int, help="batch size for throughput (default 64)")
    p.add_argument("--json", type=Path, metavar="PATH",
                   help="also write the results as JSON here ('-' = stdout, no table)")
    p.set_defaults(func=run_benchmark)


def _add_release(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "release", help="assemble the sqry-nl model folder from an export folder",
        description="Write exactly the runtime's model folder: intent_classifier.onnx (INT8), "
        "tokenizer.json, config.json, temperature.json, version.txt, manifest.json, "
        "checksums.json.")
    p.add_argument("export_dir", type=Path, metavar="EXPORT_DIR",
                   help="folder written by `hf-pipeline export model`")
    p.add_argument("--output", "-o", type=Path, required=True, help="model folder to write")
    p.add_argument("--model-version", required=True, help="e.g. 1.0.0")
    p.add_argument("--training-commit", required=True, help="git commit the model was trained at")
    p.add_argument("--dataset-repo", help="dataset repo id (default: the gate's --data)")
    p.add_argument("--dataset-revision", help="dataset tag/commit (default: the gate's)")
    p.add_argument("--base-model", help="base model id (default: all-MiniLM-L6-v2)")
    p.add_argument("--date", help="release date, ISO (default: today, UTC)")
    p.add_argument("--temperature", type=Path, help="temperature.json from calibration "
                   "(default: T = 1 written explicitly)")
    p.add_argument("--allow-ungated", action="store_true",
                   help="release even if the accuracy gate did not pass (not for shipping)")
    p.set_defaults(func=run_release)


def _export_config(args: argparse.Namespace) -> Any:
    from hf_pipeline.config import resolve
    from hf_pipeline.export.config import ExportConfig

    overrides = {name: getattr(args, name, None)
                 for name in ("preset", "opset", "attention", "max_drop_points")}
    return resolve(ExportConfig, config_file=args.config, overrides=overrides)


def _eval_sets(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    from hf_pipeline.export.gate import load_eval_sets

    return load_eval_sets(args.data, revision=args.revision, dev_set=args.dev_set)


def run_model(args: argparse.Namespace) -> int:
    from hf_pipeline.export.stage import export_model

    cfg = _export_config(args)
    sets, provenance = _eval_sets(args) if args.data else (None, None)
    out = export_model(args.model_dir, args.output, cfg=cfg, eval_sets=sets,
                       data_provenance=provenance)
    print(f"exported {args.model_dir} -> {out} (preset {cfg.preset})")
    if sets is None:
        print("accuracy gate not run (no --data): run `hf-pipeline export gate "
              f"{out} --data DATASET` before `hf-pipeline release`")
    return 0


def run_gate_command(args: argparse.Namespace) -> int:
    from hf_pipeline.export.stage import gate_export

    sets, provenance = _eval_sets(args)
    report = gate_export(args.export_dir, eval_sets=sets, cfg=_export_config(args),
                         data_provenance=provenance)
    print(report.table())
    print(f"gate passed (budget {report.max_drop_points:g} points"
          f"{'' if report.meets_target else '; above the target'})")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from hf_pipeline.export.inspect import verify_onnx

    report = verify_onnx(args.file)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.text())
    return 0 if report.valid else 1


def run_benchmark(args: argparse.Namespace) -> int:
    from hf_pipeline.config import resolve
    from hf_pipeline.export.config import BenchmarkConfig
    from hf_pipeline.export.inspect import benchmark

    overrides = {"threads": tuple(args.threads) if args.threads else None, "runs": args.runs,
                 "batch_size": args.batch_size}
    cfg = resolve(BenchmarkConfig, overrides=overrides)
    report = benchmark(args.file, tokenizer=args.tokenizer or args.file.parent, cfg=cfg)
    data = json.dumps(report.to_dict(), indent=2)
    if str(args.json) == "-":
        print(data)
        return 0
    print(report.table())
    if args.json:
        from hf_pipeline.io import atomic_write_text

        atomic_write_text(args.json, data + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


def run_release(args: argparse.Namespace) -> int:
    from hf_pipeline.errors import ConfigError
    from hf_pipeline.export.release import ReleaseInfo, build_release
    from hf_pipeline.export.stage import read_export_report

    report = read_export_report(args.export_dir)
    repo, revision = _dataset_of(report)
    repo, revision = args.dataset_repo or repo, args.dataset_revision or revision
    if not repo or not revision:
        raise ConfigError("--dataset-repo and --dataset-revision are required: the export "
                          "report names no Hub dataset the model was trained on. Fix: pass "
                          "both, e.g. --dataset-repo user/sqry-intents --dataset-revision v1.0.")
    training = report.get("training") or {}
    base = (training.get("base_model") or {}).get("requested")
    fields = {"model_version": args.model_version, "training_commit": args.training_commit,
              "dataset_repo": repo, "dataset_revision": revision,
              "base_model": args.base_model or base, "date": args.date}
    info = ReleaseInfo(**{k: v for k, v in fields.items() if v is not None})
    out = build_release(args.export_dir, args.output, info=info,
                        temperature_file=args.temperature, require_gate=not args.allow_ungated)
    print(f"model folder written: {out}")
    return 0


def _dataset_of(report: dict[str, Any]) -> tuple[str | None, str | None]:
    """The Hub dataset the model was trained on (else the gate's); None for local data."""
    for data in ((report.get("training") or {}).get("data"), report.get("data")):
        source = (data or {}).get("source")
        if source and not Path(str(source)).is_absolute():  # local paths are no repo
            return str(source), data.get("revision") or data.get("sha")
    return None, None
