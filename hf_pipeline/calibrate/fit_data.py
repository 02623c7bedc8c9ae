"""The sets calibration reads, and which of them T may be fitted on.

- ``calibration``: the human-written calibration set (by default; or the file given as
  ``calibration_data``), used only to fit T and to choose how;
- ``validation``: the template validation split, the fit set with ``calibration_data:
  validation``, otherwise a candidate's extra data and, when the chosen method does not use
  it, a report set;
- ``requests``: the ``calibration`` rows of a reviewed requests dataset (``real_data``). With
  at least ``min_requests`` rows they join the fit pool (a plain union: they are requests
  people wrote, as the calibration set); always reported, and labelled in-sample when they
  joined. Its ``train`` rows are never read here;
- the report splits (``test``) and the human dev set ``dev``: never fitted on.

A fit row whose text equals a dev row (as an uncased tokenizer sees it) is refused: the dev
set must stay independent of everything the model and its T were tuned on.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hf_pipeline.calibrate.config import HUMAN, VALIDATION, CalibrateConfig
from hf_pipeline.contract import DEV
from hf_pipeline.data_sources import CALIBRATION_SET_PATH, TextSet
from hf_pipeline.errors import DataFileError
from hf_pipeline.feedback.requests import CALIBRATION, request_key

log = logging.getLogger(__name__)

REQUESTS = "requests"
# Short names of the fit data, as ``calibration_split`` shows them to older readers.
SHORT_NAMES = {CALIBRATION: "human-calibration", VALIDATION: VALIDATION, REQUESTS: REQUESTS}


@dataclass(frozen=True)
class FitData:
    """The loaded sets (in report order) and the plan for fitting."""

    sets: dict[str, TextSet]
    pool: tuple[str, ...]  # the sets cross-validation folds; the fit always includes them
    aux: str | None  # the validation split, when it is a candidate's extra data
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # set -> provenance
    requests: dict[str, Any] | None = None  # what happened to --real-data, for the report
    provenance: dict[str, Any] = field(default_factory=dict)  # the template data and dev set


def short_name(sets: Sequence[str], *, calibration_file: bool = False) -> str:
    """``calibration_split``: e.g. "human-calibration+requests"."""
    names = [("calibration-file" if s == CALIBRATION and calibration_file else SHORT_NAMES[s])
             for s in sets]
    return "+".join(names)


def load_fit_data(cfg: CalibrateConfig) -> FitData:
    """Every set calibration needs, checked: text sets, fit plan and provenance."""
    from hf_pipeline.data_sources import load_calibration_set, load_eval_sets
    from hf_pipeline.io import sha256_file

    evals, provenance = load_eval_sets(cfg.data, revision=cfg.revision,
                                       splits=(VALIDATION, *cfg.report_splits),
                                       dev_set=cfg.dev_set)
    sets: dict[str, TextSet] = {}
    sources: dict[str, dict[str, Any]] = {
        VALIDATION: {"kind": "template split", "split": VALIDATION,
                     **{k: provenance.get(k) for k in ("source", "revision", "sha")}}}
    if cfg.calibration_data == VALIDATION:
        pool: list[str] = [VALIDATION]
        aux = None
    else:
        path = CALIBRATION_SET_PATH if cfg.calibration_data == HUMAN else Path(
            cfg.calibration_data)
        if cfg.calibration_data == HUMAN and not path.is_file():
            raise DataFileError(path, "the packaged human calibration set is missing.",
                                fix="reinstall hf_pipeline, or pass --calibration-data "
                                "validation (or a JSONL file of your own).")
        sets[CALIBRATION] = load_calibration_set(path)
        sources[CALIBRATION] = {
            "kind": "human calibration set" if cfg.calibration_data == HUMAN else "file",
            "path": str(path), "sha256": sha256_file(path)}
        pool, aux = [CALIBRATION], VALIDATION
    requests = None
    if cfg.real_data is not None:
        requests_set, requests = _requests(cfg, sets.get(CALIBRATION))
        if requests_set is not None:
            sets[REQUESTS] = requests_set
            sources[REQUESTS] = {"kind": "reviewed requests, calibration rows",
                                 **requests["provenance"]}
            if requests["joined_fit"]:
                pool.append(REQUESTS)
    sets.update(evals)
    for name, (texts, labels) in sets.items():
        sources.setdefault(name, {}).update(samples=len(texts), intents=intent_counts(labels))
    _check_overlaps(sets, pool, aux, sources)
    order = [*pool, *([aux] if aux else []), *cfg.report_splits, DEV,
             *([REQUESTS] if REQUESTS in sets and REQUESTS not in pool else [])]
    return FitData({name: sets[name] for name in dict.fromkeys(order)}, tuple(pool), aux,
                   {name: sources[name] for name in dict.fromkeys(order) if name != DEV},
                   requests, provenance)


def _requests(cfg: CalibrateConfig, calibration: TextSet | None
              ) -> tuple[TextSet | None, dict[str, Any]]:
    """The requests' calibration rows (less those already in the calibration set), and what
    was done with them."""
    from hf_pipeline.feedback.requests import TRAIN, load_requests

    assert cfg.real_data is not None
    loaded = load_requests(cfg.real_data)
    texts, labels = loaded.split(CALIBRATION)
    seen = {request_key(t) for t in calibration[0]} if calibration else set()
    keep = [i for i, t in enumerate(texts) if request_key(t) not in seen]
    rows = len(keep)
    joined = rows >= cfg.min_requests
    info = {"spec": cfg.real_data, "provenance": dict(loaded.provenance),
            "calibration_rows": rows, "duplicates_of_calibration_set": len(texts) - rows,
            "train_rows_not_used": len(loaded.split(TRAIN)[0]),
            "min_requests": cfg.min_requests, "joined_fit": joined,
            "why": (f"{rows} calibration rows >= {cfg.min_requests}: they joined the fit pool"
                    if joined else
                    f"only {rows} calibration rows (< {cfg.min_requests}): not used for the "
                    "fit, reported only")}
    log.info("requests %s: %s", cfg.real_data, info["why"])
    if not rows:
        return None, info
    return ([texts[i] for i in keep], [labels[i] for i in keep]), info


def _check_overlaps(sets: Mapping[str, TextSet], pool: Sequence[str], aux: str | None,
                    sources: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse human-written fit rows equal to dev rows; warn of fit rows in a report set."""
    dev_keys = {request_key(t) for t in sets[DEV][0]}
    for name in (CALIBRATION, REQUESTS):
        if name not in sets:
            continue
        shared = sorted({t for t in sets[name][0] if request_key(t) in dev_keys})
        if shared:
            what = "calibration" if name == CALIBRATION else "'calibration' request"
            raise DataFileError(
                sources[name].get("path") or sources[name].get("source") or name,
                f"{len(shared)} {what} row(s) equal to a dev-set row, e.g. "
                f"{', '.join(repr(t) for t in shared[:3])}.",
                fix="remove them: the dev set must stay independent of everything T is "
                "fitted on.")
    fitted = [n for n in (*pool, aux) if n]
    for name in fitted:
        keys = {request_key(t) for t in sets[name][0]}
        for other, (texts, _) in sets.items():
            if other in fitted:
                continue
            count = sum(request_key(t) in keys for t in texts)
            if count:
                log.warning("%d texts of %r also occur in %r, which T may be fitted on: those "
                            "results are partly in-sample", count, other, name)


def intent_counts(labels: Sequence[int]) -> dict[str, int]:
    """Rows per intent, in the runtime's order."""
    from hf_pipeline.intents import INTENTS

    counts = Counter(labels)
    return {intent: counts.get(i, 0) for i, intent in enumerate(INTENTS)}
