"""Feedback in the demo through its real API (gradio_client), saved to a local Hub dataset."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from feedback_testing import (
    SAVED_ROW,
    feedback_repo,
    open_feedback,
    parse_rows,
    repo_files,
    rows_in,
    wait_for,
)
from space_testing import serving

import hf_pipeline
from hf_pipeline.intents import INTENTS

QUERY = "who calls authenticate_user"
BIG_QUERY = "who calls parse_config " * 200  # 4600 bytes
CONTROL_QUERY = "who\x00 calls\x07 main\x1b[31m"


@pytest.fixture
def feedback(app_module: ModuleType, hub_api: Any, hub_env: Any,
             hub_repo_id: Callable[[str], str], tmp_path: Path) -> Iterator[Any]:
    repo = feedback_repo(hub_api, hub_repo_id)
    feedback = open_feedback(app_module, repo, hub_env, tmp_path / "rows", every_minutes=0.05)
    try:
        yield feedback
    finally:
        feedback.scheduler.stop()


@pytest.fixture
def client(app_module: ModuleType, tiny_classifier: Any, feedback: Any) -> Iterator[Any]:
    demo = app_module.build_demo(tiny_classifier, tiny_classifier.about(), feedback=feedback)
    with serving(demo) as (_, client):
        yield client


def test_confirm_and_correct_become_rows(client: Any, feedback: Any, tiny_classifier: Any,
                                         app_module: ModuleType) -> None:
    api = client.view_api(print_info=False, return_format="dict")
    assert set(api["named_endpoints"]) == {"/classify", "/classify_batch", "/confirm",
                                           "/correct"}
    prediction = tiny_classifier.predict([QUERY])[0]
    other = next(i for i in INTENTS if i != prediction.intent)
    client.predict("  " + QUERY + "\u200b", api_name="/classify")
    confirmed = client.predict("", api_name="/confirm")
    corrected = client.predict(other, "  it asks for callers\nnot callees ",
                               api_name="/correct")
    assert confirmed.startswith(f"✅ Saved (confirmed {prediction.intent})")
    assert corrected.startswith(f"✅ Saved (corrected to {other})")
    first, second = rows_in(feedback.folder)
    assert [SAVED_ROW.search(confirmed)[1], SAVED_ROW.search(corrected)[1]] == [
        first["id"], second["id"]]
    assert set(first) == set(app_module.feedback_store.ROW_KEYS)
    assert re.fullmatch(r"[0-9a-f]{32}", first["visit"]) and first["visit"] == second["visit"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", first["time"])
    for row in (first, second):
        assert row["schema"] == 1 and row["text"] == QUERY and row["flags"] == []
        assert row["original_length"] == len(QUERY) + 3
        assert row["predicted"] == prediction.intent and row["tier"] == prediction.tier
        assert row["confidence"] == pytest.approx(prediction.confidence, abs=1e-6)
        assert row["probabilities"] == pytest.approx(prediction.probabilities, abs=1e-6)
        assert list(row["probabilities"]) == list(INTENTS)
        assert (row["model_repo"], row["model_revision"], row["model_commit"]) == (
            None, None, None)  # a local folder; test_feedback_kill covers a Hub model
        assert row["app_version"] == hf_pipeline.__version__
    assert (first["answer"], first["intent"], first["note"]) == (
        "confirmed", prediction.intent, "")
    assert (second["answer"], second["intent"], second["note"]) == (
        "corrected", other, "it asks for callers\nnot callees")


def test_a_new_session_is_a_new_visit(client: Any, feedback: Any) -> None:
    client.predict(QUERY, api_name="/classify")
    client.predict("", api_name="/confirm")
    client.reset_session()
    client.predict(QUERY, api_name="/classify")
    client.predict("", api_name="/confirm")
    first, second = rows_in(feedback.folder)
    assert first["visit"] != second["visit"]


@pytest.mark.parametrize(("query", "args", "message"), [
    (BIG_QUERY, ("",), "Not saved: the request is 4600 bytes long, and feedback keeps "
                       "requests of at most 4096 bytes (the part sqry classifies). Fix: "
                       "shorten it, classify it again, then answer."),
    (CONTROL_QUERY, ("",), "Not saved: the request holds control characters (U+0000 at "
                           "character 4, U+0007 at character 11, U+001B at character 17). "
                           "Fix: remove them, classify the request again, then answer."),
    (QUERY, ("x" * 1001,), "Not saved: the note is 1001 bytes long; at most 1000 are kept. "
                           "Fix: shorten the note."),
    (QUERY, ("wrong\x1b[2J",), "Not saved: the note holds control characters (U+001B at "
                               "character 6). Fix: remove them."),
    (QUERY, ("Nonsense", ""), "Not saved: 'Nonsense' is not one of the eight intents."),
    (QUERY, (None, ""), "Not saved: pick the intent you meant first."),
])
def test_bad_answers_get_a_message_and_are_not_saved(client: Any, feedback: Any, query: str,
                                                     args: tuple, message: str) -> None:
    from gradio_client.exceptions import AppError

    client.predict(query, api_name="/classify")  # sqry classifies these; feedback refuses
    endpoint = "/confirm" if len(args) == 1 else "/correct"
    with pytest.raises(AppError) as e:
        client.predict(*args, api_name=endpoint)
    if "Nonsense" in message:  # Gradio's own check of the dropdown's choices comes first
        assert "Nonsense" in str(e.value)
    else:
        assert str(e.value) == message
    assert rows_in(feedback.folder) == []


def test_an_empty_request_has_nothing_to_answer(client: Any, feedback: Any,
                                                app_module: ModuleType) -> None:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="^" + re.escape(app_module.EMPTY_QUERY_MESSAGE)):
        client.predict(" \u200b ", api_name="/classify")
    with pytest.raises(AppError, match=r"^Nothing to answer yet: classify a request first\.$"):
        client.predict("", api_name="/confirm")
    with pytest.raises(app_module.feedback_store.FeedbackRefused,
                       match=r"^Not saved: the request is empty"):
        app_module.feedback_store.check_request(" \u200b\t")
    assert rows_in(feedback.folder) == []


def test_1000_rapid_answers_from_one_visit_save_the_bound(
        app_module: ModuleType, tiny_classifier: Any, hub_api: Any, hub_env: Any,
        tmp_path: Path, hub_repo_id: Callable[[str], str]) -> None:
    """40 answers through the API, then 960 more through the same ``Feedback.save`` the
    endpoint calls (1000 API calls take minutes on a loaded 2-core machine); the clock is
    held still, so all 1000 fall in one minute however long the test takes."""
    from gradio_client.exceptions import AppError

    fb = app_module.feedback_store
    feedback = fb.Feedback(feedback_repo(hub_api, hub_repo_id), token=hub_env.token,
                           folder=tmp_path / "rows", limit=fb.RateLimit(clock=lambda: 0.0))
    demo = app_module.build_demo(tiny_classifier, tiny_classifier.about(), feedback=feedback)
    refused = []
    try:
        with serving(demo) as (_, client):
            client.predict(QUERY, api_name="/classify")
            for job in [client.submit(f"answer {n}", api_name="/confirm") for n in range(40)]:
                try:
                    job.result()
                except AppError as e:
                    refused.append(str(e))
            visit = rows_in(feedback.folder)[0]["visit"]
            prediction = tiny_classifier.predict([QUERY])[0].to_dict()
            for n in range(40, 1000):
                with pytest.raises(fb.FeedbackRefused) as e:
                    feedback.save(query=QUERY, prediction=prediction, intent="TracePath",
                                  note=f"answer {n}", visit=visit, model={})
                refused.append(str(e.value))
            client.reset_session()  # another visit still gets its own bound
            client.predict(QUERY, api_name="/classify")
            client.predict("", api_name="/confirm")
    finally:
        feedback.scheduler.stop()
    rows = rows_in(feedback.folder)
    bound = fb.VISIT_LIMIT
    assert len(rows) == bound + 1 and len(refused) == 1000 - bound
    assert [r["visit"] for r in rows[:bound]] == [visit] * bound and rows[-1]["visit"] != visit
    assert {m for m in refused} == {
        f"Not saved: this visit already sent {bound} answers in the last 60 seconds, the "
        "most one visit may. Try again in 60 s."}


def test_the_process_bound_holds_across_visits(app_module: ModuleType, tiny_classifier: Any,
                                               hub_api: Any, hub_env: Any, tmp_path: Path,
                                               hub_repo_id: Callable[[str], str]) -> None:
    from gradio_client.exceptions import AppError

    fb = app_module.feedback_store
    limit = fb.RateLimit(per_process=12, clock=lambda: 0.0)
    feedback = fb.Feedback(feedback_repo(hub_api, hub_repo_id), token=hub_env.token,
                           folder=tmp_path / "rows", limit=limit)
    demo = app_module.build_demo(tiny_classifier, tiny_classifier.about(), feedback=feedback)
    try:
        with serving(demo) as (_, client):
            messages = []
            for _visit in range(3):
                client.reset_session()
                client.predict(QUERY, api_name="/classify")
                for _ in range(5):
                    try:
                        client.predict("", api_name="/confirm")
                    except AppError as e:
                        messages.append(str(e))
    finally:
        feedback.scheduler.stop()
    rows = rows_in(feedback.folder)
    assert len(rows) == 12 and len(messages) == 3
    assert [sum(r["visit"] == v for r in rows) for v in dict.fromkeys(r["visit"] for r in rows)
            ] == [5, 5, 2]
    assert messages[0].startswith("Not saved: this demo already received 12 answers in the "
                                  "last 60 minutes, its bound.")


def test_rate_limit_windows_slide(app_module: ModuleType) -> None:
    fb = app_module.feedback_store
    now = [0.0]
    limit = fb.RateLimit(per_visit=2, visit_window=60, per_process=3, process_window=3600,
                         clock=lambda: now[0])
    limit.take("a")
    limit.take("a")
    with pytest.raises(fb.FeedbackRefused, match="Try again in 60 s"):
        limit.take("a")
    now[0] = 60.5
    limit.take("a")  # the first answer left the visit's window
    with pytest.raises(fb.FeedbackRefused, match="already received 3 answers"):
        limit.take("b")
    now[0] = 3600.1
    limit.take("b")  # and the process's


@pytest.mark.parametrize("case", ["no repo", "no token", "token refused"])
def test_no_repo_or_no_token_hides_the_control_and_says_why(
        app_module: ModuleType, tiny_classifier: Any, hub_api: Any, hub_env: Any,
        hub_repo_id: Callable[[str], str], tmp_path: Path, case: str) -> None:
    fb = app_module.feedback_store
    repo = feedback_repo(hub_api, hub_repo_id)
    repo_arg, environ, reason = {
        "no repo": (None, {fb.TOKEN_ENV: hub_env.token}, "no dataset repo is configured"),
        "no token": (repo, {"HF_TOKEN": hub_env.token},
                     f"there is no write token for the dataset repo {repo} (the secret "
                     f"{fb.TOKEN_ENV} is not set)."),
        "token refused": (repo, {fb.TOKEN_ENV: "hf_notthetoken"},
                          f"the dataset repo {repo} could not be opened for writing"),
    }[case]
    off = fb.open_feedback(repo_arg, folder=tmp_path / "rows", environ=environ)
    assert isinstance(off, fb.FeedbackOff) and reason in off.reason
    assert "hf_notthetoken" not in off.reason and hub_env.token not in off.reason
    demo = app_module.build_demo(tiny_classifier, tiny_classifier.about(), feedback=off)
    props = {b["props"].get("elem_id"): b["props"] for b in demo.config["components"]}
    assert props["feedback-off"]["visible"] is True
    assert props["feedback-off"]["value"].startswith("ℹ️ Feedback is off on this page: ")
    assert reason in props["feedback-off"]["value"]
    assert props["feedback"]["visible"] is False
    with serving(demo) as (_, client):
        api = client.view_api(print_info=False, return_format="dict")
        assert set(api["named_endpoints"]) == {"/classify", "/classify_batch"}
    assert not list((tmp_path / "rows").glob("*"))


def test_the_scheduled_commit_lands_the_rows_and_shutdown_commits_the_rest(
        client: Any, feedback: Any, hub_api: Any, app_module: ModuleType) -> None:
    repo = feedback.repo_id
    client.predict(QUERY, api_name="/classify")
    client.predict("", api_name="/confirm")
    client.predict("FindCallees", "", api_name="/correct")
    name = f"data/{feedback.writer.path.name}"

    def committed() -> list[dict[str, Any]]:
        head = hub_api.list_repo_commits(repo, repo_type="dataset")[0].commit_id
        files = repo_files(hub_api, repo, head)
        return parse_rows(app_module, name, files[name]) if name in files else []

    rows = wait_for(lambda: len(committed()) == 2 and committed())  # every = 3 s
    assert rows == rows_in(feedback.folder)
    assert hub_api.repo_info(repo, repo_type="dataset").private is True
    client.predict("", api_name="/confirm")
    started = time.perf_counter()
    feedback.close()  # what atexit does when the app stops
    print(f"shutdown commit of {feedback.writer.rows} rows took "
          f"{time.perf_counter() - started:.3f}s on the local Hub")
    assert committed() == rows_in(feedback.folder) and len(rows_in(feedback.folder)) == 3
    commits = hub_api.list_repo_commits(repo, repo_type="dataset")
    assert commits[0].title == "Feedback: 3 rows in 1 files"
    assert app_module.feedback_store.commit_snapshot(commits[0].message) is not None


def test_options_then_the_demos_environment_then_space_config_choose_the_repo(
        app_module: ModuleType) -> None:
    from hf_pipeline.contract import FEEDBACK_EVERY_ENV, FEEDBACK_REPO_ENV

    fb = app_module.feedback_store
    config = {"feedback_repo": "me/from-config", "feedback_every_minutes": 2}
    environ = {FEEDBACK_REPO_ENV: "me/from-env"}  # no token: the reason names the repo chosen
    assert "me/from-option" in fb.configured("me/from-option", None, config, environ).reason
    assert "me/from-env" in fb.configured(None, None, config, environ).reason
    assert "me/from-config" in fb.configured(None, None, config, {}).reason
    off = fb.configured(None, None, config, {**environ, FEEDBACK_EVERY_ENV: "soon"})
    assert off.reason == f"{FEEDBACK_EVERY_ENV} is 'soon', expected a number of minutes > 0."
