"""Export-stage configs: defaults live here only, checks quote the bad value."""

from __future__ import annotations

from dataclasses import dataclass

from hf_pipeline.config import check_fields, option
from hf_pipeline.errors import InvalidValueError
from hf_pipeline.export.presets import DEFAULT_PRESET, PRESET_NAMES
from hf_pipeline.limits import MAX_BATCH_SIZE, MAX_THREADS, THREADS_NOTE

__all__ = ["ATTENTION_IMPLEMENTATIONS", "DEFAULT_PRESET", "MAX_OPSET", "MIN_OPSET",
           "PRESET_NAMES", "BenchmarkConfig", "ExportConfig"]

# The opsets an export may ask for: from ours (17: the graphs' ops) to torch.onnx.export's
# highest, torch.onnx._constants.ONNX_MAX_OPSET (23 in torch 2.13, for both exporters);
# onnxruntime 1.32 loads up to 28. tests/faults/test_number_bounds.py checks both against
# the installed libraries.
MIN_OPSET, MAX_OPSET = 17, 23
ATTENTION_IMPLEMENTATIONS: tuple[str, ...] = ("eager", "sdpa")


@dataclass(frozen=True)
class ExportConfig:
    """How ``hf-pipeline export model`` turns a trained model folder into ONNX + INT8."""

    # 18 is what the dynamo exporter implements natively; 17 works through a version converter.
    opset: int = option(18, ge=MIN_OPSET, le=MAX_OPSET, note="what torch.onnx exports")
    preset: str = option(DEFAULT_PRESET, choices=PRESET_NAMES)
    # The attention code traced into the graph. "eager" gives a smaller, faster graph than
    # "sdpa" (no NaN guards); parity against PyTorch proves they compute the same logits.
    attention: str = option("eager", choices=ATTENTION_IMPLEMENTATIONS)
    # |ONNX logits - PyTorch logits| allowed for fp32 parity; observed ~1e-7 for MiniLM.
    parity_atol: float = option(1e-4, gt=0, lt=1)
    # Accuracy gate: an INT8 drop (points, fp32 minus INT8 accuracy) above this fails.
    max_drop_points: float = option(2.0, ge=0, le=100, note="accuracy points")
    # Our tighter goal: reported (and logged when missed), not enforced unless set as the budget.
    target_drop_points: float = option(0.5, ge=0, le=100, note="accuracy points")
    eval_batch_size: int = option(64, ge=1, le=MAX_BATCH_SIZE)
    # Static presets only: training texts (sampled with a fixed seed) that calibrate the
    # activation ranges, each sent alone and unpadded like a runtime query.
    calibration_samples: int = option(256, ge=1)

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class BenchmarkConfig:
    """``hf-pipeline export benchmark``: what to time and how often."""

    warmup: int = option(20, ge=0)
    runs: int = option(300, ge=1)
    # Thread counts for single-query latency; 1 is what the runtime uses.
    threads: tuple[int, ...] = option((1, 2), ge=1, le=MAX_THREADS, note=THREADS_NOTE)
    batch_size: int = option(64, ge=1, le=MAX_BATCH_SIZE)
    batch_runs: int = option(10, ge=1)
    queries: tuple[str, ...] = ()  # empty: the built-in realistic queries

    def __post_init__(self) -> None:
        check_fields(self)
        if not self.threads:
            raise InvalidValueError("threads", self.threads, "one or more integers >= 1")
