"""The calibration stage's config: defaults live here only, checks quote the bad value."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hf_pipeline.contract import SPLITS, T_MAX, T_MIN
from hf_pipeline.errors import InvalidValueError

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
    bins: int = ECE_BINS
    # 1 = one unpadded query per run, as the runtime sends it: with INT8 dynamic
    # quantization the activation range is taken per batch, so batched logits differ a bit.
    batch_size: int = 1
    # onnxruntime threads for this batch work (0 = one per core); results do not depend on it.
    threads: int = 0
    t_min: float = T_MIN
    t_max: float = T_MAX
    # Diagrams and calibration_report.json (never inside the release folder, which must
    # hold exactly the contract's files); None = the reports folder "<release_dir>.reports".
    report_dir: Path | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.data, str) or not self.data.strip():
            raise InvalidValueError("data", self.data, "a dataset path or Hub repo id")
        if self.calibration_split not in SPLITS or self.calibration_split == "train":
            raise InvalidValueError("calibration_split", self.calibration_split,
                                    "validation or test (never the training data)")
        object.__setattr__(self, "report_splits", tuple(self.report_splits))
        bad = [s for s in self.report_splits if s not in SPLITS or s == "train"]
        if bad or self.calibration_split in self.report_splits:
            raise InvalidValueError("report_splits", self.report_splits,
                                    f"splits among validation/test other than the calibration "
                                    f"split {self.calibration_split!r}",
                                    fix="results are never reported on the data T was fitted on.")
        for name, minimum in (("bins", 1), ("batch_size", 1), ("threads", 0)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
                raise InvalidValueError(name, value, f"an integer >= {minimum}")
        if not 0 < self.t_min < 1 < self.t_max:
            raise InvalidValueError("t_min/t_max", (self.t_min, self.t_max),
                                    "0 < t_min < 1 < t_max")
        if self.report_dir is not None:
            object.__setattr__(self, "report_dir", Path(self.report_dir))
