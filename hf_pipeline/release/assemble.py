"""Assemble the model folder from an export folder (``hf-pipeline release``).

The folder is built complete in a hidden staging folder beside the target (content files,
then manifest.json from their on-disk hashes, then checksums.json last), then swapped in with
one rename: a killed release leaves the previous folder, or none, never a half-written one.
The export folder's report is copied to the reports folder beside it (``<release>.reports``).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hf_pipeline.errors import CheckFailedError
from hf_pipeline.io import (
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    check_outputs,
    folder_output,
)
from hf_pipeline.model_folder.folder import ReleaseInfo, release_config, version_text
from hf_pipeline.model_folder.int8 import check_int8
from hf_pipeline.model_folder.layout import (
    CONFIG_FILE,
    EXPORT_REPORT,
    ONNX_FILE,
    TEMPERATURE_FILE,
    TOKENIZER_FILE,
    VERSION_FILE,
    reports_dir,
)
from hf_pipeline.model_folder.manifest import Destination
from hf_pipeline.model_folder.temperature import read_temperature, uncalibrated_temperature
from hf_pipeline.model_folder.update import (
    check_output_folder,
    recover,
    stage_folder,
    swap_in,
    write_checksums,
)

log = logging.getLogger(__name__)


def release_tokenizer(tokenizer_path: str | Path) -> str:
    """tokenizer.json with truncation at MAX_LENGTH and no padding: the runtime applies what
    the file says, and sends one unpadded query (MiniLM's file pads to a fixed 128)."""
    from hf_pipeline.runtime.onnx import load_tokenizer

    return load_tokenizer(tokenizer_path).to_str(pretty=True)


def assemble(out_dir: str | Path, *, onnx_path: str | Path, tokenizer_path: str | Path,
             model_config: Mapping[str, Any], info: ReleaseInfo,
             temperature: Mapping[str, Any] | None = None, preset: str | None = None,
             destination: Destination | None = None, onnx_sha256: str | None = None) -> Path:
    """Write the model folder from its parts, as one step; checksums and manifest last.
    ``destination``: where it will be published (None: unpublished, see ``manifest``).
    ``onnx_sha256``: the graph must be exactly these bytes (the ones the gate measured)."""
    from hf_pipeline.export.onnx_export import check_graph

    out_dir, onnx_path = Path(out_dir).resolve(), Path(onnx_path)
    recover(out_dir)
    check_output_folder(out_dir)
    graph = onnx_path.read_bytes()  # these bytes, checked, are what ships
    if onnx_sha256 is not None and hashlib.sha256(graph).hexdigest() != onnx_sha256:
        raise CheckFailedError(
            f"{onnx_path}: not the graph the INT8 accuracy gate measured (SHA-256 "
            f"{hashlib.sha256(graph).hexdigest()[:12]}..., the gate measured "
            f"{onnx_sha256[:12]}...); it changed after the gate. Fix: run the gate again "
            "(`hf-pipeline export gate`) or export again.")
    check_int8(onnx_path)
    check_graph(onnx_path)
    tokenizer_text = release_tokenizer(tokenizer_path)
    staged = stage_folder(out_dir)
    try:
        atomic_write_bytes(staged / ONNX_FILE, graph)
        atomic_write_text(staged / TOKENIZER_FILE, tokenizer_text)
        atomic_write_json(staged / CONFIG_FILE, release_config(model_config))
        atomic_write_json(staged / TEMPERATURE_FILE,
                          dict(temperature) if temperature else uncalibrated_temperature())
        atomic_write_text(staged / VERSION_FILE, version_text(info, preset=preset))
        write_checksums(staged, model_version=info.model_version,
                        destination=destination or Destination.unpublished(info.model_version))
        swap_in(staged, out_dir)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    log.info("model folder ready: %s", out_dir)
    return out_dir


def _gated_sha256(report: Mapping[str, Any]) -> str | None:
    """The SHA-256 of the INT8 graph the gate measured (recorded by the gate; reports from
    before that: the one the export wrote)."""
    from hf_pipeline.model_folder.layout import INT8_FILE

    gate = report.get("gate") or {}
    return gate.get("int8_sha256") or ((report.get("files") or {}).get(INT8_FILE) or {}).get(
        "sha256")


def build_release(export_dir: str | Path, out_dir: str | Path, *, info: ReleaseInfo,
                  temperature_file: str | Path | None = None, require_gate: bool = True,
                  destination: Destination | None = None) -> Path:
    """The model folder from an export folder (``hf-pipeline export model`` output)."""
    from hf_pipeline.export.stage import INT8_FILE, REPORT_FILE, read_export_report
    from hf_pipeline.train.inference import read_model_config

    export_dir, out_dir = Path(export_dir), Path(out_dir)
    check_outputs({"--output": folder_output(out_dir)},
                  inputs={"EXPORT_DIR": export_dir, "--temperature": temperature_file})
    report = read_export_report(export_dir)
    gate = report.get("gate")
    if require_gate and not (gate and gate.get("passed")):
        state = "did not run" if not gate else "failed"
        raise CheckFailedError(
            f"{export_dir / REPORT_FILE}: the INT8 accuracy gate {state}; a release needs a "
            f"passed gate. Fix: `hf-pipeline export gate {export_dir} --data DATASET` "
            "(or export again with --data).")
    temperature = read_temperature(temperature_file) if temperature_file else None
    out = assemble(out_dir, onnx_path=export_dir / INT8_FILE,
                   tokenizer_path=export_dir / TOKENIZER_FILE,
                   model_config=read_model_config(export_dir), info=info,
                   temperature=temperature, preset=report.get("config", {}).get("preset"),
                   destination=destination, onnx_sha256=_gated_sha256(report) if require_gate
                   else None)
    atomic_write_bytes(reports_dir(out) / EXPORT_REPORT,
                       (export_dir / REPORT_FILE).read_bytes())
    return out
