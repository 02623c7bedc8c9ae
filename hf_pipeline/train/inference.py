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

from hf_pipeline.base_model import model_folder_errors
from hf_pipeline.contract import MAX_LENGTH
from hf_pipeline.errors import DataFileError, artifact_errors
from hf_pipeline.intents import INTENTS, NUM_INTENTS, check_label_order
from hf_pipeline.io import read_json_object
from hf_pipeline.model_folder.layout import CONFIG_FILE, is_release_folder

if TYPE_CHECKING:
    import torch

    from hf_pipeline.runtime.classifier import IntentClassifier

log = logging.getLogger(__name__)

WRITTEN_BY = "`hf-pipeline train` (its final/ folder)"
RETRAIN = "pass the final/ folder of `hf-pipeline train`, or train again."


def read_model_config(model_dir: str | Path) -> dict[str, Any]:
    """The trained folder's config.json, checked for the runtime's 8 labels in their order."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise DataFileError(model_dir, "no trained model folder here.", fix=RETRAIN)
    if is_release_folder(model_dir):
        raise DataFileError(model_dir, "is a release folder (ONNX, from `hf-pipeline "
                            "release`), not a trained model folder (PyTorch).",
                            fix="pass the final/ folder of `hf-pipeline train`; to measure a "
                            "release folder, use `hf-pipeline calibrate analyze --model FOLDER`.")
    path = model_dir / CONFIG_FILE
    if not path.is_file():
        raise DataFileError(model_dir, f"not a model folder (no {CONFIG_FILE}).", fix=RETRAIN)
    config = read_json_object(path, fix=RETRAIN)
    id2label = config.get("id2label") or {}
    if not isinstance(id2label, dict) or len(id2label) != NUM_INTENTS:
        raise DataFileError(path, f"the model has {len(id2label)} labels, the runtime needs "
                            f"{NUM_INTENTS} ({', '.join(INTENTS)}).",
                            fix="train with hf-pipeline train, which uses the 8 intents.")
    check_label_order(id2label, where=path, field="id2label",
                      fix="retrain with the labels in hf_pipeline.intents order; the runtime "
                      "maps logit index to intent by that fixed table.")
    return config


def load_trained_model(model_dir: str | Path, *,
                       attention: str | None = None) -> torch.nn.Module:
    """The trained classifier of ``model_dir`` in fp32 and eval mode, after checking its
    config; weights that transformers cannot load are a DataFileError naming the folder."""
    import torch
    from transformers import AutoModelForSequenceClassification

    read_model_config(model_dir)
    options = {} if attention is None else {"attn_implementation": attention}
    with model_folder_errors(model_dir, written_by=WRITTEN_BY, fix=RETRAIN):
        model = AutoModelForSequenceClassification.from_pretrained(
            str(model_dir), dtype=torch.float32, **options)
    return model.eval()


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
        from transformers import AutoTokenizer

        model = load_trained_model(path)
        with artifact_errors(path, written_by=WRITTEN_BY, fix=RETRAIN):
            tokenizer = AutoTokenizer.from_pretrained(path)
        return cls(model, tokenizer, max_length=max_length, device=device)

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
