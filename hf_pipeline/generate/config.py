"""GenerateConfig: every option of ``hf-pipeline generate``, defaults only here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hf_pipeline.config import check_fields, option
from hf_pipeline.contract import MAX_SAMPLES_PER_INTENT, MIN_SAMPLES_PER_INTENT
from hf_pipeline.errors import InvalidValueError
from hf_pipeline.generate.augment import AUGMENTATIONS
from hf_pipeline.generate.slots import SLOTS_FILE
from hf_pipeline.generate.templates import TEMPLATES_DIR


@dataclass(frozen=True)
class GenerateConfig:
    output: Path = Path("out/data")
    samples_per_intent: int = option(MIN_SAMPLES_PER_INTENT, ge=10, le=MAX_SAMPLES_PER_INTENT)
    seed: int = 1
    # Shares of each intent's samples; validation and test come from held-out templates.
    validation_fraction: float = option(0.1, gt=0, lt=0.4)
    test_fraction: float = option(0.1, gt=0, lt=0.4)
    # Share of each intent's template lines held out for validation, and again for test.
    heldout_template_fraction: float = option(0.15, gt=0, lt=0.4)
    # Share of open slot vocabularies (identifier words, paths, texts) seen only in val/test.
    heldout_value_fraction: float = option(0.25, gt=0, le=0.5)
    augment_ratio: float = option(0.3, ge=0, le=1)
    # Share of samples (every intent but Ambiguous) that get one option phrase (a depth, a
    # limit, a language, a path, an output format: the kinds the intent's template file
    # declares under ``options:``) appended or prepended. Options never change the intent.
    option_ratio: float = option(0.25, ge=0, le=1)
    augmentations: tuple[str, ...] = tuple(AUGMENTATIONS)
    templates_dir: Path | None = None
    slots_file: Path | None = None
    allow_small: bool = False
    verification_output: Path | None = None
    verification_fraction: float = option(0.1, gt=0, le=0.5)
    write_dataset_dict: bool = True

    def __post_init__(self) -> None:
        check_fields(self)
        if self.samples_per_intent < MIN_SAMPLES_PER_INTENT and not self.allow_small:
            raise InvalidValueError(
                "samples_per_intent", self.samples_per_intent,
                f">= {MIN_SAMPLES_PER_INTENT} for a training set",
                fix="Pass --allow-small for a quick experiment or a test fixture.")
        unknown = [a for a in self.augmentations if a not in AUGMENTATIONS]
        if unknown:
            raise InvalidValueError("augmentations", ",".join(unknown),
                                    f"names from {', '.join(AUGMENTATIONS)}")
        if self.augment_ratio > 0 and not self.augmentations:
            raise InvalidValueError("augmentations", "", "at least one name when augment_ratio > 0")

    @property
    def inputs(self) -> dict[str, Path]:
        """What generation reads, by option, for ``io.check_outputs``."""
        return {"--templates": self.templates_dir or TEMPLATES_DIR,
                "--slots": self.slots_file or SLOTS_FILE}

    def split_counts(self) -> dict[str, int]:
        """Samples per intent in each split; they add up to ``samples_per_intent``."""
        validation = round(self.samples_per_intent * self.validation_fraction)
        test = round(self.samples_per_intent * self.test_fraction)
        return {"train": self.samples_per_intent - validation - test,
                "validation": validation, "test": test}
