"""IntentClassifier: temperature, label order, predictions, tiers and batching."""

from __future__ import annotations

import logging
import math
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from fixtures.tampering import read_json, rewrite
from fixtures.tiny_release import set_temperature

from hf_pipeline.contract import CONFIRM_THRESHOLD, EXECUTE_THRESHOLD, ONNX_INPUTS
from hf_pipeline.errors import DataFileError, InvalidValueError
from hf_pipeline.export.stage import FP32_FILE
from hf_pipeline.intents import INTENTS
from hf_pipeline.model_folder.checksums import write_checksums
from hf_pipeline.model_folder.folder import model_version
from hf_pipeline.runtime import (
    CONFIRM,
    DISAMBIGUATE,
    EXECUTE,
    FLAG_EMPTY,
    IntentClassifier,
    Prediction,
    load_classifier,
    softmax,
    tier_for,
)
from hf_pipeline.runtime.onnx import OnnxClassifier
from hf_pipeline.train.inference import load_trained_classifier

TEXTS = ["who calls main", "where is parse_config defined in the server module", "x",
         "grep TODO", "graph of Router as svg", "path from a to b through c, d, e and f",
         "is the index fresh", "hmm", "what does Cache.load call", "find all unused async fns"]


def reference_softmax(logits: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(logits / T), written out independently of the module's own."""
    z = logits.astype(np.float64) / temperature
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def probability_matrix(predictions: Sequence[Prediction]) -> np.ndarray:
    return np.array([[p.probabilities[label] for label in INTENTS] for p in predictions])


class TableModel:
    """A stand-in network: fixed logits per text; records what it was asked."""

    def __init__(self, table: dict[str, Sequence[float]]) -> None:
        self.table, self.calls = table, []

    def logits(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        self.calls.append((list(texts), batch_size))
        return np.array([self.table[t] for t in texts], dtype=np.float32).reshape(-1, 8)


def one_hot_logits(index: int, confidence: float) -> list[float]:
    """Logits whose softmax puts ``confidence`` on ``index`` and the rest evenly on 7."""
    row = [0.0] * 8
    row[index] = math.log(confidence * 7 / (1 - confidence))
    return row


@pytest.fixture(scope="module")
def release(tiny_release_dir: Path) -> IntentClassifier:
    return IntentClassifier.from_dir(tiny_release_dir)


# --- small parts ---------------------------------------------------------------------------

def test_softmax() -> None:
    logits = np.array([[0.0, math.log(2.0), 0.0], [1000.0, 0.0, -1000.0]])
    np.testing.assert_allclose(softmax(logits), [[0.25, 0.5, 0.25], [1.0, 0.0, 0.0]])
    np.testing.assert_allclose(softmax(logits[:1], 0.5), [[1 / 6, 4 / 6, 1 / 6]])
    assert softmax(np.zeros((0, 8))).shape == (0, 8)


def test_thresholds_are_the_runtime_s() -> None:
    assert (EXECUTE_THRESHOLD, CONFIRM_THRESHOLD) == (0.85, 0.65)


@pytest.mark.parametrize(("confidence", "tier"), [
    (1.0, EXECUTE), (0.85, EXECUTE), (math.nextafter(0.85, 0.0), CONFIRM),
    (0.65, CONFIRM), (math.nextafter(0.65, 0.0), DISAMBIGUATE), (0.0, DISAMBIGUATE)])
def test_tier_for_at_the_boundaries(confidence: float, tier: str) -> None:
    assert tier_for(confidence) == tier


@pytest.mark.parametrize("kwargs", [{"temperature": 0.0}, {"temperature": -1.0},
                                    {"temperature": math.nan}, {"temperature": math.inf},
                                    {"batch_size": 0}, {"batch_size": 2.0}])
def test_bad_settings_are_refused(kwargs: dict) -> None:
    with pytest.raises(InvalidValueError):
        IntentClassifier(TableModel({}), **kwargs)


# --- predict over a stand-in model: exact numbers --------------------------------------------

def test_each_output_belongs_to_its_input() -> None:
    # Every intent once; lengths scrambled so that the model's (length) order differs.
    intents, lengths = [5, 0, 7, 2, 6, 1, 4, 3], [5, 2, 8, 1, 7, 3, 6, 4]
    table = {"x" * n: one_hot_logits(k, 0.9) for n, k in zip(lengths, intents, strict=True)}
    model = TableModel(table)
    texts = [*table, ""]
    predictions = IntentClassifier(model, batch_size=3).predict(texts)
    assert [p.intent for p in predictions] == [*(INTENTS[k] for k in intents), "Ambiguous"]
    assert predictions[-1].flags == (FLAG_EMPTY,)
    # One model call, the caller's batch size passed on, the empty text never sent.
    assert len(model.calls) == 1
    assert sorted(model.calls[0][0]) == sorted(table) and model.calls[0][1] == 3


@pytest.mark.parametrize(("confidence", "tier"), [(0.97, EXECUTE), (0.86, EXECUTE),
                                                  (0.84, CONFIRM), (0.66, CONFIRM),
                                                  (0.64, DISAMBIGUATE), (0.2, DISAMBIGUATE)])
def test_confidence_and_tier(confidence: float, tier: str) -> None:
    [p] = IntentClassifier(TableModel({"q": one_hot_logits(3, confidence)})).predict(["q"])
    assert p.intent == "FindCallers" and p.tier == tier and p.flags == ()
    assert p.confidence == pytest.approx(confidence, abs=1e-6)
    assert p.confidence == p.probabilities["FindCallers"] == max(p.probabilities.values())


def test_temperature_divides_the_logits() -> None:
    logits = [2.0, 1.0, 0.0, -1.0, 0.5, 0.0, 0.0, 3.0]
    model = TableModel({"q": logits})
    for t in (0.25, 1.0, 4.0):
        [p] = IntentClassifier(model, temperature=t).predict(["q"])
        expected = reference_softmax(np.array([logits]), t)[0]
        assert list(p.probabilities) == list(INTENTS)
        np.testing.assert_allclose(list(p.probabilities.values()), expected, rtol=1e-6)
        assert p.intent == "Ambiguous"  # the argmax, whatever T


def test_predict_takes_a_list() -> None:
    classifier = IntentClassifier(TableModel({}))
    with pytest.raises(TypeError, match="not one string"):
        classifier.predict("who calls main")
    assert classifier.predict([]) == []


def test_to_dict() -> None:
    [p] = IntentClassifier(TableModel({"q": one_hot_logits(0, 0.9)})).predict(["q"])
    d = p.to_dict()
    assert list(d) == ["intent", "confidence", "probabilities", "tier", "flags"]
    assert d["flags"] == [] and d["intent"] == "SymbolQuery" and d["tier"] == EXECUTE


# --- the real release folder ------------------------------------------------------------------

def test_predictions_are_well_formed(release: IntentClassifier) -> None:
    predictions = release.predict(TEXTS)
    assert len(predictions) == len(TEXTS)
    for p in predictions:
        assert list(p.probabilities) == list(INTENTS)
        assert sum(p.probabilities.values()) == pytest.approx(1.0, abs=1e-9)
        assert p.confidence == max(p.probabilities.values())
        assert p.intent == max(p.probabilities, key=p.probabilities.__getitem__)
        assert p.tier == tier_for(p.confidence) and p.flags == ()


def test_release_loads_as_the_runtime_does(release: IntentClassifier,
                                           tiny_release_dir: Path) -> None:
    assert release.verified is True and release.temperature == 1.0
    assert release.input_names == ONNX_INPUTS
    assert release.source == tiny_release_dir


def test_probabilities_are_softmax_of_logits_over_t(release_copy: Path) -> None:
    document = read_json(release_copy / "temperature.json")
    set_temperature(release_copy, {**document, "temperature": 0.002})
    classifier = IntentClassifier.from_dir(release_copy)
    assert classifier.temperature == 0.002 and classifier.verified
    logits = classifier.logits(TEXTS)
    probabilities = probability_matrix(classifier.predict(TEXTS))
    np.testing.assert_allclose(probabilities, reference_softmax(logits, 0.002), atol=1e-12)
    # T really changed something: the untrained model is near-uniform at T = 1.
    at_one = reference_softmax(logits, 1.0).max(axis=1)
    assert (at_one < 0.15).all() and (probabilities.max(axis=1) > at_one + 0.1).all()


@pytest.mark.parametrize(("content", "problem"), [
    ("{not json", "not valid JSON"),
    ({"temperature": "0.5"}, "'temperature' is '0.5', expected a finite number > 0."),
    ({"temperature": 0}, "'temperature' is 0, expected a finite number > 0."),
    ({"temperature": -0.5}, "'temperature' is -0.5, expected a finite number > 0."),
    ({"temperature": True}, "'temperature' is True, expected a finite number > 0."),
    ({"temperature": None}, "'temperature' is None, expected a finite number > 0."),
    ({"metrics": {}}, "'temperature' is None, expected a finite number > 0."),
    ({"temperature": math.nan}, "'temperature' is nan, expected a finite number > 0."),
    ({"temperature": math.inf}, "'temperature' is inf, expected a finite number > 0."),
    ([0.5], "'temperature' is None, expected a finite number > 0."),
    ({"temperature": 0.5, "intent_labels": list(reversed(INTENTS))}, "intent_labels"),
    ({"temperature": 0.5, "intent_labels": 5}, "intent_labels: the labels are a int"),
    (b'{"temperature": 0.5, "note": "\xff"}', "not UTF-8"),
])
def test_a_malformed_temperature_is_an_error_not_t_1(release_copy: Path, content: object,
                                                     problem: str) -> None:
    if isinstance(content, bytes):
        (release_copy / "temperature.json").write_bytes(content)
        write_checksums(release_copy, model_version=model_version(release_copy))
    elif isinstance(content, str):
        rewrite(release_copy, "temperature.json", content)
    else:
        set_temperature(release_copy, content)
    with pytest.raises(DataFileError) as info:
        IntentClassifier.from_dir(release_copy)
    assert info.value.path == release_copy / "temperature.json"
    assert str(info.value).startswith(f"{release_copy / 'temperature.json'}: {problem}")


def test_no_temperature_json_means_t_1_loudly(release_copy: Path, release: IntentClassifier,
                                              caplog: pytest.LogCaptureFixture) -> None:
    (release_copy / "temperature.json").unlink()
    # a folder legitimately built without calibration
    write_checksums(release_copy, model_version=model_version(release_copy))
    with caplog.at_level(logging.WARNING, logger="hf_pipeline.runtime.classifier"):
        classifier = IntentClassifier.from_dir(release_copy)
    assert classifier.temperature == 1.0 and classifier.verified
    assert f"{release_copy}: no temperature.json, so T = 1" in caplog.text
    assert classifier.predict(TEXTS) == release.predict(TEXTS)


@pytest.mark.parametrize("change", ["swapped labels", "seven labels", "max_length", "a list"])
def test_a_mixed_up_config_is_refused(release_copy: Path, change: str) -> None:
    config = read_json(release_copy / "config.json")
    labels = list(INTENTS)
    if change == "swapped labels":
        labels[3], labels[4] = labels[4], labels[3]
    elif change == "seven labels":
        labels = labels[:7]
    else:
        config["max_length"] = 512
    config["id2label"] = {str(i): label for i, label in enumerate(labels)}
    if change == "a list":
        config["id2label"] = labels
    rewrite(release_copy, "config.json", config)
    expected = {"max_length": "max_length is 512", "a list": "id2label is a list"}.get(
        change, "id2label: the labels are")
    with pytest.raises(DataFileError, match=expected) as info:
        IntentClassifier.from_dir(release_copy)
    assert info.value.path == release_copy / "config.json"


def test_config_json_is_optional(release_copy: Path) -> None:
    (release_copy / "config.json").unlink()
    write_checksums(release_copy, model_version=model_version(release_copy))
    assert IntentClassifier.from_dir(release_copy).predict(["who calls main"])[0].confidence > 0


def test_tokens_are_truncated_at_max_length(release: IntentClassifier) -> None:
    # 3 word pieces per repeat: both texts are far over 128 tokens (and under the byte cap),
    # so the model sees the same first 128 tokens.
    long, longer = "who calls main " * 60, "who calls main " * 250
    assert len(release.model.tokenizer.encode(longer).ids) == 128
    assert release.predict([long]) == release.predict([longer])
    assert release.predict([long]) != release.predict(["who calls main " * 20])


# --- batching ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fp32_onnx(tiny_release_dir: Path) -> Path:
    """The fp32 graph the release was quantized from (tiny_release.py's export folder)."""
    path = tiny_release_dir.parent / "export" / FP32_FILE
    assert path.is_file()
    return path


def test_batching_does_not_change_fp32_results(fp32_onnx: Path, tiny_release_dir: Path) -> None:
    # Padding is masked out, so batch 1 (unpadded, as the runtime sends it) and batch 32
    # agree to float32 rounding.
    def classifier(batch_size: int) -> IntentClassifier:
        model = OnnxClassifier(fp32_onnx, tokenizer=tiny_release_dir / "tokenizer.json")
        return IntentClassifier(model, batch_size=batch_size)

    batched = classifier(32).predict(TEXTS)
    one_by_one = [classifier(32).predict([t])[0] for t in TEXTS]
    batch_of_one = classifier(1).predict(TEXTS)
    for other in (one_by_one, batch_of_one):
        np.testing.assert_allclose(probability_matrix(other), probability_matrix(batched),
                                   atol=1e-6)
        assert [p.intent for p in other] == [p.intent for p in batched]


def test_batching_int8_within_quantization_noise(tiny_release_dir: Path,
                                                 release: IntentClassifier) -> None:
    # INT8 dynamic quantization takes each activation's range over the whole padded batch,
    # so results move slightly with the batch (measured ~4e-5 here); they must stay close.
    batch_of_one = IntentClassifier.from_dir(tiny_release_dir, batch_size=1).predict(TEXTS)
    batched = release.predict(TEXTS)
    np.testing.assert_allclose(probability_matrix(batch_of_one), probability_matrix(batched),
                               atol=1e-3)
    reversed_ = release.predict(TEXTS[::-1])[::-1]
    np.testing.assert_allclose(probability_matrix(reversed_), probability_matrix(batched),
                               atol=1e-6)


def test_batching_trained_model(tiny_model_dir: Path) -> None:
    batched = load_trained_classifier(tiny_model_dir, batch_size=32).predict(TEXTS)
    single = load_trained_classifier(tiny_model_dir, batch_size=1).predict(TEXTS)
    np.testing.assert_allclose(probability_matrix(single), probability_matrix(batched),
                               atol=1e-6)


# --- load_classifier -------------------------------------------------------------------------

def test_load_classifier_tells_the_folders_apart(tiny_release_dir: Path,
                                                 tiny_model_dir: Path) -> None:
    onnx = load_classifier(tiny_release_dir)
    torch = load_classifier(tiny_model_dir, load_trained=load_trained_classifier)
    assert onnx.input_names == ONNX_INPUTS and onnx.verified
    assert torch.input_names == () and not torch.verified and torch.temperature == 1.0
    # Same network before and after INT8 export: close, not equal.
    np.testing.assert_allclose(probability_matrix(onnx.predict(TEXTS)),
                               probability_matrix(torch.predict(TEXTS)), atol=2e-3)


def test_a_trained_folder_uses_its_temperature(tiny_model_dir: Path, tmp_path: Path) -> None:
    folder = Path(shutil.copytree(tiny_model_dir, tmp_path / "final"))
    (folder / "temperature.json").write_text('{"temperature": 0.25}', encoding="utf-8")
    assert load_classifier(folder, load_trained=load_trained_classifier).temperature == 0.25
    (folder / "temperature.json").write_text('{"temperature": -1}', encoding="utf-8")
    with pytest.raises(DataFileError, match="'temperature' is -1"):
        load_classifier(folder, load_trained=load_trained_classifier)


def test_not_a_model_folder(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match=r"not a model folder: no intent_classifier\.onnx"):
        load_classifier(tmp_path)
    with pytest.raises(DataFileError, match="no such model folder"):
        IntentClassifier.from_dir(tmp_path / "missing")
