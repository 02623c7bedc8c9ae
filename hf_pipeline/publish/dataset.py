"""``publish_dataset(cfg)``: push a generated dataset to a Hub dataset repo as a tagged version.

The version flow (tags never moved, identical content a no-op, interrupted publishes finished
by a rerun) is ``hf_pipeline.publish.versions``; this module says what a dataset version is:
the splits, the verification sample, the card, and ``hf_pipeline.json`` with the content hash
of the generator's files. The card and manifest commit comes last, so a version is on ``main``
only once that commit is.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hf_pipeline.contract import DATASET_JSON, VERIFICATION_JSON
from hf_pipeline.data_sources import load_splits
from hf_pipeline.errors import DataFileError, InvalidValueError
from hf_pipeline.generate.outputs import STATS_JSON
from hf_pipeline.io import read_json_object, sha256_file, sha256_text
from hf_pipeline.publish.card import card_template, check_card_inputs, render_dataset_card
from hf_pipeline.publish.versions import (
    PublishError,
    PublishResult,
    Target,
    check_publish_config,
    publish_version,
    version_status,
)

if TYPE_CHECKING:
    from huggingface_hub import HfApi

log = logging.getLogger(__name__)

MANIFEST = "hf_pipeline.json"
VERIFICATION_CONFIG = "verification"
REVIEW_SPLIT = "review"
__all__ = ["PublishDatasetConfig", "PublishError", "PublishResult", "publish_dataset",
           "versions"]


@dataclass(frozen=True)
class PublishDatasetConfig:
    data_dir: Path
    repo_id: str
    tag: str
    private: bool = False
    verification_file: Path | None = None  # default: DATA_DIR/verification.json if present
    card_template: Path | None = None  # default: dataset_card/template.md
    pretty_name: str = "sqry-nl intents"

    def __post_init__(self) -> None:
        if self.card_template is None:
            object.__setattr__(self, "card_template", card_template())
        check_publish_config(self, ("data_dir", "verification_file", "card_template"))


@dataclass(frozen=True)
class LocalDataset:
    dataset: Any  # DatasetDict
    verification: Any | None  # Dataset
    metadata: dict[str, Any]
    stats: dict[str, Any]
    content_sha256: str


def publish_dataset(cfg: PublishDatasetConfig, *, api: HfApi | None = None) -> PublishResult:
    from huggingface_hub import HfApi

    local = read_local(cfg)
    target = Target(cfg.repo_id, "dataset", cfg.tag, private=cfg.private)
    return publish_version(api or HfApi(), target, DatasetVersion(cfg, local))


class DatasetVersion:
    """A dataset version is the content hash of the generator's files (``hf_pipeline.json``)."""

    noun = "data"

    def __init__(self, cfg: PublishDatasetConfig, local: LocalDataset) -> None:
        self.cfg, self.local = cfg, local

    def summary(self) -> str:
        return self.local.content_sha256[:12]

    def difference(self, api: HfApi, revision: str, *, exact: bool) -> str | None:
        return content_difference(api, self.cfg.repo_id, revision, self.local.content_sha256)

    def push(self, api: HfApi, parent: str | None) -> str:
        return _push(api, self.cfg, self.local)

    def verify(self, api: HfApi, commit: str) -> tuple[str, ...]:
        return ()  # load_dataset at the tag is what tests check; no checksum file to verify


def read_local(cfg: PublishDatasetConfig) -> LocalDataset:
    """The generator's folder: the splits, its metadata and stats, and the review sample."""
    from datasets import Dataset, Features, Value

    from hf_pipeline.data_sources import class_label

    data_json, stats_file = cfg.data_dir / DATASET_JSON, cfg.data_dir / STATS_JSON
    fix = "point at a folder written by `hf-pipeline generate --output DIR`."
    for path in (data_json, stats_file):
        if not path.is_file():
            raise DataFileError(path, "is missing: the dataset card is written from it.",
                                fix=fix)
    document = read_json_object(data_json, fix=fix)
    stats = read_json_object(stats_file, fix=fix)
    check_card_inputs(document=document, stats=stats, dataset_json=data_json,
                      stats_json=stats_file)
    dataset = load_splits(cfg.data_dir).dataset
    hashes = [sha256_file(data_json)]
    review_file = cfg.verification_file or cfg.data_dir / VERIFICATION_JSON
    verification = None
    if review_file.exists():
        from hf_pipeline.verify.apply import check_belongs

        rows = check_belongs(review_file, cfg.data_dir).samples
        hashes.append(sha256_file(review_file))
        features = Features({
            "id": Value("string"), "text": Value("string"), "label": class_label(),
            "source": Value("string"), "split": Value("string"), "verdict": Value("string"),
            "corrected_intent": Value("string")})
        verification = Dataset.from_dict({
            "id": [r["id"] for r in rows], "text": [r["text"] for r in rows],
            "label": [r["intent"] for r in rows], "source": [r.get("source", "") for r in rows],
            "split": [r.get("split", "") for r in rows],
            "verdict": [(r.get("review") or {}).get("verdict", "") for r in rows],
            "corrected_intent": [(r.get("review") or {}).get("corrected_intent") or ""
                                 for r in rows]}, features=features)
    elif cfg.verification_file is not None:
        raise InvalidValueError("verification_file", str(review_file), "an existing file")
    return LocalDataset(dataset, verification, document["metadata"], stats,
                        sha256_text(":".join(hashes)))


def _push(api: HfApi, cfg: PublishDatasetConfig, local: LocalDataset) -> str:
    """Data, then the review sample, then card + manifest (the commit that completes it)."""
    message = f"Dataset {cfg.tag}"
    local.dataset.push_to_hub(cfg.repo_id, config_name="default", set_default=True,
                              commit_message=f"{message}: data", private=cfg.private)
    if local.verification is not None:
        local.verification.push_to_hub(cfg.repo_id, config_name=VERIFICATION_CONFIG,
                                       split=REVIEW_SPLIT,
                                       commit_message=f"{message}: verification sample")
    return _write_card(api, cfg, local)


def _write_card(api: HfApi, cfg: PublishDatasetConfig, local: LocalDataset) -> str:
    from huggingface_hub import CommitOperationAdd, DatasetCard

    head = api.dataset_info(cfg.repo_id).sha
    existing = DatasetCard.load(api.hf_hub_download(cfg.repo_id, "README.md",
                                                    repo_type="dataset", revision=head))
    card = render_dataset_card(cfg, local, pushed=existing.data.to_dict())
    card.validate(repo_type="dataset")
    manifest = {"content_sha256": local.content_sha256, "metadata": local.metadata,
                "stats": local.stats}
    info = api.create_commit(
        cfg.repo_id, repo_type="dataset", parent_commit=head,
        commit_message=f"Dataset {cfg.tag}: card and manifest",
        operations=[CommitOperationAdd("README.md", str(card).encode("utf-8")),
                    CommitOperationAdd(MANIFEST, (json.dumps(manifest, indent=2) + "\n")
                                       .encode("utf-8"))])
    return info.oid


def read_manifest(api: HfApi, repo_id: str, revision: str | None) -> dict[str, Any] | None:
    """The ``hf_pipeline.json`` of a dataset repo at ``revision``; None if there is none."""
    from huggingface_hub.errors import EntryNotFoundError, RevisionNotFoundError

    if revision is None:
        return None
    try:
        path = api.hf_hub_download(repo_id, MANIFEST, repo_type="dataset", revision=revision)
    except (EntryNotFoundError, RevisionNotFoundError):
        return None
    return json.loads(Path(path).read_text(encoding="utf-8"))


def content_difference(api: HfApi, repo_id: str, revision: str, sha256: str) -> str | None:
    """How a dataset version's content hash at ``revision`` differs from ``sha256`` (None:
    the same content), for the ``difference`` of every dataset-like version."""
    there = (read_manifest(api, repo_id, revision) or {}).get("content_sha256")
    if there == sha256:
        return None
    return f"content sha256 {(there or 'unknown')[:12]} there, {sha256[:12]} here"


def versions(repo_id: str, *, api: HfApi | None = None) -> dict[str, Any]:
    """Tags with their content hash, and whether ``main`` has untagged work."""
    from huggingface_hub import HfApi

    api = api or HfApi()
    return version_status(api, repo_id, repo_type="dataset", describe=lambda commit: {
        "content_sha256": (read_manifest(api, repo_id, commit) or {}).get("content_sha256")})
