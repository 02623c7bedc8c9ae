"""``IntentClassifier``: the Python side of the sqry-nl runtime, over a model folder.

It does what the runtime does, in the same order: verify ``checksums.json``, read the
temperature, clean the input (``hygiene``), tokenize with the folder's ``tokenizer.json``
(truncation at MAX_LENGTH), run the ONNX graph, ``softmax(logits / T)``, argmax, and map the
confidence to a tier. A trained PyTorch folder can stand in for the ONNX graph
(``from_trained``), so results can be compared before and after export.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from hf_pipeline.contract import (
    CHECKSUMS_FILE,
    CONFIG_FILE,
    CONFIRM_THRESHOLD,
    EXECUTE_THRESHOLD,
    MAX_LENGTH,
    ONNX_FILE,
    TEMPERATURE_FILE,
    TOKENIZER_FILE,
)
from hf_pipeline.errors import DataFileError, InvalidValueError
from hf_pipeline.intents import AMBIGUOUS, INTENTS
from hf_pipeline.runtime.hygiene import CleanText, clean
from hf_pipeline.runtime.verify import verify_folder

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

EXECUTE, CONFIRM, DISAMBIGUATE = "execute", "confirm", "disambiguate"
FLAG_EMPTY = "empty_input"  # nothing left after cleaning: Ambiguous, not a model output
FLAG_TRUNCATED = "input_truncated"  # cut to MAX_INPUT_BYTES of UTF-8
DEFAULT_BATCH_SIZE = 32


class LogitsModel(Protocol):
    """What runs the network: OnnxClassifier (release) or TorchClassifier (trained folder)."""

    def logits(self, texts: Sequence[str], *, batch_size: int = ...) -> np.ndarray: ...


def tier_for(confidence: float) -> str:
    """What the runtime does at this confidence."""
    if confidence >= EXECUTE_THRESHOLD:
        return EXECUTE
    return CONFIRM if confidence >= CONFIRM_THRESHOLD else DISAMBIGUATE


@dataclass(frozen=True)
class Prediction:
    intent: str
    confidence: float
    probabilities: dict[str, float]  # label -> p, in the runtime's label order; {} if empty
    tier: str
    flags: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"intent": self.intent, "confidence": self.confidence,
                "probabilities": dict(self.probabilities), "tier": self.tier,
                "flags": list(self.flags)}


def softmax(logits: np.ndarray, temperature: float | np.ndarray = 1.0) -> np.ndarray:
    """Row-wise ``softmax(logits / T)`` in float64 (stable); T may be one per class."""
    import numpy as np

    z = np.asarray(logits, dtype=np.float64) / temperature
    z -= z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


class IntentClassifier:
    """Texts in, ``Prediction``s out, with the folder's temperature and the runtime's hygiene."""

    def __init__(self, model: LogitsModel, *, temperature: float = 1.0,
                 batch_size: int = DEFAULT_BATCH_SIZE, source: Path | None = None,
                 verified: bool = False) -> None:
        if not (math.isfinite(temperature) and temperature > 0):
            raise InvalidValueError("temperature", temperature, "a finite number > 0")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidValueError("batch_size", batch_size, "an integer >= 1")
        self.model, self.temperature, self.batch_size = model, float(temperature), batch_size
        self.source, self.verified = source, verified

    @classmethod
    def from_dir(cls, folder: str | Path, *, allow_unverified: bool = False, threads: int = 1,
                 batch_size: int = DEFAULT_BATCH_SIZE) -> IntentClassifier:
        """Load a release folder: checksums first, then temperature, config, one session."""
        from hf_pipeline.export.session import OnnxClassifier

        folder = Path(folder)
        if not folder.is_dir():
            raise DataFileError(folder, "no such model folder.",
                                fix="pass the folder written by `hf-pipeline release`.")
        verified = verify_folder(folder, allow_unverified=allow_unverified,
                                 required=(ONNX_FILE, TOKENIZER_FILE, TEMPERATURE_FILE,
                                           CONFIG_FILE))
        temperature = folder_temperature(folder)
        check_config(folder / CONFIG_FILE)
        model = OnnxClassifier(folder / ONNX_FILE, tokenizer=folder / TOKENIZER_FILE,
                               threads=threads)
        log.info("loaded %s (T = %g, inputs %s)", folder, temperature,
                 ", ".join(model.input_names))
        return cls(model, temperature=temperature, batch_size=batch_size, source=folder,
                   verified=verified)

    @classmethod
    def from_trained(cls, folder: str | Path, *, device: str = "cpu",
                     batch_size: int = DEFAULT_BATCH_SIZE) -> IntentClassifier:
        """A trained PyTorch folder (``final/`` of ``hf-pipeline train``); T from its
        temperature.json if there is one, else 1."""
        from hf_pipeline.train.inference import TorchClassifier

        folder = Path(folder)
        model = TorchClassifier.from_dir(folder, device=device)
        has_t = (folder / TEMPERATURE_FILE).is_file()
        temperature = folder_temperature(folder) if has_t else 1.0
        return cls(model, temperature=temperature, batch_size=batch_size, source=folder)

    @property
    def input_names(self) -> tuple[str, ...]:
        """The graph inputs fed (ONNX); empty for a PyTorch model."""
        return tuple(getattr(self.model, "input_names", ()))

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """Raw logits [n, 8] of the cleaned texts (what calibration fits T on)."""
        return self._logits([clean(t).text for t in texts])

    def _logits(self, cleaned: Sequence[str]) -> np.ndarray:
        import numpy as np

        # Length order keeps padding (and, for INT8, its effect on the dynamic
        # quantization range) small; results go back in the caller's order.
        order = sorted(range(len(cleaned)), key=lambda i: len(cleaned[i]))
        out = np.zeros((len(cleaned), len(INTENTS)), dtype=np.float32)
        if order:
            out[order] = self.model.logits([cleaned[i] for i in order],
                                           batch_size=self.batch_size)
        return out

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """One Prediction per text, in order; empty input gives Ambiguous, flagged."""
        if isinstance(texts, str):
            raise TypeError("predict() takes a list of texts, not one string")
        cleaned = [clean(t) for t in texts]
        todo = [i for i, c in enumerate(cleaned) if not c.empty]
        probs = softmax(self._logits([cleaned[i].text for i in todo]), self.temperature)
        out = [_empty_prediction(c) for c in cleaned]
        for row, i in enumerate(todo):
            out[i] = _prediction(probs[row], cleaned[i])
        return out


def _flags(c: CleanText) -> tuple[str, ...]:
    return ((FLAG_EMPTY,) if c.empty else ()) + ((FLAG_TRUNCATED,) if c.truncated else ())


def _empty_prediction(c: CleanText) -> Prediction:
    return Prediction(AMBIGUOUS, 0.0, {}, DISAMBIGUATE, _flags(c))


def _prediction(p: np.ndarray, c: CleanText) -> Prediction:
    best = int(p.argmax())
    confidence = float(p[best])
    return Prediction(INTENTS[best], confidence,
                      {label: float(v) for label, v in zip(INTENTS, p, strict=True)},
                      tier_for(confidence), _flags(c))


def folder_temperature(folder: Path) -> float:
    """T from ``folder/temperature.json``. A missing file means T = 1 (as the runtime, but
    loudly); a malformed one is an error, because the runtime would silently use T = 1 and
    every confidence would differ from what calibration measured."""
    from hf_pipeline.export.release import read_temperature

    path = folder / TEMPERATURE_FILE
    if not path.is_file():
        log.warning("%s: no %s, so T = 1 (uncalibrated confidences); run `hf-pipeline "
                    "calibrate` on this folder", folder, TEMPERATURE_FILE)
        return 1.0
    t = read_temperature(path)["temperature"]
    if not math.isfinite(t):
        raise DataFileError(path, f"'temperature' is {t!r}, expected a finite number > 0.",
                            fix="re-run `hf-pipeline calibrate`.")
    return float(t)


def check_config(path: Path) -> None:
    """config.json (optional; people read it, the runtime does not) must agree with the
    runtime's fixed label order and the pipeline's truncation, or the folder is mixed up."""
    if not path.is_file():
        return
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataFileError(path, f"unreadable ({e}).", fix="rebuild the folder.") from None
    id2label = config.get("id2label") if isinstance(config, dict) else None
    if id2label is not None and not isinstance(id2label, dict):
        raise DataFileError(path, f"id2label is a {type(id2label).__name__}, expected an object "
                            "of index -> label.", fix="rebuild the folder.")
    if id2label is not None:
        labels = [id2label.get(str(i)) for i in range(len(INTENTS))]
        if labels != list(INTENTS) or len(id2label) != len(INTENTS):
            raise DataFileError(path, f"id2label gives {labels}, the runtime's order is "
                                f"{list(INTENTS)}.", fix="export the model trained by "
                                "`hf-pipeline train`, which uses that order.")
    max_length = config.get("max_length") if isinstance(config, dict) else None
    if max_length is not None and max_length != MAX_LENGTH:
        raise DataFileError(path, f"max_length is {max_length!r}, this pipeline truncates at "
                            f"{MAX_LENGTH}.", fix="rebuild the folder with this version.")


def load_classifier(folder: str | Path, *, allow_unverified: bool = False, threads: int = 1,
                    batch_size: int = DEFAULT_BATCH_SIZE) -> IntentClassifier:
    """A release folder (ONNX) or a trained model folder (PyTorch), told apart by their files."""
    folder = Path(folder)
    if (folder / ONNX_FILE).is_file() or (folder / CHECKSUMS_FILE).is_file():
        return IntentClassifier.from_dir(folder, allow_unverified=allow_unverified,
                                         threads=threads, batch_size=batch_size)
    if (folder / CONFIG_FILE).is_file():
        return IntentClassifier.from_trained(folder, batch_size=batch_size)
    raise DataFileError(folder, f"not a model folder: no {ONNX_FILE} (release) and no "
                        f"{CONFIG_FILE} (trained model).",
                        fix="pass a folder written by `hf-pipeline release` or the final/ "
                        "folder of `hf-pipeline train`.")
