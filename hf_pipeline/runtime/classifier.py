"""``IntentClassifier``: the Python side of the sqry-nl runtime, over a model folder.

It does what the runtime does, in the same order: verify ``checksums.json``, read the
temperature, clean the input (``hygiene``), tokenize with the folder's ``tokenizer.json``
(truncation at MAX_LENGTH), run the ONNX graph, ``softmax(logits / T)``, argmax, and map the
confidence to a tier. Any ``LogitsModel`` can stand in for the ONNX graph: ``train`` passes
its PyTorch model in (``hf_pipeline.train.inference``), so results compare before and after
export without the runtime importing torch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from hf_pipeline.contract import CONFIRM_THRESHOLD, EXECUTE_THRESHOLD
from hf_pipeline.errors import DataFileError, InvalidValueError
from hf_pipeline.intents import AMBIGUOUS, INTENTS
from hf_pipeline.limits import check_batch_size
from hf_pipeline.model_folder.layout import (
    CONFIG_FILE,
    ONNX_FILE,
    TOKENIZER_FILE,
    is_release_folder,
)
from hf_pipeline.model_folder.reader import Release, open_release
from hf_pipeline.model_folder.temperature import temperature_problem
from hf_pipeline.repo_ids import is_hub_spec, split_spec
from hf_pipeline.runtime.hygiene import CleanText, clean

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

EXECUTE, CONFIRM, DISAMBIGUATE = "execute", "confirm", "disambiguate"
FLAG_EMPTY = "empty_input"  # nothing left after cleaning: Ambiguous, not a model output
FLAG_TRUNCATED = "input_truncated"  # cut to MAX_INPUT_BYTES of UTF-8
# One unpadded query per model call, as sqry runs it. With the INT8 graph's dynamic
# quantization the activation range is taken per batch, so padded batches give slightly
# different logits: on the default run's dev set, batches of 32 made `predict` report 96.86%
# with 4 confident errors where the runtime's path (and calibration) gives 97.48% with 5.
DEFAULT_BATCH_SIZE = 1


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
        problem = temperature_problem(temperature)
        if problem:
            raise InvalidValueError("temperature", temperature, problem)
        check_batch_size(batch_size)
        self.model, self.temperature, self.batch_size = model, float(temperature), batch_size
        self.source, self.verified = source, verified
        self.repo_id: str | None = None
        self.commit: str | None = None
        self.model_version: str | None = None
        self.calibration: dict[str, Any] | None = None  # temperature.json, when read

    @classmethod
    def from_dir(cls, folder: str | Path, *, allow_unverified: bool = False, threads: int = 1,
                 batch_size: int = DEFAULT_BATCH_SIZE) -> IntentClassifier:
        """Load a release folder: verified first (``open_release``), then one session."""
        return cls.from_release(open_release(folder, allow_unverified=allow_unverified),
                                threads=threads, batch_size=batch_size)

    @classmethod
    def from_release(cls, release: Release, *, threads: int = 1,
                     batch_size: int = DEFAULT_BATCH_SIZE) -> IntentClassifier:
        """The classifier of a folder ``open_release`` has read and verified."""
        from hf_pipeline.runtime.onnx import OnnxClassifier

        model = OnnxClassifier(release.path(ONNX_FILE), tokenizer=release.path(TOKENIZER_FILE),
                               threads=threads)
        temperature = float(release.temperature["temperature"])
        log.info("loaded %s (T = %g, inputs %s)", release.folder, temperature,
                 ", ".join(model.input_names))
        classifier = cls(model, temperature=temperature, batch_size=batch_size,
                         source=release.folder, verified=release.verified)
        classifier.calibration = dict(release.temperature)
        classifier.model_version = release.version.get("model_version")
        return classifier

    @classmethod
    def from_hub(cls, repo_id: str, *, revision: str = "main", token: str | None = None,
                 cache_dir: str | Path | None = None, threads: int = 1,
                 batch_size: int = DEFAULT_BATCH_SIZE) -> IntentClassifier:
        """A model repo at ``revision`` (tag, branch or commit): the revision is resolved to
        its commit first and exactly that commit is downloaded, then loaded as ``from_dir``
        does (checksums verified before anything is read; a mismatch names the file)."""
        from hf_pipeline.runtime.hub import download_model

        folder, commit = download_model(repo_id, revision=revision, token=token,
                                        cache_dir=cache_dir)
        classifier = cls.from_dir(folder, threads=threads, batch_size=batch_size)
        classifier.repo_id, classifier.commit = repo_id, commit
        return classifier

    def about(self) -> dict[str, Any]:
        """Where the model came from and what calibration measured, for people (the demo)."""
        document = self.calibration or {}
        # The sets T was fitted or chosen on are no result: only the report sets are shown.
        metrics = {name: {"accuracy": m["after"]["accuracy"], "ece_before": m["before"]["ece"],
                          "ece_after": m["after"]["ece"]}
                   for name, m in (document.get("metrics_by_set") or {}).items()
                   if not m.get("in_sample")}
        return {"source": self.repo_id or (str(self.source) if self.source else None),
                "repo_id": self.repo_id, "commit": self.commit,
                "model_version": self.model_version, "temperature": self.temperature,
                "calibration_split": document.get("calibration_split"), "metrics": metrics}

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


LoadTrained = Callable[..., "IntentClassifier"]


def load_classifier(model: str | Path, *, allow_unverified: bool = False, threads: int = 1,
                    batch_size: int = DEFAULT_BATCH_SIZE,
                    load_trained: LoadTrained | None = None) -> IntentClassifier:
    """A release folder (ONNX), a model repo on the Hub as ``R@REVISION``, or, when the
    caller passes ``load_trained`` (train's PyTorch loader), a trained model folder."""
    if is_hub_spec(model):
        repo_id, revision = split_spec(model, alternative="a model folder")
        if allow_unverified:
            raise InvalidValueError("--allow-unverified", True, "not given for a Hub model",
                                    fix="a model from the Hub is always verified.")
        return IntentClassifier.from_hub(repo_id, revision=revision, threads=threads,
                                         batch_size=batch_size)
    folder = Path(model)
    if is_release_folder(folder):
        return IntentClassifier.from_dir(folder, allow_unverified=allow_unverified,
                                         threads=threads, batch_size=batch_size)
    if load_trained is not None and (folder / CONFIG_FILE).is_file():
        return load_trained(folder, batch_size=batch_size)
    trained = f" and no {CONFIG_FILE} (trained model)" if load_trained else ""
    raise DataFileError(folder, f"not a model folder: no {ONNX_FILE} (release){trained}.",
                        fix="pass a folder written by `hf-pipeline release`"
                        + (" or the final/ folder of `hf-pipeline train`" if load_trained
                           else "") + ", or a Hub model as namespace/name@tag.")
