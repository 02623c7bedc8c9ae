"""``space publish --feedback-repo``, ``demo --feedback-repo`` and ``run --feedback`` against the
local Hub: the feedback dataset repo, its card, space_config.json, and the write token, which
goes only where the app reads it (a Space secret, or the demo's environment)."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fixtures.hub_server import FAKE_TOKEN, REPO_ROOT
from space_testing import app_env, app_process, free_port

from hf_pipeline.cli import main
from hf_pipeline.hub.server.storage import RepoStore
from hf_pipeline.publish import feedback_repo as fb
from hf_pipeline.publish.feedback_repo import CARD_MARKER, TOKEN_ENV

MODEL_TAG = "v0.0.1"
# The row of docs/feedback_contract.md: the card documents every field.
CONTRACT_FIELDS = ["schema", "id", "visit", "time", "text", "original_length", "flags",
                   "predicted", "confidence", "tier", "probabilities", "answer", "intent",
                   "note", "model_repo", "model_revision", "model_commit", "app_version"]


@pytest.mark.parametrize(("url", "local"), [
    ("http://127.0.0.1:8000", True), ("http://localhost:5", True), ("http://[::1]:9", True),
    ("http://127.0.0.2", True), ("https://huggingface.co", False),
    ("https://hub.example.org:443/", False), ("http://10.0.0.1", False),
    ("http://localhost.example.com", False)])
def test_which_endpoints_are_the_local_hub(url: str, local: bool) -> None:
    assert fb.is_local_endpoint(url) is local


def _publish(space: str, model: str, *extra: str) -> list[str]:
    return ["space", "publish", "--repo-id", space, "--model", f"{model}@{MODEL_TAG}", *extra]


def _text(api: Any, repo: str, path: str, repo_type: str) -> str:
    return Path(api.hf_hub_download(repo, path, repo_type=repo_type)).read_text()


def _visible_anonymously(hub: Any, repo: str) -> bool:
    from huggingface_hub import HfApi

    return HfApi(endpoint=hub.url, token=False).repo_exists(repo, repo_type="dataset")


@pytest.mark.hub
def test_publish_creates_a_private_feedback_repo_with_its_card_and_config(
        hub_env: Any, hub_api: Any, hub_model: tuple[str, str],
        hub_repo_id: Callable[[str], str], capsys: pytest.CaptureFixture[str]) -> None:
    from huggingface_hub import DatasetCard

    model, _ = hub_model
    space, repo = hub_repo_id("demo"), hub_repo_id("feedback")
    assert main(_publish(space, model, "--feedback-repo", repo, "--feedback-every", "2")) == 0
    out = capsys.readouterr()
    assert "local Hub has no Space secrets" in out.out and TOKEN_ENV in out.out
    assert FAKE_TOKEN not in out.out + out.err
    assert hub_api.dataset_info(repo).private and not _visible_anonymously(hub_env, repo)
    config = json.loads(_text(hub_api, space, "space_config.json", "space"))
    assert (config["feedback_repo"], config["feedback_every_minutes"]) == (repo, 2.0)
    assert f"datasets:\n- {repo}\n" in _text(hub_api, space, "README.md", "space")
    readme = _text(hub_api, repo, "README.md", "dataset")
    card = DatasetCard(readme)
    card.validate(repo_type="dataset")  # the local Hub's validate-yaml, as the Hub's
    assert CARD_MARKER in readme and "data/rows-*.jsonl" in readme
    assert card.data.configs[0]["data_files"][0]["path"] == "data/rows-*.jsonl"
    documented = [line.split("`")[1] for line in readme.splitlines()
                  if line.startswith("| `")]
    assert documented == CONTRACT_FIELDS
    for words in ("No IP address", "hf-pipeline feedback pull", "hf-pipeline feedback review",
                  "hf-pipeline feedback publish", "## License", "## Consent"):
        assert words in readme
    assert FAKE_TOKEN not in readme + json.dumps(config)
    # Again: nothing new in either repo.
    commits = len(hub_api.list_repo_commits(repo, repo_type="dataset"))
    assert main(_publish(space, model, "--feedback-repo", repo, "--feedback-every", "2")) == 0
    assert len(hub_api.list_repo_commits(repo, repo_type="dataset")) == commits
    assert "card unchanged" in capsys.readouterr().out


@pytest.mark.hub
def test_visibility_public_makes_the_feedback_repo_public(
        hub_env: Any, hub_api: Any, hub_model: tuple[str, str],
        hub_repo_id: Callable[[str], str]) -> None:
    model, _ = hub_model
    space, repo = hub_repo_id("demo"), hub_repo_id("feedback")
    assert main(_publish(space, model, "--feedback-repo", repo, "--visibility", "public")) == 0
    assert not hub_api.dataset_info(repo).private and _visible_anonymously(hub_env, repo)
    config = json.loads(_text(hub_api, space, "space_config.json", "space"))
    assert config["feedback_every_minutes"] == 5.0


@pytest.mark.hub
def test_an_existing_repo_keeps_its_rows_and_a_card_that_is_not_ours(
        hub_env: Any, hub_api: Any, hub_model: tuple[str, str],
        hub_repo_id: Callable[[str], str], capsys: pytest.CaptureFixture[str]) -> None:
    from huggingface_hub import CommitOperationAdd

    model, _ = hub_model
    space, repo = hub_repo_id("demo"), hub_repo_id("feedback")
    hub_api.create_repo(repo, repo_type="dataset", private=False)
    rows = b'{"schema": 1, "text": "who calls main"}\n'

    def put(readme: str) -> None:
        hub_api.create_commit(repo, repo_type="dataset", commit_message="by hand", operations=[
            CommitOperationAdd("data/rows-0.jsonl", rows),
            CommitOperationAdd("README.md", readme.encode())])
    theirs = "---\nlicense: mit\n---\n# my own card\n"
    put(theirs)
    assert main(_publish(space, model, "--feedback-repo", repo)) == 0
    assert "card kept" in capsys.readouterr().out
    assert _text(hub_api, repo, "README.md", "dataset") == theirs
    assert not hub_api.dataset_info(repo).private  # visibility left as it was
    put(f"<!-- {CARD_MARKER} -->\nan older card of ours\n")
    assert main(_publish(space, model, "--feedback-repo", repo)) == 0
    assert "card written" in capsys.readouterr().out
    assert "## How rows are reviewed" in _text(hub_api, repo, "README.md", "dataset")
    assert Path(hub_api.hf_hub_download(repo, "data/rows-0.jsonl",
                                        repo_type="dataset")).read_bytes() == rows


@pytest.mark.hub
@pytest.mark.parametrize(("flags", "message"), [
    (["--feedback-repo", "no-namespace"], "--feedback-repo: got 'no-namespace', expected"),
    (["--feedback-repo", "a/b/c"], "--feedback-repo: got 'a/b/c', expected"),
    (["--feedback-repo", "me/bad name"], "--feedback-repo: got 'me/bad name', expected"),
    (["--feedback-repo", "me/fb", "--feedback-every", "0"],
     "--feedback-every: got 0.0, expected a number of minutes > 0"),
    (["--feedback-repo", "me/fb", "--feedback-every", "-3"], "--feedback-every: got -3.0"),
    (["--feedback-repo", "me/fb", "--feedback-every", "nan"], "--feedback-every: got nan"),
    (["--feedback-repo", "me/fb", "--feedback-every", "100000"], "--feedback-every: got"),
    (["--feedback-every", "2"], "--feedback-every needs --feedback-repo"),
])
def test_bad_feedback_options_are_refused_before_anything_is_made(
        hub_env: Any, hub_api: Any, hub_model: tuple[str, str],
        hub_repo_id: Callable[[str], str], capsys: pytest.CaptureFixture[str],
        flags: list[str], message: str) -> None:
    model, _ = hub_model
    space = hub_repo_id("demo")
    assert main(_publish(space, model, *flags)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert not hub_api.repo_exists(space, repo_type="space")
    assert not hub_api.repo_exists("me/fb", repo_type="dataset")


def test_a_bad_feedback_every_is_refused_by_build_and_demo(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["space", "build", "--model", "me/m@v1.0.0", "-o", str(tmp_path / "s"),
                 "--feedback-repo", "me/fb", "--feedback-every", "-1"]) == 2
    assert "--feedback-every: got -1.0" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
    assert main(["demo", "--model", "me/m@v1.0.0", "--feedback-repo", "nope",
                 "--port", str(free_port())]) == 2
    assert "--feedback-repo: got 'nope'" in capsys.readouterr().err


def test_space_build_writes_the_feedback_keys(tmp_path: Path) -> None:
    assert main(["space", "build", "--model", "me/m@v1.0.0", "-o", str(tmp_path / "on"),
                 "--feedback-repo", "me/fb", "--feedback-every", "0.5"]) == 0
    config = json.loads((tmp_path / "on" / "space_config.json").read_text())
    assert (config["feedback_repo"], config["feedback_every_minutes"]) == ("me/fb", 0.5)
    assert main(["space", "build", "--model", "me/m@v1.0.0", "-o", str(tmp_path / "off")]) == 0
    config = json.loads((tmp_path / "off" / "space_config.json").read_text())
    assert config["feedback_repo"] is None and "feedback_every_minutes" not in config


def _secrets(hub: Any, space: str) -> dict[str, Any]:
    path = RepoStore(hub.data_dir).get("space", space).path / "secrets.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _token_in_data(hub: Any) -> list[Path]:
    return [p for p in hub.data_dir.rglob("*")
            if p.is_file() and FAKE_TOKEN.encode() in p.read_bytes()]


@pytest.mark.hub
def test_on_a_real_hub_the_space_gets_the_token_as_a_secret(
        hub_env: Any, hub_api: Any, hub_model: tuple[str, str],
        hub_repo_id: Callable[[str], str], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The local server answers the secrets call as the Hub does; the endpoint check is the
    one thing made to say "real Hub"."""
    model, _ = hub_model
    space, repo = hub_repo_id("demo"), hub_repo_id("feedback")
    monkeypatch.setattr(fb, "is_local_endpoint", lambda url: False)
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    assert main(_publish(space, model, "--feedback-repo", repo)) == 0
    out = capsys.readouterr().out
    for words in ("https://huggingface.co/settings/tokens", "Fine-grained", repo,
                  f"https://huggingface.co/spaces/{space}/settings", f"name {TOKEN_ENV}"):
        assert words in out
    assert _secrets(hub_env, space) == {}  # published without it: the page says why
    monkeypatch.setenv(TOKEN_ENV, FAKE_TOKEN)
    assert main(_publish(space, model, "--feedback-repo", repo)) == 0
    out = capsys.readouterr()
    assert f"set the secret {TOKEN_ENV} of {space}" in out.out
    assert "is a classic write token" in out.out  # the local Hub's token is not fine-grained
    assert _secrets(hub_env, space)[TOKEN_ENV]["sha256"] == hashlib.sha256(
        FAKE_TOKEN.encode()).hexdigest()
    assert FAKE_TOKEN not in out.out + out.err and _token_in_data(hub_env) == []


@pytest.mark.hub
def test_a_refused_feedback_token_stops_the_publish_before_anything_is_made(
        hub_env: Any, hub_api: Any, hub_model: tuple[str, str],
        hub_repo_id: Callable[[str], str], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    model, _ = hub_model
    space, repo = hub_repo_id("demo"), hub_repo_id("feedback")
    monkeypatch.setattr(fb, "is_local_endpoint", lambda url: False)
    monkeypatch.setenv(TOKEN_ENV, "hf_not_the_right_token_0123456789")
    assert main(_publish(space, model, "--feedback-repo", repo)) == 2
    err = capsys.readouterr().err
    assert f"{TOKEN_ENV} (the feedback write token): the Hub at" in err and "refused" in err
    assert "hf_not_the_right_token" not in err
    assert not hub_api.repo_exists(repo, repo_type="dataset")
    assert not hub_api.repo_exists(space, repo_type="space")


@pytest.mark.hub
def test_demo_feedback_environment_is_the_local_hubs_token(
        hub_env: Any, hub_api: Any, hub_repo_id: Callable[[str], str]) -> None:
    from hf_pipeline.publish.feedback_repo import EVERY_ENV, REPO_ENV, FeedbackSettings
    from hf_pipeline.publish.space_cli import demo_feedback

    repo = hub_repo_id("feedback")
    env = demo_feedback(FeedbackSettings(repo, 0.5))  # the app reads all three
    assert env == {TOKEN_ENV: FAKE_TOKEN, REPO_ENV: repo, EVERY_ENV: "0.5"}
    assert hub_api.dataset_info(repo).private


@pytest.mark.slow
@pytest.mark.hub
def test_demo_with_feedback_serves_and_keeps_the_token_out_of_argv(
        hub_env: Any, hub_api: Any, hub_model: tuple[str, str],
        hub_repo_id: Callable[[str], str], tmp_path: Path) -> None:
    from gradio_client import Client

    model, _ = hub_model
    repo = hub_repo_id("feedback")
    port = free_port()
    env = app_env(hub_env.client_env(tmp_path / "hf_home"), PYTHONPATH=os.pathsep.join(
        filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    cmd = [sys.executable, "-m", "hf_pipeline", "demo", "--model", f"{model}@{MODEL_TAG}",
           "--feedback-repo", repo, "--feedback-every", "0.5", "--port", str(port)]
    log = tmp_path / "demo.log"
    with app_process(cmd, cwd=tmp_path, env=env, port=port, log=log) as (url, process):
        argv = Path(f"/proc/{process.pid}/cmdline").read_bytes()
        assert FAKE_TOKEN.encode() not in argv and repo.encode() in argv
        assert hub_api.dataset_info(repo).private
        client = Client(url, verbose=False)  # it serves (and is past its start-up)
        try:
            assert client.predict("who calls main", api_name="/classify")["label"]
        finally:
            client.close()
    assert process.returncode == 0
    text = log.read_text(errors="replace")
    assert f"feedback on: rows go to {repo} (created, private)" in text
    assert FAKE_TOKEN not in text


def test_run_feedback_config_and_fingerprint(tmp_path: Path) -> None:
    from hf_pipeline.cli import build_parser
    from hf_pipeline.errors import InvalidValueError
    from hf_pipeline.pipeline.cli import repo_overrides
    from hf_pipeline.pipeline.config import PipelineConfig, RunConfig
    from hf_pipeline.pipeline.context import Context
    from hf_pipeline.pipeline.hub import HubSession
    from hf_pipeline.pipeline.stages import STAGES

    assert PipelineConfig(feedback=True).feedback_name == "sqry-nl-intent-demo-feedback"
    assert PipelineConfig(feedback=True, feedback_repo="me/fb").feedback_name == "me/fb"
    with pytest.raises(InvalidValueError, match="feedback_repo: got 'fb', expected unset"):
        PipelineConfig(feedback_repo="fb")
    with pytest.raises(InvalidValueError, match="feedback_every_minutes"):
        PipelineConfig(feedback=True, feedback_every_minutes=0)
    with pytest.raises(InvalidValueError, match=r"feedback_repo: got 'x{90}-feedback'"):
        PipelineConfig(feedback=True, space_repo="x" * 90)
    args = build_parser().parse_args(["run", "--feedback-repo", "fb"])
    assert repo_overrides(args)["feedback"] is True
    stage = next(s for s in STAGES if s.name == "publish-space")
    hub = HubSession("http://127.0.0.1:1", True, "me", private=False, data_dir=tmp_path)
    model = {"repo_id": "me/m", "tag": "v1.0.0", "commit": "0" * 40}

    def inputs(**fields: Any) -> dict[str, Any]:
        ctx = Context(RunConfig(pipeline=PipelineConfig(**fields)), hub,
                      outputs={"publish-model": model})
        return stage.inputs(ctx)
    off = inputs()
    assert not any(k.startswith("feedback") for k in off)  # an older state keeps its hash
    on = inputs(feedback=True, feedback_every_minutes=2)
    assert on == {**off, "feedback_repo": "me/sqry-nl-intent-demo-feedback",
                  "feedback_every_minutes": 2.0}
