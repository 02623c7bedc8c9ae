"""``hf-pipeline space publish``, ``space build`` and ``demo``, as a user runs them."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fixtures.hub_server import REPO_ROOT
from space_testing import app_env, app_process, free_port

from hf_pipeline.cli import main
from hf_pipeline.intents import INTENTS

MODEL_TAG = "v0.0.1"


@pytest.mark.parametrize("command", ["space publish", "space build", "demo"])
def test_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main([*command.split(), "--help"])
    assert e.value.code == 0 and "usage: hf-pipeline " + command in capsys.readouterr().out


def test_demo_needs_a_folder_or_a_model_at_a_revision(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    assert main(["demo", "--model", str(tmp_path / "nope")]) == 2
    assert "is neither a folder nor a model repo at a revision" in capsys.readouterr().err


def test_space_build_only_builds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "space"
    assert main(["space", "build", "--repo-id", "me/demo", "--model", "me/model@v1.0.0",
                 "-o", str(out)]) == 0
    assert f"built the Space in {out}" in capsys.readouterr().out
    config = json.loads((out / "space_config.json").read_text())
    assert (config["model_repo"], config["model_revision"]) == ("me/model", "v1.0.0")
    assert main(["space", "build", "--model", "me/model@v1.0.0", "-o", str(tmp_path / "again"),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "folder": str(tmp_path / "again"), "model": "me/model@v1.0.0", "space": None}


def test_a_space_needs_a_model_at_a_tag(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["space", "build", "--model", str(tmp_path), "-o", str(tmp_path / "s")]) == 2
    assert capsys.readouterr().err == (
        f"error: --model {tmp_path}: a Space serves a model from the Hub. Fix: pass the model "
        "repo at a tag, NAMESPACE/NAME@TAG (e.g. me/sqry-nl-intent@v1.0.0).\n")


@pytest.mark.hub
def test_publish_space_command(hub_env: Any, hub_model: tuple[str, str],
                               hub_repo_id: Callable[[str], str],
                               capsys: pytest.CaptureFixture[str]) -> None:
    model, _ = hub_model
    space = hub_repo_id("demo")
    argv = ["space", "publish", "--repo-id", space, "--model", f"{model}@{MODEL_TAG}"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert first.startswith(f"published Space {space} (commit ")
    assert main(argv) == 0 and capsys.readouterr().out == first  # nothing new: same commit
    assert main([*argv[:-1], f"{model}@v9.9.9"]) == 2
    assert "has no such revision" in capsys.readouterr().err


def _classify(url: str, tiny_classifier: Any, query: str = "who calls main") -> None:
    from gradio_client import Client

    client = Client(url, verbose=False)
    try:
        got = client.predict(query, api_name="/classify")
    finally:
        client.close()
    expected = tiny_classifier.predict([query])[0]
    confidences = {c["label"]: c["confidence"] for c in got["confidences"]}
    assert set(confidences) == set(INTENTS)
    for label, p in expected.probabilities.items():
        assert confidences[label] == pytest.approx(p, abs=1e-6)


def _demo_env(base: dict[str, str]) -> dict[str, str]:
    return app_env(base, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT),
                                                                   os.environ.get("PYTHONPATH")])))


@pytest.mark.slow
def test_demo_serves_a_release_folder_until_ctrl_c(tiny_release_dir: Path, tiny_classifier: Any,
                                                   tmp_path: Path) -> None:
    port = free_port()
    cmd = [sys.executable, "-m", "hf_pipeline", "demo", "--model", str(tiny_release_dir),
           "--port", str(port)]
    with app_process(cmd, cwd=tmp_path, env=_demo_env(dict(os.environ)), port=port,
                     log=tmp_path / "demo.log") as (url, process):
        _classify(url, tiny_classifier)
    assert process.returncode == 0


@pytest.mark.slow
@pytest.mark.hub
def test_demo_serves_a_model_at_a_tag_and_a_space_repo(
        hub_env: Any, hub_api: Any, hub_model: tuple[str, str],
        hub_repo_id: Callable[[str], str], tiny_classifier: Any, tmp_path: Path) -> None:
    from hf_pipeline.publish.space import publish_space

    model, _ = hub_model
    space = hub_repo_id("demo")
    publish_space(space, model_repo=model, model_revision=MODEL_TAG, api=hub_api)
    env = _demo_env(hub_env.client_env(tmp_path / "hf_home"))
    for source in (["--model", f"{model}@{MODEL_TAG}"], ["--space", space]):
        port = free_port()
        cmd = [sys.executable, "-m", "hf_pipeline", "demo", *source, "--port", str(port)]
        with app_process(cmd, cwd=tmp_path, env=env, port=port,
                         log=tmp_path / f"demo-{port}.log") as (url, process):
            _classify(url, tiny_classifier)
        assert process.returncode == 0, source
