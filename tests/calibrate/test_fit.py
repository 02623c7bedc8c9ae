"""Temperature scaling: recovers a known T, improves held-out NLL, never changes the argmax."""

from __future__ import annotations

import numpy as np
import pytest

from hf_pipeline.calibrate.fit import fit_class_temperatures, fit_temperature, scaled_nll
from hf_pipeline.runtime.classifier import softmax


def sampled(n: int, *, true_t: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Logits whose labels are drawn from softmax(logits / true_t): T = true_t is the truth."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, size=(n, 8))
    p = softmax(logits, true_t)
    labels = np.array([rng.choice(8, p=row) for row in p])
    return logits.astype(np.float32), labels


@pytest.mark.parametrize("true_t", [0.5, 2.5])
def test_fit_recovers_the_temperature_and_improves_held_out_nll(true_t: float) -> None:
    fit_logits, fit_labels = sampled(4000, true_t=true_t, seed=1)
    held_logits, held_labels = sampled(4000, true_t=true_t, seed=2)
    fit = fit_temperature(fit_logits, fit_labels)
    assert fit.temperature == pytest.approx(true_t, rel=0.1)
    assert fit.nll_after < fit.nll_before
    assert not fit.at_bound
    # The point of calibrating: better NLL on data the fit never saw.
    assert scaled_nll(held_logits, held_labels, fit.temperature) < \
        scaled_nll(held_logits, held_labels, 1.0) - 0.01
    same = softmax(held_logits).argmax(1) == softmax(held_logits, fit.temperature).argmax(1)
    assert same.all()


def test_fit_is_deterministic_and_never_worse_than_t1() -> None:
    logits, labels = sampled(500, true_t=1.0, seed=3)
    a, b = fit_temperature(logits, labels), fit_temperature(logits, labels)
    assert a == b
    assert a.nll_after <= a.nll_before


def test_separable_data_drives_t_to_the_bound_and_says_so() -> None:
    labels = np.arange(80) % 8
    logits = np.eye(8)[labels] * 5.0  # always right: NLL falls as T -> 0
    fit = fit_temperature(logits, labels, t_min=0.05)
    assert fit.at_bound
    assert fit.temperature == pytest.approx(0.05, rel=1e-3)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="NaN or infinity"):
        fit_temperature(np.array([[np.nan] * 8]), [0])
    with pytest.raises(ValueError, match="expected logits"):
        fit_temperature(np.zeros((3, 8)), [0, 1])


def test_per_class_temperatures_fit_no_worse_than_one() -> None:
    logits, labels = sampled(2000, true_t=1.0, seed=4)
    logits[:, 7] *= 4.0  # class 7 overconfident alone: one T cannot fix both
    scalar = fit_temperature(logits, labels)
    per_class = fit_class_temperatures(logits, labels)
    assert per_class.shape == (8,)
    assert per_class[7] > 2.5 * np.median(per_class[:7])
    assert scaled_nll(logits, labels, per_class) < scalar.nll_after - 0.01


def test_top_label_ece_is_netcals() -> None:
    from hf_pipeline.calibrate.fit import top_label_ece
    from hf_pipeline.calibrate.metrics import ece

    logits, labels = sampled(700, true_t=2.0, seed=5)
    for t in (0.5, 1.0, 2.0):
        probs = softmax(logits, t)
        assert top_label_ece(probs, labels, bins=15) == pytest.approx(ece(probs, labels,
                                                                          bins=15), abs=1e-12)


def test_weights_count_like_repeated_rows() -> None:
    logits, labels = sampled(300, true_t=2.0, seed=6)
    weights = np.where(np.arange(300) < 100, 3.0, 1.0)
    repeated = np.concatenate([logits[:100]] * 2 + [logits])
    repeated_labels = np.concatenate([labels[:100]] * 2 + [labels])
    assert fit_temperature(logits, labels, weights=weights).temperature == pytest.approx(
        fit_temperature(repeated, repeated_labels).temperature, rel=1e-6)
    with pytest.raises(ValueError, match="weights"):
        fit_temperature(logits, labels, weights=-weights)


def test_ece_temperature_lowers_ece() -> None:
    from hf_pipeline.calibrate.fit import fit_ece_temperature, top_label_ece

    logits, labels = sampled(2000, true_t=2.5, seed=7)
    t = fit_ece_temperature(logits, labels, bins=15)
    assert t == pytest.approx(2.5, rel=0.25)
    assert top_label_ece(softmax(logits, t), labels, bins=15) < \
        top_label_ece(softmax(logits, 1.0), labels, bins=15) / 3
    assert fit_ece_temperature(logits, labels, bins=15) == t  # deterministic


def test_stratified_folds_are_balanced_and_seeded() -> None:
    from hf_pipeline.calibrate.select import stratified_folds

    labels = np.repeat(np.arange(8), [12, 10, 10, 10, 10, 10, 7, 3])
    folds = stratified_folds(labels, 5, seed=0)
    sizes = np.bincount(folds, minlength=5)
    assert sizes.max() - sizes.min() <= 1 and sizes.sum() == len(labels)
    for c in range(8):  # every intent spread over the folds, at most one apart
        per_fold = np.bincount(folds[labels == c], minlength=5)
        assert per_fold.max() - per_fold.min() <= 1
    assert (stratified_folds(labels, 5, seed=0) == folds).all()
    assert (stratified_folds(labels, 5, seed=1) != folds).any()
    with pytest.raises(ValueError, match="4 rows cannot make 5 folds"):
        stratified_folds(labels[:4], 5, seed=0)
