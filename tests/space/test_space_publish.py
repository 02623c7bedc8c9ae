"""Publishing the Space to the local Hub, and running it from a download of its repo alone."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from space_testing import app_env, app_process, blocker_dir, free_port

from hf_pipeline.errors import HubError, PipelineError
from hf_pipeline.intents import INTENTS
from hf_pipeline.publish.space import build_space_folder, publish_space
from hf_pipeline.model_folder.layout import ONNX_FILE

pytestmark = pytest.mark.hub

MODEL_TAG = "v0.0.1"
QUERIES = ["who calls authenticate_user", "draw the call graph of login as mermaid",
           "is the index up to date", "who\x00 calls\x07 main", "hello " * 2000]


def space_files(api: Any, repo_id: str) -> set[str]:
    return set(api.list_repo_files(repo_id, repo_type="space")) - {".gitattributes"}


def test_publish_is_one_commit_and_the_same_content_is_a_no_op(
        hub_api: Any, hub_model: tuple[str, str], hub_repo_id: Callable[[str], str],
        tmp_path: Path) -> None:
    model, model_commit = hub_model
    space = hub_repo_id("demo")
    sha = publish_space(space, model_repo=model, model_revision=MODEL_TAG, api=hub_api)
    commits = hub_api.list_repo_commits(space, repo_type="space")
    assert commits[0].commit_id == sha
    assert publish_space(space, model_repo=model, model_revision=MODEL_TAG, api=hub_api) == sha
    assert len(hub_api.list_repo_commits(space, repo_type="space")) == len(commits)
    local = build_space_folder(tmp_path / "local", model_repo=model, model_revision=MODEL_TAG,
                               model_commit=model_commit, space_repo=space)
    assert space_files(hub_api, space) == {p.relative_to(local).as_posix()
                                           for p in local.rglob("*") if p.is_file()}
    config = json.loads(Path(hub_api.hf_hub_download(space, "space_config.json",
                                                     repo_type="space")).read_text())
    assert config["model_commit"] == model_commit  # the tag, pinned as it was at publish time
    readme = Path(hub_api.hf_hub_download(space, "README.md", repo_type="space")).read_text()
    assert f"models:\n- {model}\n" in readme and "sdk: gradio\n" in readme


def test_publish_refuses_a_model_that_is_missing_or_fails_its_checksums(
        hub_api: Any, hub_model: tuple[str, str], hub_repo_id: Callable[[str], str],
        release_copy: Path) -> None:
    model, _ = hub_model
    space = hub_repo_id("demo")
    with pytest.raises(HubError, match=rf"^model {model}@v9\.9\.9: the Hub at http://\S+ "
                       "has no such revision"):
        publish_space(space, model_repo=model, model_revision="v9.9.9", api=hub_api)
    with pytest.raises(HubError, match="^model hf-pipeline-tests/absent@v0.0.1: the Hub at "
                       r"http://\S+ has no such repository"):
        publish_space(space, model_repo="hf-pipeline-tests/absent", model_revision=MODEL_TAG,
                      api=hub_api)
    tampered = hub_repo_id("tampered")
    onnx = release_copy / ONNX_FILE
    onnx.write_bytes(onnx.read_bytes()[:-1] + b"\0")
    hub_api.create_repo(tampered)
    hub_api.upload_folder(repo_id=tampered, folder_path=release_copy)
    with pytest.raises(PipelineError, match=ONNX_FILE):
        publish_space(space, model_repo=tampered, model_revision="main", api=hub_api)
    assert not hub_api.repo_exists(space, repo_type="space")  # nothing was published


def test_the_app_explains_a_missing_or_tampered_hub_model(
        app_module: Any, hub_api: Any, hub_repo_id: Callable[[str], str],
        release_copy: Path) -> None:
    loaded = app_module.load_model(model_repo="hf-pipeline-tests/absent",
                                   model_revision=MODEL_TAG)
    assert loaded.classifier is None
    assert loaded.error.startswith("model hf-pipeline-tests/absent@v0.0.1: the Hub at http")
    assert "has no such repository" in loaded.error
    tampered = hub_repo_id("tampered")
    (release_copy / ONNX_FILE).write_bytes(b"not the model")
    hub_api.create_repo(tampered)
    hub_api.upload_folder(repo_id=tampered, folder_path=release_copy)
    loaded = app_module.load_model(model_repo=tampered, model_revision="main")
    assert loaded.classifier is None and ONNX_FILE in loaded.error
    loaded = app_module.load_model(model_repo=tampered, model_revision="v9.9.9")
    assert loaded.classifier is None and "has no such revision" in loaded.error


@pytest.mark.slow
def test_the_space_runs_from_its_own_files_without_hf_pipeline(
        hub_api: Any, hub_env: Any, hub_model: tuple[str, str],
        hub_repo_id: Callable[[str], str], tiny_classifier: Any, tmp_path: Path) -> None:
    from gradio_client import Client
    from huggingface_hub import snapshot_download

    model, model_commit = hub_model
    space = hub_repo_id("demo")
    publish_space(space, model_repo=model, model_revision=MODEL_TAG, api=hub_api)
    clone = Path(snapshot_download(space, repo_type="space", local_dir=tmp_path / "clone"))
    files = {p.relative_to(clone).as_posix() for p in clone.rglob("*")
             if p.is_file() and ".cache" not in p.parts}
    assert files == space_files(hub_api, space) | {".gitattributes"}
    hf_home = tmp_path / "space_hf_home"
    port = free_port()
    env = app_env(hub_env.client_env(hf_home), PYTHONPATH=str(blocker_dir(tmp_path)),
                  GRADIO_SERVER_PORT=str(port))
    proof = subprocess.run([sys.executable, "-c", "import hf_pipeline"], cwd=clone, env=env,
                           capture_output=True, text=True)
    assert proof.returncode == 1 and "blocked: a Space has no hf_pipeline" in proof.stderr
    with app_process([sys.executable, "app.py"], cwd=clone, env=env, port=port,
                     log=tmp_path / "space.log") as (url, process):
        client = Client(url, verbose=False)
        try:
            for query in QUERIES:
                expected = tiny_classifier.predict([query])[0]
                got = client.predict(query, api_name="/classify")
                confidences = {c["label"]: c["confidence"] for c in got["confidences"]}
                assert set(confidences) == set(INTENTS) and got["label"] == expected.intent
                for label, p in expected.probabilities.items():
                    assert confidences[label] == pytest.approx(p, abs=1e-6)
            table, download = client.predict("\n".join(QUERIES[:3]), None,
                                             api_name="/classify_batch")
            rows = [json.loads(line) for line in Path(download).read_text().splitlines()]
            for row, query in zip(rows, QUERIES[:3], strict=True):
                expected = tiny_classifier.predict([query])[0]
                for label, p in expected.probabilities.items():
                    assert row["probabilities"][label] == pytest.approx(p, abs=1e-6)
            assert [r[2] for r in table["data"]] == [r["intent"] for r in rows]
        finally:
            client.close()
        with urllib.request.urlopen(f"{url}/config", timeout=10) as r:
            page = r.read().decode("utf-8")
        assert model_commit in page and "0.0.1-test" in page and MODEL_TAG in page
        assert "Traceback" not in (tmp_path / "space.log").read_text(errors="replace")
    assert process.returncode == 0  # Ctrl-C ends it cleanly
