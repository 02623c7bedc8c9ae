"""The feedback review file: written by ``feedback pull``, answered by ``feedback review``, read
by ``feedback publish``. One JSON object, saved atomically after every answer::

    {"metadata": {"kind", "repo", "since", "since_commit", "head", "commits", "rows",
                  "malformed", "malformed_lines", "created_by"},
     "samples": [{"id", "text", "intent" (the user's answer), "answer", "count", "answers",
                  "predicted", "model_revisions", "feedback_commits", "notes", "row_ids",
                  "first_time", "last_time", "flag": null | "dev set" | "calibration set",
                  "review": null | {"verdict", "corrected_intent", "reason", "reviewer"}}]}

``flag`` marks a text equal (``request_key``) to a row of a held-out human set; it is worked
out again whenever the file is loaded, so a set that grew since the pull counts too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hf_pipeline.errors import DataFileError
from hf_pipeline.feedback.requests import request_key
from hf_pipeline.intents import INTENTS
from hf_pipeline.io import atomic_write_json, read_json

KIND = "hf-pipeline feedback review"
ACCEPTED, RELABELLED, REJECTED, SKIPPED = "accepted", "relabelled", "rejected", "skipped"
VERDICTS = (ACCEPTED, RELABELLED, REJECTED, SKIPPED)
HELD_OUT = "held-out"
REASONS = ("spam", "not-a-request", "ambiguous-by-design", HELD_OUT)
DEV_FLAG, CALIBRATION_FLAG = "dev set", "calibration set"
REPULL = "pull it again with `hf-pipeline feedback pull --repo NS/NAME -o FILE`"


@dataclass
class ReviewFile:
    """A loaded, checked review file; ``samples`` are the file's own dicts."""

    path: Path
    metadata: dict[str, Any]
    samples: list[dict[str, Any]]

    def save(self) -> None:
        """Atomically rewrite the whole file (a crash leaves the old or the new one)."""
        atomic_write_json(self.path, {"metadata": self.metadata, "samples": self.samples})


def held_out_sets() -> dict[str, Path]:
    """The human sets no feedback may enter: the dev set and, once it exists, the human
    calibration set (read from ``data_sources`` at call time)."""
    from hf_pipeline import data_sources

    return {DEV_FLAG: Path(data_sources.DEV_SET_PATH),
            CALIBRATION_FLAG: Path(data_sources.CALIBRATION_SET_PATH)}


def held_out_flags() -> dict[str, str]:
    """request_key -> the held-out set that holds that text (a missing set holds nothing)."""
    from hf_pipeline.data_sources import text_keys

    flags: dict[str, str] = {}
    for name, path in held_out_sets().items():
        for key in text_keys(path):
            flags.setdefault(key, name)
    return flags


def load_review_file(path: str | Path) -> ReviewFile:
    """Read and check ``path``; a DataFileError names the sample, field, value and fix."""
    path = Path(path)
    data = read_json(path, fix=f"repair it, or {REPULL}.")
    if not isinstance(data, dict) or not isinstance(data.get("samples"), list) or not (
            isinstance(data.get("metadata"), dict) and data["metadata"].get("kind") == KIND):
        raise DataFileError(path, f"not a feedback review file (expected an object with "
                            f"'metadata.kind' = {KIND!r} and a 'samples' list).",
                            fix=f"pass the file `feedback pull` wrote, or {REPULL}.")
    seen: set[str] = set()
    flags = held_out_flags()
    for index, sample in enumerate(data["samples"]):
        _check_sample(path, index, sample)
        if sample["id"] in seen:
            raise DataFileError(path, f"sample {index}: id {sample['id']!r} repeats.",
                                fix=f"keep one entry per id, or {REPULL}.")
        seen.add(sample["id"])
        sample["flag"] = flags.get(request_key(sample["text"]))
    return ReviewFile(path, data["metadata"], data["samples"])


def _bad(path: Path, index: int, sample: Any, field: str, expected: str,
         fix: str = "") -> DataFileError:
    sid = sample.get("id") if isinstance(sample, dict) else None
    who = f"sample {index}" + (f" (id {sid!r})" if isinstance(sid, str) else "")
    value = sample
    for part in field.split("."):
        value = value.get(part, "missing") if isinstance(value, dict) else "missing"
    return DataFileError(path, f"{who}: field {field!r} is {value!r}, expected {expected}.",
                         fix=fix or f"repair it, or {REPULL}.")


def _check_sample(path: Path, index: int, sample: Any) -> None:
    if not isinstance(sample, dict):
        raise DataFileError(path, f"sample {index}: expected an object, got {sample!r}.",
                            fix=f"restore that entry, or {REPULL}.")
    for field in ("id", "text", "intent"):
        if not (isinstance(sample.get(field), str) and sample[field].strip()):
            raise _bad(path, index, sample, field, "a non-empty string")
    if sample["intent"] not in INTENTS:
        raise _bad(path, index, sample, "intent", f"one of {', '.join(INTENTS)}")
    count = sample.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise _bad(path, index, sample, "count", "a positive integer")
    review = sample.get("review")
    if review is None:
        return
    redo = "Fix it or set 'review' to null to review this sample again."
    if not isinstance(review, dict) or review.get("verdict") not in VERDICTS:
        raise _bad(path, index, sample, "review.verdict" if isinstance(review, dict)
                   else "review", f"one of {', '.join(VERDICTS)}", redo)
    corrected = review.get("corrected_intent")
    if (review["verdict"] == RELABELLED) != (corrected is not None) or (
            corrected is not None and (corrected not in INTENTS
                                       or corrected == sample["intent"])):
        raise _bad(path, index, sample, "review.corrected_intent",
                   f"an intent other than {sample['intent']!r} for verdict relabelled, "
                   "else null", redo)
    reason = review.get("reason")
    if (review["verdict"] == REJECTED) != (reason is not None) or (
            reason is not None and reason not in REASONS):
        raise _bad(path, index, sample, "review.reason",
                   f"one of {', '.join(REASONS)} for verdict rejected, else null", redo)
