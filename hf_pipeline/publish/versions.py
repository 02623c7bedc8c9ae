"""Tagged, never-overwritten versions of a Hub repo: what dataset and model publishing share.

A version exists once its tag exists, and the tag is created only after everything the
version holds is on ``main`` (and, where the content can check itself, verified there). So an
interrupted publish leaves every earlier tag as it was and shows up as untagged commits on
``main`` (``version_status``); running the same publish again finishes it. Tags are never
moved: the same tag with other content is refused, the same content is a no-op.

What a version *is* differs by repo kind (a content hash for a dataset, file hashes for a
model), so each kind implements ``VersionContent``; ``publish_version`` is the one flow.
The endpoint and token come from the usual places (HF_ENDPOINT, HF_TOKEN, the login cache);
the token is never logged or written.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from hf_pipeline.errors import CheckFailedError, InvalidValueError
from hf_pipeline.hub_client import hub_errors
from hf_pipeline.repo_ids import check_repo_id

if TYPE_CHECKING:
    from huggingface_hub import HfApi

log = logging.getLogger(__name__)

TAG_PATTERN = re.compile(r"^v\d+\.\d+\.\d+([.-][0-9A-Za-z.]+)?$")
GITATTRIBUTES = ".gitattributes"  # the Hub's own file in every repo; never ours to judge


class PublishError(CheckFailedError, RuntimeError):
    """The Hub refused or the repo is in a state we will not overwrite."""


@dataclass(frozen=True)
class PublishResult:
    repo_id: str
    tag: str
    commit: str
    status: str  # "published" | "tagged" (content already on main) | "unchanged"
    files: tuple[str, ...] = field(default=())  # what the tag holds (models)
    verification: tuple[str, ...] = field(default=())  # what was checked at the commit


def check_publish_config(cfg: Any, path_fields: tuple[str, ...]) -> None:
    """What every publish config checks on creation: its path fields become Paths, its repo
    id and tag are well-formed (for frozen dataclasses, in ``__post_init__``)."""
    for name in path_fields:
        value = getattr(cfg, name)
        if value is not None and not isinstance(value, Path):
            object.__setattr__(cfg, name, Path(value))
    check_repo_id(cfg.repo_id)
    check_tag(cfg.tag)


def check_tag(tag: str) -> None:
    if not isinstance(tag, str) or not TAG_PATTERN.match(tag):
        raise InvalidValueError("tag", tag, "a version tag like v1.0.0",
                                fix="Each publish is a semantic-version tag.")


@dataclass(frozen=True)
class Target:
    """Where a version goes."""

    repo_id: str
    repo_type: str  # "dataset" | "model"
    tag: str
    private: bool = False


class VersionContent(Protocol):
    """What one repo kind knows about the version it publishes."""

    noun: str  # "data", "model": what "already holds different ..." names

    def summary(self) -> str:
        """A short identity for tag messages and logs, e.g. 'content sha256 0123abcd'."""
        ...

    def difference(self, api: HfApi, revision: str, *, exact: bool) -> str | None:
        """None when ``revision`` holds this version; else what differs, for a message.
        ``exact`` (main's head): everything a push would write must match; otherwise (an
        existing tag) only the version's identity, not files derived from it like the card."""
        ...

    def push(self, api: HfApi, parent: str | None) -> str:
        """Write the version onto ``main`` on top of ``parent``; the new head commit."""
        ...

    def verify(self, api: HfApi, commit: str) -> tuple[str, ...]:
        """Check what ``commit`` holds; raise PublishError if it is not this version.
        Returns what was checked, in words."""
        ...


def publish_version(api: HfApi, target: Target, content: VersionContent) -> PublishResult:
    """The one publish flow: refuse a moved tag, skip what is already there, push, verify,
    then tag."""
    check_token(api)
    api.create_repo(target.repo_id, repo_type=target.repo_type, private=target.private,
                    exist_ok=True)
    tags = tag_commits(api, target.repo_id, repo_type=target.repo_type)
    if target.tag in tags:
        commit = tags[target.tag]
        diff = content.difference(api, commit, exact=False)
        if diff is not None:
            raise PublishError(
                f"tag {target.tag} of {target.repo_id} already holds different {content.noun} "
                f"({diff}). Tags are never moved or overwritten. Fix: publish under a new "
                "version tag, e.g. the next patch version.")
        checks = content.verify(api, commit)
        log.info("%s@%s already holds this %s; nothing to do", target.repo_id, target.tag,
                 content.noun)
        return PublishResult(target.repo_id, target.tag, commit, "unchanged",
                             verification=checks)
    head = main_commit(api, target.repo_id, repo_type=target.repo_type)
    status = "tagged"
    if head is None or content.difference(api, head, exact=True) is not None:
        if head is not None and head not in tags.values() and _has_content(api, target, head):
            log.warning("main of %s has untagged commits; publishing %s on top of them",
                        target.repo_id, target.tag)
        head = content.push(api, head)
        status = "published"
    checks = content.verify(api, head)
    api.create_tag(target.repo_id, tag=target.tag, revision=head, repo_type=target.repo_type,
                   tag_message=f"hf-pipeline {target.repo_type} {target.tag} "
                               f"({content.summary()})")
    log.info("%s %s@%s (commit %s)", status, target.repo_id, target.tag, head)
    return PublishResult(target.repo_id, target.tag, head, status, verification=checks)


def tag_commits(api: HfApi, repo_id: str, *, repo_type: str) -> dict[str, str]:
    """Tag name -> commit sha."""
    refs = api.list_repo_refs(repo_id, repo_type=repo_type)
    return {t.name: t.target_commit for t in refs.tags}


def main_commit(api: HfApi, repo_id: str, *, repo_type: str) -> str | None:
    return api.repo_info(repo_id, repo_type=repo_type).sha


def _has_content(api: HfApi, target: Target, revision: str) -> bool:
    files = api.list_repo_files(target.repo_id, repo_type=target.repo_type, revision=revision)
    return any(name != GITATTRIBUTES for name in files)


def check_token(api: HfApi) -> None:
    """Fail early and clearly: an unreachable Hub and a refused token are told apart, each
    with its fix (the token is never printed)."""
    with hub_errors("publish", endpoint=api.endpoint):
        api.whoami()


def version_status(api: HfApi, repo_id: str, *, repo_type: str,
                   describe: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """Tags (each with ``describe(commit)``), main's head, and whether main has untagged work."""
    check_repo_id(repo_id)
    with hub_errors(f"status of {repo_type} repo {repo_id}", endpoint=api.endpoint):
        tags = tag_commits(api, repo_id, repo_type=repo_type)
        head = main_commit(api, repo_id, repo_type=repo_type)
    return {
        "repo_id": repo_id, "main": head, "untagged_main": head not in tags.values(),
        "tags": {name: {"commit": commit, **describe(commit)}
                 for name, commit in sorted(tags.items())},
    }
