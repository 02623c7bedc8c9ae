"""GenerateConfig: every option of ``hf-pipeline generate``, defaults only here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hf_pipeline.contract import MAX_SAMPLES_PER_INTENT, MIN_SAMPLES_PER_INTENT
from hf_pipeline.errors import InvalidValueError
from hf_pipeline.generate.augment import AUGMENTATIONS


@dataclass(frozen=True)
class GenerateConfig:
    output: Path = Path("out/data")
    samples_per_intent: int = MIN_SAMPLES_PER_INTENT
    seed: int = 1
    # Shares of each intent's samples; validation and test come from held-out templates.
    validation_fraction: float = 0.1
    test_fraction: float = 0.1
    # Share of each intent's template lines held out for validation, and again for test.
    heldout_template_fraction: float = 0.15
    # Share of open slot vocabularies (identifier words, paths, texts) seen only in val/test.
    heldout_value_fraction: float = 0.25
    augment_ratio: float = 0.3
    # Share of samples (every intent but Ambiguous) that get one option phrase (a depth, a
    # limit, a language, a path, an output format: the kinds the intent's template file
    # declares under ``options:``) appended or prepended. Options never change the intent.
    option_ratio: float = 0.25
    augmentations: tuple[str, ...] = tuple(AUGMENTATIONS)
    templates_dir: Path | None = None
    slots_file: Path | None = None
    allow_small: bool = False
    verification_output: Path | None = None
    verification_fraction: float = 0.1
    write_dataset_dict: bool = True

    def __post_init__(self) -> None:
        for name in ("output", "templates_dir", "slots_file", "verification_output"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))
        if isinstance(self.augmentations, str | list):
            names = self.augmentations.split(",") if isinstance(self.augmentations, str) \
                else self.augmentations
            object.__setattr__(self, "augmentations", tuple(n.strip() for n in names if n.strip()))
        self._check()

    def _check(self) -> None:
        n = self.samples_per_intent
        if not isinstance(n, int) or isinstance(n, bool) or not 10 <= n <= MAX_SAMPLES_PER_INTENT:
            raise InvalidValueError("samples_per_intent", n,
                                    f"an integer from 10 to {MAX_SAMPLES_PER_INTENT}")
        if n < MIN_SAMPLES_PER_INTENT and not self.allow_small:
            raise InvalidValueError(
                "samples_per_intent", n, f">= {MIN_SAMPLES_PER_INTENT} for a training set",
                fix="Pass --allow-small for a quick experiment or a test fixture.")
        for name in ("validation_fraction", "test_fraction", "heldout_template_fraction"):
            value = getattr(self, name)
            if not 0 < value < 0.4:
                raise InvalidValueError(name, value, "a fraction between 0 and 0.4")
        for name in ("heldout_value_fraction", "verification_fraction"):
            value = getattr(self, name)
            if not 0 < value <= 0.5:
                raise InvalidValueError(name, value, "a fraction in (0, 0.5]")
        if not 0 <= self.augment_ratio <= 1:
            raise InvalidValueError("augment_ratio", self.augment_ratio, "a value in [0, 1]")
        if not 0 <= self.option_ratio <= 1:
            raise InvalidValueError("option_ratio", self.option_ratio, "a value in [0, 1]")
        unknown = [a for a in self.augmentations if a not in AUGMENTATIONS]
        if unknown:
            raise InvalidValueError("augmentations", ",".join(unknown),
                                    f"names from {', '.join(AUGMENTATIONS)}")
        if self.augment_ratio > 0 and not self.augmentations:
            raise InvalidValueError("augmentations", "", "at least one name when augment_ratio > 0")

    def split_counts(self) -> dict[str, int]:
        """Samples per intent in each split; they add up to ``samples_per_intent``."""
        validation = round(self.samples_per_intent * self.validation_fraction)
        test = round(self.samples_per_intent * self.test_fraction)
        return {"train": self.samples_per_intent - validation - test,
                "validation": validation, "test": test}
