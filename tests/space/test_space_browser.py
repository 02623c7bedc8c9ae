"""The page in a real headless browser: Debian's chromium driven by Playwright.

``playwright install`` would download a browser build, which cannot be reached here; the
system chromium (``scripts/install_browser.sh``) is used through ``executable_path``.
Screenshots go to ``$HF_PIPELINE_ARTIFACTS/spaces`` or ``runs/spaces`` of the repo.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from space_testing import chromium_browser, new_page, serving

import hf_pipeline
from hf_pipeline.intents import INTENTS

pytestmark = pytest.mark.slow

def artifacts_dir() -> Path:
    root = os.environ.get("HF_PIPELINE_ARTIFACTS")
    base = Path(root) if root else Path(hf_pipeline.__file__).resolve().parents[1] / "runs"
    folder = base / "spaces"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium_browser() as chromium:
        yield chromium


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    page = new_page(browser)
    try:
        yield page
    finally:
        page.context.close()


@pytest.fixture(scope="module")
def served(app_module: ModuleType, tiny_classifier: Any) -> Iterator[str]:
    demo = app_module.build_demo(tiny_classifier, tiny_classifier.about())
    with serving(demo, **app_module.launch_options()) as (url, _):
        yield url


def test_a_query_shows_the_intent_eight_probabilities_and_the_tier(
        page: Any, served: str, tiny_classifier: Any) -> None:
    from playwright.sync_api import expect

    query = "who calls authenticate_user"
    prediction = tiny_classifier.predict([query])[0]
    started = time.perf_counter()
    page.goto(served)
    box = page.locator("#query [data-testid=textbox]")
    box.fill(query)
    box.press("Enter")
    expect(page.get_by_test_id("label-output-value")).to_have_text(prediction.intent)
    meters = page.locator("#probabilities meter")
    expect(meters).to_have_count(len(INTENTS))
    shown = {m.get_attribute("aria-label"): int(m.get_attribute("aria-valuenow"))
             for m in meters.all()}
    assert shown == {label: round(p * 100) for label, p in prediction.probabilities.items()}
    expect(page.locator("#verdict")).to_contain_text(f"{prediction.intent}")
    expect(page.locator("#verdict")).to_contain_text("sqry would")
    expect(page.locator("#flags")).to_contain_text("nothing to report")
    expect(page.locator("#about")).to_contain_text("0.0.1-test")  # the model version
    page.screenshot(path=str(artifacts_dir() / "one-query.png"), full_page=True)
    print(f"browser: page load + query + checks in {time.perf_counter() - started:.2f}s")


def test_an_empty_query_shows_the_message(page: Any, served: str,
                                          app_module: ModuleType) -> None:
    from playwright.sync_api import expect

    page.goto(served)
    page.locator("#query [data-testid=textbox]").fill("   ")
    page.locator("#classify").click()
    toast = page.get_by_test_id("toast-text")
    expect(toast).to_have_text(app_module.EMPTY_QUERY_MESSAGE)
    expect(toast).to_have_class(re.compile(r"\berror\b"))
    expect(page.locator("#verdict")).to_contain_text("Type a request")
    page.wait_for_timeout(800)  # the toast slides in: let the screenshot show it
    page.screenshot(path=str(artifacts_dir() / "empty-query.png"))


def test_a_long_query_is_flagged_truncated(page: Any, served: str) -> None:
    from playwright.sync_api import expect

    page.goto(served)
    page.locator("#query [data-testid=textbox]").fill("who calls parse_config " * 5000)
    page.locator("#classify").click()
    expect(page.locator("#flags")).to_contain_text("Truncated input")
    expect(page.locator("#probabilities meter")).to_have_count(len(INTENTS))


def test_the_batch_tab_fills_the_table(page: Any, served: str) -> None:
    from playwright.sync_api import expect

    page.goto(served)
    page.get_by_role("tab", name="Batch").click()
    page.locator("#batch-text [data-testid=textbox]").fill(
        "who calls main\nhello\nis the index stale")
    page.locator("#classify-batch").click()
    table = page.locator("#batch-table")
    expect(table).to_contain_text("is the index stale")
    expect(page.locator("#batch-download")).to_contain_text("predictions-")
    page.screenshot(path=str(artifacts_dir() / "batch.png"), full_page=True)


def test_a_model_that_cannot_load_is_explained_on_the_page(
        page: Any, app_module: ModuleType) -> None:
    from playwright.sync_api import expect

    error = "The model repo me/missing on http://127.0.0.1:9 does not exist."
    demo = app_module.build_demo(None, {"repo_id": "me/missing", "revision": "v1.0.0"},
                                 error=error)
    with serving(demo, **app_module.launch_options()) as (url, _):
        page.goto(url)
        expect(page.locator("#load-error")).to_contain_text(error)
        page.locator("#query [data-testid=textbox]").fill("who calls main")
        page.locator("#classify").click()
        expect(page.get_by_test_id("toast-text")).to_have_text(
            f"The model could not be loaded: {error}")
        page.wait_for_timeout(800)
        page.screenshot(path=str(artifacts_dir() / "load-error.png"), full_page=True)
