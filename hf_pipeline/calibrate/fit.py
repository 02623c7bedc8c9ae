"""Temperature scaling (Guo et al., 2017): the T minimising NLL of ``softmax(logits / T)``.

NLL is convex in 1/T, hence unimodal in log T, so a bounded scalar search (Brent) over
log T finds the global minimum, deterministically. T does not move the argmax: accuracy is
unchanged, only the confidences move.

``fit_class_temperatures`` (one T per class) is here for the analysis only: it can change
the argmax, and the runtime reads a single ``temperature``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from hf_pipeline.contract import T_MAX, T_MIN

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TemperatureFit:
    temperature: float
    nll_before: float  # at T = 1
    nll_after: float
    samples: int
    at_bound: bool  # T hit t_min or t_max: the bounds, not the data, decided it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def scaled_nll(logits: np.ndarray, labels: np.ndarray, temperature: float | np.ndarray,
               weights: np.ndarray | None = None) -> float:
    """NLL of ``softmax(logits / temperature)`` (a scalar T, or one per class); a weighted
    mean when ``weights`` (one per sample) are given."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    losses = -_log_softmax(z)[np.arange(len(labels)), labels]
    return float(losses.mean() if weights is None else np.average(losses, weights=weights))


def _inputs(logits: np.ndarray, labels: Sequence[int] | np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    if z.ndim != 2 or y.shape != (z.shape[0],) or len(y) == 0:
        raise ValueError(f"expected logits [n, k] and n labels with n > 0, got {z.shape} "
                         f"and {y.shape}")
    if not np.isfinite(z).all():
        raise ValueError("logits contain NaN or infinity; the model output is broken")
    return z, y


def fit_temperature(logits: np.ndarray, labels: Sequence[int] | np.ndarray, *,
                    t_min: float = T_MIN, t_max: float = T_MAX,
                    weights: np.ndarray | None = None, warn: bool = True) -> TemperatureFit:
    """The NLL-minimising temperature in [t_min, t_max] (the weighted NLL with ``weights``;
    ``warn``: log a warning when a bound decided T)."""
    from scipy.optimize import minimize_scalar

    z, y = _inputs(logits, labels)
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    if w is not None and (w.shape != y.shape or not np.isfinite(w).all() or (w < 0).any()
                          or w.sum() <= 0):
        raise ValueError(f"expected {len(y)} finite weights >= 0 with a positive sum")
    lo, hi = math.log(t_min), math.log(t_max)
    result = minimize_scalar(lambda u: scaled_nll(z, y, math.exp(u), w), bounds=(lo, hi),
                             method="bounded", options={"xatol": 1e-8})
    temperature = float(math.exp(result.x))
    before, after = scaled_nll(z, y, 1.0, w), scaled_nll(z, y, temperature, w)
    if after > before:  # only possible by rounding when T = 1 is optimal
        temperature, after = 1.0, before
    at_bound = min(abs(result.x - lo), abs(result.x - hi)) < 1e-4
    # On separable data NLL underflows to a flat 0 well before t_min, and the search stops
    # anywhere on the flat part: if a bound is as good as the optimum, the bound decided.
    for bound in (t_min, t_max):
        nll = scaled_nll(z, y, bound, w)
        if not at_bound and nll <= after + 1e-12:
            temperature, after, at_bound = bound, min(after, nll), True
    if at_bound and warn:
        log.warning("the fitted temperature %.4g is at the search bound [%g, %g]: the "
                    "calibration data may be too easy (all correct) or too small", temperature,
                    t_min, t_max)
    return TemperatureFit(temperature, before, after, len(y), bool(at_bound))


def top_label_ece(probs: np.ndarray, labels: np.ndarray, *, bins: int) -> float:
    """ECE of the top label over equal-width bins, as ``metrics.ece`` (netcal) computes it,
    in numpy alone: cross-validation evaluates it many times."""
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, bins - 1)
    gap = (np.bincount(index, correct, minlength=bins)
           - np.bincount(index, conf, minlength=bins))
    return float(np.abs(gap).sum() / len(labels))


ECE_GRID = 401  # points on log T over [t_min, t_max] for the ECE-minimising T


def fit_ece_temperature(logits: np.ndarray, labels: Sequence[int] | np.ndarray, *,
                        bins: int, t_min: float = T_MIN, t_max: float = T_MAX) -> float:
    """The T in [t_min, t_max] with the lowest top-label ECE, by a grid on log T (ECE is a
    step function of T: no gradient to follow). Of equal minima, the T closest to 1."""
    from hf_pipeline.runtime.classifier import softmax

    z, y = _inputs(logits, labels)
    grid = np.exp(np.linspace(math.log(t_min), math.log(t_max), ECE_GRID))
    grid = np.append(grid, 1.0)[np.argsort(np.abs(np.log(np.append(grid, 1.0))),
                                           kind="stable")]
    eces = np.array([top_label_ece(softmax(z, t), y, bins=bins) for t in grid])
    return float(grid[int(np.argmin(eces))])


def fit_class_temperatures(logits: np.ndarray, labels: Sequence[int] | np.ndarray, *,
                           t_min: float = T_MIN, t_max: float = T_MAX) -> np.ndarray:
    """One temperature per class (logit k divided by T_k), NLL-minimising, by L-BFGS-B on
    log T from T = 1 with an analytic gradient; deterministic."""
    from scipy.optimize import minimize

    z, y = _inputs(logits, labels)
    n, k = z.shape
    onehot = np.eye(k)[y]

    def objective(u: np.ndarray) -> tuple[float, np.ndarray]:
        scaled = z * np.exp(-u)
        logp = _log_softmax(scaled)
        # d NLL / d scaled = p - onehot; d scaled_k / d u_k = -scaled_k.
        grad = ((np.exp(logp) - onehot) * -scaled).sum(axis=0) / n
        return float(-(logp * onehot).sum() / n), grad

    bounds = [(math.log(t_min), math.log(t_max))] * k
    result = minimize(objective, np.zeros(k), jac=True, method="L-BFGS-B", bounds=bounds)
    return np.exp(result.x)
