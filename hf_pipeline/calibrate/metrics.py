"""Calibration metrics of top-label confidences: ECE and MCE (netcal, equal-width bins),
NLL, multi-class Brier score, and the per-bin table behind a reliability diagram.

Bins are equal-width on [0, 1], each [lo, hi) except the last, [lo, 1], as in netcal
(``numpy.histogramdd``), so the diagram's bins are the ones the ECE was computed over.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from hf_pipeline.calibrate.config import ECE_BINS
from hf_pipeline.contract import EXECUTE_THRESHOLD


@dataclass(frozen=True)
class SetMetrics:
    """How well one set's confidences match its accuracy."""

    samples: int
    accuracy: float
    mean_confidence: float
    ece: float
    mce: float
    nll: float
    brier: float
    # Mean F1 over the eight intents (an intent with no sample and no prediction counts 0).
    macro_f1: float
    # Wrong predictions the runtime would execute (confidence >= EXECUTE_THRESHOLD).
    confident_errors: int
    # The rest of what a sqry user sees (confident_errors is "wrong and executed"): right and
    # executed, right but asked (confirm or disambiguate), wrong and asked. None in reports
    # written before they were measured.
    right_executed: int | None = None
    right_asked: int | None = None
    wrong_asked: int | None = None

    def tiers(self) -> dict[str, int | None]:
        """The four outcomes a sqry user feels, as counts."""
        return {"right_executed": self.right_executed, "right_asked": self.right_asked,
                "wrong_asked": self.wrong_asked, "wrong_executed": self.confident_errors}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ReliabilityBin:
    lower: float
    upper: float
    count: int
    accuracy: float  # NaN for an empty bin
    confidence: float  # mean top-label confidence; NaN for an empty bin

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and np.isnan(v) else v)
                for k, v in asdict(self).items()}


def _checked(probs: np.ndarray, labels: Sequence[int] | np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    if p.ndim != 2 or y.shape != (p.shape[0],) or p.shape[0] == 0:
        raise ValueError(f"expected probabilities [n, k] and n labels with n > 0, got "
                         f"{p.shape} and {y.shape}")
    if y.min() < 0 or y.max() >= p.shape[1]:
        raise ValueError(f"labels must be in [0, {p.shape[1]}), got {y.min()}..{y.max()}")
    return p, y


def nll(probs: np.ndarray, labels: Sequence[int] | np.ndarray) -> float:
    """Mean negative log-likelihood of the true labels (natural log)."""
    p, y = _checked(probs, labels)
    return float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-300, None)).mean())


def brier(probs: np.ndarray, labels: Sequence[int] | np.ndarray) -> float:
    """Multi-class Brier score: mean over samples of sum_k (p_k - [k == y])^2, in [0, 2]."""
    p, y = _checked(probs, labels)
    onehot = np.zeros_like(p)
    onehot[np.arange(len(y)), y] = 1.0
    return float(((p - onehot) ** 2).sum(axis=1).mean())


def _top_label(probs: np.ndarray, labels: Sequence[int] | np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """(top-label confidence, whether the top label is right): the binary problem netcal
    measures for a multi-class one. Passed to netcal directly, since netcal takes labels of
    at most two distinct values for a binary problem and refuses [n, k > 2] probabilities
    with them: a set of one or two intents (a slice, a small feedback set) would fail."""
    p, y = _checked(probs, labels)
    return p.max(axis=1), p.argmax(axis=1) == y


def ece(probs: np.ndarray, labels: Sequence[int] | np.ndarray, *, bins: int = ECE_BINS) -> float:
    """Expected calibration error of the top label (netcal ``ECE``)."""
    from netcal.metrics import ECE

    return float(ECE(bins=bins).measure(*_top_label(probs, labels)))


def mce(probs: np.ndarray, labels: Sequence[int] | np.ndarray, *, bins: int = ECE_BINS) -> float:
    """Maximum calibration error over non-empty bins (netcal ``MCE``)."""
    from netcal.metrics import MCE

    return float(MCE(bins=bins).measure(*_top_label(probs, labels)))


def reliability_bins(probs: np.ndarray, labels: Sequence[int] | np.ndarray, *,
                     bins: int = ECE_BINS) -> list[ReliabilityBin]:
    """Count, accuracy and mean confidence per equal-width confidence bin."""
    conf, correct = _top_label(probs, labels)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, bins - 1)
    out = []
    for b in range(bins):
        member = index == b
        n = int(member.sum())
        out.append(ReliabilityBin(float(edges[b]), float(edges[b + 1]), n,
                                  float(correct[member].mean()) if n else float("nan"),
                                  float(conf[member].mean()) if n else float("nan")))
    return out


def macro_f1(probs: np.ndarray, labels: Sequence[int] | np.ndarray) -> float:
    """Macro-F1 of the top label over all eight intents (as training reports it)."""
    from sklearn.metrics import f1_score

    p, y = _checked(probs, labels)
    return float(f1_score(y, p.argmax(axis=1), labels=list(range(p.shape[1])),
                          average="macro", zero_division=0))


def set_metrics(probs: np.ndarray, labels: Sequence[int] | np.ndarray, *,
                bins: int = ECE_BINS) -> SetMetrics:
    """All metrics of one set at once."""
    p, y = _checked(probs, labels)
    conf, correct = _top_label(p, y)
    executed = conf >= EXECUTE_THRESHOLD
    return SetMetrics(samples=len(y), accuracy=float(correct.mean()),
                      mean_confidence=float(conf.mean()), ece=ece(p, y, bins=bins),
                      mce=mce(p, y, bins=bins), nll=nll(p, y), brier=brier(p, y),
                      macro_f1=macro_f1(p, y),
                      confident_errors=int((executed & ~correct).sum()),
                      right_executed=int((executed & correct).sum()),
                      right_asked=int((~executed & correct).sum()),
                      wrong_asked=int((~executed & ~correct).sum()))
