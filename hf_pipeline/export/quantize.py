"""INT8 quantization with onnxruntime under the named presets of ``hf_pipeline.export.presets``.

- Dynamic presets: weights int8, activations quantized at run time (no calibration data).
  On the fused graph the Attention QKV weights, the MatMuls that write into the residual
  stream and those that only read from it may use different scales (per-channel vs
  per-tensor), so each group is quantized in its own pass.
- Static presets: the MatMul inputs get fixed ranges (QDQ format), calibrated on training
  texts sent one at a time and unpadded, like runtime queries; the fused Attention, which QDQ
  does not cover, stays dynamic.
Embedding tables are int8 in every preset but ``matmul`` and ``matmul_torchscript``: ~23 MB
instead of ~58 MB.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hf_pipeline.errors import DataFileError, InvalidValueError
from hf_pipeline.export.presets import PRESETS, QuantPreset
from hf_pipeline.io import temp_file_beside

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

Feeds = dict[str, "np.ndarray"]


def get_preset(name: str) -> QuantPreset:
    try:
        return PRESETS[name]
    except KeyError:
        raise InvalidValueError("preset", name, f"one of {', '.join(PRESETS)}") from None


def quantize(fp32_path: str | Path, out_path: str | Path, *, preset: str,
             calibration: Sequence[Feeds] | None = None) -> Path:
    """Write the INT8 model for ``preset`` to ``out_path`` (atomically); return the path.
    Static presets need ``calibration``: encoded single queries (``runtime.onnx.encode``)."""
    spec = get_preset(preset)
    src, out = Path(fp32_path), Path(out_path)
    if not src.is_file():
        raise DataFileError(src, "no fp32 ONNX model to quantize.",
                            fix="export one first with `hf-pipeline export model`.")
    if spec.static and not calibration:
        raise InvalidValueError("calibration", "none", f"training texts for the static "
                                f"preset {preset!r} (pass --data to `hf-pipeline export model`)")
    fd, tmp = temp_file_beside(out)
    os.close(fd)
    try:
        if spec.static:
            _quantize_static(src, Path(tmp), spec, calibration or ())
        else:
            _quantize_dynamic(src, Path(tmp), spec)
        os.replace(tmp, out)
    finally:
        Path(tmp).unlink(missing_ok=True)
    log.info("quantized %s -> %s (%s): %.1f MB -> %.1f MB", src.name, out.name, preset,
             src.stat().st_size / 1e6, out.stat().st_size / 1e6)
    return out


def _dynamic_pass(src: Path, dst: Path, op_types: Sequence[str], *, per_channel: bool,
                  nodes: Sequence[str] | None = None, exclude: Sequence[str] | None = None
                  ) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # DefaultTensorType: outputs of com.microsoft ops have no inferred type; they are float.
    quantize_dynamic(src, dst, weight_type=QuantType.QInt8, per_channel=per_channel,
                     op_types_to_quantize=list(op_types), nodes_to_quantize=nodes,
                     nodes_to_exclude=exclude,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def _quantize_dynamic(src: Path, out: Path, spec: QuantPreset) -> None:
    """One quantize_dynamic pass per group of weights that shares a scale granularity."""
    attention = [op for op in spec.op_types if op == "Attention"]
    rest = [op for op in spec.op_types if op != "Attention"]
    if spec.matmul_scales == "residual":
        readers = _residual_readers(src)
        passes = [{"op_types": rest, "per_channel": True, "exclude": readers},
                  {"op_types": ["MatMul"], "per_channel": False, "nodes": readers}]
    else:
        passes = [{"op_types": rest, "per_channel": spec.per_channel}]
    if attention:
        if len(passes) == 1 and spec.attention_per_channel == spec.per_channel:
            passes[0]["op_types"] = list(spec.op_types)  # one pass does both
        else:
            passes.insert(0, {"op_types": attention, "per_channel": spec.attention_per_channel})
    _run_passes(src, out, passes)


def _residual_readers(src: Path) -> list[str]:
    """The weight MatMuls of ``src`` that do not write into the residual stream."""
    import onnx

    from hf_pipeline.export.graphs import residual_writers

    model = onnx.load(str(src))
    constants = {i.name for i in model.graph.initializer}
    writers = set(residual_writers(model))
    if not writers:
        raise DataFileError(src, "no MatMul writes into a residual sum: the 'residual' scales "
                            "need a BERT-like graph.", fix="pick a preset with per_channel or "
                            "per_tensor MatMul scales.")
    return [n.name for n in model.graph.node if n.op_type == "MatMul"
            and n.input[1] in constants and n.name not in writers]


def _run_passes(src: Path, out: Path, passes: Sequence[dict[str, Any]]) -> None:
    """quantize_dynamic ``passes`` in order, src -> scratch files -> out."""
    with _scratch(out) as a, _scratch(out) as b:
        current = src
        for i, options in enumerate(passes):
            target = out if i == len(passes) - 1 else (a if current != a else b)
            _dynamic_pass(current, target, **options)
            current = target


def _quantize_static(src: Path, out: Path, spec: QuantPreset, calibration: Sequence[Feeds]) -> None:
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.feeds = iter(calibration)

        def get_next(self) -> Feeds | None:
            return next(self.feeds, None)

    signed = spec.mode == "static_s8s8"
    dynamic_ops = [op for op in spec.op_types if op != "MatMul"]
    with _scratch(out) as shaped, _scratch(out) as static:
        # Symbolic shape inference types the outputs of the com.microsoft ops, without which
        # the calibrator cannot see the MatMul inputs that follow them.
        quant_pre_process(str(src), str(shaped), skip_optimization=True)
        quantize_static(
            shaped, static, Reader(), quant_format=QuantFormat.QDQ, op_types_to_quantize=["MatMul"],
            per_channel=spec.per_channel, weight_type=QuantType.QInt8,
            activation_type=QuantType.QInt8 if signed else QuantType.QUInt8,
            calibrate_method=CalibrationMethod.MinMax,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT,
                           "WeightSymmetric": True, "ActivationSymmetric": signed,
                           # MatMul outputs feed fp32 ops (LayerNorm, Gelu): keep them float.
                           "OpTypesToExcludeOutputQuantization": ["MatMul"]})
        if dynamic_ops:
            _dynamic_pass(static, out, dynamic_ops, per_channel=spec.attention_per_channel)
        else:
            os.replace(static, out)


@contextmanager
def _scratch(beside: Path) -> Iterator[Path]:
    """A temp file next to ``beside``, removed on exit."""
    fd, name = temp_file_beside(beside)
    os.close(fd)
    try:
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def calibration_feeds(texts: Sequence[str], tokenizer: Any, *, samples: int,
                      seed: int = 0) -> list[Feeds]:
    """``samples`` of ``texts`` (fixed seed), each encoded alone and unpadded."""
    import random

    from hf_pipeline.runtime.onnx import encode

    chosen = list(texts)
    random.Random(seed).shuffle(chosen)
    return [encode(tokenizer, [t]) for t in chosen[:samples]]
