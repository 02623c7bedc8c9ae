"""Run an ONNX intent classifier on texts, tokenized exactly as in training.

Training tokenizes with ``AutoTokenizer(texts, truncation=True, max_length=MAX_LENGTH)`` and
pads each batch to its longest member; here the same ``tokenizer.json`` is driven through the
``tokenizers`` library directly (what the Rust runtime does), which gives identical ids at a
fraction of the per-call overhead. A single query is sent unpadded, as the runtime sends it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hf_pipeline.contract import MAX_LENGTH, ONNX_OUTPUT
from hf_pipeline.errors import DataFileError, InvalidValueError
from hf_pipeline.intents import NUM_INTENTS
from hf_pipeline.model_folder.layout import TOKENIZER_FILE

if TYPE_CHECKING:
    import numpy as np
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)


def tokenizer_file(path: str | Path) -> Path:
    """``path`` itself if it is a file, else ``path/tokenizer.json``; a clear error if absent."""
    path = Path(path)
    file = path / TOKENIZER_FILE if path.is_dir() else path
    if not file.is_file():
        raise DataFileError(file, "no tokenizer file here.",
                            fix=f"pass a {TOKENIZER_FILE} or a folder that contains one "
                            "(the trained model folder has it).")
    return file


def load_tokenizer(path: str | Path, *, max_length: int = MAX_LENGTH) -> Tokenizer:
    """The fast tokenizer from ``tokenizer.json``: truncation at ``max_length``, no padding."""
    from tokenizers import Tokenizer

    file = tokenizer_file(path)
    try:
        tokenizer = Tokenizer.from_file(str(file))
    except Exception as e:  # tokenizers raises a bare Exception on bad JSON
        raise DataFileError(file, f"not a readable tokenizer.json ({e}).",
                            fix="copy tokenizer.json from the trained model folder.") from None
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_length)
    return tokenizer


def encode(tokenizer: Tokenizer, texts: Sequence[str]) -> dict[str, np.ndarray]:
    """int64 ``input_ids``/``attention_mask``/``token_type_ids``, padded to the longest text."""
    import numpy as np

    encodings = tokenizer.encode_batch(list(texts))
    width = max(len(e.ids) for e in encodings)
    pad = tokenizer.token_to_id("[PAD]")  # masked out, so only for tidiness
    pad_id = 0 if pad is None else pad
    ids = np.full((len(encodings), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(encodings), width), dtype=np.int64)
    types = np.zeros((len(encodings), width), dtype=np.int64)
    for row, e in enumerate(encodings):
        n = len(e.ids)
        ids[row, :n], mask[row, :n], types[row, :n] = e.ids, e.attention_mask, e.type_ids
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def make_session(model_path: str | Path, *, threads: int = 1) -> Any:
    """An onnxruntime CPU session with ``threads`` intra-op threads (1 = like the runtime,
    0 = onnxruntime's default of one per core)."""
    import onnxruntime as ort

    path = Path(model_path)
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
        raise InvalidValueError("threads", threads, "an integer >= 0 (0: one per core)")
    if not path.is_file():
        raise DataFileError(path, "no ONNX model here.",
                            fix="run `hf-pipeline export model --model MODEL_DIR --output DIR` "
                            "first.")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own Fail/InvalidGraph types
        raise DataFileError(path, f"onnxruntime cannot load this model ({e}).",
                            fix="re-export it, and check it with `hf-pipeline export verify`."
                            ) from None


class OnnxClassifier:
    """An ONNX classifier plus its tokenizer: texts in, logits [n, 8] out."""

    def __init__(self, model_path: str | Path, *, tokenizer: str | Path | Tokenizer,
                 threads: int = 1) -> None:
        self.path = Path(model_path)
        self.session = make_session(self.path, threads=threads)
        self.tokenizer = (load_tokenizer(tokenizer) if isinstance(tokenizer, (str, Path))
                          else tokenizer)
        # The runtime passes token_type_ids only if the graph declares it; so do we.
        self.input_names = tuple(i.name for i in self.session.get_inputs())

    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """Logits for already-encoded inputs."""
        inputs = {name: feeds[name] for name in self.input_names}
        return self.session.run([ONNX_OUTPUT], inputs)[0]

    def logits(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, NUM_INTENTS), dtype=np.float32)
        parts = [self.run(encode(self.tokenizer, texts[i:i + batch_size]))
                 for i in range(0, len(texts), batch_size)]
        return np.concatenate(parts, axis=0)

    def predict(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """Predicted label ids (argmax of the logits; T does not change the argmax)."""
        return self.logits(texts, batch_size=batch_size).argmax(axis=1)
