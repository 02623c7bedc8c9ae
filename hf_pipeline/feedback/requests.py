"""The reviewed requests dataset (``sqry-nl-requests``): what ``hf-pipeline feedback publish``
writes and what ``train --real-data`` and ``calibrate --real-data`` read.

One JSON-lines file, ``data/requests.jsonl``, one accepted request a row::

    {"text": "who calls init", "intent": "FindCallers", "split": "train", "count": 3, ...}

``split`` is chosen by a stable hash of the request's normalized text (``request_key``), so a
request keeps its split across versions of the dataset and no text is in both: ``train``
rows may be mixed into training, ``calibration`` rows may only be used to fit T.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Texts equal for an uncased tokenizer are the same request, as for the generator's samples.
from hf_pipeline.data_sources import dedup_key as request_key
from hf_pipeline.errors import DataFileError
from hf_pipeline.intents import INTENTS

REQUESTS_FILE = "data/requests.jsonl"
TRAIN, CALIBRATION = "train", "calibration"
REQUEST_SPLITS = (TRAIN, CALIBRATION)
# Out of 100 hash buckets, this many go to calibration. The human calibration set already
# holds hundreds of rows to fit one parameter on; training gains more from each real row.
CALIBRATION_PERCENT = 30
REQUIRED_FIELDS = ("text", "intent", "split")


def split_of(text: str) -> str:
    """``train`` or ``calibration``, by a stable hash of the normalized text."""
    digest = hashlib.sha256(request_key(text).encode("utf-8", "surrogatepass")).digest()
    bucket = int.from_bytes(digest[:8], "big") % 100
    return CALIBRATION if bucket < CALIBRATION_PERCENT else TRAIN


@dataclass(frozen=True)
class RequestsSet:
    """The accepted rows of a reviewed requests dataset, and where they came from."""

    rows: tuple[Mapping[str, Any], ...]
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def split(self, name: str) -> tuple[list[str], list[int]]:
        """(texts, label ids) of one split, in file order."""
        if name not in REQUEST_SPLITS:
            raise ValueError(f"split must be one of {REQUEST_SPLITS}, got {name!r}")
        chosen = [r for r in self.rows if r["split"] == name]
        return [r["text"] for r in chosen], [INTENTS.index(r["intent"]) for r in chosen]


def parse_requests(path: Path, text: str) -> tuple[dict[str, Any], ...]:
    """The rows of a requests.jsonl; a DataFileError naming the line and the field."""
    rows = []
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataFileError(path, f"not JSON ({e.msg})", line=lineno,
                                fix="publish the requests again with `hf-pipeline feedback "
                                "publish`.") from None
        if not isinstance(row, dict):
            raise DataFileError(path, f"a {type(row).__name__}, expected an object", line=lineno)
        for key in REQUIRED_FIELDS:
            if not isinstance(row.get(key), str):
                raise DataFileError(path, f"field {key!r} is {row.get(key)!r}, expected a "
                                    "string", line=lineno)
        if row["intent"] not in INTENTS:
            raise DataFileError(path, f"field 'intent' is {row['intent']!r}, not an intent",
                                line=lineno, fix=f"use one of {', '.join(INTENTS)}.")
        if row["split"] not in REQUEST_SPLITS:
            raise DataFileError(path, f"field 'split' is {row['split']!r}", line=lineno,
                                fix=f"use one of {', '.join(REQUEST_SPLITS)}.")
        rows.append(row)
    return tuple(rows)


def load_requests(spec: str | Path) -> RequestsSet:
    """A reviewed requests dataset: a local requests.jsonl (or a folder holding
    ``data/requests.jsonl``), or a Hub dataset repo ``NS/NAME@TAG``."""
    from hf_pipeline.io import read_text, sha256_file
    from hf_pipeline.repo_ids import is_hub_spec, split_spec

    if is_hub_spec(spec):
        repo_id, revision = split_spec(spec, field="--real-data",
                                       alternative="a requests.jsonl file or folder")
        return _load_hub(repo_id, revision)
    path = Path(spec)
    if path.is_dir():
        path = path / REQUESTS_FILE
    if not path.is_file():
        raise DataFileError(path, "no such file.", fix="pass a requests.jsonl written by "
                            "`hf-pipeline feedback publish`, or NS/NAME@TAG of its dataset repo.")
    rows = parse_requests(path, read_text(path, fix="publish the requests again."))
    return RequestsSet(rows, {"source": str(path), "sha256": sha256_file(path)})


def _load_hub(repo_id: str, revision: str) -> RequestsSet:
    from huggingface_hub import HfApi, hf_hub_download

    from hf_pipeline.hub_client import hub_errors
    from hf_pipeline.io import read_text, sha256_file

    with hub_errors(f"requests dataset {repo_id}@{revision}"):
        sha = HfApi().dataset_info(repo_id, revision=revision).sha
        local = Path(hf_hub_download(repo_id, REQUESTS_FILE, repo_type="dataset", revision=sha))
    rows = parse_requests(local, read_text(local, fix="publish the requests again."))
    return RequestsSet(rows, {"source": repo_id, "revision": revision, "sha": sha,
                              "sha256": sha256_file(local)})
