"""Hub errors that say what is wrong: unreachable and refused are different, each with a fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.hub_server import REPO_ROOT, LocalHub

from hf_pipeline.errors import HubError
from hf_pipeline.hub_client import hub_errors

DEAD = "http://127.0.0.1:9"  # the discard port: nothing listens, the connection is refused


def test_an_unreachable_hub_is_named_with_its_fix() -> None:
    from huggingface_hub import HfApi

    with pytest.raises(HubError) as e, hub_errors("model a/b@v1", endpoint=DEAD):
        HfApi(endpoint=DEAD, token="hf_x").model_info("a/b", revision="v1")
    message = str(e.value)
    assert message.startswith(f"model a/b@v1: cannot reach the Hub at {DEAD} (")
    assert "Fix: check HF_ENDPOINT and the network" in message
    assert "token" not in message


def test_other_errors_pass_through() -> None:
    with pytest.raises(KeyError), hub_errors("x"):
        raise KeyError("not a Hub problem")


@pytest.mark.hub
def test_a_refused_token_and_a_missing_repo_are_told_apart(hub_env: LocalHub) -> None:
    from huggingface_hub import HfApi

    with pytest.raises(HubError, match=r"refused the token \(401 Unauthorized\)"), \
            hub_errors("whoami"):
        HfApi(endpoint=hub_env.url, token="hf_wrong").whoami()
    with pytest.raises(HubError, match="has no such repository"), hub_errors("info"):
        HfApi(endpoint=hub_env.url, token=hub_env.token).model_info("nobody/nothing")


@pytest.mark.slow
@pytest.mark.parametrize("argv", [
    ["dataset", "status", "--repo-id", "a/b"],
    ["predict", "--model", "a/b@v1.0.0", "who calls main"],
])
def test_commands_name_the_unreachable_hub(argv: list[str], tmp_path: Path) -> None:
    env = {"HF_ENDPOINT": DEAD, "HF_HOME": str(tmp_path), "HF_TOKEN": "hf_secret_value",
           "HF_HUB_DISABLE_XET": "1", "PATH": "/usr/bin:/bin",
           "PYTHONPATH": str(REPO_ROOT)}  # this checkout, whatever the install points at
    done = subprocess.run([sys.executable, "-m", "hf_pipeline", *argv], env=env,
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 2, done.stderr
    assert f"cannot reach the Hub at {DEAD}" in done.stderr
    assert "Traceback" not in done.stderr and "hf_secret_value" not in done.stderr
