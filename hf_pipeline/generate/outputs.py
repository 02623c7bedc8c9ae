"""Write a generated dataset: dataset.json (the reference layout), stats.json, an HF
DatasetDict on disk, and the verification sample. Same inputs -> byte-identical files."""

from __future__ import annotations

import contextlib
import math
import os
import random
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from hf_pipeline.contract import DATASET_DICT_DIR, DATASET_JSON, SPLITS
from hf_pipeline.errors import OutputError
from hf_pipeline.generate.sampling import Sample
from hf_pipeline.generate.slots import stable_rank
from hf_pipeline.intents import INTENTS
from hf_pipeline.io import atomic_write_json, sha256_file, sha256_text

STATS_JSON = "stats.json"


def ensure_writable(directory: Path) -> None:
    """Fail before any work if ``directory`` cannot be created or written."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".probe"):
            pass
    except OSError as e:
        raise OutputError(directory, f"cannot write the output folder ({e.strerror}).",
                          fix="pass --output with a folder you can write to.") from None


def write_dataset_json(samples: Sequence[Sample], metadata: dict[str, Any], out: Path) -> Path:
    return atomic_write_json(out / DATASET_JSON, {
        "metadata": metadata, "samples": [s.to_json() for s in samples]})


def write_dataset_dict(samples: Sequence[dict[str, Any]] | Sequence[Sample], out: Path) -> Path:
    """``save_to_disk`` into a temp folder, then swap it in: never a half-written folder.

    The fingerprint is derived from the content so reruns are byte-identical.
    """
    from datasets import Dataset, DatasetDict, Features, Value

    from hf_pipeline.data_sources import class_label

    rows = [s.to_json() if isinstance(s, Sample) else s for s in samples]
    features = Features({"id": Value("string"), "text": Value("string"), "label": class_label(),
                         "source": Value("string"), "template_id": Value("string")})
    splits = {}
    for split in SPLITS:
        part = [r for r in rows if r["split"] == split]
        columns = {"id": [r["id"] for r in part], "text": [r["text"] for r in part],
                   "label": [INTENTS.index(r["intent"]) for r in part],
                   "source": [r["source"] for r in part],
                   "template_id": [r.get("template_id", "") for r in part]}
        ds = Dataset.from_dict(columns, features=features, split=split)
        ds._fingerprint = sha256_text(repr(sorted(columns.items())))[:16]
        splits[split] = ds
    final = out / DATASET_DICT_DIR
    tmp = Path(tempfile.mkdtemp(prefix=".dataset_dict.", dir=out))
    try:
        with _quiet_progress():
            DatasetDict(splits).save_to_disk(str(tmp))
        old = out / ".dataset_dict.old"
        if final.exists():
            os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


@contextlib.contextmanager
def _quiet_progress() -> Iterator[None]:
    """datasets' per-split progress bars are noise for a sub-second write."""
    from datasets.utils import logging as ds_logging

    enabled = ds_logging.is_progress_bar_enabled()
    ds_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            ds_logging.enable_progress_bar()


def verification_sample(samples: Sequence[Sample], *, fraction: float, seed: int
                        ) -> list[Sample]:
    """A stratified sample (by intent and split) of at least ``fraction`` of the data."""
    strata: dict[tuple[str, str], list[Sample]] = defaultdict(list)
    for s in samples:
        strata[(s.intent, s.split)].append(s)
    chosen: list[Sample] = []
    for key in sorted(strata):
        group = strata[key]
        rng = random.Random(stable_rank(seed, "verify", *key))
        chosen += rng.sample(group, math.ceil(len(group) * fraction))
    return sorted(chosen, key=lambda s: s.id)


def write_verification(samples: Sequence[Sample], *, dataset_json: Path, fraction: float,
                       seed: int, out: Path) -> Path:
    chosen = verification_sample(samples, fraction=fraction, seed=seed)
    return atomic_write_json(out, {
        "metadata": {"dataset": str(dataset_json), "dataset_sha256": sha256_file(dataset_json),
                     "dataset_samples": len(samples), "fraction": fraction, "seed": seed,
                     "created_by": "hf-pipeline generate"},
        "samples": [{**s.to_json(), "review": None} for s in chosen]})
