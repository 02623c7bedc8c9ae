"""Assemble the sqry-nl model folder (../shared/docs/artifact-contract.md), exactly.

Order matters: the five content files are written first (each atomically), then
manifest.json from their on-disk hashes, then checksums.json LAST, hashing every other file
in the folder as it is on disk (manifest.json included). ``write_checksums`` redoes those two
steps, so calibration can rewrite temperature.json and refresh them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hf_pipeline import __version__
from hf_pipeline.contract import (
    CHECKSUMS_FILE,
    CONFIG_FILE,
    DEFAULT_BASE_MODEL,
    MANIFEST_FILE,
    MAX_LENGTH,
    ONNX_FILE,
    TEMPERATURE_FILE,
    TOKENIZER_FILE,
    VERSION_FILE,
)
from hf_pipeline.errors import DataFileError, InvalidValueError, OutputError, PipelineError
from hf_pipeline.intents import ID2LABEL, INTENTS, LABEL2ID
from hf_pipeline.io import atomic_write_bytes, atomic_write_json, atomic_write_text, sha256_file

log = logging.getLogger(__name__)

CONTENT_FILES: tuple[str, ...] = (ONNX_FILE, TOKENIZER_FILE, CONFIG_FILE, TEMPERATURE_FILE,
                                  VERSION_FILE)
RELEASE_FILES: tuple[str, ...] = (*CONTENT_FILES, MANIFEST_FILE, CHECKSUMS_FILE)


@dataclass(frozen=True)
class ReleaseInfo:
    """What version.txt and manifest.json say about where the model came from."""

    model_version: str
    dataset_repo: str
    dataset_revision: str
    training_commit: str
    base_model: str = DEFAULT_BASE_MODEL
    date: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).date().isoformat())

    def __post_init__(self) -> None:
        for name in ("model_version", "dataset_repo", "dataset_revision", "training_commit",
                     "base_model", "date"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip() or "\n" in value:
                raise InvalidValueError(name, value, "a non-empty single-line string",
                                        fix="it is written as a key=value line in version.txt.")


def version_text(info: ReleaseInfo, *, preset: str | None = None) -> str:
    lines = [f"# sqry-nl intent classifier, assembled by hf-pipeline {__version__}",
             f"model_version={info.model_version}", f"base_model={info.base_model}",
             f"dataset_repo={info.dataset_repo}", f"dataset_revision={info.dataset_revision}",
             f"training_commit={info.training_commit}", f"date={info.date}",
             f"max_length={MAX_LENGTH}"]
    if preset:
        lines.append(f"quantization=int8 dynamic, preset {preset}")
    return "\n".join(lines) + "\n"


def uncalibrated_temperature() -> dict[str, Any]:
    """T = 1 written explicitly, in the contract's schema; calibration replaces it."""
    return {"temperature": 1.0, "metrics": {}, "calibration_samples": 0,
            "intent_labels": list(INTENTS)}


def read_temperature(path: str | Path) -> dict[str, Any]:
    """A calibration temperature.json, checked: the runtime silently falls back to T = 1 on
    anything it cannot parse, so a bad file must fail here instead."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise DataFileError(path, f"cannot read ({e.strerror}).") from None
    except UnicodeDecodeError as e:
        raise DataFileError(path, f"not UTF-8 ({e.reason} at byte {e.start}).",
                            fix="re-run `hf-pipeline calibrate`.") from None
    except json.JSONDecodeError as e:
        raise DataFileError(path, f"not valid JSON ({e.msg}).") from None
    t = data.get("temperature") if isinstance(data, dict) else None
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not t > 0:
        raise DataFileError(path, f"'temperature' is {t!r}, expected a number > 0.",
                            fix="re-run `hf-pipeline calibrate`.")
    labels = data.get("intent_labels")
    if labels is not None and (not isinstance(labels, list) or labels != list(INTENTS)):
        raise DataFileError(path, f"intent_labels {labels} differ from {list(INTENTS)}.",
                            fix="calibrate the model of this release.")
    return data


def release_config(model_config: dict[str, Any]) -> dict[str, Any]:
    """The transformers config with id2label/label2id in the runtime's order, plus max_length."""
    config = dict(model_config)
    config["id2label"] = {str(i): label for i, label in ID2LABEL.items()}
    config["label2id"] = dict(LABEL2ID)
    config["num_labels"] = len(INTENTS)
    config["max_length"] = MAX_LENGTH
    return config


def release_tokenizer(tokenizer_path: str | Path) -> str:
    """tokenizer.json with truncation at MAX_LENGTH and no padding: the runtime applies what
    the file says, and sends one unpadded query (MiniLM's file pads to a fixed 128)."""
    from hf_pipeline.export.session import load_tokenizer

    return load_tokenizer(tokenizer_path).to_str(pretty=True)


def _check_output(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(out_dir, "exists and is not a folder.", fix="choose a folder path.")
    extra = sorted(p.name for p in out_dir.iterdir() if p.name not in RELEASE_FILES) \
        if out_dir.exists() else []
    if extra:
        raise OutputError(out_dir, f"holds files that are not part of a model folder: "
                          f"{', '.join(extra)}.",
                          fix="choose an empty or new folder (the release must hold exactly "
                          "the contract's files).")


def _check_int8(onnx_path: Path) -> None:
    from hf_pipeline.export.onnx_export import check_graph
    from hf_pipeline.export.quantize import quantization_summary

    if not onnx_path.is_file():
        raise DataFileError(onnx_path, "no ONNX model here.",
                            fix="run `hf-pipeline export model MODEL_DIR --output DIR` first.")
    check_graph(onnx_path)
    if quantization_summary(onnx_path)["int8_matmuls"] == 0:
        raise DataFileError(onnx_path, "this model is not quantized (no int8 MatMul).",
                            fix="ship the INT8 model (model.int8.onnx of the export folder).")


def assemble(out_dir: str | Path, *, onnx_path: str | Path, tokenizer_path: str | Path,
             model_config: dict[str, Any], info: ReleaseInfo,
             temperature: dict[str, Any] | None = None, preset: str | None = None) -> Path:
    """Write the model folder from in-memory parts; checksums and manifest last."""
    out_dir, onnx_path = Path(out_dir), Path(onnx_path)
    _check_output(out_dir)
    _check_int8(onnx_path)
    tokenizer_text = release_tokenizer(tokenizer_path)
    atomic_write_bytes(out_dir / ONNX_FILE, onnx_path.read_bytes())
    atomic_write_text(out_dir / TOKENIZER_FILE, tokenizer_text)
    atomic_write_json(out_dir / CONFIG_FILE, release_config(model_config))
    atomic_write_json(out_dir / TEMPERATURE_FILE, temperature or uncalibrated_temperature())
    atomic_write_text(out_dir / VERSION_FILE, version_text(info, preset=preset))
    write_checksums(out_dir, model_version=info.model_version)
    log.info("model folder ready: %s", out_dir)
    return out_dir


def build_release(export_dir: str | Path, out_dir: str | Path, *, info: ReleaseInfo,
                  temperature_file: str | Path | None = None, require_gate: bool = True) -> Path:
    """The model folder from an export folder (``hf-pipeline export model`` output)."""
    from hf_pipeline.export.onnx_export import read_model_config
    from hf_pipeline.export.stage import INT8_FILE, REPORT_FILE, read_export_report

    export_dir = Path(export_dir)
    report = read_export_report(export_dir)
    gate = report.get("gate")
    if require_gate and not (gate and gate.get("passed")):
        state = "did not run" if not gate else "failed"
        raise PipelineError(
            f"{export_dir / REPORT_FILE}: the INT8 accuracy gate {state}; a release needs a "
            "passed gate. Fix: `hf-pipeline export gate " f"{export_dir} --data DATASET`"
            " (or export again with --data).")
    temperature = read_temperature(temperature_file) if temperature_file else None
    return assemble(out_dir, onnx_path=export_dir / INT8_FILE,
                    tokenizer_path=export_dir / TOKENIZER_FILE,
                    model_config=read_model_config(export_dir), info=info,
                    temperature=temperature, preset=report.get("config", {}).get("preset"))


def _read_manifest(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise DataFileError(path, f"unreadable manifest ({e}).",
                            fix="rebuild the folder with `hf-pipeline release`.") from None
    if not isinstance(data, dict):
        raise DataFileError(path, "expected a JSON object.", fix="rebuild the folder.")
    return data


def _model_version(folder: Path) -> str:
    version = _read_manifest(folder / MANIFEST_FILE).get("model_version")
    if version:
        return str(version)
    version_file = folder / VERSION_FILE
    if version_file.is_file():
        for line in version_file.read_text(encoding="utf-8").splitlines():
            if line.startswith("model_version="):
                return line.split("=", 1)[1].strip()
    raise DataFileError(folder, "no model_version in manifest.json or version.txt.",
                        fix="rebuild the folder with `hf-pipeline release`.")


def write_checksums(folder: str | Path, *, model_version: str | None = None) -> dict[str, str]:
    """Refresh manifest.json (hashes of the content files, other keys kept), then write
    checksums.json: SHA-256 of every other file in ``folder``, read from disk. Returns it."""
    folder = Path(folder)
    missing = [name for name in (ONNX_FILE, TOKENIZER_FILE) if not (folder / name).is_file()]
    if missing:
        raise DataFileError(folder, f"not a model folder: {', '.join(missing)} missing.",
                            fix="build it with `hf-pipeline release`.")
    manifest_path = folder / MANIFEST_FILE
    manifest = _read_manifest(manifest_path)
    manifest["model_version"] = model_version or _model_version(folder)
    manifest["files"] = {name: sha256_file(folder / name) for name in CONTENT_FILES
                         if (folder / name).is_file()}
    atomic_write_json(manifest_path, {"model_version": manifest.pop("model_version"),
                                      "files": manifest.pop("files"), **manifest})
    checksums = {p.name: sha256_file(p) for p in sorted(folder.iterdir())
                 if p.is_file() and p.name != CHECKSUMS_FILE and not p.name.startswith(".")}
    atomic_write_json(folder / CHECKSUMS_FILE, checksums)
    return checksums
