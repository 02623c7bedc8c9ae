"""Counts, accuracy, corrections and the 10%-verified acceptance target of a verification file."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hf_pipeline.verify.store import (
    CORRECT,
    INCORRECT,
    SKIPPED,
    VerificationFile,
    load_verification,
)

# The acceptance criterion: at least this fraction of the dataset checked by a person.
TARGET_FRACTION = 0.1


@dataclass(frozen=True)
class Correction:
    id: str
    text: str
    from_intent: str
    to_intent: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "text": self.text, "from": self.from_intent, "to": self.to_intent}


@dataclass(frozen=True)
class Summary:
    """Where a review stands. ``checked`` = correct + incorrect (skips do not count)."""

    file: str
    total: int
    reviewed: int
    correct: int
    incorrect: int
    skipped: int
    remaining: int
    corrections: tuple[Correction, ...]
    dataset_samples: int | None
    dataset_samples_estimated: bool
    target_fraction: float

    @property
    def checked(self) -> int:
        return self.correct + self.incorrect

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.checked if self.checked else None

    @property
    def fraction_of_dataset(self) -> float | None:
        return self.checked / self.dataset_samples if self.dataset_samples else None

    @property
    def target_checks(self) -> int | None:
        """Checked samples the target needs (None when the dataset size is unknown)."""
        if not self.dataset_samples:
            return None
        return math.ceil(round(self.target_fraction * self.dataset_samples, 9))

    @property
    def target_met(self) -> bool | None:
        need = self.target_checks
        return None if need is None else self.checked >= need

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["corrections"] = [c.to_dict() for c in self.corrections]
        for name in ("checked", "accuracy", "fraction_of_dataset", "target_checks",
                     "target_met"):
            out[name] = getattr(self, name)
        return out


def summarize(source: VerificationFile | str | Path, *,
              target_fraction: float = TARGET_FRACTION) -> Summary:
    """Summarize a verification file (a path is loaded and checked first)."""
    vf = source if isinstance(source, VerificationFile) else load_verification(source)
    counts = {CORRECT: 0, INCORRECT: 0, SKIPPED: 0}
    corrections = []
    for sample in vf.samples:
        review = sample.get("review")
        if review is None:
            continue
        counts[review["verdict"]] += 1
        if review["verdict"] == INCORRECT:
            corrections.append(Correction(sample["id"], sample["text"], sample["intent"],
                                          review["corrected_intent"]))
    size, estimated = _dataset_size(vf)
    reviewed = sum(counts.values())
    return Summary(file=str(vf.path), total=len(vf.samples), reviewed=reviewed,
                   correct=counts[CORRECT], incorrect=counts[INCORRECT],
                   skipped=counts[SKIPPED], remaining=len(vf.samples) - reviewed,
                   corrections=tuple(corrections), dataset_samples=size,
                   dataset_samples_estimated=estimated, target_fraction=target_fraction)


def _dataset_size(vf: VerificationFile) -> tuple[int | None, bool]:
    """The dataset's sample count from the metadata, else estimated from 'fraction'."""
    size = vf.metadata.get("dataset_samples")
    if size is not None:
        return size, False
    fraction = vf.metadata.get("fraction")
    if fraction and vf.samples:
        return round(len(vf.samples) / fraction), True
    return None, False


def format_summary(summary: Summary) -> str:
    """The human-readable report printed at the end of a review and by ``--summary``."""
    s = summary
    acc = "n/a (nothing checked yet)" if s.accuracy is None else (
        f"{s.accuracy:.1%} ({s.correct}/{s.checked})")
    lines = [
        f"{s.file}: {s.total} samples",
        f"  reviewed   {s.reviewed}  (correct {s.correct}, incorrect {s.incorrect}, "
        f"skipped {s.skipped})",
        f"  remaining  {s.remaining}",
        f"  accuracy   {acc}",
    ]
    if s.corrections:
        lines.append(f"  corrections ({len(s.corrections)}):")
        lines += [f"    {c.id}  {c.from_intent} -> {c.to_intent}  {c.text!r}"
                  for c in s.corrections]
    else:
        lines.append("  corrections: none")
    lines.append("  " + _target_line(s))
    return "\n".join(lines)


def _target_line(s: Summary) -> str:
    goal = f"{s.target_fraction:.0%} target"
    if s.target_checks is None:
        return (f"{goal}: unknown (the metadata has neither 'dataset_samples' nor "
                f"'fraction'); {s.checked} checked")
    size = f"{s.dataset_samples}" + (" (estimated from metadata.fraction)"
                                     if s.dataset_samples_estimated else "")
    head = (f"{goal}: {s.checked} checked of {size} dataset samples = "
            f"{s.fraction_of_dataset:.1%}")
    if s.target_met:
        return f"{head} -> met"
    need = s.target_checks - s.checked
    if need > s.remaining + s.skipped:
        return (f"{head} -> not met, and this file cannot meet it (needs {need} more checks, "
                f"has {s.remaining + s.skipped} open); regenerate it with a larger fraction")
    return f"{head} -> not met (check {need} more)"
