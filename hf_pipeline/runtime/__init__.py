"""The runtime's view of a model folder: verify, load, clean the input, predict with T.

The floor of the package: it imports no stage, and needs only numpy, onnxruntime, tokenizers
(and huggingface_hub for ``IntentClassifier.from_hub``).
"""

from hf_pipeline.model_folder.checksums import ChecksumError, verify_folder
from hf_pipeline.runtime.classifier import (
    CONFIRM,
    DISAMBIGUATE,
    EXECUTE,
    FLAG_EMPTY,
    FLAG_TRUNCATED,
    IntentClassifier,
    Prediction,
    load_classifier,
    softmax,
    tier_for,
)
from hf_pipeline.runtime.hygiene import MAX_INPUT_BYTES, clean

__all__ = [
    "CONFIRM", "DISAMBIGUATE", "EXECUTE", "FLAG_EMPTY", "FLAG_TRUNCATED", "MAX_INPUT_BYTES",
    "ChecksumError", "IntentClassifier", "Prediction", "clean", "load_classifier", "softmax",
    "tier_for", "verify_folder",
]
