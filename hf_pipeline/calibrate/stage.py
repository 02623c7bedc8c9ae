"""The calibration stage over a release folder: fit T on the calibration split, report on the
template test split and the human dev set, then update the folder (temperature.json, manifest
and checksums) in one atomic step through ``hf_pipeline.release``.

The model is run through ``IntentClassifier`` (the runtime's loader: checksums verified
first, the same input hygiene and tokenizer, one unpadded query per run by default), so the
logits T is fitted on are the ones the runtime will divide by T.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hf_pipeline import __version__
from hf_pipeline.calibrate.config import CalibrateConfig
from hf_pipeline.calibrate.fit import TemperatureFit, fit_temperature
from hf_pipeline.calibrate.metrics import (
    ReliabilityBin,
    SetMetrics,
    reliability_bins,
    set_metrics,
)
from hf_pipeline.config import to_dict
from hf_pipeline.contract import DEV, MAX_LENGTH
from hf_pipeline.data_sources import TextSet
from hf_pipeline.errors import OutputError
from hf_pipeline.intents import INTENTS
from hf_pipeline.io import atomic_write_json
from hf_pipeline.model_folder.layout import CALIBRATION_REPORT, is_inside, reports_dir
from hf_pipeline.runtime.classifier import softmax

if TYPE_CHECKING:
    from hf_pipeline.runtime.classifier import IntentClassifier

log = logging.getLogger(__name__)

CHUNK = 256  # texts per progress-bar step

# A set as calibration uses it: (logits, gold ids).
LogitSet = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class CalibrationResult:
    """The fitted T and every set's metrics and bins before (T = 1) and after."""

    fit: TemperatureFit
    calibration_set: str
    before: dict[str, SetMetrics]
    after: dict[str, SetMetrics]
    bins_before: dict[str, list[ReliabilityBin]]
    bins_after: dict[str, list[ReliabilityBin]]

    @property
    def report_sets(self) -> list[str]:
        return [name for name in self.before if name != self.calibration_set]

    def metrics_by_set(self) -> dict[str, dict[str, dict[str, Any]]]:
        return {name: {"before": self.before[name].to_dict(), "after": self.after[name].to_dict()}
                for name in self.before}


def format_table(document: Mapping[str, Any]) -> str:
    """Before -> after metrics per set, from a temperature.json written by ``calibrate``."""
    fitted = document["calibration_split"]
    lines = [f"T = {document['temperature']:.4f} (fitted on {fitted}, "
             f"{document['calibration_samples']} samples); values are before -> after",
             f"{'set':<11} {'n':>5} {'acc':>7} {'ECE':>15} {'MCE':>13} {'NLL':>13} "
             f"{'Brier':>13} {'errors>=.85':>11}"]
    for name, m in document["metrics_by_set"].items():
        b, a = m["before"], m["after"]
        cells = [f"{b[k]:>6.{d}f}->{a[k]:<{d + 2}.{d}f}" for k, d in
                 (("ece", 4), ("mce", 3), ("nll", 3), ("brier", 3))]
        lines.append(f"{name + ('*' if name == fitted else ''):<11} {b['samples']:>5} "
                     f"{b['accuracy']:>7.2%} {' '.join(cells)} "
                     f"{b['confident_errors']:>5}->{a['confident_errors']:<4}")
    lines.append(f"* {fitted}: the fit set (in-sample, not a result)")
    return "\n".join(lines)


def calibrate_logits(calibration: LogitSet, sets: Mapping[str, LogitSet], *,
                     cfg: CalibrateConfig) -> CalibrationResult:
    """Fit T on ``calibration``; metrics and bins on it and on every set of ``sets``."""
    fit = fit_temperature(*calibration, t_min=cfg.t_min, t_max=cfg.t_max)
    all_sets = {cfg.calibration_split: calibration, **sets}
    before, after, bins_before, bins_after = {}, {}, {}, {}
    for name, (logits, labels) in all_sets.items():
        p1, pt = softmax(logits), softmax(logits, fit.temperature)
        before[name], after[name] = (set_metrics(p1, labels, bins=cfg.bins),
                                     set_metrics(pt, labels, bins=cfg.bins))
        bins_before[name] = reliability_bins(p1, labels, bins=cfg.bins)
        bins_after[name] = reliability_bins(pt, labels, bins=cfg.bins)
    return CalibrationResult(fit, cfg.calibration_split, before, after, bins_before, bins_after)


def temperature_document(result: CalibrationResult, *, cfg: CalibrateConfig,
                         provenance: Mapping[str, Any]) -> dict[str, Any]:
    """temperature.json: the contract's schema (its ``metrics`` from the first report
    split), plus what the fit used and every set's metrics."""
    primary = result.report_sets[0]
    b, a = result.before[primary], result.after[primary]
    return {
        "temperature": result.fit.temperature,
        "metrics": {"accuracy": a.accuracy, "ece_before": b.ece, "ece_after": a.ece,
                    "mce_before": b.mce, "mce_after": a.mce, "nll_before": b.nll,
                    "nll_after": a.nll, "brier_before": b.brier, "brier_after": a.brier},
        "calibration_samples": result.fit.samples,
        "intent_labels": list(INTENTS),
        "metrics_set": primary,
        "calibration_split": result.calibration_set,
        "report_sets": result.report_sets,
        "metrics_by_set": result.metrics_by_set(),
        "fit": {**result.fit.to_dict(), "method": "NLL, bounded Brent search on log T",
                "bounds": [cfg.t_min, cfg.t_max]},
        "ece_bins": cfg.bins,
        "max_length": MAX_LENGTH,
        "data": dict(provenance),
        "created_by": f"hf-pipeline {__version__} calibrate",
    }


def load_text_sets(cfg: CalibrateConfig) -> tuple[dict[str, TextSet], dict[str, Any]]:
    """The calibration split, the report splits and the dev set, via the shared loader."""
    from hf_pipeline.data_sources import load_eval_sets

    sets, provenance = load_eval_sets(cfg.data, revision=cfg.revision,
                                      splits=(cfg.calibration_split, *cfg.report_splits),
                                      dev_set=cfg.dev_set)
    fitted = set(sets[cfg.calibration_split][0])
    for name in (*cfg.report_splits, DEV):
        shared = len(fitted.intersection(sets[name][0]))
        if shared:
            log.warning("%d texts of %r also occur in the calibration split %r: those results "
                        "are partly in-sample", shared, name, cfg.calibration_split)
    return sets, provenance


def run_logits(classifier: IntentClassifier, sets: Mapping[str, TextSet]) -> dict[str, LogitSet]:
    """Logits of every set through the runtime path, with a progress bar."""
    from tqdm.auto import tqdm

    total = sum(len(texts) for texts, _ in sets.values())
    out = {}
    with tqdm(total=total, desc="logits", unit="query") as bar:
        for name, (texts, labels) in sets.items():
            parts = []
            for start in range(0, len(texts), CHUNK):
                parts.append(classifier.logits(texts[start:start + CHUNK]))
                bar.update(len(parts[-1]))
            out[name] = (np.concatenate(parts), np.asarray(labels, dtype=np.int64))
    return out


def write_report(result: CalibrationResult, report_dir: Path, *, cfg: CalibrateConfig,
                 document: Mapping[str, Any]) -> dict[str, Path]:
    """Reliability diagrams (before | after) per report set, and calibration_report.json."""
    from hf_pipeline.calibrate.diagrams import Panel, reliability_diagram

    t = result.fit.temperature
    diagrams = {}
    for name in result.report_sets:
        panels = [Panel("before (T = 1)", result.bins_before[name], result.before[name]),
                  Panel(f"after (T = {t:.3f})", result.bins_after[name], result.after[name])]
        diagrams[name] = reliability_diagram(
            report_dir / f"reliability_{name}.png", panels,
            title=f"Reliability on {name} (T fitted on {result.calibration_set})")
    atomic_write_json(report_dir / CALIBRATION_REPORT, {
        **document, "config": to_dict(cfg),
        "bins": {name: {"before": [b.to_dict() for b in result.bins_before[name]],
                        "after": [b.to_dict() for b in result.bins_after[name]]}
                 for name in result.before},
        "diagrams": {name: str(path) for name, path in diagrams.items()}})
    return diagrams


def _resumable(release_dir: Path) -> bool:
    """True when the folder fails verification only in the files calibration itself
    rewrites (an update interrupted by an older version, or edited by hand), and every other
    file verifies: calibrating rewrites those three files and makes the folder whole again."""
    from hf_pipeline.model_folder.checksums import mismatched_files, problems_outside
    from hf_pipeline.model_folder.layout import (
        CHECKSUMS_FILE,
        LOADED_FILES,
        MANIFEST_FILE,
        TEMPERATURE_FILE,
    )

    owned = {TEMPERATURE_FILE, MANIFEST_FILE, CHECKSUMS_FILE}
    mismatched = mismatched_files(release_dir, required=LOADED_FILES)
    if (not mismatched or not set(mismatched) <= owned
            or problems_outside(release_dir, owned, mismatched)):
        return False  # verified, or damaged beyond calibration's files: from_dir decides
    log.warning("%s: only %s fail verification, files calibration rewrites; every other file "
                "verifies, so calibrating repairs the folder", release_dir,
                ", ".join(sorted(mismatched)))
    return True


def calibrate(release_dir: str | Path, *, cfg: CalibrateConfig) -> Path:
    """Calibrate the release folder in place; returns its temperature.json."""
    from hf_pipeline.model_folder.folder import update_folder
    from hf_pipeline.model_folder.int8 import check_int8
    from hf_pipeline.model_folder.layout import ONNX_FILE, TEMPERATURE_FILE
    from hf_pipeline.model_folder.temperature import temperature_bytes
    from hf_pipeline.runtime.classifier import IntentClassifier

    release_dir = Path(release_dir)
    report_dir = cfg.report_dir or reports_dir(release_dir)
    if is_inside(report_dir, release_dir):
        raise OutputError(report_dir, "is inside the model folder, whose files are fixed by "
                          "the contract.", fix="choose a --report-dir outside it (default: "
                          f"{reports_dir(release_dir)}).")
    classifier = IntentClassifier.from_dir(release_dir, threads=cfg.threads,
                                           batch_size=cfg.batch_size,
                                           allow_unverified=_resumable(release_dir))
    check_int8(release_dir / ONNX_FILE)
    text_sets, provenance = load_text_sets(cfg)
    logit_sets = run_logits(classifier, text_sets)
    calibration = logit_sets.pop(cfg.calibration_split)
    result = calibrate_logits(calibration, logit_sets, cfg=cfg)
    document = temperature_document(result, cfg=cfg, provenance=provenance)
    log.info("calibration:\n%s", format_table(document))
    write_report(result, report_dir, cfg=cfg, document=document)
    update_folder(release_dir, {TEMPERATURE_FILE: temperature_bytes(document)})
    path = release_dir / TEMPERATURE_FILE
    log.info("wrote %s (T = %.4f) and refreshed the checksums; diagrams in %s", path,
             result.fit.temperature, report_dir)
    return path
