"""``hf-pipeline export {model,gate,verify,benchmark}``.

Each command is a few lines over a library call; heavy imports happen inside the commands.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from hf_pipeline.cli_options import (
    add_json_option,
    add_model_option,
    add_output_option,
    note,
    print_result,
)
from hf_pipeline.config import help_default
from hf_pipeline.export.config import (
    ATTENTION_IMPLEMENTATIONS,
    MAX_OPSET,
    MIN_OPSET,
    PRESET_NAMES,
    BenchmarkConfig,
    ExportConfig,
)
from hf_pipeline.io import check_outputs, file_output, folder_output
from hf_pipeline.model_folder.layout import TOKENIZER_FILE


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


def _add_config_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="YAML/JSON file of ExportConfig options")
    p.add_argument("--max-drop", type=float, dest="max_drop_points",
                   help="INT8 accuracy drop budget in points"
                   + help_default(ExportConfig, "max_drop_points"))


def _add_data_options(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument("--data", required=required,
                   help="dataset for the gate's test split: generator folder, save_to_disk "
                   "folder, dataset.json, or Hub repo id")
    p.add_argument("--revision", help="Hub revision (tag/commit) of --data")
    p.add_argument("--dev-set", type=Path, help="human dev set JSONL (default: the packaged one)")


def _add_model(sub: Any) -> None:
    p = sub.add_parser("model", help="export --model to fp32 + INT8 ONNX in --output",
                       description="Export a trained model folder: fp32 ONNX checked against "
                       "PyTorch, INT8 by preset, and (with --data) the accuracy gate.")
    add_model_option(p, type=Path, accepts="a trained model folder (final/ of "
                     "`hf-pipeline train`)")
    add_output_option(p, required=True, metavar="DIR", help="export folder to write")
    p.add_argument("--preset", choices=PRESET_NAMES, help="INT8 preset (static presets "
                   "calibrate on the train split of --data)"
                   + help_default(ExportConfig, "preset"))
    p.add_argument("--opset", type=int, help=f"ONNX opset, {MIN_OPSET} to {MAX_OPSET}"
                   + help_default(ExportConfig, "opset"))
    p.add_argument("--attention", choices=ATTENTION_IMPLEMENTATIONS,
                   help="attention code traced into the graph"
                   + help_default(ExportConfig, "attention"))
    _add_config_options(p)
    _add_data_options(p, required=False)
    add_json_option(p, result="the export report")
    p.set_defaults(func=run_model)


def _add_gate(sub: Any) -> None:
    p = sub.add_parser("gate", help="run the INT8 accuracy gate on an export folder",
                       description="Compare fp32 and INT8 accuracy on the template test split "
                       "and the human dev set; fail when the drop exceeds the budget.")
    p.add_argument("export_dir", type=Path, metavar="EXPORT_DIR")
    _add_config_options(p)
    _add_data_options(p, required=True)
    add_json_option(p, result="the gate report")
    p.set_defaults(func=run_gate_command)


def _add_verify(sub: Any) -> None:
    p = sub.add_parser("verify", help="check an ONNX file against the runtime contract",
                       description="Valid or not, IR/opset, inputs/outputs, size, SHA-256.")
    p.add_argument("file", type=Path, metavar="FILE")
    add_json_option(p, result="the report")
    p.set_defaults(func=run_verify)


def _add_benchmark(sub: Any) -> None:
    p = sub.add_parser("benchmark", help="time an ONNX classifier on this CPU",
                       description="Single-query latency p50/p90/p99 (with and without "
                       "tokenization, per thread count) and batch throughput.")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--tokenizer", type=Path,
                   help="tokenizer.json or its folder (default: next to FILE)")
    p.add_argument("--threads", type=int, nargs="+", help="thread counts"
                   + help_default(BenchmarkConfig, "threads"))
    p.add_argument("--runs", type=int, help="timed single queries per setting"
                   + help_default(BenchmarkConfig, "runs"))
    p.add_argument("--batch-size", type=int, help="batch size for throughput"
                   + help_default(BenchmarkConfig, "batch_size"))
    add_json_option(p, result="the results")
    add_output_option(p, metavar="FILE.json", help="also write the results as JSON to this "
                      "file")
    p.set_defaults(func=run_benchmark)


def _export_config(args: argparse.Namespace) -> Any:
    from hf_pipeline.config import resolve

    overrides = {name: getattr(args, name, None)
                 for name in ("preset", "opset", "attention", "max_drop_points")}
    return resolve(ExportConfig, config_file=args.config, overrides=overrides)


def _eval_sets(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    from hf_pipeline.data_sources import load_eval_sets

    return load_eval_sets(args.data, revision=args.revision, dev_set=args.dev_set)


def _training_texts(args: argparse.Namespace) -> list[str]:
    from hf_pipeline.data_sources import load_eval_sets

    sets, _ = load_eval_sets(args.data, revision=args.revision, splits=("train",),
                             with_dev=False)
    return list(sets["train"][0])


def run_model(args: argparse.Namespace) -> int:
    from hf_pipeline.export.presets import PRESETS
    from hf_pipeline.export.stage import export_model

    cfg = _export_config(args)
    check_outputs({"--output": folder_output(args.output)},
                  inputs={"--model": args.model, "--data": args.data, "--dev-set": args.dev_set,
                          "--config": args.config})
    sets, provenance = _eval_sets(args) if args.data else (None, None)
    calibration = (_training_texts(args) if args.data and PRESETS[cfg.preset].static
                   else None)
    out = export_model(args.model, args.output, cfg=cfg, eval_sets=sets,
                       data_provenance=provenance, calibration_texts=calibration)
    note(args, f"exported {args.model} -> {out} (preset {cfg.preset})")
    if sets is None:
        note(args, "accuracy gate not run (no --data): run `hf-pipeline export gate "
             f"{out} --data DATASET` before `hf-pipeline release`")
    if args.json:
        from hf_pipeline.export.stage import read_export_report

        print_result(args, {"output": str(out), "report": read_export_report(out)})
    return 0


def run_gate_command(args: argparse.Namespace) -> int:
    from hf_pipeline.export.stage import gate_export

    cfg = _export_config(args)  # the options first: a bad one is refused before any load
    sets, provenance = _eval_sets(args)
    report = gate_export(args.export_dir, eval_sets=sets, cfg=cfg, data_provenance=provenance)
    print_result(args, report.to_dict(), report.table)
    note(args, f"gate passed (budget {report.max_drop_points:g} points"
         f"{'' if report.meets_target else '; above the target'})")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from hf_pipeline.export.inspect import verify_onnx

    report = verify_onnx(args.file)
    print_result(args, report.to_dict(), report.text)
    return 0 if report.valid else 1


def run_benchmark(args: argparse.Namespace) -> int:
    from hf_pipeline.config import resolve
    from hf_pipeline.export.inspect import benchmark

    overrides = {"threads": tuple(args.threads) if args.threads else None, "runs": args.runs,
                 "batch_size": args.batch_size}
    cfg = resolve(BenchmarkConfig, overrides=overrides)
    tokenizer = args.tokenizer or args.file.parent
    check_outputs({"--output": file_output(args.output)}, inputs={
        "FILE": args.file, "--tokenizer": tokenizer / TOKENIZER_FILE if tokenizer.is_dir()
        else tokenizer})
    report = benchmark(args.file, tokenizer=tokenizer, cfg=cfg)
    data = json.dumps(report.to_dict(), indent=2)
    print(data if args.json else report.table())
    if args.output:
        from hf_pipeline.io import atomic_write_text

        atomic_write_text(args.output, data + "\n")
        print(f"wrote {args.output}", file=sys.stderr)
    return 0
