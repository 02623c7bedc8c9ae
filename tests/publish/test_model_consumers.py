"""Every consumer of a published model repo, with the real clients over HTTP (local Hub):
today's sqry-nl (Custom trust on a download, Trusted on the archive, the download URL itself),
transformers, `train --base-model REPO@TAG`, and the card's onnxruntime-only snippet."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from fixtures.model_release import copy_release

from hf_pipeline.publish import PublishModelConfig, publish_model
from hf_pipeline.model_folder.layout import RELEASE_FILES

pytestmark = pytest.mark.hub

LOADER_CHECK = Path(__file__).resolve().parents[3] / "shared" / "tools" / "sqry_nl_loader_check.py"
QUERIES = ["who calls login", "where is parse_config defined", "grep for TODO", "index status",
           "draw the call graph of Server as mermaid", "path from main to db"]


@pytest.fixture(scope="module")
def published(local_hub, model_release: Path, tmp_path_factory: pytest.TempPathFactory
              ) -> dict[str, Any]:
    """One publish of a copy of the tiny release, shared by the tests of this module."""
    from fixtures.hub_server import point_clients_at, unique_repo_id

    root = tmp_path_factory.mktemp("consumers")
    release = copy_release(model_release, root)
    repo = unique_repo_id("consumers")
    with pytest.MonkeyPatch.context() as monkeypatch:
        point_clients_at(monkeypatch, local_hub, root / "hf_home")
        result = publish_model(PublishModelConfig(release_dir=release, repo_id=repo,
                                                  tag="v1.0.0"))
    return {"repo": repo, "release": release, "result": result, "root": root,
            "env": local_hub.client_env(root / "hf_home")}


def http_get(url: str) -> bytes:
    """As sqry's installer: a plain GET, redirects followed, no token."""
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


def loader_check(*args: Path) -> str:
    if not LOADER_CHECK.is_file():
        pytest.skip(f"{LOADER_CHECK} is not here")
    done = subprocess.run([sys.executable, str(LOADER_CHECK), *map(str, args)],
                          capture_output=True, text=True, timeout=120, check=False)
    return done.stdout.strip()


def test_the_manifest_records_the_publish_and_the_url_serves_the_archive(
        published: dict[str, Any], local_hub, tmp_path: Path) -> None:
    repo, release = published["repo"], published["release"]
    archive_url = f"{local_hub.url}/{repo}/resolve/v1.0.0/sqry-models-v1.0.0.tar.gz"
    folder_manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    assert (folder_manifest["release_tag"], folder_manifest["download_url"]) == (
        "v1.0.0", archive_url)
    manifest = json.loads(http_get(f"{local_hub.url}/{repo}/resolve/v1.0.0/"
                                   "sqry-nl-manifest.json"))
    assert manifest == {**folder_manifest, "sha256": manifest["sha256"]}
    archive = http_get(manifest["download_url"])
    assert hashlib.sha256(archive).hexdigest() == manifest["sha256"]
    (tmp_path / manifest["archive"]).write_bytes(archive)
    (tmp_path / "expected.json").write_text(json.dumps(manifest), encoding="utf-8")
    # Custom trust on the published folder, Trusted on the archive with the published manifest.
    assert loader_check(release, tmp_path / "expected.json",
                        tmp_path / manifest["archive"]) == "sqry-nl loader contract: ok"
    assert any(line.startswith(f"download_url {archive_url}: installs")
               for line in published["result"].verification)


def test_a_download_of_the_tag_passes_custom_trust(published: dict[str, Any], local_hub,
                                                   tmp_path: Path) -> None:
    hf = Path(sys.executable).parent / "hf"
    folder = tmp_path / "sqry-nl-model"
    subprocess.run([str(hf), "download", published["repo"], "--revision", "v1.0.0",
                    "--local-dir", str(folder)], env={**os.environ, **published["env"]},
                   check=True, capture_output=True, timeout=120)
    assert loader_check(folder) == "sqry-nl loader contract: ok"
    for name in RELEASE_FILES:
        assert (folder / name).read_bytes() == (published["release"] / name).read_bytes()


def test_republishing_the_same_folder_changes_nothing(published: dict[str, Any], hub_env,
                                                      hub_api) -> None:
    before = {f.path: f.blob_id for f in hub_api.list_repo_tree(published["repo"],
                                                                 revision="v1.0.0")}
    again = publish_model(PublishModelConfig(release_dir=published["release"],
                                             repo_id=published["repo"], tag="v1.0.0"))
    assert again.status == "unchanged" and again.commit == published["result"].commit
    after = {f.path: f.blob_id for f in hub_api.list_repo_tree(published["repo"],
                                                                revision="v1.0.0")}
    assert after == before and "sqry-models-v1.0.0.tar.gz" in after


def test_transformers_loads_the_repo_as_the_weights_it_was_exported_from(
        published: dict[str, Any], hub_env, tiny_model_dir: Path) -> None:
    import torch
    from transformers import pipeline

    from hf_pipeline.intents import INTENTS
    from hf_pipeline.train.inference import TorchClassifier

    classifier = pipeline("text-classification", model=published["repo"], revision="v1.0.0",
                          top_k=None)
    scores = [{s["label"]: s["score"] for s in row} for row in classifier(QUERIES)]
    fp32 = TorchClassifier.from_dir(tiny_model_dir).logits(QUERIES)
    expected = torch.softmax(torch.as_tensor(fp32), dim=-1).numpy()
    for row, probs in zip(scores, expected, strict=True):
        assert sorted(row) == sorted(INTENTS)
        assert [row[label] for label in INTENTS] == pytest.approx(list(probs), abs=1e-5)


def test_train_warm_starts_from_a_published_release(published: dict[str, Any], hub_env,
                                                    tiny_model_dir: Path) -> None:
    from safetensors.torch import load_file

    from hf_pipeline.base_model import resolve_base_model_source
    from hf_pipeline.train.loop import _load_model

    source = resolve_base_model_source(f"{published['repo']}@v1.0.0")
    assert (source.kind, source.repo_id, source.commit) == (
        "hub", published["repo"], published["result"].commit)
    model = _load_model(source.path)  # what `train --base-model REPO@TAG` starts from
    trained = load_file(str(tiny_model_dir / "model.safetensors"))
    state = model.state_dict()
    for name in ("classifier.weight", "classifier.bias"):  # the 8-label head is kept
        assert state[name].equal(trained[name]), name


def card_snippet(card: str) -> str:
    """The Python block of the card's onnxruntime-only section."""
    section = card.split("### From Python, with onnxruntime, tokenizers and huggingface_hub")[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow
def test_the_cards_snippet_runs_with_only_its_four_packages(
        published: dict[str, Any], hub_env, hub_api, tmp_path: Path) -> None:
    from importlib.metadata import version

    from hf_pipeline.runtime import IntentClassifier

    card = Path(hub_api.hf_hub_download(published["repo"], "README.md", revision="v1.0.0"))
    snippet = card_snippet(card.read_text(encoding="utf-8"))
    assert len(snippet.splitlines()) < 30
    script = tmp_path / "snippet.py"
    script.write_text(snippet.replace('classify("who calls login")', "classify(sys.argv[1])")
                      .replace("import hashlib,", "import sys, hashlib,"), encoding="utf-8")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    packages = [f"{name}=={version(name)}" for name in ("onnxruntime", "tokenizers",
                                                        "huggingface_hub", "numpy")]
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    *packages], check=True, timeout=600)
    listed = subprocess.run([str(python), "-m", "pip", "list", "--format=json"], check=True,
                            capture_output=True, text=True, timeout=60).stdout
    assert not {"hf-pipeline", "torch", "transformers"} & {p["name"] for p in json.loads(listed)}
    runtime = IntentClassifier.from_dir(published["release"])
    env = {**published["env"], "PATH": os.environ["PATH"], "HF_HOME": str(tmp_path / "home")}
    for query, expected in zip(QUERIES, runtime.predict(QUERIES), strict=True):
        done = subprocess.run([str(python), str(script), query], env=env, capture_output=True,
                              text=True, timeout=120, check=True, cwd=tmp_path)
        intent, confidence, tier = done.stdout.split()
        assert (intent, tier) == (expected.intent, expected.tier)
        assert float(confidence) == pytest.approx(expected.confidence, abs=1e-5)  # float32
