"""What publishing a model repo and a Gradio Space repo needs from the local Hub, checked
with the real huggingface_hub client (its API, its ``hf`` CLI) over HTTP."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures.hub_server import LocalHub
from huggingface_hub import (
    EvalResult,
    HfApi,
    ModelCard,
    ModelCardData,
    RepoCard,
    snapshot_download,
)
from huggingface_hub.errors import HfHubHTTPError

pytestmark = pytest.mark.hub

RepoIds = Callable[[str], str]


def _model_folder(root: Path, version: str) -> dict[str, bytes]:
    files = {
        "config.json": f'{{"model_version": "{version}"}}\n'.encode(),
        "intent_classifier.onnx": os.urandom(40_000),  # binary: goes to LFS
        "tokenizer.json": b'{"model": "wordpiece"}\n',
        "nested/notes.txt": f"version {version}\n".encode(),
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


def _read_tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and ".cache" not in p.relative_to(folder).parts}


@pytest.fixture
def released(hub_api: HfApi, hub_repo_id: RepoIds,
             tmp_path: Path) -> tuple[str, str, dict[str, bytes]]:
    """A model repo with v1.0.0 tagged, and main moved on since: (repo, v1 sha, v1 files)."""
    repo = hub_repo_id("model")
    hub_api.create_repo(repo)
    v1 = _model_folder(tmp_path / "v1", "1.0.0")
    sha = hub_api.upload_folder(folder_path=tmp_path / "v1", repo_id=repo).oid
    hub_api.create_tag(repo, tag="v1.0.0", revision=sha)
    _model_folder(tmp_path / "v2", "2.0.0")
    hub_api.upload_folder(folder_path=tmp_path / "v2", repo_id=repo)
    return repo, sha, {".gitattributes": b"", **v1}


def test_tree_carries_the_hashes_verify_repo_checksums_needs(
        hub_api: HfApi, released: tuple[str, str, dict[str, bytes]], tmp_path: Path) -> None:
    repo, sha, v1 = released
    entries = {e.path: e for e in hub_api.list_repo_tree(repo, revision=sha, recursive=True)
               if hasattr(e, "blob_id")}
    onnx = v1["intent_classifier.onnx"]
    assert entries["intent_classifier.onnx"].lfs.sha256 == hashlib.sha256(onnx).hexdigest()
    assert entries["config.json"].lfs is None
    assert entries["config.json"].blob_id == hashlib.sha1(
        b"blob %d\0" % len(v1["config.json"]) + v1["config.json"]).hexdigest()

    local = tmp_path / "download"
    snapshot_download(repo, revision=sha, local_dir=local, endpoint=hub_api.endpoint)
    result = hub_api.verify_repo_checksums(repo, repo_type="model", revision=sha,
                                           local_dir=local)
    assert (result.mismatches, result.missing_paths, result.extra_paths) == ([], [], [])
    assert result.checked_count == len(v1)

    # A changed byte in an LFS file and in a regular file, a missing and an extra file.
    (local / "intent_classifier.onnx").write_bytes(b"\0" + onnx[1:])
    (local / "config.json").write_bytes(b"{}\n")
    (local / "tokenizer.json").unlink()
    (local / "stray.txt").write_text("x")
    result = hub_api.verify_repo_checksums(repo, repo_type="model", revision="v1.0.0",
                                           local_dir=local)
    assert sorted((m["path"], m["algorithm"]) for m in result.mismatches) == [
        ("config.json", "git-sha1"), ("intent_classifier.onnx", "sha256")]
    assert result.missing_paths == ["tokenizer.json"] and result.extra_paths == ["stray.txt"]


def test_a_tag_and_a_commit_sha_pin_the_same_files(
        hub_api: HfApi, hub_env: LocalHub, released: tuple[str, str, dict[str, bytes]],
        tmp_path: Path) -> None:
    repo, sha, v1 = released
    assert hub_api.model_info(repo, revision="v1.0.0").sha == sha
    assert hub_api.model_info(repo).sha != sha  # main moved on
    by_sha = Path(snapshot_download(repo, revision=sha, endpoint=hub_env.url,
                                    cache_dir=tmp_path / "c1"))
    by_tag = Path(snapshot_download(repo, revision="v1.0.0", endpoint=hub_env.url,
                                    cache_dir=tmp_path / "c2"))
    assert by_sha.name == by_tag.name == sha  # the cache keys snapshots by commit
    expected = {k: v for k, v in v1.items() if k != ".gitattributes"}
    for folder in (by_sha, by_tag):
        got = _read_tree(folder)
        assert {k: got[k] for k in expected} == expected

    refs = hub_api.list_repo_refs(repo)
    assert [(t.name, t.ref, t.target_commit) for t in refs.tags] == [
        ("v1.0.0", "refs/tags/v1.0.0", sha)]
    with pytest.raises(HfHubHTTPError) as err:  # a tag is never moved, as on the Hub
        hub_api.create_tag(repo, tag="v1.0.0")
    assert err.value.response.status_code == 409
    assert hub_api.list_repo_refs(repo).tags[0].target_commit == sha


def test_the_hf_cli_downloads_and_verifies_a_tag(
        hub_env: LocalHub, released: tuple[str, str, dict[str, bytes]], tmp_path: Path) -> None:
    repo, _, v1 = released
    hf = [sys.executable, "-m", "huggingface_hub.cli.hf"]
    env = hub_env.client_env(tmp_path / "hf_home")
    local = tmp_path / "cli"
    done = subprocess.run([*hf, "download", repo, "--revision", "v1.0.0", "--local-dir",
                           str(local)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    expected = {k: v for k, v in v1.items() if k != ".gitattributes"}
    got = _read_tree(local)
    assert {k: got[k] for k in expected} == expected
    verify = subprocess.run([*hf, "cache", "verify", repo, "--revision", "v1.0.0",
                             "--local-dir", str(local)], env=env, capture_output=True,
                            text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def _card() -> ModelCard:
    data = ModelCardData(
        language="en", license="mit", library_name="transformers",
        tags=["text-classification", "onnx", "int8"], datasets=["local-user/sqry-intents"],
        base_model="sentence-transformers/all-MiniLM-L6-v2", base_model_relation="finetune",
        pipeline_tag="text-classification", model_name="sqry-intent-classifier",
        eval_results=[EvalResult(
            task_type="text-classification", task_name="Intent classification",
            dataset_type="local-user/sqry-intents", dataset_name="sqry intents",
            dataset_split="test", dataset_revision="v1.0.0", metric_type="accuracy",
            metric_name="Accuracy", metric_value=0.935)],
    )
    return ModelCard(f"---\n{data.to_yaml()}\n---\n# sqry intent classifier\n")


def test_a_model_card_validates_and_pushes(hub_api: HfApi, hub_env: LocalHub,
                                          hub_repo_id: RepoIds) -> None:
    card = _card()
    card.validate(repo_type="model")  # POST /api/validate-yaml; raises on a 400
    repo = hub_repo_id("card")
    hub_api.create_repo(repo)
    card.push_to_hub(repo, token=hub_env.token)
    info = hub_api.model_info(repo)
    assert info.card_data is not None
    assert info.card_data.base_model == "sentence-transformers/all-MiniLM-L6-v2"
    assert info.card_data["base_model_relation"] == "finetune"
    assert info.card_data.eval_results[0].metric_value == 0.935  # type: ignore[index]
    assert info.pipeline_tag == "text-classification" and info.library_name == "transformers"
    assert ModelCard.load(repo, token=hub_env.token).data.to_dict() == card.data.to_dict()


BAD_RESULT = """model-index:
- name: m
  results:
  - task: {task}
    dataset: {{type: d, name: d}}
    metrics: [{metric}]
"""


@pytest.mark.parametrize(("metadata", "message"), [
    ("base_model: a/b\nbase_model_relation: distilled\n",
     '"base_model_relation" must be one of adapter, merge, quantized, finetune'),
    (BAD_RESULT.format(task="{type: text-classification}", metric="{type: accuracy}"),
     '"model-index"[0].results[0].metrics[0] needs a string type and a value'),
    (BAD_RESULT.format(task="{name: x}", metric="{type: f1, value: 1}"),
     '"model-index"[0].results[0].task needs a string type'),
    ("model-index: {name: m}\n", '"model-index" must be a list'),
])
def test_a_model_card_the_hub_would_refuse_is_refused(metadata: str, message: str,
                                                      hub_env: LocalHub) -> None:
    # A plain RepoCard: ModelCard's own parsing drops a model-index it cannot read, so the
    # server would never see these.
    card = RepoCard(f"---\n{metadata}---\n# m\n")
    with pytest.raises(ValueError) as err:
        card.validate(repo_type="model")
    assert message in json.loads(str(err.value))["errors"][0]["message"]


SPACE_README = """---
title: sqry intents
emoji: 🔎
colorFrom: blue
colorTo: green
sdk: gradio
sdk_version: 6.31.0
python_version: "3.10"
app_file: app.py
models: [{model}]
preload_from_hub:
- "{model} intent_classifier.onnx,tokenizer.json {sha}"
short_description: Classify sqry queries into intents
pinned: false
---
# sqry intents
"""


def test_a_gradio_space_round_trips(hub_api: HfApi, hub_env: LocalHub, hub_repo_id: RepoIds,
                                   released: tuple[str, str, dict[str, bytes]],
                                   tmp_path: Path) -> None:
    model, sha, _ = released
    space = hub_repo_id("space")
    url = hub_api.create_repo(space, repo_type="space", space_sdk="gradio")
    assert url.repo_type == "space" and url.url.endswith(f"/spaces/{space}")
    folder = tmp_path / "space"
    folder.mkdir()
    files = {"README.md": SPACE_README.format(model=model, sha=sha).encode(),
             "app.py": b"import gradio as gr\n", "requirements.txt": b"onnxruntime>=1.20\n"}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    commit = hub_api.upload_folder(folder_path=folder, repo_id=space, repo_type="space")

    info = hub_api.space_info(space)
    assert info.sha == commit.oid and info.sdk == "gradio"
    assert info.card_data is not None and info.card_data["models"] == [model]
    local = Path(snapshot_download(space, repo_type="space", local_dir=tmp_path / "got",
                                   endpoint=hub_env.url))
    got = _read_tree(local)
    assert {k: got[k] for k in files} == files


@pytest.mark.parametrize(("line", "message"), [
    ("colorFrom: teal", '"colorFrom" must be one of red, yellow, green, blue'),
    ("python_version: 3.10", '"python_version" must be a string, got 3.1'),
    ("pinned: 'no'", '"pinned" must be true or false'),
    ("short_description: " + "x" * 61, '"short_description" is 61 characters; the Hub allows 60'),
])
def test_space_metadata_the_hub_would_refuse_is_refused(line: str, message: str,
                                                        hub_env: LocalHub) -> None:
    from huggingface_hub import SpaceCard

    key = line.split(":")[0]
    base = [x for x in SPACE_README.format(model="a/b", sha="0" * 40).splitlines()
            if not x.startswith(f"{key}:")]
    card = SpaceCard("\n".join([base[0], line, *base[1:]]) + "\n")
    with pytest.raises(ValueError) as err:
        card.validate(repo_type="space")
    assert message in json.loads(str(err.value))["errors"][0]["message"]
