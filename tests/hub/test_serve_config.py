"""``hub serve`` options: no open writes on the network by accident; limits are options."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.hub_server import REPO_ROOT

from hf_pipeline.cli import main as cli_main
from hf_pipeline.errors import InvalidValueError
from hf_pipeline.hub.server import HubServerConfig


def _serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    # A server that starts anyway would run until killed: the timeout makes that a failure.
    return subprocess.run([sys.executable, "-m", "hf_pipeline", "hub", "serve", "--port", "0",
                           "--data-dir", str(tmp_path / "data"), *args], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)


def test_no_token_on_a_network_address_is_refused(tmp_path: Path) -> None:
    result = _serve(tmp_path, "--host", "0.0.0.0")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: host: got '0.0.0.0', expected a loopback address (127.0.0.1, ::1, localhost) "
        "when no token is set: on any other address, anyone on the network could write. "
        "Set HF_PIPELINE_HUB_TOKEN (or --token) so writes need it, or pass "
        "--allow-anonymous-writes if open writes are what you want.")
    assert "Local Hub listening" not in result.stdout


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "hub.example"])
def test_config_refuses_anonymous_writes_off_loopback(host: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidValueError, match="--allow-anonymous-writes"):
        HubServerConfig(host=host, data_dir=tmp_path)
    # A token, or saying so explicitly, makes it a choice.
    assert HubServerConfig(host=host, data_dir=tmp_path, token="t").host == host
    assert HubServerConfig(host=host, data_dir=tmp_path, allow_anonymous_writes=True).host == host


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_needs_no_token(host: str, tmp_path: Path) -> None:
    assert HubServerConfig(host=host, data_dir=tmp_path).token is None


@pytest.mark.parametrize(("option", "value"), [
    ("max_requests", 0), ("max_connections", 8), ("idle_timeout", 0), ("request_timeout", 0),
    ("read_timeout", -1.0),
    ("max_commit_mb", "big"), ("commit_cache_mb", -1), ("max_lfs_file_mb", True),
])
def test_limits_are_checked(option: str, value: object, tmp_path: Path) -> None:
    with pytest.raises(InvalidValueError, match=f"^{option}: got"):
        HubServerConfig(data_dir=tmp_path, **{option: value})  # type: ignore[arg-type]


def test_serve_help_names_the_new_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli_main(["hub", "serve", "--help"])
    out = capsys.readouterr().out
    assert "--allow-anonymous-writes" in out and "--max-connections" in out
    assert "--max-requests" in out
