"""TorchClassifier: float32 [N, 8] logits in the caller's order, whatever the batching."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from hf_pipeline.errors import DataFileError
from hf_pipeline.train.inference import TorchClassifier

TEXTS = ["who calls parse_config", "draw the call graph of main from the http server entry",
         "x", "is the index fresh", "find the Config struct", "trace path from a to b"]


def test_logits_shape_dtype_and_order_do_not_depend_on_batching(tiny_model_dir: Path) -> None:
    clf = TorchClassifier.from_dir(tiny_model_dir)
    together = clf.logits(TEXTS, batch_size=64)
    assert together.shape == (len(TEXTS), 8) and together.dtype == np.float32
    one_by_one = np.stack([clf.logits([t])[0] for t in TEXTS])
    # Length-sorted batches are padded; the attention mask makes padding irrelevant.
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)
    np.testing.assert_allclose(clf.logits(TEXTS, batch_size=2), together, atol=1e-5)
    assert clf.logits([]).shape == (0, 8)


def test_a_model_with_another_label_order_is_refused(tiny_model_dir: Path,
                                                      tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(tiny_model_dir, bad)
    config = json.loads((bad / "config.json").read_text(encoding="utf-8"))
    config["id2label"] = {str(i): label for i, label in
                          enumerate(sorted(config["id2label"].values()))}
    config["label2id"] = {label: int(i) for i, label in config["id2label"].items()}
    (bad / "config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(DataFileError, match=r"the labels are .* the runtime.s order is"):
        TorchClassifier.from_dir(bad)


def test_not_a_model_folder(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="not a model folder"):
        TorchClassifier.from_dir(tmp_path)
