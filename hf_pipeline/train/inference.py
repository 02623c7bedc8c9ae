"""PyTorch inference on a trained model folder: the reference that ONNX export, calibration and
``predict`` compare against. ``load_trained_classifier`` is what the CLI injects into the
runtime's ``load_classifier``, so the runtime itself never imports torch.

Texts are batched in length order (each batch padded only to its own longest text) and the
logits are returned in the caller's order.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hf_pipeline.contract import MAX_LENGTH
from hf_pipeline.errors import DataFileError
from hf_pipeline.intents import NUM_INTENTS, check_label_order
from hf_pipeline.io import read_json_object

if TYPE_CHECKING:
    from hf_pipeline.runtime.classifier import IntentClassifier

log = logging.getLogger(__name__)


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
        # Read first: transformers reports an unreadable config as a bare OSError.
        read_json_object(path / "config.json",
                         fix="pass the final/ folder written by `hf-pipeline train`.")
        model = AutoModelForSequenceClassification.from_pretrained(path, dtype=torch.float32)
        if model.config.num_labels != NUM_INTENTS:
            raise DataFileError(path / "config.json", f"num_labels is {model.config.num_labels},"
                                f" expected {NUM_INTENTS}.")
        check_label_order(model.config.id2label, where=path / "config.json", field="id2label",
                          fix="train the model with `hf-pipeline train`, which sets that order.")
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


def load_trained_classifier(folder: str | Path, *, batch_size: int = 32,
                            device: str = "cpu") -> IntentClassifier:
    """A trained folder behind the runtime's ``IntentClassifier`` (same hygiene, tiers,
    output); T from the folder's temperature.json if it has one, else 1."""
    from hf_pipeline.model_folder.layout import TEMPERATURE_FILE
    from hf_pipeline.model_folder.temperature import read_temperature
    from hf_pipeline.runtime.classifier import IntentClassifier

    folder = Path(folder)
    model = TorchClassifier.from_dir(folder, device=device)
    path = folder / TEMPERATURE_FILE
    temperature = float(read_temperature(path)["temperature"]) if path.is_file() else 1.0
    return IntentClassifier(model, temperature=temperature, batch_size=batch_size,
                            source=folder)
