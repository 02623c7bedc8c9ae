"""ECE/MCE (netcal), NLL and Brier against a hand-worked example; bins agree with netcal."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hf_pipeline.calibrate.metrics import (
    brier,
    ece,
    mce,
    nll,
    reliability_bins,
    set_metrics,
)

# Five samples, three classes, 15 bins of width 1/15:
#   conf 0.90 right, 0.90 wrong -> bin 13 [0.867, 0.933): acc 0.5, conf 0.9, gap 0.40, n 2
#   conf 0.70 right             -> bin 10 [0.667, 0.733): gap 0.30, n 1
#   conf 0.50 wrong (pred 0)    -> bin  7 [0.467, 0.533): gap 0.50, n 1
#   conf 0.75 right             -> bin 11 [0.733, 0.800): gap 0.25, n 1
# ECE = (2*0.40 + 0.30 + 0.50 + 0.25) / 5 = 0.37; MCE = 0.50.
PROBS = np.array([[0.9, 0.05, 0.05], [0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.5, 0.3, 0.2],
                  [0.125, 0.125, 0.75]])
LABELS = np.array([0, 1, 1, 2, 2])


def test_ece_and_mce_match_the_hand_worked_example() -> None:
    assert ece(PROBS, LABELS, bins=15) == pytest.approx(0.37, abs=1e-9)
    assert mce(PROBS, LABELS, bins=15) == pytest.approx(0.50, abs=1e-9)


@pytest.mark.parametrize("labels", [[0, 1, 1, 1, 1], [1, 1, 1, 1, 1], [0, 0, 1, 1, 1]])
def test_ece_and_mce_of_a_set_with_one_or_two_intents(labels: list[int]) -> None:
    # netcal takes labels with at most two distinct values for a binary problem; a slice of
    # the dev set with one or two intents (three-class probabilities) must still measure
    y = np.array(labels)
    conf, right = PROBS.max(axis=1), PROBS.argmax(axis=1) == y
    edges = np.linspace(0, 1, 16)
    index = np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, 14)
    gaps = [abs(right[index == b].mean() - conf[index == b].mean()) for b in set(index)]
    weights = [(index == b).sum() for b in set(index)]
    assert ece(PROBS, y, bins=15) == pytest.approx(np.dot(gaps, weights) / 5, abs=1e-9)
    assert mce(PROBS, y, bins=15) == pytest.approx(max(gaps), abs=1e-9)


def test_nll_and_brier_match_the_hand_worked_example() -> None:
    expected_nll = -(math.log(0.9) + math.log(0.05) + math.log(0.7) + math.log(0.2)
                     + math.log(0.75)) / 5
    assert nll(PROBS, LABELS) == pytest.approx(expected_nll)
    # Per sample sum_k (p_k - y_k)^2: 0.015, 1.715, 0.14, 0.98, 0.09375.
    assert brier(PROBS, LABELS) == pytest.approx(2.94375 / 5)


def test_bins_of_the_example() -> None:
    bins = reliability_bins(PROBS, LABELS, bins=15)
    counts = {i: b.count for i, b in enumerate(bins) if b.count}
    assert counts == {7: 1, 10: 1, 11: 1, 13: 2}
    assert bins[13].accuracy == 0.5 and bins[13].confidence == pytest.approx(0.9)
    assert math.isnan(bins[0].accuracy)


def test_bins_reproduce_netcal_ece_on_random_data() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, size=(3000, 8))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = rng.integers(0, 8, 3000)
    bins = reliability_bins(probs, labels, bins=15)
    assert sum(b.count for b in bins) == 3000
    from_bins = sum(b.count * abs(b.accuracy - b.confidence) for b in bins if b.count) / 3000
    assert from_bins == pytest.approx(ece(probs, labels, bins=15), abs=1e-9)


def test_confidence_one_falls_in_the_last_bin() -> None:
    bins = reliability_bins(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0, 0]), bins=15)
    assert bins[-1].count == 2 and bins[-1].accuracy == 0.5


def test_set_metrics_counts_confident_errors() -> None:
    m = set_metrics(PROBS, LABELS)
    assert m.samples == 5 and m.accuracy == pytest.approx(0.6)
    assert m.confident_errors == 1  # the wrong 0.9; the wrong 0.5 is below 0.85
    assert m.ece == pytest.approx(0.37)


def test_mismatched_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="expected probabilities"):
        nll(PROBS, LABELS[:3])
    with pytest.raises(ValueError, match="labels must be in"):
        brier(PROBS, np.array([0, 1, 2, 3, 0]))


def test_the_four_tier_outcomes_a_sqry_user_feels() -> None:
    # Right and executed, right but asked, wrong and asked, wrong and executed (>= 0.85).
    probs = np.array([[0.90, 0.10], [0.60, 0.40], [0.30, 0.70], [0.05, 0.95], [0.85, 0.15]])
    labels = [0, 0, 0, 0, 1]
    m = set_metrics(probs, labels)
    assert m.tiers() == {"right_executed": 1, "right_asked": 1, "wrong_asked": 1,
                         "wrong_executed": 2}
    assert sum(m.tiers().values()) == m.samples and m.confident_errors == 2
