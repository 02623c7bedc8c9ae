"""The verification file: load it, check every field, save it atomically after each answer.

Layout (written by ``hf-pipeline generate --verification-output FILE``)::

    {"metadata": {"dataset", "dataset_sha256", "fraction", "seed", "created_by", ...},
     "samples": [{"id", "text", "intent", "source", "split", "template_id",
                  "review": null | {"verdict", "corrected_intent", "reviewer"}}]}

The raw dicts are kept as loaded so that fields this module does not know survive a save.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hf_pipeline.errors import DataFileError
from hf_pipeline.intents import INTENTS
from hf_pipeline.io import atomic_write_json

CORRECT, INCORRECT, SKIPPED = "correct", "incorrect", "skipped"
VERDICTS: tuple[str, ...] = (CORRECT, INCORRECT, SKIPPED)
REGENERATE = "regenerate it with `hf-pipeline generate --verification-output FILE`"


@dataclass
class VerificationFile:
    """A loaded, checked verification file; ``samples`` are the file's own dicts."""

    path: Path
    metadata: dict[str, Any]
    samples: list[dict[str, Any]]

    def save(self) -> None:
        """Atomically rewrite the whole file (a crash leaves the old or the new one)."""
        atomic_write_json(self.path, {"metadata": self.metadata, "samples": self.samples})


def load_verification(path: str | Path) -> VerificationFile:
    """Read and check ``path``; a ``DataFileError`` names the sample, field, value and fix."""
    path = Path(path)
    data = _read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("samples"), list):
        found = type(data).__name__ if not isinstance(data, dict) else (
            "no 'samples'" if "samples" not in data
            else f"'samples' of type {type(data['samples']).__name__}")
        raise DataFileError(path, f"expected an object with a 'samples' list, found {found}.",
                            fix=f"pass the verification file itself, or {REGENERATE}.")
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise DataFileError(path, f"'metadata' must be an object, got {metadata!r}.",
                            fix=f"restore the metadata or {REGENERATE}.")
    _check_metadata(path, metadata)
    samples = data["samples"]
    seen: dict[str, int] = {}
    for index, sample in enumerate(samples):
        _check_sample(path, index, sample)
        if sample["id"] in seen:
            raise DataFileError(path, f"sample {index} (id {sample['id']!r}): field 'id' "
                                f"repeats sample {seen[sample['id']]}.",
                                fix=f"keep one entry per id, or {REGENERATE}.")
        seen[sample["id"]] = index
    return VerificationFile(path=path, metadata=metadata, samples=samples)


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise DataFileError(path, f"cannot read the verification file ({e.strerror}).",
                            fix="check the path.") from None
    except UnicodeDecodeError:
        raise DataFileError(path, "not UTF-8 text, so not a verification file.",
                            fix=f"pass the JSON verification file, or {REGENERATE}.") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise DataFileError(path, f"not valid JSON ({e.msg} at column {e.colno}).",
                            line=e.lineno,
                            fix=f"repair the JSON at that spot, or {REGENERATE}.") from None


def _check_metadata(path: Path, metadata: dict[str, Any]) -> None:
    fraction = metadata.get("fraction")
    if fraction is not None and not (_is_number(fraction) and 0 < fraction <= 1):
        raise DataFileError(path, f"field 'metadata.fraction' is {fraction!r}, expected a "
                            "number in (0, 1].", fix="set it to the sampled fraction, e.g. 0.1.")
    size = metadata.get("dataset_samples")
    if size is not None and not (isinstance(size, int) and not isinstance(size, bool)
                                 and size > 0):
        raise DataFileError(path, f"field 'metadata.dataset_samples' is {size!r}, expected a "
                            "positive integer.", fix="set it to the dataset's sample count or "
                            "remove it.")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _bad(path: Path, index: int, sample: Any, field: str, value: Any, expected: str,
         fix: str) -> DataFileError:
    sid = sample.get("id") if isinstance(sample, dict) else None
    who = f"sample {index}" + (f" (id {sid!r})" if isinstance(sid, str) else "")
    shown = "missing" if value is _MISSING else f"{value!r}"
    return DataFileError(path, f"{who}: field {field!r} is {shown}, expected {expected}.",
                         fix=fix)


_MISSING = object()
_INTENT_LIST = f"one of {', '.join(INTENTS)}"


def _check_sample(path: Path, index: int, sample: Any) -> None:
    if not isinstance(sample, dict):
        raise DataFileError(path, f"sample {index}: expected an object, got {sample!r}.",
                            fix=f"restore that entry, or {REGENERATE}.")
    for field in ("id", "text", "intent"):
        value = sample.get(field, _MISSING)
        if not (isinstance(value, str) and value.strip()):
            raise _bad(path, index, sample, field, value, "a non-empty string",
                       f"restore the sample's {field!r}, or {REGENERATE}.")
    if sample["intent"] not in INTENTS:
        raise _bad(path, index, sample, "intent", sample["intent"], _INTENT_LIST,
                   f"use the exact label name (case-sensitive), or {REGENERATE}.")
    _check_review(path, index, sample)


def _check_review(path: Path, index: int, sample: dict[str, Any]) -> None:
    review = sample.get("review")
    if review is None:
        return
    redo = "or set 'review' to null to review this sample again."
    if not isinstance(review, dict):
        raise _bad(path, index, sample, "review", review, "null or an object", f"Fix it {redo}")
    verdict = review.get("verdict", _MISSING)
    if verdict not in VERDICTS:
        raise _bad(path, index, sample, "review.verdict", verdict,
                   f"one of {', '.join(VERDICTS)}", f"use one of those {redo}")
    corrected = review.get("corrected_intent")
    if verdict == INCORRECT and (corrected not in INTENTS or corrected == sample["intent"]):
        raise _bad(path, index, sample, "review.corrected_intent", corrected,
                   f"{_INTENT_LIST}, other than the sample's intent {sample['intent']!r}",
                   f"write the correct label {redo}")
    if verdict != INCORRECT and corrected is not None:
        raise _bad(path, index, sample, "review.corrected_intent", corrected,
                   f"null for verdict {verdict!r}", f"remove it {redo}")
    reviewer = review.get("reviewer")
    if reviewer is not None and not isinstance(reviewer, str):
        raise _bad(path, index, sample, "review.reviewer", reviewer, "null or a name",
                   f"write a name {redo}")


def make_review(verdict: str, *, corrected_intent: str | None = None,
                reviewer: str | None = None) -> dict[str, Any]:
    """The ``review`` object stored with a sample (no timestamp: the file stays reproducible)."""
    return {"verdict": verdict, "corrected_intent": corrected_intent, "reviewer": reviewer}
