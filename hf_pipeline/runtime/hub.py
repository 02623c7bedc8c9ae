"""Download a model folder from a Hub model repo: one commit, the contract's files only."""

from __future__ import annotations

import logging
from pathlib import Path

from hf_pipeline.hub_client import hub_errors
from hf_pipeline.model_folder.layout import RELEASE_FILES

log = logging.getLogger(__name__)


def download_model(repo_id: str, *, revision: str = "main", token: str | None = None,
                   cache_dir: str | Path | None = None) -> tuple[Path, str]:
    """(local folder, commit sha) of ``repo_id`` at ``revision``. The revision is resolved
    to its commit first and that commit is what is downloaded, so a tag or branch that moves
    in between cannot mix two versions."""
    from huggingface_hub import HfApi, snapshot_download

    with hub_errors(f"model {repo_id}@{revision}"):
        commit = HfApi(token=token).model_info(repo_id, revision=revision).sha
        folder = snapshot_download(repo_id, revision=commit, token=token,
                                   cache_dir=cache_dir, allow_patterns=list(RELEASE_FILES))
    log.info("downloaded %s@%s (commit %s) to %s", repo_id, revision, commit, folder)
    return Path(folder), str(commit)
