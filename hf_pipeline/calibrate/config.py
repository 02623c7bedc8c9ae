"""The calibration stage's config: defaults live here only, checks quote the bad value."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hf_pipeline.config import check_fields, option
from hf_pipeline.contract import SPLITS, T_MAX, T_MIN
from hf_pipeline.errors import InvalidValueError
from hf_pipeline.limits import MAX_BATCH_SIZE, MAX_THREADS, THREADS_NOTE

ECE_BINS = 15  # the choice; netcal's default is 10
HUMAN, VALIDATION = "human", "validation"  # the named values of calibration_data
CALIBRATION_DATA = (HUMAN, VALIDATION)


@dataclass(frozen=True)
class CalibrateConfig:
    """How ``hf-pipeline calibrate`` fits T and what it reports on."""

    # Generator folder, save_to_disk folder, dataset.json, or Hub dataset repo id.
    data: str
    revision: str | None = None
    # Human-written dev set (JSONL); None = the packaged one. Always reported, never fitted on.
    dev_set: str | None = None
    # Where T is fitted: "human" (the packaged human-written calibration set,
    # data_sources.CALIBRATION_SET_PATH), "validation" (the template validation split of
    # --data, the behaviour before issue 23), or the path of a JSONL file of {"text",
    # "intent"} rows written the way the dev set was.
    calibration_data: str = HUMAN
    # A reviewed requests dataset (a requests.jsonl, its folder, or NS/NAME@TAG): its
    # `calibration` rows join the fit when there are at least `min_requests` of them, and
    # are always reported as the set "requests". Its `train` rows are never read here.
    real_data: str | None = None
    # Why 50: the rows join a pool of hundreds of human-written rows to fit one number, so a
    # handful cannot improve T, while the feedback behind them is correlated (one visitor,
    # one session, one model revision can make most of a small batch), and a small batch
    # would change the fit set, and with it T, at every new requests version for no gain.
    # At 50 rows the requests are ~15% of the pool and their own accuracy figure has a
    # resolution of 2 points (one error); below it they are reported, never fitted on.
    min_requests: int = option(50, ge=1)
    # The method (one T by NLL, with or without the validation split, ECE-minimising, or
    # T = 1) is chosen by stratified k-fold cross-validation inside the fit data (never on
    # the dev set): seeded, so the same data always chooses the same method.
    cv_folds: int = option(5, ge=2, le=20)
    cv_seed: int = option(0, ge=0)
    # Template splits reported on (never fitted on; "validation" is a fit candidate).
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
        check_calibration_data(self.calibration_data)
        if self.real_data is not None and not self.real_data.strip():
            raise InvalidValueError("real_data", self.real_data, "a requests.jsonl file, its "
                                    "folder, or NS/NAME@TAG of a reviewed requests dataset",
                                    fix="leave it out to calibrate without the requests.")
        bad = [s for s in self.report_splits if s not in SPLITS or s in ("train", VALIDATION)]
        if bad or len(set(self.report_splits)) != len(self.report_splits):
            raise InvalidValueError("report_splits", self.report_splits,
                                    "distinct template splits other than train and validation "
                                    "(i.e. test)", fix="training data is no result, and the "
                                    "validation split is a candidate fit set of calibration.")


def check_calibration_data(value: str) -> None:
    """``value`` is "human", "validation" or a .jsonl path, else an error that says so."""
    if value in CALIBRATION_DATA or (value.strip() and value.endswith(".jsonl")):
        return
    raise InvalidValueError("calibration_data", value, f"{HUMAN!r} (the packaged human "
                            f"calibration set), {VALIDATION!r} (the template validation split "
                            'of --data) or the path of a .jsonl file of {"text", "intent"} '
                            "rows", fix="T is fitted on human-written requests by default.")
