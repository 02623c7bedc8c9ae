"""Metrics for the 8-intent classifier, computed with the packaged `evaluate` modules.

``compute_metrics`` is the one definition of the numbers every stage reports: accuracy,
macro-F1, weighted-F1, per-intent F1 and the confusion matrix (rows = true intent, columns =
predicted, both in the runtime's order).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hf_pipeline.intents import INTENTS, NUM_INTENTS
from hf_pipeline.train.metrics import metric_path

if TYPE_CHECKING:
    import torch
    from accelerate import Accelerator
    from torch.utils.data import DataLoader

log = logging.getLogger(__name__)

LABEL_IDS = list(range(NUM_INTENTS))


@functools.cache
def _metric(name: str) -> Any:
    import evaluate

    # keep_in_memory: no cache files, so several processes can compute side by side.
    return evaluate.load(metric_path(name), keep_in_memory=True)


def compute_metrics(predictions: Sequence[int] | np.ndarray,
                    references: Sequence[int] | np.ndarray) -> dict[str, Any]:
    """All reported metrics for class-id ``predictions`` against ``references``."""
    preds = np.asarray(predictions, dtype=np.int64).tolist()
    refs = np.asarray(references, dtype=np.int64).tolist()
    if not refs:
        raise ValueError("compute_metrics: no samples to evaluate.")
    f1 = _metric("f1")
    per_intent = f1.compute(predictions=preds, references=refs, labels=LABEL_IDS, average=None)
    matrix = _metric("confusion_matrix").compute(predictions=preds, references=refs,
                                                 labels=LABEL_IDS)
    return {
        "num_samples": len(refs),
        "accuracy": _metric("accuracy").compute(predictions=preds, references=refs)["accuracy"],
        "macro_f1": f1.compute(predictions=preds, references=refs, labels=LABEL_IDS,
                               average="macro")["f1"],
        "weighted_f1": f1.compute(predictions=preds, references=refs, labels=LABEL_IDS,
                                  average="weighted")["f1"],
        "per_intent_f1": dict(zip(INTENTS, per_intent["f1"], strict=True)),
        "confusion_matrix": matrix["confusion_matrix"],
    }


def predict(accelerator: Accelerator, model: torch.nn.Module,
            dataloader: DataLoader) -> tuple[np.ndarray, np.ndarray]:
    """Predicted and true class ids over the whole (sharded) dataloader, on every process."""
    import torch

    model.eval()
    preds, refs = [], []
    for batch in dataloader:
        labels = batch.pop("labels")
        with torch.inference_mode():
            logits = model(**batch).logits
        p, r = accelerator.gather_for_metrics((logits.argmax(dim=-1), labels))
        preds.append(p.cpu())
        refs.append(r.cpu())
    model.train()
    return torch.cat(preds).numpy(), torch.cat(refs).numpy()


def evaluate_loaders(accelerator: Accelerator, model: torch.nn.Module,
                     loaders: dict[str, DataLoader]) -> dict[str, dict[str, Any]]:
    """``compute_metrics`` for each named dataloader."""
    return {name: compute_metrics(*predict(accelerator, model, loader))
            for name, loader in loaders.items()}


def summary_line(name: str, metrics: dict[str, Any]) -> str:
    return (f"{name}: accuracy {metrics['accuracy']:.4f}  macro-F1 {metrics['macro_f1']:.4f}  "
            f"weighted-F1 {metrics['weighted_f1']:.4f}  (n={metrics['num_samples']})")


def format_report(name: str, metrics: dict[str, Any]) -> str:
    """A human-readable block: summary, per-intent F1, confusion matrix."""
    width = max(len(i) for i in INTENTS)
    lines = [summary_line(name, metrics), "  per-intent F1:"]
    lines += [f"    {intent:<{width}}  {f1:.4f}" for intent, f1 in metrics["per_intent_f1"].items()]
    lines.append("  confusion matrix (rows = true, columns = predicted, order as above):")
    lines += ["    " + " ".join(f"{n:5d}" for n in row) for row in metrics["confusion_matrix"]]
    return "\n".join(lines)


def evaluate_model_dir(model_dir: str | Path, texts: Sequence[str], labels: Sequence[int], *,
                       batch_size: int = 64) -> dict[str, Any]:
    """Metrics of the saved model in ``model_dir`` on texts and their gold label ids."""
    from hf_pipeline.train.inference import TorchClassifier

    classifier = TorchClassifier.from_dir(model_dir)
    logits = classifier.logits(list(texts), batch_size=batch_size)
    return compute_metrics(logits.argmax(axis=-1), list(labels))
