"""Helpers for the feedback-loop test: the requests people send, the reviewer's script, the
headless browser, the rows committed to the feedback repo, where the artifacts go.

The Space helpers of tests/space are reused (``space.space_testing``, ``space.feedback_testing``:
tests/ is on sys.path); the browser launch repeats test_space_browser's few lines, as that
module is a test module of another folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from space.feedback_testing import repo_files
from space.space_testing import chromium_browser, new_page

from hf_pipeline.feedback.requests import split_of
from hf_pipeline.publish.feedback_repo import ROW_FIELDS

ROW_KEYS = [name for name, _, _ in ROW_FIELDS]  # the schema the feedback card documents


@dataclass(frozen=True)
class Request:
    """A request a visitor sends, the intent they answer, and what the reviewer does."""

    text: str
    intent: str  # what the visitor says is right
    review: str = "y"  # the reviewer's answer line: y, n INTENT, r REASON

    @property
    def published_intent(self) -> str | None:
        """The intent in the published dataset; None when rejected."""
        verdict, _, rest = self.review.partition(" ")
        return {"y": self.intent, "n": rest, "r": None}[verdict]


# Typed in the page: a confirmation and a correction (the intent is chosen in the test, so
# that it differs from the prediction), then two requests the feedback checks refuse.
PAGE_CONFIRM = "who ends up calling save_snapshot"
PAGE_CORRECT = "how does load_config reach the yaml parser"
CONTROL_QUERY = "who calls\x07 save_snapshot"  # U+0007 at character 10
LONG_QUERY = "who calls " + "save_snapshot " * 330  # 4630 bytes: over the 4096 kept

# Sent through /correct (gradio_client): two phrasings per intent no template has, a wrong
# answer the reviewer relabels, and spam the reviewer rejects.
API_REQUESTS = (
    Request("whereabouts is the TokenCache struct declared", "SymbolQuery"),
    Request("show me the definition site of RetryPolicy", "SymbolQuery"),
    Request("grep the tree for the phrase deprecated since", "TextSearch"),
    Request("find every literal XXX marker in comments", "TextSearch"),
    Request("how does control get from cli_main down to write_index", "TracePath"),
    Request("chain of calls linking http_handler to db_commit", "TracePath"),
    Request("which functions end up invoking flush_buffers", "FindCallers"),
    Request("list everything that calls into parse_headers", "FindCallers"),
    Request("what does reconcile_state call underneath", "FindCallees"),
    Request("which helpers does render_page hand off to", "FindCallees"),
    Request("sketch the dependency graph around Scheduler as a diagram", "Visualize"),
    Request("plot the callers of emit_event as mermaid", "FindCallers", review="n Visualize"),
    Request("has the code index been rebuilt lately", "IndexStatus"),
    Request("is my sqry index out of date or fine", "IndexStatus"),
    Request("tell me a joke about compilers", "Ambiguous"),
    Request("buy cheap watches online now", "Ambiguous", review="r spam"),
)

# The requests' calibration rows join calibrate's fit from this many on (its option
# min_requests, 50 by default; lowered by a config file for these few requests).
MIN_REQUESTS = 3


def published(requests: list[Request], split: str) -> list[Request]:
    """The requests that reach the published dataset's ``split``."""
    return [r for r in requests if r.published_intent is not None and split_of(r.text) == split]


def artifacts_dir(tmp_path: Path) -> Path:
    """``$SQRY_NL_ARTIFACTS_DIR`` (the closing note of issue 22 quotes what lands there), else a
    folder of the test's own."""
    folder = Path(os.environ.get("SQRY_NL_ARTIFACTS_DIR") or tmp_path / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def browser_page() -> Iterator[Any]:
    """A page of Debian's headless chromium, driven by Playwright (as test_space_browser.py)."""
    with chromium_browser() as chromium:
        yield new_page(chromium)


def committed_rows(hub_api: Any, repo: str) -> dict[str, dict[str, Any]]:
    """id -> row of every row under data/ at the feedback repo's main; AssertionError if a
    line is not a whole row of the documented schema."""
    rows = {}
    for path, data in repo_files(hub_api, repo, "main").items():
        assert data.endswith(b"\n"), f"{path}: ends inside a line"
        for n, line in enumerate(data.split(b"\n")[:-1], start=1):
            row = json.loads(line)
            assert list(row) == ROW_KEYS, f"{path}:{n}: {sorted(row)}"
            rows[row["id"]] = row
    return rows


def review_answers(review_file: Path, script: dict[str, str]) -> list[str]:
    """The reviewer's answer lines, in the order `feedback review` shows the requests."""
    samples = json.loads(review_file.read_text(encoding="utf-8"))["samples"]
    return [script[s["text"]] for s in samples]
