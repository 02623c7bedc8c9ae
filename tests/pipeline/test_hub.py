"""Which Hub a run talks to: the local Hub it starts itself by default (whatever the
environment holds), a real Hub with --hub URL; the server never outlives the run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fixtures.hub_server import LocalHub

from hf_pipeline.errors import HubError
from hf_pipeline.hub.process import TOKEN_PREFIX, LocalHubProcess
from hf_pipeline.pipeline.config import PipelineConfig
from hf_pipeline.pipeline.hub import open_hub

pytestmark = pytest.mark.hub

REAL_LOOKING = {"HF_TOKEN": "hf_realtokenthatmustneverbesent", "HF_ENDPOINT": "http://127.0.0.1:9",
                "HF_HUB_OFFLINE": "1"}


def processes_serving(data_dir: Path) -> list[int]:
    """Pids whose command line serves ``data_dir`` (read from /proc, no psutil)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"serve" in cmdline and str(data_dir).encode() in cmdline:
                pids.append(int(entry.name))
    return pids


def test_the_local_hub_ignores_the_environment_and_restores_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets.config
    import huggingface_hub.constants as hc
    from huggingface_hub import HfApi, get_token

    for key, value in REAL_LOOKING.items():
        monkeypatch.setenv(key, value)
    before = (hc.ENDPOINT, hc.HF_HUB_CACHE, datasets.config.HF_ENDPOINT, hc.HF_HUB_OFFLINE)
    cfg = PipelineConfig(output=tmp_path / "out")
    with open_hub(cfg) as hub:
        assert hub.local and hub.namespace == "local-user" and not hub.private
        assert hub.url.startswith("http://127.0.0.1:") and hub.identity.startswith("local:")
        assert hc.ENDPOINT == hub.url == datasets.config.HF_ENDPOINT
        assert str(tmp_path / "out" / "cache" / "hf_home" / "hub") == hc.HF_HUB_CACHE
        assert not hc.HF_HUB_OFFLINE and "HF_HUB_OFFLINE" not in os.environ
        token = get_token()
        assert token.startswith(TOKEN_PREFIX) and os.environ["HF_TOKEN"] == token
        HfApi().create_repo("local-user/written-with-the-run-token")
        [pid] = processes_serving(tmp_path / "out" / "hub")
        assert token.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
    assert before == (hc.ENDPOINT, hc.HF_HUB_CACHE, datasets.config.HF_ENDPOINT,
            hc.HF_HUB_OFFLINE)
    assert {k: os.environ[k] for k in REAL_LOOKING} == REAL_LOOKING
    assert processes_serving(tmp_path / "out" / "hub") == []  # stopped
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert not [p for p in files if TOKEN_PREFIX.encode() in p.read_bytes()]


def test_the_server_stops_on_errors(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="boom"), open_hub(
            PipelineConfig(output=tmp_path)):
        assert processes_serving(tmp_path / "hub")
        raise RuntimeError("boom")
    assert processes_serving(tmp_path / "hub") == []


def test_the_server_dies_with_a_killed_parent(tmp_path: Path) -> None:
    script = (f"from hf_pipeline.hub.process import LocalHubProcess\n"
              f"hub = LocalHubProcess({str(tmp_path / 'hub')!r}, {str(tmp_path / 'log')!r})\n"
              "hub.start(); print(hub.url, flush=True)\nimport time; time.sleep(300)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout.readline().startswith("http://127.0.0.1:")
    assert processes_serving(tmp_path / "hub")
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 15
    while processes_serving(tmp_path / "hub") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_serving(tmp_path / "hub") == []


def test_a_real_hub_uses_the_token_and_makes_repos_private(
        local_hub: LocalHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--hub URL: the token from HF_TOKEN, the namespace from whoami, private by default.
    (The fixture's server stands in for a remote Hub.)"""
    monkeypatch.setenv("HF_TOKEN", local_hub.token)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    with open_hub(PipelineConfig(output=tmp_path, hub=local_hub.url)) as hub:
        assert not hub.local and hub.private and hub.identity == local_hub.url
        assert hub.namespace == "local-user"
    with open_hub(PipelineConfig(output=tmp_path, hub=local_hub.url, public=True,
                                 namespace="team")) as hub:
        assert not hub.private and hub.namespace == "team"
    assert not (tmp_path / "hub").exists()  # no local server was started


def test_a_real_hub_without_a_token_is_a_clear_error(
        local_hub: LocalHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("HF_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    with pytest.raises(HubError, match=rf"no token for the Hub at {local_hub.url}\. Fix: set "
                       "HF_TOKEN"), open_hub(PipelineConfig(output=tmp_path, hub=local_hub.url)):
        pass


def test_a_server_that_cannot_start_says_where_its_log_is(tmp_path: Path) -> None:
    (tmp_path / "hub").write_text("a file where the data folder should be")
    with pytest.raises(HubError, match=r"exited at start with code 2: .*cannot use as the Hub "
                       r"data directory") as info:
        LocalHubProcess(tmp_path / "hub", tmp_path / "hub.log").start(timeout=20)
    assert str(tmp_path / "hub.log") in str(info.value)


def test_a_restarted_local_hub_keeps_its_port_while_it_is_free(tmp_path: Path) -> None:
    # What the local Hub publishes (a model's download_url) names its address: a restart
    # over the same data comes back on the same port, and on another when that one is taken.
    import socket

    hub = LocalHubProcess(tmp_path / "hub", tmp_path / "hub.log")
    first = hub.start()
    hub.stop()
    assert (tmp_path / "hub.port").read_text() == first.rsplit(":", 1)[1] + "\n"
    assert hub.start() == first
    hub.stop()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(first.rsplit(":", 1)[1])))
        other = hub.start()
        hub.stop()
    assert other != first and other.startswith("http://127.0.0.1:")


def test_a_folder_held_by_another_server_says_so_at_once(tmp_path: Path) -> None:
    # A demo still serving out/hub: the second start fails at once, with the server's own
    # reason (the pid holding the folder), not a timeout.
    first = LocalHubProcess(tmp_path / "hub", tmp_path / "hub.log")
    first.start()
    pid = first.pid
    try:
        started = time.monotonic()
        with pytest.raises(HubError) as info:
            LocalHubProcess(tmp_path / "hub", tmp_path / "second.log").start(timeout=60)
        assert time.monotonic() - started < 30
    finally:
        first.stop()
    message = str(info.value)
    assert f"is in use by another local Hub server (pid {pid})" in message
    assert "Fix: stop it" in message and "did not start within" not in message
    assert str(tmp_path / "second.log") in message
