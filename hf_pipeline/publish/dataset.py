"""``publish_dataset(cfg)``: push a generated dataset to a Hub dataset repo as a tagged version.

A version exists once its tag exists, and a tag is created only after the data, the
verification sample, the card and ``hf_pipeline.json`` (the content hash) are all on
``main``. So an interrupted publish leaves every earlier tag loadable and shows up as
untagged commits on ``main`` (``versions()``); running the same publish again finishes it.
Tags are never moved: the same tag with other content is refused, the same content is a no-op.

The endpoint and token come from the usual places (HF_ENDPOINT, HF_TOKEN, the login cache);
the token is never logged or written.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hf_pipeline.contract import DATASET_JSON
from hf_pipeline.data_sources import load_splits
from hf_pipeline.errors import CheckFailedError, InvalidValueError
from hf_pipeline.hub_client import hub_errors
from hf_pipeline.io import sha256_file, sha256_text
from hf_pipeline.publish.card import CARD_TEMPLATE, render_dataset_card

if TYPE_CHECKING:
    from huggingface_hub import HfApi

log = logging.getLogger(__name__)

MANIFEST = "hf_pipeline.json"
VERIFICATION_JSON = "verification.json"
VERIFICATION_CONFIG = "verification"
REVIEW_SPLIT = "review"
TAG_PATTERN = re.compile(r"^v\d+\.\d+\.\d+([.-][0-9A-Za-z.]+)?$")
REPO_PATTERN = re.compile(r"^[\w.-]+/[\w.-]+$")


class PublishError(CheckFailedError, RuntimeError):
    """The Hub refused or the repo is in a state we will not overwrite."""


@dataclass(frozen=True)
class PublishDatasetConfig:
    data_dir: Path
    repo_id: str
    tag: str
    private: bool = False
    verification_file: Path | None = None  # default: DATA_DIR/verification.json if present
    card_template: Path = CARD_TEMPLATE
    pretty_name: str = "sqry-nl intents"

    def __post_init__(self) -> None:
        for name in ("data_dir", "verification_file", "card_template"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))
        if not REPO_PATTERN.match(self.repo_id):
            raise InvalidValueError("repo_id", self.repo_id, "namespace/name")
        if not TAG_PATTERN.match(self.tag):
            raise InvalidValueError("tag", self.tag, "a version tag like v1.0.0",
                                    fix="Each publish is a semantic-version tag.")


@dataclass(frozen=True)
class PublishResult:
    repo_id: str
    tag: str
    commit: str
    status: str  # "published" | "tagged" (content already on main) | "unchanged"


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
    api = api or HfApi()
    _check_token(api)
    api.create_repo(cfg.repo_id, repo_type="dataset", private=cfg.private, exist_ok=True)
    tags = _tags(api, cfg.repo_id)
    if cfg.tag in tags:
        remote = _manifest(api, cfg.repo_id, tags[cfg.tag])
        if remote and remote.get("content_sha256") == local.content_sha256:
            log.info("%s@%s already holds this data; nothing to do", cfg.repo_id, cfg.tag)
            return PublishResult(cfg.repo_id, cfg.tag, tags[cfg.tag], "unchanged")
        raise PublishError(
            f"tag {cfg.tag} of {cfg.repo_id} already holds different data (content sha256 "
            f"{(remote or {}).get('content_sha256', 'unknown')[:12]} there, "
            f"{local.content_sha256[:12]} here). Tags are never moved or overwritten. "
            "Fix: publish under a new version tag, e.g. the next patch version.")
    head = api.dataset_info(cfg.repo_id).sha
    status = "tagged"
    if (_manifest(api, cfg.repo_id, head) or {}).get("content_sha256") != local.content_sha256:
        if head is not None and head not in tags.values() and _manifest(api, cfg.repo_id, head):
            log.warning("main of %s has untagged commits; publishing %s on top of them",
                        cfg.repo_id, cfg.tag)
        head = _push(api, cfg, local)
        status = "published"
    api.create_tag(cfg.repo_id, tag=cfg.tag, revision=head, repo_type="dataset",
                   tag_message=f"hf-pipeline dataset {cfg.tag} ({local.content_sha256[:12]})")
    log.info("%s %s@%s (commit %s)", status, cfg.repo_id, cfg.tag, head)
    return PublishResult(cfg.repo_id, cfg.tag, head, status)


def read_local(cfg: PublishDatasetConfig) -> LocalDataset:
    """The generator's folder: the splits, its metadata and stats, and the review sample."""
    from datasets import Dataset, Features, Value

    from hf_pipeline.data_sources import class_label

    dataset = load_splits(cfg.data_dir).dataset
    data_json = cfg.data_dir / DATASET_JSON
    document = json.loads(data_json.read_text(encoding="utf-8"))
    stats_file = cfg.data_dir / "stats.json"
    stats = json.loads(stats_file.read_text(encoding="utf-8")) if stats_file.exists() else {}
    hashes = [sha256_file(data_json)]
    review_file = cfg.verification_file or cfg.data_dir / VERIFICATION_JSON
    verification = None
    if review_file.exists():
        hashes.append(sha256_file(review_file))
        rows = json.loads(review_file.read_text(encoding="utf-8"))["samples"]
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


def _manifest(api: HfApi, repo_id: str, revision: str | None) -> dict[str, Any] | None:
    from huggingface_hub.errors import EntryNotFoundError, RevisionNotFoundError

    if revision is None:
        return None
    try:
        path = api.hf_hub_download(repo_id, MANIFEST, repo_type="dataset", revision=revision)
    except (EntryNotFoundError, RevisionNotFoundError):
        return None
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _tags(api: HfApi, repo_id: str) -> dict[str, str]:
    refs = api.list_repo_refs(repo_id, repo_type="dataset")
    return {t.name: t.target_commit for t in refs.tags}


def _check_token(api: HfApi) -> None:
    """Fail early and clearly: an unreachable Hub and a refused token are told apart, each
    with its fix (the token is never printed)."""
    with hub_errors("publish", endpoint=api.endpoint):
        api.whoami()


def versions(repo_id: str, *, api: HfApi | None = None) -> dict[str, Any]:
    """Tags with their content hash, and whether ``main`` has untagged work."""
    from huggingface_hub import HfApi

    api = api or HfApi()
    tags = _tags(api, repo_id)
    head = api.dataset_info(repo_id).sha
    return {
        "repo_id": repo_id, "main": head, "untagged_main": head not in tags.values(),
        "tags": {name: {"commit": commit,
                        "content_sha256": (_manifest(api, repo_id, commit) or {})
                        .get("content_sha256")} for name, commit in sorted(tags.items())},
    }
