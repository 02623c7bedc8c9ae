"""PyTorch inference on a trained model folder: the reference that ONNX export, calibration and
``predict`` compare against.

Texts are batched in length order (each batch padded only to its own longest text) and the
logits are returned in the caller's order.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hf_pipeline.contract import MAX_LENGTH
from hf_pipeline.errors import DataFileError
from hf_pipeline.intents import INTENTS, NUM_INTENTS

log = logging.getLogger(__name__)


def check_label_order(config: Any, where: str | Path) -> None:
    """The runtime maps logit index -> intent by a fixed table: the model must agree."""
    labels = [config.id2label.get(i, config.id2label.get(str(i))) for i in range(config.num_labels)]
    if labels != list(INTENTS):
        raise DataFileError(Path(where) / "config.json",
                            f"id2label is {labels}, expected the runtime's order {list(INTENTS)}.",
                            fix="train the model with `hf-pipeline train`, which sets that order.")


class TorchClassifier:
    """A sequence classifier with its tokenizer, in eval mode on CPU (or ``device``)."""

    def __init__(self, model: Any, tokenizer: Any, *, max_length: int = MAX_LENGTH,
                 device: str = "cpu") -> None:
        self.model = model.to(device).eval()
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.device = device

    @classmethod
    def from_dir(cls, path: str | Path, *, max_length: int = MAX_LENGTH,
                 device: str = "cpu") -> TorchClassifier:
        """Load a folder written by ``train`` (``final/``) or any 8-label classifier folder."""
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        path = Path(path)
        if not (path / "config.json").is_file():
            raise DataFileError(path, "not a model folder (no config.json).",
                                fix="pass the final/ folder written by `hf-pipeline train`.")
        model = AutoModelForSequenceClassification.from_pretrained(path, dtype=torch.float32)
        if model.config.num_labels != NUM_INTENTS:
            raise DataFileError(path / "config.json", f"num_labels is {model.config.num_labels},"
                                f" expected {NUM_INTENTS}.")
        check_label_order(model.config, path)
        return cls(model, AutoTokenizer.from_pretrained(path), max_length=max_length,
                   device=device)

    def logits(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """float32 logits, shape [len(texts), 8], in the order of ``texts``."""
        import torch

        texts = list(texts)
        out = np.zeros((len(texts), NUM_INTENTS), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            enc = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                 max_length=self.max_length, return_tensors="pt").to(self.device)
            with torch.inference_mode():
                out[idx] = self.model(**enc).logits.float().cpu().numpy()
        return out
