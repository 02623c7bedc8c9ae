"""The calibration stage over a release folder: choose how T is fitted by cross-validation
inside the fit data (by default the human-written calibration set), fit it, report on the
template test split and the human dev set, then update the folder (temperature.json, manifest
and checksums) in one atomic step through ``hf_pipeline.model_folder``.

The model is run through ``IntentClassifier`` (the runtime's loader: checksums verified
first, the same input hygiene and tokenizer, one unpadded query per run by default), so the
logits T is fitted on are the ones the runtime will divide by T. Each set's logits are
computed once; the cross-validation works on them (``calibrate.select``).

Sets T was fitted on, or its method chosen on, are marked in-sample (``in_sample_sets``,
``metrics_by_set[...]["in_sample"]``, a '*' in the table): their calibration figures are not
a result. The contract's ``metrics`` come from the first report split.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hf_pipeline import __version__
from hf_pipeline.calibrate.config import VALIDATION, CalibrateConfig
from hf_pipeline.calibrate.fit import TemperatureFit, fit_temperature, scaled_nll
from hf_pipeline.calibrate.fit_data import CALIBRATION, REQUESTS, FitData, short_name
from hf_pipeline.calibrate.metrics import (
    ReliabilityBin,
    SetMetrics,
    reliability_bins,
    set_metrics,
)
from hf_pipeline.calibrate.select import Candidate, Selection, format_selection, select_method
from hf_pipeline.config import to_dict
from hf_pipeline.contract import MAX_LENGTH
from hf_pipeline.data_sources import TextSet
from hf_pipeline.intents import INTENTS
from hf_pipeline.io import atomic_write_json, check_outputs, folder_output
from hf_pipeline.model_folder.layout import CALIBRATION_REPORT, reports_dir
from hf_pipeline.runtime.classifier import softmax

if TYPE_CHECKING:
    from hf_pipeline.runtime.classifier import IntentClassifier

log = logging.getLogger(__name__)

CHUNK = 256  # texts per progress-bar step

# A set as calibration uses it: (logits, gold ids).
LogitSet = tuple[np.ndarray, np.ndarray]
IN_SAMPLE_NOTE = {
    "fit": "T was fitted on this set: its ECE, MCE, NLL and Brier are in-sample, not a result",
    "selection": "the method was chosen on or with this set (T fitted elsewhere): its "
                 "calibration figures are in-sample, not a result",
}
REQUESTS_NOTE = ("accuracy is honest (the model never trained on these rows); ECE, MCE, NLL "
                 "and Brier are in-sample (T was fitted with them)")


@dataclass(frozen=True)
class CalibrationResult:
    """The fitted T, how it was chosen, and every set's metrics and bins before (T = 1) and
    after; sets in ``roles`` (fit / selection) are in-sample, the rest are report sets."""

    fit: TemperatureFit
    calibration_set: str  # short name of the data T was fitted on (``calibration_split``)
    before: dict[str, SetMetrics]
    after: dict[str, SetMetrics]
    bins_before: dict[str, list[ReliabilityBin]]
    bins_after: dict[str, list[ReliabilityBin]]
    roles: dict[str, str] = field(default_factory=dict)  # in-sample set -> fit | selection
    fit_sets: tuple[str, ...] = ()  # the sets the final T was fitted on
    selection: Selection | None = None
    method: str = "NLL, bounded Brent search on log T"

    @property
    def in_sample_sets(self) -> list[str]:
        return [name for name in self.before if name in self.roles]

    @property
    def report_sets(self) -> list[str]:
        return [name for name in self.before if name not in self.roles]

    def metrics_by_set(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for name in self.before:
            entry: dict[str, Any] = {"before": self.before[name].to_dict(),
                                     "after": self.after[name].to_dict(),
                                     "in_sample": name in self.roles}
            if name in self.roles:
                entry["role"] = self.roles[name]
                entry["note"] = (REQUESTS_NOTE if name == REQUESTS
                                 else IN_SAMPLE_NOTE[self.roles[name]])
            out[name] = entry
        return out


def format_table(document: Mapping[str, Any]) -> str:
    """Before -> after metrics per set, from a temperature.json written by ``calibrate``."""
    fitted = document["calibration_split"]
    marked = set(document.get("in_sample_sets", [fitted]))
    lines = [f"T = {document['temperature']:.4f} (fitted on {fitted}, "
             f"{document['calibration_samples']} samples); values are before -> after",
             f"{'set':<11} {'n':>5} {'acc':>7} {'ECE':>15} {'MCE':>13} {'NLL':>13} "
             f"{'Brier':>13} {'errors>=.85':>11}"]
    for name, m in document["metrics_by_set"].items():
        b, a = m["before"], m["after"]
        cells = [f"{b[k]:>6.{d}f}->{a[k]:<{d + 2}.{d}f}" for k, d in
                 (("ece", 4), ("mce", 3), ("nll", 3), ("brier", 3))]
        lines.append(f"{name + ('*' if name in marked else ''):<11} {b['samples']:>5} "
                     f"{b['accuracy']:>7.2%} {' '.join(cells)} "
                     f"{b['confident_errors']:>5}->{a['confident_errors']:<4}")
    lines.append(f"* {', '.join(sorted(marked))}: T was fitted or its method chosen there "
                 "(in-sample, not a result)")
    selection = document.get("method_selection")
    if selection:
        lines.append(format_selection(selection))
    requests = (document.get("fitted_on") or {}).get("requests")
    if requests:
        lines.append(f"requests ({requests['spec']}): {requests['why']}")
    return "\n".join(lines)


def _concat(parts: Sequence[LogitSet]) -> LogitSet:
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))


def _refit(candidate: Candidate, pool: LogitSet, aux: LogitSet | None, *,
           cfg: CalibrateConfig) -> tuple[TemperatureFit, str]:
    """The chosen candidate on all of its data, as a TemperatureFit (NLL before and after
    on the data it was fitted on) and the method in words."""
    if candidate.name == "nll":
        return fit_temperature(*pool, t_min=cfg.t_min, t_max=cfg.t_max), \
            "NLL, bounded Brent search on log T"
    t = candidate.fit(pool, aux)
    data, weights = pool, None
    if candidate.uses_aux and candidate.uses_pool:
        assert aux is not None
        data = _concat([pool, aux])
        weights = np.concatenate([np.full(len(pool[1]), 0.5 / len(pool[1])),
                                  np.full(len(aux[1]), 0.5 / len(aux[1]))])
    elif candidate.uses_aux:
        assert aux is not None
        data = aux
    at_bound = min(abs(np.log(t) - np.log(cfg.t_min)), abs(np.log(t) - np.log(cfg.t_max))) < 1e-4
    fit = TemperatureFit(t, scaled_nll(*data, 1.0, weights), scaled_nll(*data, t, weights),
                         len(data[1]), bool(at_bound))
    return fit, candidate.description


def calibrate_logits(sets: Mapping[str, LogitSet], *, pool: Sequence[str],
                     aux: str | None = None, cfg: CalibrateConfig,
                     calibration_file: bool = False) -> CalibrationResult:
    """Choose the method by cross-validation on the ``pool`` sets (with ``aux``, the
    validation split, as some candidates' extra data), fit T with it, and measure every set
    before and after. ``sets`` is in report order; the in-sample sets are listed first."""
    pool_data = _concat([sets[name] for name in pool])
    aux_data = sets[aux] if aux else None
    try:
        selection, chosen = select_method(pool_data, aux_data, folds=cfg.cv_folds,
                                          seed=cfg.cv_seed, bins=cfg.bins, t_min=cfg.t_min,
                                          t_max=cfg.t_max)
    except ValueError as e:  # fewer rows than folds
        from hf_pipeline.errors import InvalidValueError

        raise InvalidValueError("cv_folds", cfg.cv_folds, f"at most the fit data's rows ({e})",
                                fix="add rows to the calibration data.") from None
    log.info("calibration method:\n%s", format_selection(selection.to_dict()))
    fit, method = _refit(chosen, pool_data, aux_data, cfg=cfg)
    fit_sets = ((*pool,) if chosen.uses_pool or not chosen.uses_aux else ()) + (
        (aux,) if chosen.uses_aux and aux else ())
    roles = {name: "fit" if name in fit_sets else "selection" for name in pool}
    roles.update({name: "fit" for name in fit_sets})
    label = short_name([n for n in sets if n in fit_sets] or list(pool),
                       calibration_file=calibration_file)
    if aux and aux not in roles:
        # Candidates used it, and training chose its epoch on it: never a result.
        roles[aux] = "selection"
    order = [n for n in sets if n in roles] + [n for n in sets if n not in roles]
    before, after, bins_before, bins_after = {}, {}, {}, {}
    for name in order:
        logits, labels = sets[name]
        p1, pt = softmax(logits), softmax(logits, fit.temperature)
        before[name], after[name] = (set_metrics(p1, labels, bins=cfg.bins),
                                     set_metrics(pt, labels, bins=cfg.bins))
        bins_before[name] = reliability_bins(p1, labels, bins=cfg.bins)
        bins_after[name] = reliability_bins(pt, labels, bins=cfg.bins)
    return CalibrationResult(fit, label, before, after, bins_before, bins_after, roles,
                             tuple(fit_sets), selection, method)


def fitted_on(result: CalibrationResult, data: FitData) -> dict[str, Any]:
    """Which data T was fitted on, how much, and where it came from (``fitted_on``)."""
    assert result.selection is not None
    weights = ("each part counts half" if len(result.fit_sets) > 1 and VALIDATION in
               result.fit_sets else "each row counts once")
    out: dict[str, Any] = {
        "name": result.calibration_set, "sets": list(result.fit_sets),
        "samples": {name: result.before[name].samples for name in result.fit_sets},
        "weights": weights, "method": result.selection.chosen.name,
        "chosen_by": f"{result.selection.folds}-fold stratified cross-validation on "
                     f"{'+'.join(data.pool)} ({result.selection.pool_samples} rows), lowest "
                     "pooled held-out NLL",
        "sources": {name: data.sources[name] for name in dict.fromkeys(
            (*data.pool, *result.fit_sets))}}
    if data.requests is not None:
        out["requests"] = data.requests
    return out


def temperature_document(result: CalibrationResult, *, cfg: CalibrateConfig,
                         provenance: Mapping[str, Any],
                         fitted: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """temperature.json: the contract's schema (its ``metrics`` from the first report
    split), plus what the fit used, how the method was chosen, and every set's metrics."""
    primary = result.report_sets[0]
    b, a = result.before[primary], result.after[primary]
    document = {
        "temperature": result.fit.temperature,
        "metrics": {"accuracy": a.accuracy, "ece_before": b.ece, "ece_after": a.ece,
                    "mce_before": b.mce, "mce_after": a.mce, "nll_before": b.nll,
                    "nll_after": a.nll, "brier_before": b.brier, "brier_after": a.brier},
        "calibration_samples": result.fit.samples,
        "intent_labels": list(INTENTS),
        "metrics_set": primary,
        "calibration_split": result.calibration_set,
        "fitted_on": dict(fitted or {}),
        "in_sample_sets": result.in_sample_sets,
        "report_sets": result.report_sets,
        "metrics_by_set": result.metrics_by_set(),
        "fit": {**result.fit.to_dict(), "method": result.method,
                "bounds": [cfg.t_min, cfg.t_max]},
        "method_selection": result.selection.to_dict() if result.selection else None,
        "ece_bins": cfg.bins,
        "max_length": MAX_LENGTH,
        "data": dict(provenance),
        "created_by": f"hf-pipeline {__version__} calibrate",
    }
    return document


def load_text_sets(cfg: CalibrateConfig) -> FitData:
    """The fit data, the report splits and the dev set, checked (``fit_data``)."""
    from hf_pipeline.calibrate.fit_data import load_fit_data

    return load_fit_data(cfg)


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


def calibrate(release_dir: str | Path, *, cfg: CalibrateConfig) -> Path:
    """Calibrate the release folder in place; returns its temperature.json."""
    from hf_pipeline.model_folder.int8 import check_int8
    from hf_pipeline.model_folder.layout import (
        CHECKSUMS_FILE,
        MANIFEST_FILE,
        ONNX_FILE,
        TEMPERATURE_FILE,
    )
    from hf_pipeline.model_folder.reader import open_release
    from hf_pipeline.model_folder.temperature import temperature_bytes
    from hf_pipeline.model_folder.update import update_folder
    from hf_pipeline.runtime.classifier import IntentClassifier

    release_dir = Path(release_dir)
    report_dir = cfg.report_dir or reports_dir(release_dir)
    # The release folder holds exactly the contract's files: the reports go beside it.
    check_outputs({"--output": folder_output(report_dir)}, inputs={"--model": release_dir})
    # Calibration rewrites temperature.json, and with it checksums.json and manifest.json: a
    # folder broken only in those (an interrupted older update, a hand edit) is repaired.
    release = open_release(release_dir, repairs=(TEMPERATURE_FILE, MANIFEST_FILE,
                                                 CHECKSUMS_FILE))
    classifier = IntentClassifier.from_release(release, threads=cfg.threads,
                                               batch_size=cfg.batch_size)
    check_int8(release_dir / ONNX_FILE)
    data = load_text_sets(cfg)
    logit_sets = run_logits(classifier, data.sets)
    result = calibrate_logits(logit_sets, pool=data.pool, aux=data.aux, cfg=cfg,
                              calibration_file=data.sources.get(CALIBRATION, {}).get("kind")
                              == "file")
    document = temperature_document(result, cfg=cfg, provenance=data.provenance,
                                    fitted=fitted_on(result, data))
    log.info("calibration:\n%s", format_table(document))
    write_report(result, report_dir, cfg=cfg, document=document)
    update_folder(release_dir, {TEMPERATURE_FILE: temperature_bytes(document)},
                  known=release.hashes)
    path = release_dir / TEMPERATURE_FILE
    log.info("wrote %s (T = %.4f) and refreshed the checksums; diagrams in %s", path,
             result.fit.temperature, report_dir)
    return path
