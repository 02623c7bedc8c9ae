"""The runtime's view of a model folder: verify, load, clean the input, predict with T."""

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
from hf_pipeline.runtime.verify import ChecksumError, verify_folder

__all__ = [
    "CONFIRM", "DISAMBIGUATE", "EXECUTE", "FLAG_EMPTY", "FLAG_TRUNCATED", "MAX_INPUT_BYTES",
    "ChecksumError", "IntentClassifier", "Prediction", "clean", "load_classifier", "softmax",
    "tier_for", "verify_folder",
]
