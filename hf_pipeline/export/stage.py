"""The export stage over folders: trained model folder -> export folder that explains itself.

Export folder layout:
  model.fp32.onnx     the preset's fp32 graph (dynamo or BERT-fused), parity-checked against
                      PyTorch
  model.int8.onnx     the preset's INT8 model (what the release ships)
  tokenizer.json      the model's tokenizer, truncation at MAX_LENGTH, no padding
  config.json         the model's transformers config
  export_report.json  resolved config, input hashes, library versions, parity, sizes, gate
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hf_pipeline.config import to_dict
from hf_pipeline.contract import MAX_LENGTH
from hf_pipeline.errors import ConfigError, DataFileError
from hf_pipeline.export.config import ExportConfig
from hf_pipeline.export.gate import EvalSet, GateReport, run_gate
from hf_pipeline.io import (
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    check_output_dir,
    sha256_file,
)
from hf_pipeline.provenance import library_versions
from hf_pipeline.model_folder.layout import CONFIG_FILE, TOKENIZER_FILE

log = logging.getLogger(__name__)

FP32_FILE = "model.fp32.onnx"
INT8_FILE = "model.int8.onnx"
REPORT_FILE = "export_report.json"
RUN_INFO_FILE = "run_info.json"  # written by `hf-pipeline train` beside final/


def export_model(model_dir: str | Path, out_dir: str | Path, *, cfg: ExportConfig,
                 eval_sets: Mapping[str, EvalSet] | None = None,
                 data_provenance: Mapping[str, Any] | None = None,
                 calibration_texts: Sequence[str] | None = None) -> Path:
    """Export the preset's fp32 graph, quantize it with ``cfg.preset`` (static presets
    calibrate on ``calibration_texts``, training texts), and gate on ``eval_sets`` (if given)."""
    from hf_pipeline.export.onnx_export import export_and_check, load_torch_model
    from hf_pipeline.export.quantize import calibration_feeds, get_preset, quantize
    from hf_pipeline.model_folder.int8 import quantization_summary
    from hf_pipeline.runtime.onnx import load_tokenizer

    spec = get_preset(cfg.preset)
    if spec.static and not calibration_texts:
        raise ConfigError(f"preset {cfg.preset!r} is static: it needs training texts to "
                          "calibrate on. Fix: pass --data (its train split is used), or pick "
                          "a dynamic preset.")
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    check_output_dir(out_dir, inputs=(model_dir,))
    model = load_torch_model(model_dir, attention=cfg.attention)
    tokenizer = load_tokenizer(model_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    parity = export_and_check(model, tokenizer, out_dir / FP32_FILE, cfg=cfg)
    calibration = (calibration_feeds(calibration_texts or (), tokenizer,
                                     samples=cfg.calibration_samples) if spec.static else None)
    quantize(out_dir / FP32_FILE, out_dir / INT8_FILE, preset=cfg.preset,
             calibration=calibration)
    atomic_write_text(out_dir / TOKENIZER_FILE, tokenizer.to_str(pretty=True))
    atomic_write_bytes(out_dir / CONFIG_FILE, (model_dir / CONFIG_FILE).read_bytes())
    report: dict[str, Any] = {
        "config": to_dict(cfg), "max_length": MAX_LENGTH,
        "model_dir": str(model_dir.resolve()), "inputs": _input_hashes(model_dir),
        "training": training_info(model_dir),
        "versions": library_versions(), "parity": parity.to_dict(),
        "preset": {"graph": spec.graph, "mode": spec.mode, "description": spec.description,
                   "calibration_samples": len(calibration) if calibration else 0},
        "files": {name: {"size_bytes": (out_dir / name).stat().st_size,
                         "sha256": sha256_file(out_dir / name),
                         "quantization": _without_counts(quantization_summary(out_dir / name))}
                  for name in (FP32_FILE, INT8_FILE)},
        "data": dict(data_provenance) if data_provenance else None, "gate": None,
    }
    atomic_write_json(out_dir / REPORT_FILE, report)
    if eval_sets is not None:
        gate_export(out_dir, eval_sets=eval_sets, cfg=cfg, data_provenance=data_provenance)
    else:
        log.warning("no evaluation data given: the INT8 accuracy gate did not run, and "
                    "`hf-pipeline release` will refuse this folder until it does")
    return out_dir


def gate_export(export_dir: str | Path, *, eval_sets: Mapping[str, EvalSet],
                cfg: ExportConfig,
                data_provenance: Mapping[str, Any] | None = None) -> GateReport:
    """Run the accuracy gate on an export folder and record the outcome in its report,
    failed or not (then re-raise), so the folder says why it cannot be released."""
    from hf_pipeline.export.gate import AccuracyGateError

    export_dir = Path(export_dir)
    report = read_export_report(export_dir)
    try:
        gate = run_gate(export_dir / FP32_FILE, export_dir / INT8_FILE,
                        tokenizer=export_dir / TOKENIZER_FILE, sets=eval_sets, cfg=cfg)
    except AccuracyGateError as e:
        report["gate"] = e.report.to_dict()
        atomic_write_json(export_dir / REPORT_FILE, report)
        raise
    report["gate"] = gate.to_dict()
    if data_provenance:
        report["data"] = dict(data_provenance)
    atomic_write_json(export_dir / REPORT_FILE, report)
    return gate


def read_export_report(export_dir: str | Path) -> dict[str, Any]:
    import json

    path = Path(export_dir) / REPORT_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise DataFileError(path, f"cannot read the export report ({e.strerror}).",
                            fix="pass the folder written by `hf-pipeline export model`.") from None
    except json.JSONDecodeError as e:
        raise DataFileError(path, f"not valid JSON ({e.msg}).",
                            fix="re-run `hf-pipeline export model`.") from None


def training_info(model_dir: Path) -> dict[str, Any] | None:
    """Base model and data provenance from ``hf-pipeline train``'s run_info.json (next to
    or one above the model folder), if there is one."""
    import json

    for path in (model_dir / RUN_INFO_FILE, model_dir.parent / RUN_INFO_FILE):
        if path.is_file():
            try:
                info = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as e:
                log.warning("ignoring unreadable %s (%s)", path, e)
                return None
            return {"run_info": str(path), "base_model": info.get("base_model"),
                    "data": info.get("data")}
    return None


def _input_hashes(model_dir: Path) -> dict[str, str]:
    return {p.name: sha256_file(p) for p in sorted(model_dir.iterdir())
            if p.is_file() and p.suffix in (".json", ".safetensors", ".txt", ".bin")}


def _without_counts(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if k != "op_counts"}
