"""``calibrate analyze`` building blocks on hand-made probabilities: per-intent rows, the
confident mistakes the runtime would execute, and single vs per-class temperature."""

from __future__ import annotations

import numpy as np
import pytest

from hf_pipeline.calibrate.analyze import (
    ambiguous_confident_errors,
    analyze_set,
    compare_scalings,
    confident_mistakes,
    per_intent,
)
from hf_pipeline.intents import INTENTS
from hf_pipeline.runtime.classifier import softmax

K = len(INTENTS)
AMB = INTENTS.index("Ambiguous")
FIND_CALLERS = INTENTS.index("FindCallers")


def row(predicted: int, confidence: float) -> np.ndarray:
    p = np.full(K, (1 - confidence) / (K - 1))
    p[predicted] = confidence
    return p


# gold SymbolQuery, right at 0.90  -> execute
# gold SymbolQuery, FindCallers at 0.95 -> execute, a confident error
# gold FindCallers, right at 0.70  -> confirm
# gold Ambiguous, TextSearch at 0.86 -> execute, a confident error on gold Ambiguous
PROBS = np.stack([row(0, 0.90), row(FIND_CALLERS, 0.95), row(FIND_CALLERS, 0.70),
                  row(1, 0.86)])
LABELS = np.array([0, 0, FIND_CALLERS, AMB])
TEXTS = ["where is load defined", "who calls load", "who calls Cache", "hmm"]


def test_per_intent_rows() -> None:
    rows = {r["intent"]: r for r in per_intent(PROBS, LABELS)}
    assert list(rows) == ["SymbolQuery", "FindCallers", "Ambiguous"]  # intents with samples
    symbol = rows["SymbolQuery"]
    assert (symbol["samples"], symbol["accuracy"]) == (2, 0.5)
    assert symbol["mean_confidence"] == pytest.approx(0.925)
    assert symbol["tiers"] == {"execute": 2, "confirm": 0, "disambiguate": 0}
    assert symbol["confident_errors"] == 1
    callers = rows["FindCallers"]
    assert (callers["accuracy"], callers["confident_errors"]) == (1.0, 0)
    assert callers["tiers"] == {"execute": 0, "confirm": 1, "disambiguate": 0}
    assert (rows["Ambiguous"]["accuracy"], rows["Ambiguous"]["confident_errors"]) == (0.0, 1)


def test_confident_mistakes_most_confident_first() -> None:
    mistakes = confident_mistakes(TEXTS, PROBS, LABELS)
    assert [(m["text"], m["gold"], m["predicted"]) for m in mistakes] == [
        ("who calls load", "SymbolQuery", "FindCallers"), ("hmm", "Ambiguous", "TextSearch")]
    assert mistakes[0]["confidence"] == pytest.approx(0.95)
    assert len(confident_mistakes(TEXTS, PROBS, LABELS, limit=1)) == 1
    assert ambiguous_confident_errors(PROBS, LABELS) == 1


def test_analyze_set_bins_cover_the_set() -> None:
    logits = np.log(PROBS)
    report = analyze_set("dev", TEXTS, logits, LABELS, temperature=1.0)
    assert report["metrics"]["samples"] == 4 and report["metrics"]["confident_errors"] == 2
    assert sum(b["count"] for b in report["bins"]) == 4
    assert report["ambiguous_confident_errors"] == 1
    hot = analyze_set("dev", TEXTS, logits, LABELS, temperature=5.0)  # flatter: nothing executes
    assert hot["metrics"]["confident_errors"] == 0 and hot["confident_mistakes"] == []


def test_compare_scalings() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, size=(3000, K))
    cumulative = softmax(logits, 2.5).cumsum(axis=1)
    labels = np.minimum((cumulative < rng.random((3000, 1))).sum(axis=1), K - 1)
    fit, held = (logits[:1500], labels[:1500]), (logits[1500:], labels[1500:])
    out = compare_scalings(fit, {"test": held}, temperature=2.5)
    assert list(out["per_class_temperatures"]) == list(INTENTS)
    assert all(1.5 < t < 4 for t in out["per_class_temperatures"].values())
    rows = out["sets"]["test"]
    assert list(rows) == ["T=1", "T=2.500", "per-class T"]
    assert rows["T=2.500"]["nll"] < rows["T=1"]["nll"] - 0.1
    assert rows["T=2.500"]["accuracy"] == rows["T=1"]["accuracy"]
    assert all(r["samples"] == 1500 for r in rows.values())
