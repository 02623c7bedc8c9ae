"""Facts of the sqry-nl model folder (../shared/docs/artifact-contract.md) used across stages.

Labels and their order live in ``hf_pipeline.intents``; everything else the runtime relies
on lives here, so training, export, calibration and inference cannot drift apart.
"""

from __future__ import annotations

from hf_pipeline.intents import INTENTS

# One truncation limit everywhere: training, export parity, calibration, inference.
# Written into the release folder (config.json / manifest.json) as well.
MAX_LENGTH = 128

DEFAULT_BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

ONNX_FILE = "intent_classifier.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "config.json"
TEMPERATURE_FILE = "temperature.json"
VERSION_FILE = "version.txt"
CHECKSUMS_FILE = "checksums.json"
MANIFEST_FILE = "manifest.json"

ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
ONNX_OUTPUT = "logits"

# The runtime executes at >= EXECUTE, asks to confirm at >= CONFIRM, disambiguates below.
EXECUTE_THRESHOLD = 0.85
CONFIRM_THRESHOLD = 0.65

__all__ = [
    "CHECKSUMS_FILE", "CONFIG_FILE", "CONFIRM_THRESHOLD", "DEFAULT_BASE_MODEL",
    "EXECUTE_THRESHOLD", "INTENTS", "MANIFEST_FILE", "MAX_LENGTH", "ONNX_FILE",
    "ONNX_INPUTS", "ONNX_OUTPUT", "TEMPERATURE_FILE", "TOKENIZER_FILE", "VERSION_FILE",
]
