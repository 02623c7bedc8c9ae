"""Facts every stage shares: the runtime's contract and the pipeline's own fixed choices.

Labels and their order live in ``hf_pipeline.intents``; the model folder's file names and
format belong to ``hf_pipeline.model_folder``. Everything else that more than one stage relies on
lives here, once, so training, export, calibration and inference cannot drift apart.
"""

from __future__ import annotations

# One truncation limit everywhere: training, export parity, calibration, inference.
# Written into the release folder (config.json / manifest.json) as well.
MAX_LENGTH = 128

DEFAULT_BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
ONNX_OUTPUT = "logits"

# The runtime executes at >= EXECUTE, asks to confirm at >= CONFIRM, disambiguates below.
EXECUTE_THRESHOLD = 0.85
CONFIRM_THRESHOLD = 0.65

# The generated dataset: its splits, its files, and the size a training set must reach.
SPLITS: tuple[str, ...] = ("train", "validation", "test")
DEV = "dev"  # the human-written dev set, reported next to the splits
DATASET_JSON = "dataset.json"
DATASET_DICT_DIR = "dataset_dict"
VERIFICATION_JSON = "verification.json"  # the 10% human-review sample beside the data
MIN_SAMPLES_PER_INTENT = 1000
# More distinct requests than the templates can give in reasonable time (and than any
# training set here needs): refused up front instead of running without end.
MAX_SAMPLES_PER_INTENT = 50_000

# Beside a Space's app.py: the model repo, tag and commit it serves. Written by the Space
# builder (hf_pipeline.publish.space), read by the app (spaces_demo/app.py).
SPACE_CONFIG_FILE = "space_config.json"

# The Space's feedback (issue 22): space_config.json names the dataset repo and the commit
# schedule; the write token reaches the app only through FEEDBACK_TOKEN_ENV (a Space secret,
# or the demo's environment), and the demo, which has no space_config.json, passes the repo
# and schedule through the two other variables (read before space_config.json).
FEEDBACK_REPO_KEY, FEEDBACK_EVERY_KEY = "feedback_repo", "feedback_every_minutes"
FEEDBACK_TOKEN_ENV = "SQRY_NL_FEEDBACK_TOKEN"
FEEDBACK_REPO_ENV = "SQRY_NL_FEEDBACK_REPO"
FEEDBACK_EVERY_ENV = "SQRY_NL_FEEDBACK_EVERY_MINUTES"
FEEDBACK_EVERY_MINUTES = 5.0  # CommitScheduler's own default

# Bounds of the temperature search (and of a temperature.json we accept as sane).
T_MIN, T_MAX = 0.05, 20.0

__all__ = [
    "CONFIRM_THRESHOLD", "DATASET_DICT_DIR", "DATASET_JSON", "DEFAULT_BASE_MODEL", "DEV",
    "EXECUTE_THRESHOLD", "FEEDBACK_EVERY_ENV", "FEEDBACK_EVERY_KEY", "FEEDBACK_EVERY_MINUTES",
    "FEEDBACK_REPO_ENV", "FEEDBACK_REPO_KEY", "FEEDBACK_TOKEN_ENV", "MAX_LENGTH",
    "MAX_SAMPLES_PER_INTENT", "MIN_SAMPLES_PER_INTENT",
    "ONNX_INPUTS", "ONNX_OUTPUT", "SPACE_CONFIG_FILE", "SPLITS", "T_MAX", "T_MIN",
    "VERIFICATION_JSON",
]
