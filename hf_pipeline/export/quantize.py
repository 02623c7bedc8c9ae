"""INT8 dynamic quantization (onnxruntime, QInt8 weights) under named presets.

- ``matmul``: the reference scripts' choice: MatMul weights only, per-channel scales.
  The fp32 embedding tables stay, which is most of the file (~57 MB for MiniLM).
- ``matmul_gather``: also the embedding tables (Gather): ~23 MB at the same speed, since a
  Gather of int8 rows plus a DequantizeLinear costs next to nothing.
Activations are quantized at run time (dynamic), so no calibration data is needed.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from hf_pipeline.errors import DataFileError, InvalidValueError
from hf_pipeline.export.config import PRESET_NAMES
from hf_pipeline.io import temp_file_beside

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QuantPreset:
    name: str
    op_types: tuple[str, ...]
    per_channel: bool
    description: str


PRESETS: dict[str, QuantPreset] = {
    "matmul": QuantPreset("matmul", ("MatMul",), True,
                          "MatMul weights only, per-channel (the reference scripts)"),
    "matmul_gather": QuantPreset("matmul_gather", ("MatMul", "Gather"), True,
                                 "MatMul weights per-channel + embedding tables (Gather)"),
}
assert tuple(PRESETS) == PRESET_NAMES, "config.PRESET_NAMES and PRESETS must agree"


def get_preset(name: str) -> QuantPreset:
    try:
        return PRESETS[name]
    except KeyError:
        raise InvalidValueError("preset", name, f"one of {', '.join(PRESETS)}") from None


def quantize(fp32_path: str | Path, out_path: str | Path, *, preset: str) -> Path:
    """Write the INT8 model for ``preset`` to ``out_path`` (atomically); return the path."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    spec = get_preset(preset)
    src, out = Path(fp32_path), Path(out_path)
    if not src.is_file():
        raise DataFileError(src, "no fp32 ONNX model to quantize.",
                            fix="export one first with `hf-pipeline export model`.")
    fd, tmp = temp_file_beside(out)
    os.close(fd)
    try:
        quantize_dynamic(src, tmp, weight_type=QuantType.QInt8, per_channel=spec.per_channel,
                         op_types_to_quantize=list(spec.op_types))
        os.replace(tmp, out)
    finally:
        Path(tmp).unlink(missing_ok=True)
    log.info("quantized %s -> %s (%s): %.1f MB -> %.1f MB", src.name, out.name, preset,
             src.stat().st_size / 1e6, out.stat().st_size / 1e6)
    return out
