"""The calibration stage's config: defaults live here only, checks quote the bad value."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hf_pipeline.config import check_fields, option
from hf_pipeline.contract import SPLITS, T_MAX, T_MIN
from hf_pipeline.errors import InvalidValueError
from hf_pipeline.limits import MAX_BATCH_SIZE, MAX_THREADS, THREADS_NOTE

ECE_BINS = 15  # the choice; netcal's default is 10


@dataclass(frozen=True)
class CalibrateConfig:
    """How ``hf-pipeline calibrate`` fits T and what it reports on."""

    # Generator folder, save_to_disk folder, dataset.json, or Hub dataset repo id.
    data: str
    revision: str | None = None
    # Human-written dev set (JSONL); None = the packaged one. Always reported, never fitted on.
    dev_set: str | None = None
    # T is fitted here: held-out templates, neither training data nor a reported split.
    calibration_split: str = "validation"
    report_splits: tuple[str, ...] = ("test",)
    bins: int = option(ECE_BINS, ge=1)
    # 1 = one unpadded query per run, as the runtime sends it: with INT8 dynamic
    # quantization the activation range is taken per batch, so batched logits differ a bit.
    batch_size: int = option(1, ge=1, le=MAX_BATCH_SIZE)
    # onnxruntime threads for this batch work (0 = one per core); results do not depend on it.
    threads: int = option(0, ge=0, le=MAX_THREADS, note=f"0 = one per core; {THREADS_NOTE}")
    t_min: float = option(T_MIN, gt=0, lt=1)
    t_max: float = option(T_MAX, gt=1)
    # Diagrams and calibration_report.json (never inside the release folder, which must
    # hold exactly the contract's files); None = the reports folder "<release_dir>.reports".
    report_dir: Path | None = None

    def __post_init__(self) -> None:
        check_fields(self)
        if not self.data.strip():
            raise InvalidValueError("data", self.data, "a dataset path or Hub repo id")
        if self.calibration_split not in SPLITS or self.calibration_split == "train":
            raise InvalidValueError("calibration_split", self.calibration_split,
                                    "validation or test (never the training data)")
        bad = [s for s in self.report_splits if s not in SPLITS or s == "train"]
        if bad or self.calibration_split in self.report_splits:
            raise InvalidValueError("report_splits", self.report_splits,
                                    f"splits among validation/test other than the calibration "
                                    f"split {self.calibration_split!r}",
                                    fix="results are never reported on the data T was fitted on.")
