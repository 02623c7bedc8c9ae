"""How T is fitted, chosen by stratified k-fold cross-validation inside the fit data.

The pool (the human calibration set, plus the reviewed requests' calibration rows when enough
of them joined) is cut into k folds, stratified by intent, with a seeded shuffle: the same
data always gives the same folds. Each candidate fits its T on k - 1 folds (and, for some, on
the template validation split as well) and is scored on the held-out fold; the scores of all
held-out rows are pooled. The lowest held-out NLL wins (ties: the earlier, simpler candidate),
and the winner is refitted on all of its data. The dev set takes no part in this.

Every candidate is one scalar T, because the runtime reads one ``temperature``:

- ``T=1``: no scaling at all (the baseline calibration must beat);
- ``nll``: T by NLL on the pool (temperature scaling, Guo et al. 2017);
- ``nll+validation``: T by NLL on the pool and the template validation split, each counting
  half (a plain union would be the validation split alone: it has ten times more rows);
- ``validation``: T by NLL on the validation split alone (the behaviour before issue 23);
- ``ece``: the T with the lowest ECE on the pool.

Logits are computed once per set by the stage; everything here is numpy on those logits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from hf_pipeline.calibrate.fit import (
    fit_ece_temperature,
    fit_temperature,
    scaled_nll,
    top_label_ece,
)
from hf_pipeline.runtime.classifier import softmax

# A set as calibration uses it: (logits, gold ids).
LogitSet = tuple[np.ndarray, np.ndarray]
SCORE = "pooled held-out NLL"


@dataclass(frozen=True)
class Candidate:
    """A way to fit T: ``fit(pool part, validation split or None) -> T``."""

    name: str
    description: str
    uses_pool: bool  # fitted on (part of) the pool
    uses_aux: bool  # fitted on the validation split
    fit: Callable[[LogitSet, LogitSet | None], float]
    # Scored for comparison only, never chosen: T fitted on the validation split alone is
    # the old behaviour, which ignores the human rows (and the reviewed requests) entirely.
    reference: bool = False


@dataclass(frozen=True)
class CandidateScore:
    name: str
    description: str
    held_out_nll: float
    held_out_ece: float
    fold_temperatures: list[float]
    temperature: float  # refitted on all of its data
    chosen: bool
    reference: bool = False  # scored for comparison only, never chosen

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Selection:
    """The cross-validation table and its winner."""

    candidates: list[CandidateScore]
    folds: int
    seed: int
    pool_samples: int
    bins: int

    @property
    def chosen(self) -> CandidateScore:
        return next(c for c in self.candidates if c.chosen)

    def to_dict(self) -> dict[str, Any]:
        return {"score": SCORE, "folds": self.folds, "stratified": True, "seed": self.seed,
                "pool_samples": self.pool_samples, "ece_bins": self.bins,
                "chosen": self.chosen.name,
                "candidates": [c.to_dict() for c in self.candidates]}


def format_selection(selection: dict[str, Any]) -> str:
    """The CV table of a ``method_selection`` object (temperature.json)."""
    lines = [f"method chosen by {selection['folds']}-fold stratified cross-validation on "
             f"{selection['pool_samples']} fit rows (seed {selection['seed']}), lowest "
             f"{selection['score']}:",
             f"  {'candidate':<15} {'held-out NLL':>12} {'held-out ECE':>12} {'T (all)':>8}"]
    for c in selection["candidates"]:
        lines.append(f"  {c['name']:<15} {c['held_out_nll']:>12.4f} {c['held_out_ece']:>12.4f} "
                     f"{c['temperature']:>8.4f}" + ("  <- chosen" if c["chosen"] else ""))
    return "\n".join(lines)


def stratified_folds(labels: np.ndarray, folds: int, *, seed: int) -> np.ndarray:
    """The fold (0..folds-1) of each row: within each intent a seeded shuffle, then the rows
    are dealt round-robin, intent after intent, so every fold gets its share of every intent
    and fold sizes differ by at most one."""
    labels = np.asarray(labels)
    if len(labels) < folds:
        raise ValueError(f"{len(labels)} rows cannot make {folds} folds")
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(np.flatnonzero(labels == c))
                            for c in np.unique(labels)])
    out = np.empty(len(labels), dtype=np.int64)
    out[order] = np.arange(len(order)) % folds
    return out


def candidates(*, bins: int, t_min: float, t_max: float, with_aux: bool) -> list[Candidate]:
    """The candidates, simplest first (a tie goes to the earlier one)."""
    def nll(pool: LogitSet, aux: LogitSet | None) -> float:
        return fit_temperature(*pool, t_min=t_min, t_max=t_max, warn=False).temperature

    def halves(pool: LogitSet, aux: LogitSet | None) -> float:
        assert aux is not None
        z = np.concatenate([pool[0], aux[0]])
        y = np.concatenate([pool[1], aux[1]])
        w = np.concatenate([np.full(len(pool[1]), 0.5 / len(pool[1])),
                            np.full(len(aux[1]), 0.5 / len(aux[1]))])
        return fit_temperature(z, y, t_min=t_min, t_max=t_max, weights=w,
                               warn=False).temperature

    def validation(pool: LogitSet, aux: LogitSet | None) -> float:
        assert aux is not None
        return fit_temperature(*aux, t_min=t_min, t_max=t_max, warn=False).temperature

    def ece(pool: LogitSet, aux: LogitSet | None) -> float:
        return fit_ece_temperature(*pool, bins=bins, t_min=t_min, t_max=t_max)

    out = [Candidate("T=1", "no scaling", False, False, lambda pool, aux: 1.0),
           Candidate("nll", "one T, NLL on the fit data", True, False, nll)]
    if with_aux:
        out += [Candidate("nll+validation", "one T, NLL on the fit data and the template "
                          "validation split, each counting half", True, True, halves),
                Candidate("validation", "one T, NLL on the template validation split alone "
                          "(the old default; for comparison, never chosen)", False, True,
                          validation, reference=True)]
    out.append(Candidate("ece", "one T, lowest ECE on the fit data (grid on log T)", True,
                         False, ece))
    return out


def select_method(pool: LogitSet, aux: LogitSet | None, *, folds: int, seed: int, bins: int,
                  t_min: float, t_max: float) -> tuple[Selection, Candidate]:
    """Score every candidate by cross-validation on ``pool``; the table and the winner."""
    z, y = np.asarray(pool[0], dtype=np.float64), np.asarray(pool[1], dtype=np.int64)
    fold_of = stratified_folds(y, folds, seed=seed)
    options = candidates(bins=bins, t_min=t_min, t_max=t_max, with_aux=aux is not None)
    scores = []
    for candidate in options:
        temperatures, nll_sum = [], 0.0
        held_out = np.empty_like(z)
        for k in range(folds):
            train, test = fold_of != k, fold_of == k
            t = candidate.fit((z[train], y[train]), aux)
            temperatures.append(t)
            nll_sum += scaled_nll(z[test], y[test], t) * test.sum()
            held_out[test] = z[test] / t
        ece = top_label_ece(softmax(held_out), y, bins=bins)
        scores.append((nll_sum / len(y), ece, temperatures, candidate.fit((z, y), aux)))
    best = min((i for i, c in enumerate(options) if not c.reference),
               key=lambda i: (round(scores[i][0], 12), i))
    table = [CandidateScore(c.name, c.description, float(nll), float(ece),
                            [float(t) for t in temps], float(t_all), i == best, c.reference)
             for i, (c, (nll, ece, temps, t_all)) in enumerate(zip(options, scores,
                                                                     strict=True))]
    return Selection(table, folds, seed, len(y), bins), options[best]
