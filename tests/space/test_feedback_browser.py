"""The feedback control in a real headless browser (setup: test_space_browser.py's fixtures).

Screenshots of the control go to ``$SQRY_NL_SCREENSHOT_DIR`` (the closing note of issue 22
shows them), else to the test's temporary folder.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from feedback_testing import (
    feedback_repo,
    open_feedback,
    parse_rows,
    repo_files,
    rows_in,
    wait_for,
)
from space_testing import serving
from test_space_browser import browser, page  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow

QUERY = "who calls authenticate_user"


def screenshot_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SQRY_NL_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def served(app_module: ModuleType, tiny_classifier: Any, hub_api: Any, hub_env: Any,
           hub_repo_id: Callable[[str], str], tmp_path: Path) -> Iterator[tuple[str, Any]]:
    repo = feedback_repo(hub_api, hub_repo_id)
    feedback = open_feedback(app_module, repo, hub_env, tmp_path / "rows", every_minutes=0.05)
    demo = app_module.build_demo(tiny_classifier, tiny_classifier.about(), feedback=feedback)
    try:
        with serving(demo, **app_module.launch_options()) as (url, _):
            yield url, feedback
    finally:
        feedback.scheduler.stop()


def test_the_control_appears_after_a_prediction_and_saves_answers(
        page: Any, served: tuple[str, Any], tiny_classifier: Any, hub_api: Any,  # noqa: F811
        app_module: ModuleType, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    url, feedback = served
    prediction = tiny_classifier.predict([QUERY])[0]
    other = next(i for i in ("TracePath", "FindCallees") if i != prediction.intent)
    page.goto(url)
    panel = page.locator("#feedback").first  # a gr.Group renders its elem_id twice
    expect(page.locator("#feedback-off")).to_be_hidden()
    expect(panel).to_be_hidden()
    box = page.locator("#query [data-testid=textbox]")
    box.fill(QUERY)
    box.press("Enter")
    expect(page.get_by_test_id("label-output-value")).to_have_text(prediction.intent)
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("Is this right?")
    privacy = page.locator("#feedback-privacy")
    expect(privacy).to_contain_text(feedback.repo_id)
    expect(privacy).to_contain_text("Not stored: your IP address, your user name")
    page.locator("#feedback-note [data-testid=textbox]").fill("spot on")
    page.locator("#feedback-confirm").click()
    status = page.locator("#feedback-status")
    expect(status).to_contain_text(f"Saved (confirmed {prediction.intent})")
    (first,) = rows_in(feedback.folder)
    assert (first["text"], first["answer"], first["note"]) == (QUERY, "confirmed", "spot on")
    assert re.fullmatch(r"[0-9a-f]{32}", first["visit"])  # set at page load
    shots = screenshot_dir(tmp_path)
    panel.screenshot(path=str(shots / "feedback-control.png"))

    page.locator("#feedback-intent input").click()
    page.get_by_role("option", name=other, exact=True).click()
    page.locator("#feedback-submit").click()
    expect(status).to_contain_text(f"Saved (corrected to {other})")
    page.screenshot(path=str(shots / "feedback-page.png"), full_page=True)
    first, second = rows_in(feedback.folder)
    assert (second["answer"], second["intent"], second["visit"]) == (
        "corrected", other, first["visit"])

    name = f"data/{feedback.writer.path.name}"

    def committed() -> list[str]:
        data = repo_files(hub_api, feedback.repo_id, "main").get(name, b"")
        return [row["id"] for row in parse_rows(app_module, name, data)]

    assert wait_for(lambda: len(committed()) == 2) and committed() == [first["id"],
                                                                        second["id"]]
