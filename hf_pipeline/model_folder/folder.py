"""version.txt and config.json of a model folder: what they hold, reading and checking them.
Writing a folder is ``hf_pipeline.model_folder.update``'s."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hf_pipeline import __version__
from hf_pipeline.contract import DEFAULT_BASE_MODEL, MAX_LENGTH
from hf_pipeline.errors import DataFileError, InvalidValueError
from hf_pipeline.intents import ID2LABEL, INTENTS, LABEL2ID, check_label_order
from hf_pipeline.io import read_json_object
from hf_pipeline.model_folder.checksums import read_manifest
from hf_pipeline.model_folder.layout import CONFIG_FILE, VERSION_FILE
from hf_pipeline.repo_ids import check_repo_id, check_revision

log = logging.getLogger(__name__)

REBUILD = "rebuild the folder with `hf-pipeline release`."


@dataclass(frozen=True)
class ReleaseInfo:
    """What version.txt and manifest.json say about where the model came from."""

    model_version: str
    dataset_repo: str
    dataset_revision: str
    training_commit: str
    base_model: str = DEFAULT_BASE_MODEL
    date: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).date().isoformat())

    def __post_init__(self) -> None:
        for name in ("model_version", "dataset_repo", "dataset_revision", "training_commit",
                     "base_model", "date"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip() or "\n" in value:
                raise InvalidValueError(name, value, "a non-empty single-line string",
                                        fix="it is written as a key=value line in version.txt.")
        check_model_version(self.model_version)
        try:
            valid_date = dt.date.fromisoformat(self.date).isoformat() == self.date
        except ValueError:
            valid_date = False
        if not valid_date:
            raise InvalidValueError("date", self.date, "a release date as YYYY-MM-DD",
                                    fix="pass --date as YYYY-MM-DD, or leave it out for today "
                                    "(UTC).")
        check_repo_id(self.dataset_repo, field="dataset_repo")
        check_revision(self.dataset_revision, field="dataset_revision")


VERSION_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$")


def check_model_version(version: str) -> None:
    """A model version names tags, files and lines: letters, digits, '.', '+', '-' only."""
    if not isinstance(version, str) or not VERSION_PATTERN.match(version):
        raise InvalidValueError("model_version", version, "a version like 1.0.0 (letters, "
                                "digits, '.', '+' and '-'; no spaces or slashes)")


def version_text(info: ReleaseInfo, *, preset: str | None = None) -> str:
    lines = [f"# sqry-nl intent classifier, assembled by hf-pipeline {__version__}",
             f"model_version={info.model_version}", f"base_model={info.base_model}",
             f"dataset_repo={info.dataset_repo}", f"dataset_revision={info.dataset_revision}",
             f"training_commit={info.training_commit}", f"date={info.date}",
             f"max_length={MAX_LENGTH}"]
    if preset:
        lines.append(f"quantization=int8 dynamic, preset {preset}")
    return "\n".join(lines) + "\n"


def read_version(folder: str | Path) -> dict[str, str]:
    """version.txt's key=value lines ({} when there is none); '#' lines are comments."""
    path = Path(folder) / VERSION_FILE
    if not path.is_file():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DataFileError(path, f"unreadable ({e}).", fix=REBUILD) from None
    return parse_version(text)


def parse_version(text: str) -> dict[str, str]:
    """version.txt's text as key -> value (as the runtime reads it)."""
    pairs = (line.split("=", 1) for line in text.splitlines()
             if "=" in line and not line.lstrip().startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def model_version(folder: str | Path) -> str:
    """The folder's model version: manifest.json first, else version.txt."""
    version = read_manifest(folder).get("model_version") or read_version(folder).get(
        "model_version")
    if not version:
        raise DataFileError(folder, "no model_version in manifest.json or version.txt.",
                            fix=REBUILD)
    return str(version)


def release_config(model_config: Mapping[str, Any]) -> dict[str, Any]:
    """The transformers config with id2label/label2id in the runtime's order, plus max_length."""
    config = dict(model_config)
    config["id2label"] = {str(i): label for i, label in ID2LABEL.items()}
    config["label2id"] = dict(LABEL2ID)
    config["num_labels"] = len(INTENTS)
    config["max_length"] = MAX_LENGTH
    return config


def check_config(folder: str | Path) -> None:
    """config.json (optional; people read it, the runtime does not) must agree with the
    runtime's fixed label order and the pipeline's truncation, or the folder is mixed up."""
    path = Path(folder) / CONFIG_FILE
    if not path.is_file():
        return
    config = read_json_object(path, fix=REBUILD)
    id2label = config.get("id2label")
    if id2label is not None and not isinstance(id2label, dict):
        raise DataFileError(path, f"id2label is a {type(id2label).__name__}, expected an object "
                            "of index -> label (the transformers config format).", fix=REBUILD)
    if id2label is not None:
        check_label_order(config["id2label"], where=path, field="id2label",
                          fix="export the model trained by `hf-pipeline train`, which uses "
                          "that order.")
    max_length = config.get("max_length")
    if max_length is not None and max_length != MAX_LENGTH:
        raise DataFileError(path, f"max_length is {max_length!r}, this pipeline truncates at "
                            f"{MAX_LENGTH}.", fix="rebuild the folder with this version.")
