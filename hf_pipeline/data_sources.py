"""Load the pipeline's datasets from wherever they live: generator output, disk, or the Hub.

Every later stage (train, export gate, calibration) reads data through ``load_splits`` and
``load_dev_set`` so that one set of checks guards them all: required splits present, none
empty, labels known and in the runtime's order.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hf_pipeline.contract import DATASET_DICT_DIR, DATASET_JSON, DEV, SPLITS
from hf_pipeline.errors import ConfigError, DataFileError, artifact_errors
from hf_pipeline.hub_client import hub_endpoint, hub_errors
from hf_pipeline.intents import INTENTS, check_label_order
from hf_pipeline.io import read_json_object, read_text, read_text_rows, sha256_file
from hf_pipeline.repo_ids import check_revision, repo_id_problem

if TYPE_CHECKING:
    from datasets import Dataset, DatasetDict

log = logging.getLogger(__name__)

DEV_SET_PATH = Path(__file__).parent / "devset" / "human_dev.jsonl"
# Human-written too, disjoint from the dev set and the templates; used only to fit T.
CALIBRATION_SET_PATH = Path(__file__).parent / "devset" / "human_calibration.jsonl"

GENERATED_BY = "`hf-pipeline generate` (or `datasets`' save_to_disk)"
REGENERATE = "generate the dataset again with `hf-pipeline generate`."
# An evaluation set as every stage uses it: (texts, gold label ids).
TextSet = tuple[list[str], list[int]]


@dataclass(frozen=True)
class LoadedSplits:
    """A validated DatasetDict plus where it came from (recorded by every stage that uses it)."""

    dataset: DatasetDict
    provenance: dict[str, Any] = field(default_factory=dict)


def class_label() -> Any:
    from datasets import ClassLabel

    return ClassLabel(names=list(INTENTS))


def dedup_key(text: str) -> str:
    """Texts equal for an uncased tokenizer are the same text: one notion for generated
    samples, the held-out human sets they must not contain, and reviewed real requests."""
    return " ".join(text.casefold().split())


def text_keys(path: str | Path) -> frozenset[str]:
    """The ``dedup_key`` of every row of a human-written JSON-lines set (the dev set, the
    calibration set); empty when the file does not exist."""
    path = Path(path)
    if not path.exists():
        return frozenset()
    return frozenset(dedup_key(str(row.get("text", ""))) for _, row in read_text_rows(path))


def load_splits(source: str | Path, *, revision: str | None = None,
                splits: Sequence[str] = SPLITS) -> LoadedSplits:
    """Load ``splits`` from a generator folder, a ``save_to_disk`` folder, a dataset.json,
    or a Hub dataset repo id at ``revision``; validate labels and emptiness."""
    path = Path(source)
    if path.exists():
        if revision is not None:
            raise ConfigError(
                f"revision {revision!r} was given, but {path} is a local path, which has no "
                "revisions. Fix: drop --revision, or pass a Hub repo id.")
        dataset, sha = _load_local(path)
        provenance = {"source": str(path.resolve()), "revision": None, "sha": sha}
    else:
        dataset, provenance = _load_hub(str(source), revision)
    return LoadedSplits(_validated(dataset, str(source), splits), provenance)


def _load_local(path: Path) -> tuple[DatasetDict, str | None]:
    if path.is_file():
        return _from_samples_json(path), sha256_file(path)
    if (path / DATASET_DICT_DIR / "dataset_dict.json").exists():
        json_file = path / DATASET_JSON
        sha = sha256_file(json_file) if json_file.exists() else None
        return _load_from_disk(path / DATASET_DICT_DIR), sha
    if (path / "dataset_dict.json").exists():
        return _load_from_disk(path), None
    if (path / DATASET_JSON).exists():
        return _from_samples_json(path / DATASET_JSON), sha256_file(path / DATASET_JSON)
    raise DataFileError(
        path, "not a dataset: expected dataset.json, dataset_dict/ or a save_to_disk folder.",
        fix="point at the folder written by `hf-pipeline generate --output DIR`.")


def _load_from_disk(folder: Path) -> DatasetDict:
    """``datasets.load_from_disk`` split by split (a damaged one is named), after checking
    none is empty: a split saved with no rows has no Arrow file, and ``load_from_disk`` fails
    on it with a bare IndexError."""
    from datasets import DatasetDict, load_from_disk

    with artifact_errors(folder / "dataset_dict.json", written_by=GENERATED_BY, fix=REGENERATE):
        names = read_json_object(folder / "dataset_dict.json", fix=REGENERATE)["splits"]
        names = [str(name) for name in names]
    splits = {}
    for name in names:
        with artifact_errors(folder / name, written_by=GENERATED_BY, fix=REGENERATE):
            state = read_json_object(folder / name / "state.json", fix=REGENERATE)
            if not state.get("_data_files"):
                raise DataFileError(folder, f"split {name!r} is empty.",
                                    fix="regenerate the dataset with samples in every split.")
            splits[name] = load_from_disk(str(folder / name))
    return DatasetDict(splits)


def _load_hub(repo_id: str, revision: str | None) -> tuple[DatasetDict, dict[str, Any]]:
    from datasets import load_dataset
    from huggingface_hub import HfApi

    problem = repo_id_problem(repo_id) or (
        "it names a file" if repo_id.endswith((".json", ".jsonl")) else None)
    if problem is not None:
        raise DataFileError(repo_id, "no such local path, and not a Hub repo id, "
                            f"namespace/name ({problem}).",
                            fix="check the path, or use a dataset repo id like user/sqry-intents.")
    if revision is not None:
        check_revision(revision)
    with hub_errors(f"{repo_id}: no such local path; dataset {repo_id}@{revision or 'main'}"):
        sha = HfApi().dataset_info(repo_id, revision=revision).sha
        try:
            dataset = load_dataset(repo_id, revision=sha)
        except OSError as e:  # datasets' own wrapper of download errors
            raise DataFileError(repo_id, f"the Hub at {hub_endpoint()} cannot give it at "
                                f"revision {revision!r} ({type(e).__name__}: {e})",
                                fix="check the repo id, the tag/commit and HF_ENDPOINT/HF_TOKEN."
                                ) from None
    log.info("loaded %s at %s (commit %s)", repo_id, revision or "main", sha)
    return dataset, {"source": repo_id, "revision": revision, "sha": sha}


def _from_samples_json(path: Path) -> DatasetDict:
    """The reference layout: {"metadata": ..., "samples": [{id, text, intent, source, split}]}."""
    from datasets import Dataset, DatasetDict

    try:
        data = json.loads(read_text(path, fix="regenerate it with `hf-pipeline generate`."))
        samples = data["samples"]
        if not isinstance(samples, list):
            raise TypeError(f"'samples' is a {type(samples).__name__}")
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise DataFileError(path, f"not a dataset.json with a 'samples' list ({e}).",
                            fix="regenerate it with `hf-pipeline generate`.") from None
    by_split: dict[str, dict[str, list[Any]]] = {}
    for i, sample in enumerate(samples):
        if not isinstance(sample, dict):
            raise DataFileError(path, f"samples[{i}] is a {type(sample).__name__}, expected an "
                                "object.", fix="every sample is an object with text, intent "
                                "and split.")
        for key in ("text", "intent", "split"):
            if key not in sample:
                raise DataFileError(path, f"samples[{i}] has no {key!r} field.",
                                    fix="every sample needs text, intent and split.")
            if not isinstance(sample[key], str):
                raise DataFileError(path, f"samples[{i}].{key} is {sample[key]!r}, expected a "
                                    "string.", fix="regenerate it with `hf-pipeline generate`.")
        cols = by_split.setdefault(sample["split"], {"id": [], "text": [], "label": [],
                                                     "source": []})
        cols["id"].append(str(sample.get("id", i)))
        cols["text"].append(sample["text"])
        cols["label"].append(_label_id(sample["intent"], path, f"samples[{i}].intent"))
        cols["source"].append(sample.get("source", "template"))
    features = _features()
    return DatasetDict({name: Dataset.from_dict(cols, features=features)
                        for name, cols in by_split.items()})


def _features() -> Any:
    from datasets import Features, Value

    return Features({"id": Value("string"), "text": Value("string"), "label": class_label(),
                     "source": Value("string")})


def _label_id(label: Any, where: str | Path, field_name: str) -> int:
    if label not in INTENTS:
        raise DataFileError(where, f"{field_name} is {label!r}, which is not an intent.",
                            fix=f"use one of {', '.join(INTENTS)}.")
    return INTENTS.index(label)


def _validated(dataset: DatasetDict, source: str, splits: Sequence[str]) -> DatasetDict:
    from datasets import ClassLabel, DatasetDict

    missing = [s for s in splits if s not in dataset]
    if missing:
        raise DataFileError(source, f"missing split(s) {', '.join(missing)}; found "
                            f"{', '.join(dataset) or 'none'}.",
                            fix="regenerate with `hf-pipeline generate`, or publish all splits.")
    out = {}
    for name in splits:
        split = dataset[name]
        if len(split) == 0:
            raise DataFileError(source, f"split {name!r} is empty.",
                                fix="regenerate the dataset with samples in every split.")
        if "text" not in split.column_names:
            raise DataFileError(source, f"split {name!r} has no 'text' column "
                                f"(columns: {', '.join(split.column_names)}).")
        out[name] = _with_label(split, source, name, ClassLabel)
    return DatasetDict(out)


def _with_label(split: Dataset, source: str, name: str, class_label_type: type) -> Dataset:
    feature = split.features.get("label")
    if isinstance(feature, class_label_type):
        check_label_order(list(feature.names), where=source, field=f"split {name!r}: label",
                          fix="regenerate the data with this version of hf_pipeline; the "
                          "sqry-nl runtime maps logit index to intent by that fixed order.")
        return split
    if "intent" in split.column_names:
        ids = [_label_id(v, source, f"{name}[{i}].intent")
               for i, v in enumerate(split["intent"])]
        split = split.remove_columns([c for c in ("label",) if c in split.column_names])
        return split.add_column("label", ids).cast_column("label", class_label())
    if feature is not None:
        values = sorted(set(split["label"]))
        bad = [v for v in values if not (isinstance(v, int) and 0 <= v < len(INTENTS))]
        if bad:
            raise DataFileError(source, f"split {name!r}: unknown label value(s) {bad[:5]}.",
                                fix=f"labels are 0..{len(INTENTS) - 1} in the order "
                                f"{', '.join(INTENTS)}.")
        return split.cast_column("label", class_label())
    raise DataFileError(source, f"split {name!r} has neither a 'label' nor an 'intent' column.")


def _human_rows(path: Path, what: str) -> TextSet:
    """(texts, label ids) of a human-written JSONL set of {"text", "intent"} rows."""
    texts, labels = [], []
    for lineno, row in read_text_rows(path):
        texts.append(row["text"])
        labels.append(_label_id(row.get("intent"), f"{path}:{lineno}", "intent"))
    if not texts:
        raise DataFileError(path, f"the {what} is empty.")
    return texts, labels


def load_calibration_set(path: str | Path | None = None) -> TextSet:
    """The human-written calibration set (only ever used to fit T): (texts, label ids); the
    packaged one unless ``path`` is given. Same row format as the dev set."""
    return _human_rows(Path(path) if path is not None else CALIBRATION_SET_PATH,
                       "calibration set")


def load_dev_set(path: str | Path | None = None) -> Dataset:
    """The human-written dev set (never used for training): columns text, label."""
    from datasets import Dataset, Features, Value

    path = Path(path) if path is not None else DEV_SET_PATH
    texts, labels = _human_rows(path, "dev set")
    features = Features({"text": Value("string"), "label": class_label()})
    return Dataset.from_dict({"text": texts, "label": labels}, features=features)


def load_eval_sets(data: str | Path | None, *, revision: str | None = None,
                   splits: Sequence[str] = ("test",), dev_set: str | Path | None = None,
                   with_dev: bool = True) -> tuple[dict[str, TextSet], dict[str, Any]]:
    """The one loader of evaluation sets: ``splits`` of ``data`` (in that order), then the
    human dev set as ``dev``; plus where they came from, for the stage's report."""
    sets: dict[str, TextSet] = {}
    provenance: dict[str, Any] = {}
    if data is not None and splits:
        loaded = load_splits(data, revision=revision, splits=splits)
        sets = {name: (list(loaded.dataset[name]["text"]), list(loaded.dataset[name]["label"]))
                for name in splits}
        provenance.update(loaded.provenance)
    if with_dev:
        dev_path = Path(dev_set) if dev_set is not None else DEV_SET_PATH
        dev = load_dev_set(dev_path)
        sets[DEV] = (list(dev["text"]), list(dev["label"]))
        provenance.update(dev_set=str(dev_path), dev_set_sha256=sha256_file(dev_path))
    return sets, provenance
