"""``generate(cfg) -> Path``: templates + slot values -> a balanced, reproducible dataset."""

from __future__ import annotations

import logging
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hf_pipeline import __version__
from hf_pipeline.config import to_dict
from hf_pipeline.contract import MIN_SAMPLES_PER_INTENT, VERIFICATION_JSON
from hf_pipeline.errors import PipelineError
from hf_pipeline.generate.augment import AUGMENTATIONS
from hf_pipeline.generate.config import GenerateConfig
from hf_pipeline.generate.options import load_options
from hf_pipeline.generate.outputs import (
    STATS_JSON,
    ensure_writable,
    write_dataset_dict,
    write_dataset_json,
    write_verification,
)
from hf_pipeline.generate.sampling import Sample, dedup_key, generate_samples
from hf_pipeline.generate.slots import SLOT_NAMES, SLOTS_FILE, load_vocabularies
from hf_pipeline.generate.stats import acceptance_problems, compute_stats
from hf_pipeline.generate.templates import (
    OPTION_KINDS,
    TEMPLATES_DIR,
    files_digest,
    load_templates,
)
from hf_pipeline.intents import INTENTS
from hf_pipeline.io import atomic_write_json, sha256_file

log = logging.getLogger(__name__)

GENERATOR = "hf_pipeline.generate"


@dataclass(frozen=True)
class GeneratedDataset:
    samples: list[Sample]
    stats: dict[str, Any]
    metadata: dict[str, Any]


class AcceptanceError(PipelineError, ValueError):
    """The generated set fails the stats-based acceptance checks."""


def _human_set_keys(path: Path, name: str) -> frozenset[str]:
    from hf_pipeline.data_sources import text_keys

    if not path.exists():
        log.warning("no %s at %s: nothing to decontaminate against", name, path)
    return text_keys(path)


def dev_set_keys(path: Path | None = None) -> frozenset[str]:
    """The dedup keys of the human dev set's texts: generated data must not contain them
    (the dev set measures the model on requests the templates never produced)."""
    from hf_pipeline.data_sources import DEV_SET_PATH

    return _human_set_keys(path or DEV_SET_PATH, "dev set")


def calibration_set_keys(path: Path | None = None) -> frozenset[str]:
    """The dedup keys of the human calibration set's texts: generated data must not contain
    them either (the temperature is fitted on requests the model was not trained on)."""
    from hf_pipeline.data_sources import CALIBRATION_SET_PATH

    return _human_set_keys(path or CALIBRATION_SET_PATH, "calibration set")


def build_dataset(cfg: GenerateConfig, *, dev_set: Path | None = None,
                  calibration_set: Path | None = None) -> GeneratedDataset:
    """Everything but the writing: what tests and the benchmark call. ``dev_set`` and
    ``calibration_set``: the human sets whose texts are dropped from the generated data
    (default: the shipped ones)."""
    templates_dir = cfg.templates_dir or TEMPLATES_DIR
    slots_file = cfg.slots_file or SLOTS_FILE
    templates = load_templates(templates_dir, known_slots=SLOT_NAMES, known_options=OPTION_KINDS)
    vocabularies = load_vocabularies(slots_file, heldout_fraction=cfg.heldout_value_fraction)
    options = load_options(slots_file, heldout_fraction=cfg.heldout_template_fraction)
    dev_keys = dev_set_keys(dev_set)
    dropped: list[str] = []
    samples = generate_samples(cfg, templates, vocabularies, options,
                               exclude=dev_keys | calibration_set_keys(calibration_set),
                               dropped=dropped)
    dev_dropped = sum(1 for text in dropped if dedup_key(text) in dev_keys)
    stats = compute_stats(samples, templates, dev_overlap_dropped=dev_dropped,
                          calibration_overlap_dropped=len(dropped) - dev_dropped)
    minimum = min(cfg.samples_per_intent, MIN_SAMPLES_PER_INTENT)
    problems = acceptance_problems(stats, min_per_intent=minimum)
    if problems:
        raise AcceptanceError("generated data fails acceptance: " + "; ".join(problems))
    config = to_dict(cfg)
    for key in ("output", "verification_output"):  # where it was written is not what it is
        config.pop(key)
    metadata = {
        "generator": GENERATOR, "generator_version": __version__,
        "seed": cfg.seed, "samples_per_intent": cfg.samples_per_intent,
        "intents": list(INTENTS), "splits": cfg.split_counts(),
        "augmentation": {"ratio": cfg.augment_ratio,
                         "names": {n: AUGMENTATIONS[n].doc for n in cfg.augmentations}},
        "options": {"ratio": cfg.option_ratio,
                    "kinds": {i: list(ts[0].options) for i, ts in templates.items()}},
        "templates_sha256": files_digest(sorted(templates_dir.glob("*.yaml"))),
        "slots_sha256": files_digest([slots_file]),
        "config": config, "python": platform.python_version(), "verification": None,
    }
    return GeneratedDataset(samples, stats, metadata)


def _drop_stale_verification(cfg: GenerateConfig, dataset_json: Path) -> None:
    """A review sample left in the folder from other data would be published as if it
    checked this data: removed, unless it reviews exactly the data just written."""
    import json

    path = cfg.output / VERIFICATION_JSON
    if not path.exists() or (cfg.verification_output is not None
                             and path.resolve() == cfg.verification_output.resolve()):
        return
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))["metadata"]["dataset_sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        recorded = None
    if recorded == sha256_file(dataset_json):
        return
    path.unlink()
    log.warning("removed %s: it reviewed other data than this run wrote; write a new sample "
                "with --verification-output", path)


def generate(cfg: GenerateConfig) -> Path:
    """Write dataset.json, stats.json, dataset_dict/ (and the verification sample) to
    ``cfg.output``; return that folder."""
    ensure_writable(cfg.output)
    if cfg.verification_output is not None:
        ensure_writable(cfg.verification_output.parent)
    data = build_dataset(cfg)
    dataset_json = write_dataset_json(data.samples, data.metadata, cfg.output)
    atomic_write_json(cfg.output / STATS_JSON, data.stats)
    if cfg.write_dataset_dict:
        write_dataset_dict(data.samples, cfg.output)
    if cfg.verification_output is not None:
        write_verification(data.samples, dataset_json=dataset_json,
                           fraction=cfg.verification_fraction, seed=cfg.seed,
                           out=cfg.verification_output)
    _drop_stale_verification(cfg, dataset_json)
    log.info("wrote %d samples to %s", len(data.samples), cfg.output)
    return cfg.output
