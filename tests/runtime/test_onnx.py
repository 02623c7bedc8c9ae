"""Tokenization identical to training's; the classifier feeds only the inputs a graph declares."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fixtures.tiny_export import two_input_model

from hf_pipeline.contract import MAX_LENGTH
from hf_pipeline.errors import DataFileError
from hf_pipeline.runtime.onnx import OnnxClassifier, encode, load_tokenizer

TEXTS = ["who calls parse_config", "hmm", "Trace the path from main() to write_file!",
         " ".join(["a much longer query"] * 60)]


def test_encoding_equals_the_training_tokenizer(tiny_model_dir: Path) -> None:
    from transformers import AutoTokenizer

    ours = encode(load_tokenizer(tiny_model_dir), TEXTS)
    ref = AutoTokenizer.from_pretrained(tiny_model_dir)(
        TEXTS, truncation=True, max_length=MAX_LENGTH, padding=True, return_tensors="np")
    for name in ("input_ids", "attention_mask", "token_type_ids"):
        assert ours[name].dtype == np.int64
        np.testing.assert_array_equal(ours[name], ref[name])
    assert ours["input_ids"].shape[1] == MAX_LENGTH  # the long text is truncated


def test_a_single_query_is_unpadded(tiny_model_dir: Path) -> None:
    # MiniLM's tokenizer.json pads to a fixed 128; the runtime sends the bare query.
    feeds = encode(load_tokenizer(tiny_model_dir), ["hmm"])
    assert feeds["input_ids"].tolist() == [[101, 17012, 102]]
    assert feeds["attention_mask"].tolist() == [[1, 1, 1]]


def test_token_type_ids_only_when_declared(tiny_model_dir: Path, tmp_path: Path) -> None:
    classifier = OnnxClassifier(two_input_model(tmp_path / "m.onnx"), tokenizer=tiny_model_dir)
    assert classifier.input_names == ("input_ids", "attention_mask")
    logits = classifier.logits(["hmm", "who calls parse_config"])
    assert logits[:, 0].tolist() == [3.0, 10.0]
    assert classifier.predict(["hmm"]).tolist() == [7]


def test_missing_tokenizer(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="no tokenizer file here"):
        load_tokenizer(tmp_path)


def test_unreadable_tokenizer(tmp_path: Path) -> None:
    (tmp_path / "tokenizer.json").write_text("{broken")
    with pytest.raises(DataFileError, match=r"tokenizer\.json: cannot be loaded .*: damaged, "
                       "or not what `hf-pipeline train`"):
        load_tokenizer(tmp_path)


def test_unreadable_model(tiny_model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "m.onnx").write_bytes(b"not a model")
    with pytest.raises(DataFileError, match=r"m\.onnx: cannot be loaded \(.*INVALID_PROTOBUF.*"
                       "not what `hf-pipeline export model`"):
        OnnxClassifier(tmp_path / "m.onnx", tokenizer=tiny_model_dir)
