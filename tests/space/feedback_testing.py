"""Helpers for the feedback tests: a feedback dataset repo on the local Hub, rows read back."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

SAVED_ROW = re.compile(r"row `([0-9a-f]{32})`")


def feedback_repo(hub_api: Any, hub_repo_id: Callable[[str], str]) -> str:
    """A private dataset repo on the local Hub, as `space publish --feedback-repo` makes it."""
    repo = hub_repo_id("feedback")
    hub_api.create_repo(repo, repo_type="dataset", private=True)
    return repo


def open_feedback(app_module: ModuleType, repo: str, hub: Any, folder: Path, *,
                  every_minutes: float = 5.0, **kwargs: Any) -> Any:
    """The app's Feedback over ``repo`` with the Hub's token in its environment variable."""
    fb = app_module.feedback_store
    feedback = fb.open_feedback(repo, every_minutes=every_minutes, folder=folder,
                                environ={fb.TOKEN_ENV: hub.token}, **kwargs)
    assert isinstance(feedback, fb.Feedback), feedback
    return feedback


def rows_in(folder: Path) -> list[dict[str, Any]]:
    """Every row of every rows file in ``folder``, in file then line order."""
    return [json.loads(line) for path in sorted(folder.glob("rows-*.jsonl"))
            for line in path.read_text(encoding="ascii").splitlines()]


def repo_files(hub_api: Any, repo: str, revision: str) -> dict[str, bytes]:
    """path -> bytes of every data file of the dataset repo at ``revision``."""
    from huggingface_hub import hf_hub_download

    out = {}
    for path in hub_api.list_repo_files(repo, repo_type="dataset", revision=revision):
        if path.startswith("data/"):
            local = hf_hub_download(repo, path, repo_type="dataset", revision=revision,
                                    endpoint=hub_api.endpoint, token=hub_api.token)
            out[path] = Path(local).read_bytes()
    return out


def parse_rows(app_module: ModuleType, path: str, data: bytes) -> list[dict[str, Any]]:
    """The rows of one committed file; AssertionError naming the line if one is not whole."""
    keys = set(app_module.feedback_store.ROW_KEYS)
    assert data.endswith(b"\n") or not data, f"{path}: ends inside a line"
    rows = []
    for n, line in enumerate(data.split(b"\n")[:-1], start=1):
        row = json.loads(line)  # a half-written line fails here
        assert isinstance(row, dict) and set(row) == keys, f"{path}:{n}: {row}"
        rows.append(row)
    return rows


def wait_for(check: Callable[[], Any], *, timeout: float = 60.0, every: float = 0.2) -> Any:
    """Poll ``check`` until it returns something truthy (a bound on waiting, not a timing
    assertion: the scheduled commit comes when it comes)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout}s: {check}")
        time.sleep(every)
