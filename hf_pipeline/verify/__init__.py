"""Human verification of generated labels: review, summarize, apply to the dataset."""

from hf_pipeline.verify.apply import apply_verification
from hf_pipeline.verify.review import parse_intent, review
from hf_pipeline.verify.store import VerificationFile, load_verification
from hf_pipeline.verify.summary import (
    TARGET_FRACTION,
    Correction,
    Summary,
    format_summary,
    summarize,
)

__all__ = [
    "TARGET_FRACTION",
    "Correction",
    "Summary",
    "VerificationFile",
    "apply_verification",
    "format_summary",
    "load_verification",
    "parse_intent",
    "review",
    "summarize",
]
