"""Helpers for the Space tests: serve a demo in-process, run an app as a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def serving(demo: Any, **launch: Any) -> Iterator[tuple[str, Any]]:
    """(url, gradio_client.Client) of ``demo``, launched in this process; closed after."""
    from gradio_client import Client

    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, **launch)
    try:
        client = Client(url, verbose=False)
        try:
            yield url, client
        finally:
            client.close()
    finally:
        demo.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_app(url: str, process: subprocess.Popen[bytes], log: Path, *,
                 timeout: float = 120.0) -> None:
    """Wait until Gradio answers ``GET /gradio_api/info`` (what Gradio's own tests wait on)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the app exited with {process.returncode}:\n"
                                 f"{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/gradio_api/info", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"the app did not answer within {timeout}s:\n"
                         f"{log.read_text(errors='replace')}")


@contextmanager
def app_process(cmd: list[str], *, cwd: Path, env: dict[str, str], port: int,
                log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run ``cmd`` (a Gradio app on ``port``) until the block ends, then Ctrl-C it by pid."""
    with open(log, "wb") as out:
        process = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_app(url, process, log)
        yield url, process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes], sig: int | None = None) -> int:
    if process.poll() is None:
        process.send_signal(sig or signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    return process.returncode


def app_env(base: dict[str, str], **extra: str) -> dict[str, str]:
    """``base`` plus what every app subprocess gets: no analytics, Gradio's temp folder."""
    env = dict(base) | {"GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
    if os.environ.get("GRADIO_TEMP_DIR"):
        env["GRADIO_TEMP_DIR"] = os.environ["GRADIO_TEMP_DIR"]
    return env | extra


BLOCKER = '''"""Makes hf_pipeline unimportable, as on a Space, where it is not installed."""
import importlib.abc
import sys


class _BlockHfPipeline(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "hf_pipeline" or name.startswith("hf_pipeline."):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked: a Space has no "
                                      "hf_pipeline)", name=name)
        return None


sys.meta_path.insert(0, _BlockHfPipeline())
'''


def blocker_dir(root: Path) -> Path:
    """A folder for PYTHONPATH whose sitecustomize blocks ``import hf_pipeline``."""
    folder = root / "no_hf_pipeline"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(BLOCKER, encoding="utf-8")
    return folder


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
BROWSER_TIMEOUT_MS = 30_000


@contextmanager
def chromium_browser() -> Iterator[Any]:
    """Debian's headless chromium, driven by Playwright (no browser download); skips the test
    when either is missing."""
    import pytest

    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing: run scripts/install_browser.sh")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def new_page(browser: Any) -> Any:
    """A 1280x900 page with the tests' timeout."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(BROWSER_TIMEOUT_MS)
    return page
