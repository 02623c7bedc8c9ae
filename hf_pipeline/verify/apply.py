"""Carry a verification into the dataset: corrected labels and the result in its metadata.

A corrected sample keeps its ``source`` and gains ``corrected_from`` (its generated label).
The dataset then holds "generated labels + this file's corrections", whatever it held before,
so applying the same file twice gives the same bytes (the second time nothing is written).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from hf_pipeline.contract import DATASET_DICT_DIR, DATASET_JSON
from hf_pipeline.errors import DataFileError
from hf_pipeline.generate.outputs import write_dataset_dict
from hf_pipeline.io import atomic_write_json, dumps_json
from hf_pipeline.verify.store import INCORRECT, VerificationFile, load_verification
from hf_pipeline.verify.summary import summarize

log = logging.getLogger(__name__)



def apply_verification(verification_file: str | Path, dataset_dir: str | Path) -> dict[str, Any]:
    """Apply the corrections of ``verification_file`` to ``dataset_dir``/dataset.json.

    Stores and returns the result written to ``metadata["verification"]``, and rebuilds
    ``dataset_dict/`` (when the folder has one) so both forms carry the corrected labels.
    """
    vf = load_verification(verification_file)
    dataset_path = _dataset_path(dataset_dir)
    data = _read_dataset(dataset_path)
    by_id = _index_samples(dataset_path, data["samples"])
    for sample in vf.samples:
        target = _matching(dataset_path, by_id, sample, vf.path)
        review = sample.get("review")
        if review is not None and review["verdict"] == INCORRECT:
            target["intent"] = review["corrected_intent"]
            target["corrected_from"] = sample["intent"]
        elif "corrected_from" in target:  # corrected earlier, no longer by this file
            target["intent"] = target.pop("corrected_from")
    result = _result(vf.path, dataset_path, vf, dataset_size=len(data["samples"]))
    data["metadata"]["verification"] = result
    text = dumps_json(data)
    if dataset_path.read_text(encoding="utf-8") != text:
        atomic_write_json(dataset_path, data)
        if (dataset_path.parent / DATASET_DICT_DIR).exists():
            write_dataset_dict(data["samples"], dataset_path.parent)
        log.info("applied %d correction(s) to %s", result["incorrect"], dataset_path)
    else:
        log.info("%s already holds this verification; nothing to write", dataset_path)
    return result


def check_belongs(verification_file: str | Path, dataset_dir: str | Path) -> VerificationFile:
    """The verification file, checked to review ``dataset_dir``'s samples (same ids, texts and
    generated labels); a clear error for one left over from other data."""
    vf = load_verification(verification_file)
    dataset_path = _dataset_path(dataset_dir)
    by_id = _index_samples(dataset_path, _read_dataset(dataset_path)["samples"])
    for sample in vf.samples:
        _matching(dataset_path, by_id, sample, vf.path)
    return vf


def _dataset_path(dataset_dir: str | Path) -> Path:
    path = Path(dataset_dir)
    if path.is_dir():
        path = path / DATASET_JSON
    if not path.is_file():
        raise DataFileError(path, "no dataset file here.",
                            fix="pass the folder written by `hf-pipeline generate --output DIR` "
                            f"(it holds {DATASET_JSON}).")
    return path


def _read_dataset(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataFileError(path, f"cannot read the dataset as JSON ({e}).",
                            fix="regenerate it with `hf-pipeline generate`.") from None
    if not isinstance(data, dict) or not isinstance(data.get("samples"), list):
        raise DataFileError(path, "expected an object with a 'samples' list.",
                            fix=f"pass the generator's {DATASET_JSON}.")
    if not isinstance(data.setdefault("metadata", {}), dict):
        raise DataFileError(path, f"'metadata' must be an object, got {data['metadata']!r}.",
                            fix="regenerate it with `hf-pipeline generate`.")
    return data


def _index_samples(path: Path, samples: list[Any]) -> dict[str, dict[str, Any]]:
    by_id: dict[str, dict[str, Any]] = {}
    for index, sample in enumerate(samples):
        if not isinstance(sample, dict) or not isinstance(sample.get("id"), str):
            raise DataFileError(path, f"sample {index} has no string 'id'.",
                                fix="regenerate the dataset with `hf-pipeline generate`.")
        by_id[sample["id"]] = sample
    return by_id


def _matching(dataset_path: Path, by_id: dict[str, dict[str, Any]], sample: dict[str, Any],
              verification_path: Path) -> dict[str, Any]:
    """The dataset sample ``sample`` was drawn from; an error if the files do not belong."""
    fix = (f"apply {verification_path} to the dataset it was generated from (see its "
           "metadata.dataset), or generate a new verification file for this dataset.")
    target = by_id.get(sample["id"])
    if target is None:
        raise DataFileError(dataset_path, f"no sample with id {sample['id']!r}, which "
                            f"{verification_path} reviews.", fix=fix)
    generated = target.get("corrected_from", target.get("intent"))
    if target.get("text") != sample["text"] or generated != sample["intent"]:
        raise DataFileError(dataset_path, f"sample {sample['id']!r} is "
                            f"{target.get('text')!r} labelled {generated!r}, but "
                            f"{verification_path} has {sample['text']!r} labelled "
                            f"{sample['intent']!r}.", fix=fix)
    return target


def _result(verification_path: Path, dataset_path: Path, vf: VerificationFile, *,
            dataset_size: int) -> dict[str, Any]:
    # The dataset's real size replaces whatever the verification metadata says or estimates.
    s = replace(summarize(vf), dataset_samples=dataset_size, dataset_samples_estimated=False)
    return {
        "file": _portable(verification_path, dataset_path.parent),
        "checked": s.checked,
        "correct": s.correct,
        "incorrect": s.incorrect,
        "skipped": s.skipped,
        "accuracy": None if s.accuracy is None else round(s.accuracy, 4),
        "fraction_of_dataset": round(s.fraction_of_dataset or 0.0, 4),
        "target_met": bool(s.target_met),
        "corrections": [{"id": c.id, "from": c.from_intent, "to": c.to_intent}
                        for c in s.corrections],
    }


def _portable(path: Path, base: Path) -> str:
    """The verification file relative to the dataset folder, so the JSON is machine-free."""
    try:
        return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return path.as_posix()
