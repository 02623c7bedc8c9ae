"""The packaged `evaluate` metric modules load offline and give sklearn's numbers."""

from __future__ import annotations

import pytest

from hf_pipeline.intents import INTENTS
from hf_pipeline.train.evaluation import compute_metrics, format_report
from hf_pipeline.train.metrics import METRICS, metric_path


def test_modules_load_by_path_with_the_hub_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    import evaluate

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    for name in METRICS:
        assert evaluate.load(metric_path(name), keep_in_memory=True).name


def test_metrics_on_a_known_example() -> None:
    refs = [0, 0, 1, 1, 2, 3, 7, 7]
    preds = [0, 1, 1, 1, 2, 3, 7, 0]
    m = compute_metrics(preds, refs)
    assert m["num_samples"] == 8
    assert m["accuracy"] == pytest.approx(6 / 8)
    f1 = m["per_intent_f1"]
    assert list(f1) == list(INTENTS)
    # class 0: tp 1, fp 1, fn 1 -> 0.5; class 1: tp 2, fp 1 -> 0.8; classes 2, 3 perfect;
    # class 7: tp 1, fn 1 -> 2/3; classes 4-6 absent -> 0.
    expected = [0.5, 0.8, 1.0, 1.0, 0.0, 0.0, 0.0, 2 / 3]
    assert list(f1.values()) == pytest.approx(expected)
    assert m["macro_f1"] == pytest.approx(sum(expected) / 8)  # absent intents count as 0
    support = [2, 2, 1, 1, 0, 0, 0, 2]
    weighted = sum(f * s for f, s in zip(expected, support, strict=True)) / 8
    assert m["weighted_f1"] == pytest.approx(weighted)
    matrix = m["confusion_matrix"]
    assert len(matrix) == 8 and all(len(row) == 8 for row in matrix)
    assert matrix[0][1] == 1 and matrix[7][0] == 1 and matrix[1][1] == 2
    assert sum(map(sum, matrix)) == 8


def test_report_lists_every_intent() -> None:
    text = format_report("test", compute_metrics([0, 1], [0, 1]))
    assert text.startswith("test: accuracy 1.0000")
    assert all(intent in text for intent in INTENTS)


def test_no_samples_is_an_error() -> None:
    with pytest.raises(ValueError, match="no samples"):
        compute_metrics([], [])
