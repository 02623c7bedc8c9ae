"""The INT8 accuracy gate: accuracies, drop, agreement; over budget raises with details."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fixtures.tiny_export import texts_and_labels, two_input_model

from hf_pipeline.data_sources import load_eval_sets
from hf_pipeline.export.config import ExportConfig
from hf_pipeline.export.gate import AccuracyGateError, compare
from hf_pipeline.export.stage import FP32_FILE, INT8_FILE, REPORT_FILE, gate_export
from hf_pipeline.intents import INTENTS
from hf_pipeline.runtime.onnx import OnnxClassifier, load_tokenizer


@pytest.fixture
def fp32(export_dir: Path) -> OnnxClassifier:
    return OnnxClassifier(export_dir / FP32_FILE, tokenizer=export_dir)


@pytest.fixture
def always_ambiguous(tmp_path: Path, export_dir: Path) -> OnnxClassifier:
    """A stand-in "INT8" model that predicts Ambiguous (the last class) for everything."""
    return OnnxClassifier(two_input_model(tmp_path / "const.onnx"), tokenizer=export_dir)


def _gold_from(classifier: OnnxClassifier, texts: list[str], *, wrong: int = 0) -> list[int]:
    """Labels equal to ``classifier``'s predictions, with the first ``wrong`` ones changed."""
    preds = classifier.predict(texts).tolist()
    return [(p + 1) % len(INTENTS) if i < wrong else p for i, p in enumerate(preds)]


def test_identical_models_pass_with_zero_drop(fp32: OnnxClassifier) -> None:
    texts, labels = texts_and_labels()
    report = compare(fp32, fp32, {"test": (texts, labels), "dev": (texts[:4], labels[:4])},
                     cfg=ExportConfig())
    assert report.passed and report.meets_target
    assert [s.name for s in report.sets] == ["test", "dev"]
    for s in report.sets:
        assert s.drop_points == 0 and s.agreement == 1.0 and s.regressions == ()
        assert s.accuracy_fp32 == s.accuracy_int8
    assert json.loads(json.dumps(report.to_dict()))["passed"] is True


def test_accuracy_drop_and_agreement_are_computed(fp32: OnnxClassifier,
                                                   always_ambiguous: OnnxClassifier) -> None:
    texts, _ = texts_and_labels()
    gold = _gold_from(fp32, texts, wrong=2)  # fp32: 6 of 8 right
    report = compare(fp32, always_ambiguous, {"test": (texts, gold)},
                     cfg=ExportConfig(max_drop_points=100))
    [s] = report.sets
    ambiguous = INTENTS.index("Ambiguous")
    fp32_preds = fp32.predict(texts).tolist()
    assert s.samples == 8 and s.accuracy_fp32 == 0.75
    assert s.accuracy_int8 == sum(g == ambiguous for g in gold) / 8
    assert s.drop_points == pytest.approx((s.accuracy_fp32 - s.accuracy_int8) * 100)
    assert s.agreement == sum(p == ambiguous for p in fp32_preds) / 8
    assert report.passed and not report.meets_target


def test_drop_over_budget_raises_listing_details(fp32: OnnxClassifier,
                                                  always_ambiguous: OnnxClassifier) -> None:
    texts, _ = texts_and_labels()
    gold = _gold_from(fp32, texts)
    assert INTENTS.index("Ambiguous") not in gold[:3], "need some non-Ambiguous predictions"
    with pytest.raises(AccuracyGateError) as info:
        compare(fp32, always_ambiguous, {"test": (texts, gold), "dev": (texts, gold)},
                cfg=ExportConfig(max_drop_points=2.0))
    message = str(info.value)
    assert "INT8 accuracy drop over the 2-point budget" in message
    assert "  test: fp32 100.00%, INT8 " in message and "  dev: fp32 100.00%" in message
    assert f"    {texts[0]!r}: gold {INTENTS[gold[0]]}, INT8 Ambiguous" in message
    assert "Fix: try `--preset portable_pc` (per-channel scales) or `--preset matmul`" in message
    assert not info.value.report.passed


def test_empty_or_mismatched_set_is_an_error(fp32: OnnxClassifier) -> None:
    from hf_pipeline.errors import PipelineError

    with pytest.raises(PipelineError, match="'dev': 2 texts and 1 labels"):
        compare(fp32, fp32, {"dev": (["a", "b"], [0])}, cfg=ExportConfig())


def test_load_eval_sets(eval_files: tuple[Path, Path]) -> None:
    dataset, dev = eval_files
    sets, provenance = load_eval_sets(dataset, dev_set=dev)
    texts, labels = texts_and_labels()
    assert sets["test"] == (texts, labels)
    assert sets["dev"] == (texts, labels)
    assert provenance["dev_set"] == str(dev) and len(provenance["dev_set_sha256"]) == 64


def test_failed_gate_is_recorded_in_the_export_report(export_dir: Path, tmp_path: Path) -> None:
    folder = Path(shutil.copytree(export_dir, tmp_path / "export"))
    two_input_model(folder / INT8_FILE)  # an "INT8" model that always says Ambiguous
    texts = texts_and_labels()[0]
    gold = OnnxClassifier(folder / FP32_FILE, tokenizer=load_tokenizer(folder)).predict(texts)
    with pytest.raises(AccuracyGateError):
        gate_export(folder, eval_sets={"test": (texts, gold.tolist())}, cfg=ExportConfig())
    gate = json.loads((folder / REPORT_FILE).read_text())["gate"]
    assert gate["passed"] is False and gate["sets"][0]["accuracy_fp32"] == 1.0
