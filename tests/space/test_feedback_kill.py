"""kill -9 of the built Space during its scheduled feedback commits, on the local Hub.

The Space folder is built as ``space publish`` builds it and run without hf_pipeline, so this
also shows that the Space ships feedback.py with its imports renamed. Its rows folder is kept
across restarts (a Space with persistent storage). Each round answers continuously from a
second thread and SIGKILLs the app the moment its log says a commit started; then every
commit of the dataset repo must be readable, every line of every file at every commit a
complete row, each file's history append-only, and every row the page reported as saved
before the last commit's snapshot must be in the repo.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from feedback_testing import SAVED_ROW, feedback_repo, parse_rows, repo_files, wait_for
from space_testing import app_env, blocker_dir, free_port, stop, wait_for_app

from hf_pipeline.publish.space import build_space_folder

pytestmark = pytest.mark.slow

MODEL_TAG = "v0.0.1"  # the tag conftest.hub_model puts on the tiny release
EVERY_MINUTES = 0.02  # a commit every 1.2 s
MAX_ROUNDS = 3
QUERIES = ("who calls authenticate_user", "where is Config defined", "is the index stale")
COMMITTING, COMMITTED = "feedback: committing", "feedback: committed"


def answer_until_killed(url: str, saved: dict[str, float], visit_limit: int) -> None:
    """Confirm predictions as fast as the app answers, a new visit every ``visit_limit``
    answers; record when the page said each row was saved. Ends when the app dies."""
    from gradio_client import Client

    try:
        client = Client(url, verbose=False)
    except Exception:
        return
    n = 0
    try:
        while True:
            if n % visit_limit == 0:
                client.reset_session()
                client.predict(QUERIES[n % len(QUERIES)], api_name="/classify")
            status = client.predict(f"answer {n}", api_name="/confirm")
            saved[SAVED_ROW.search(status)[1]] = time.time()
            n += 1
    except Exception:  # the app was killed: connection refused or reset
        return


def kill_during_a_commit(process: subprocess.Popen[bytes], log: Path, commits: int) -> bool:
    """SIGKILL ``process`` as soon as its log shows the ``commits``-th commit starting;
    whether that commit had not finished (from the app's side) when it died."""
    wait_for(lambda: log.read_text(errors="replace").count(COMMITTING) >= commits,
             every=0.002)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    text = log.read_text(errors="replace")
    return text.count(COMMITTING) > text.count(COMMITTED)


def test_kill_9_during_scheduled_commits_loses_no_saved_row(
        app_module: ModuleType, hub_api: Any, hub_env: Any, hub_model: tuple[str, str],
        hub_repo_id: Callable[[str], str], tmp_path: Path) -> None:
    fb = app_module.feedback_store
    model, model_commit = hub_model
    repo = feedback_repo(hub_api, hub_repo_id)
    space = build_space_folder(tmp_path / "space", model_repo=model, model_revision=MODEL_TAG,
                               model_commit=model_commit)
    rows_dir = tmp_path / "rows"
    env = app_env(hub_env.client_env(tmp_path / "hf_home"),
                  PYTHONPATH=str(blocker_dir(tmp_path)), SQRY_NL_FEEDBACK_DIR=str(rows_dir),
                  **{fb.TOKEN_ENV: hub_env.token})
    rng = random.Random()
    saved: dict[str, float] = {}
    mid_commit = []
    for round_ in range(MAX_ROUNDS):
        port, log = free_port(), tmp_path / f"app-{round_}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [sys.executable, "app.py", "--port", str(port), "--feedback-repo", repo,
                 "--feedback-every", str(EVERY_MINUTES)],
                cwd=space, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for_app(f"http://127.0.0.1:{port}", process, log)
            answering = threading.Thread(target=answer_until_killed, daemon=True, args=(
                f"http://127.0.0.1:{port}", saved, fb.VISIT_LIMIT))
            answering.start()
            mid_commit.append(kill_during_a_commit(process, log, rng.randint(2, 4)))
            answering.join(timeout=60)
        finally:
            stop(process)
        assert "Traceback" not in log.read_text(errors="replace")
        if sum(mid_commit) >= 2:
            break
    print(f"{len(mid_commit)} kills, {sum(mid_commit)} during a commit; {len(saved)} rows "
          "reported saved")
    assert any(mid_commit), "no kill landed during a commit"

    commits = hub_api.list_repo_commits(repo, repo_type="dataset")  # newest first
    before: dict[str, bytes] = {}
    for commit in reversed(commits):
        files = repo_files(hub_api, repo, commit.commit_id)
        for path, data in files.items():
            parse_rows(app_module, path, data)  # every line a complete row
            assert data.startswith(before.get(path, b"")), f"{path} rewritten at {commit}"
        assert set(before) <= set(files)
        before = files
    in_repo = {row["id"]: row for path, data in before.items()
               for row in parse_rows(app_module, path, data)}
    snapshot = fb.commit_snapshot(commits[0].message)
    assert snapshot is not None
    due = [row for row, when in saved.items() if when < snapshot.timestamp()]
    assert due and not [row for row in due if row not in in_repo]
    assert {(r["model_repo"], r["model_revision"], r["model_commit"])
            for r in in_repo.values()} == {(model, MODEL_TAG, model_commit)}
