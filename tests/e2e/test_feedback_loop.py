"""The feedback loop of issue 22, end to end on the local Hub, through the commands a user types.

1. A model release is on the Hub; ``space publish --feedback-repo --feedback-every 0.05``
   publishes the Space and makes the private feedback dataset repo with its card; ``demo
   --space`` serves the published Space's own files, the write token in its environment only
   (as a Space secret), every other feedback setting from the published space_config.json.
2. In headless chromium: a confirmation, a correction (another intent picked in the dropdown,
   with a note), and two requests the page refuses with its message (a control character,
   more than 4096 bytes); more answers through the page's /correct endpoint (gradio_client).
3. The scheduled commit brings exactly the saved rows to the dataset repo.
4. ``feedback pull``, ``feedback review`` (scripted: accept, relabel, reject spam), ``feedback
   publish --tag v1.0.0``: the reviewed requests dataset.
5. ``train --real-data NS/sqry-nl-requests@v1.0.0`` on the tiny model, ``export``,
   ``release``, ``calibrate fit --real-data``: the training provenance names the requests
   and their train rows; temperature.json was fitted on their calibration rows too.

The screenshot of the feedback control and both dataset cards go to $SQRY_NL_ARTIFACTS_DIR
(else the test's folder); the closing note of issue 22 quotes them.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from fixtures.hub_server import REPO_ROOT
from loop_testing import (
    API_REQUESTS,
    CONTROL_QUERY,
    LONG_QUERY,
    MIN_REQUESTS,
    PAGE_CONFIRM,
    PAGE_CORRECT,
    Request,
    artifacts_dir,
    browser_page,
    committed_rows,
    published,
    review_answers,
)
from space.feedback_testing import SAVED_ROW, wait_for
from space.space_testing import app_env, app_process, free_port

from hf_pipeline.cli import main
from hf_pipeline.contract import FEEDBACK_TOKEN_ENV
from hf_pipeline.feedback.requests import CALIBRATION, TRAIN, load_requests
from hf_pipeline.intents import INTENTS
from hf_pipeline.model_folder.layout import TEMPERATURE_FILE

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.hub]

MODEL_TAG = "v0.0.1"
EVERY_MINUTES = 0.05  # a scheduled commit every 3 s
REQUESTS_TAG = "v1.0.0"


def cli(capsys: pytest.CaptureFixture[str], *args: object) -> dict[str, Any] | None:
    """Run ``hf-pipeline ARGS`` in this process; its --json result, if asked for."""
    capsys.readouterr()
    assert main([str(a) for a in args]) == 0, args
    out = capsys.readouterr().out
    return json.loads(out) if "--json" in args else None


def saved_id(status: str) -> str:
    """The row id in a "Saved" message (the page renders its backticks as code)."""
    match = SAVED_ROW.search(status) or re.search(r"row ([0-9a-f]{32})\b", status)
    assert match, status
    return match[1]


def answer_in_the_page(page: Any, url: str, classifier: Any, shots: Path, repo: str
                       ) -> tuple[dict[str, Request], list[str]]:
    """Confirm, correct and two refused requests in the page, whose feedback goes to
    ``repo``: the requests saved, by row id (in order), and the refusal messages shown."""
    from playwright.sync_api import expect

    page.goto(url)
    panel = page.locator("#feedback").first  # a gr.Group renders its elem_id twice
    box = page.locator("#query [data-testid=textbox]")
    status = page.locator("#feedback-status")
    label = page.get_by_test_id("label-output-value")
    expect(panel).to_be_hidden()

    def classify(text: str) -> str:
        predicted = classifier.predict([text])[0].intent
        box.fill(text)
        box.press("Enter")
        expect(label).to_have_text(predicted)
        expect(status).to_have_text("")  # a new prediction clears the last answer's status
        expect(panel).to_be_visible()
        return predicted

    saved: dict[str, Request] = {}
    predicted = classify(PAGE_CONFIRM)
    expect(panel).to_contain_text("Is this right?")
    # The schedule and the repo come from the space_config.json `space publish` wrote.
    expect(page.locator("#feedback-privacy")).to_contain_text(
        f"Where: the Hub dataset repo {repo}, committed every {EVERY_MINUTES:g} minutes.")
    page.locator("#feedback-confirm").click()
    expect(status).to_contain_text(f"Saved (confirmed {predicted})")
    saved[saved_id(status.inner_text())] = Request(PAGE_CONFIRM, predicted)
    panel.screenshot(path=str(shots / "feedback-control.png"))

    predicted = classify(PAGE_CORRECT)
    meant = "TracePath" if predicted != "TracePath" else "FindCallees"
    page.locator("#feedback-intent input").click()
    page.get_by_role("option", name=meant, exact=True).click()
    page.locator("#feedback-note [data-testid=textbox]").fill("it asks for a path")
    page.locator("#feedback-submit").click()
    expect(status).to_contain_text(f"Saved (corrected to {meant})")
    saved[saved_id(status.inner_text())] = Request(PAGE_CORRECT, meant)

    refusals = [
        (CONTROL_QUERY, "Not saved: the request holds control characters (U+0007 at "
                        "character 10). Fix: remove them, classify the request again, then "
                        "answer."),
        (LONG_QUERY, f"Not saved: the request is {len(LONG_QUERY.encode())} bytes long, and "
                     "feedback keeps requests of at most 4096 bytes (the part sqry "
                     "classifies). Fix: shorten it, classify it again, then answer.")]
    for query, message in refusals:
        classify(query)
        page.locator("#feedback-confirm").click()
        toast = page.get_by_test_id("toast-text").filter(has_text=message[:40])
        expect(toast).to_have_text(message)
        expect(status).not_to_contain_text("Saved")
    page.wait_for_timeout(500)  # the toast slides in: let the screenshot show it
    page.screenshot(path=str(shots / "feedback-refused.png"), full_page=True)
    return saved, [message for _, message in refusals]


def answer_through_the_api(url: str) -> dict[str, Request]:
    """Each API request classified, then answered with its intent through /correct (which
    saves a confirmation when the model got it right); by row id."""
    from gradio_client import Client

    saved: dict[str, Request] = {}
    client = Client(url, verbose=False)
    try:
        for request in API_REQUESTS:
            client.predict(request.text, api_name="/classify")
            status = client.predict(request.intent, "", api_name="/correct")
            saved[saved_id(status)] = request
    finally:
        client.close()
    return saved


def test_feedback_from_the_page_to_a_calibrated_model(
        hub_env: Any, hub_api: Any, tiny_release_dir: Path, tiny_model_dir: Path,
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from huggingface_hub import hf_hub_download

    from hf_pipeline.runtime import IntentClassifier

    shots = artifacts_dir(tmp_path)
    started, phases = time.monotonic(), {}

    def phase(name: str) -> None:  # seconds since the test began, printed at the end
        phases[name] = round(time.monotonic() - started, 1)

    ns = f"loop-{uuid.uuid4().hex[:8]}"
    model, space = f"{ns}/sqry-nl-intent-classifier", f"{ns}/sqry-nl-intent-demo"
    feedback, requests_repo = f"{ns}/sqry-nl-intent-demo-feedback", f"{ns}/sqry-nl-requests"

    # 1. The model release on the Hub, the Space published with feedback, served.
    hub_api.create_repo(model)
    hub_api.upload_folder(repo_id=model, folder_path=tiny_release_dir, commit_message="release")
    hub_api.create_tag(model, tag=MODEL_TAG)
    cli(capsys, "space", "publish", "--repo-id", space, "--model", f"{model}@{MODEL_TAG}",
        "--feedback-repo", feedback, "--feedback-every", EVERY_MINUTES)
    assert hub_api.dataset_info(feedback).private
    feedback_card = Path(hf_hub_download(feedback, "README.md", repo_type="dataset")).read_text()
    (shots / "feedback-dataset-README.md").write_text(feedback_card, encoding="utf-8")

    rows_dir, port = tmp_path / "rows", free_port()
    env = app_env(hub_env.client_env(tmp_path / "demo_hf_home"),
                  PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT),
                                                           os.environ.get("PYTHONPATH")])),
                  SQRY_NL_FEEDBACK_DIR=str(rows_dir), **{FEEDBACK_TOKEN_ENV: hub_env.token})
    del env["HF_TOKEN"]  # as on a Space: the feedback secret is its only token
    log = tmp_path / "demo.log"
    cmd = [sys.executable, "-m", "hf_pipeline", "demo", "--space", space, "--port", str(port)]
    classifier = IntentClassifier.from_dir(tiny_release_dir)  # what the Space serves
    with app_process(cmd, cwd=tmp_path, env=env, port=port, log=log) as (url, _):
        # 2. Answers in the page, then through the API.
        with browser_page() as page:
            saved, refusals = answer_in_the_page(page, url, classifier, shots, feedback)
        phase("page answers")
        saved |= answer_through_the_api(url)
        last_saved = time.monotonic()
        (rows_file,) = rows_dir.glob("rows-*.jsonl")
        local = [json.loads(line) for line in rows_file.read_text().splitlines()]
        assert [row["id"] for row in local] == list(saved)  # nothing refused was written

        # 3. The scheduled commit: exactly the saved rows, as saved, in the dataset repo.
        def all_committed() -> dict[str, dict[str, Any]] | None:
            rows = committed_rows(hub_api, feedback)
            return rows if set(rows) == set(saved) else None

        in_repo = wait_for(all_committed, timeout=60, every=0.5)
        reached_hub_s = time.monotonic() - last_saved
    assert list(in_repo) == list(saved) and list(in_repo.values()) == local
    page_rows = [in_repo[i] for i in list(saved)[:2]]
    assert [(r["text"], r["answer"], r["intent"], r["note"]) for r in page_rows] == [
        (PAGE_CONFIRM, "confirmed", page_rows[0]["predicted"], ""),
        (PAGE_CORRECT, "corrected", saved[page_rows[1]["id"]].intent, "it asks for a path")]
    model_commit = hub_api.model_info(model, revision=MODEL_TAG).sha
    assert {(r["model_repo"], r["model_revision"], r["model_commit"])
            for r in in_repo.values()} == {(model, MODEL_TAG, model_commit)}
    visits = [r["visit"] for r in in_repo.values()]  # the page's visit, then the API's
    assert visits[0] == visits[1] != visits[2] and set(visits[2:]) == {visits[2]}
    assert not [r for r in in_repo.values() if "\x07" in r["text"] or len(r["text"]) > 4096]

    phase("rows on the Hub, demo stopped")

    # 4. Pull, review (scripted), publish the requests dataset.
    review_file = tmp_path / "review.json"
    pulled = cli(capsys, "feedback", "pull", "--repo", feedback, "-o", review_file, "--json")
    assert (pulled["rows"], pulled["samples"], pulled["malformed"]) == (len(saved),) * 2 + (0,)
    samples = json.loads(review_file.read_text())["samples"]
    assert [s["flag"] for s in samples] == [None] * len(saved)  # none is a dev-set row
    answers = tmp_path / "answers.txt"
    answers.write_text("\n".join(review_answers(review_file, {
        r.text: r.review for r in saved.values()})) + "\n")
    review = cli(capsys, "feedback", "review", review_file, "--answers", answers,
                 "--reviewer", "e2e", "--json")
    assert (review["accepted"], review["relabelled"], review["rejected"], review["open"]) == (
        len(saved) - 2, 1, 1, 0)
    done = cli(capsys, "feedback", "publish", review_file, "--repo", requests_repo,
               "--tag", REQUESTS_TAG, "--json")
    assert done["status"] == "published"
    spec = f"{requests_repo}@{REQUESTS_TAG}"
    requests = load_requests(spec)
    expected = {r.text: r.published_intent for r in saved.values() if r.published_intent}
    assert {row["text"]: row["intent"] for row in requests.rows} == expected
    train_rows, calibration_rows = (published(list(saved.values()), s)
                                    for s in (TRAIN, CALIBRATION))
    assert len(train_rows) >= 8 and len(calibration_rows) >= MIN_REQUESTS  # both splits used
    assert sorted(zip(*requests.split(CALIBRATION), strict=True)) == sorted(
        (r.text, INTENTS.index(r.published_intent)) for r in calibration_rows)
    requests_card = Path(hf_hub_download(requests_repo, "README.md", repo_type="dataset",
                                         revision=REQUESTS_TAG)).read_text()
    (shots / "requests-dataset-README.md").write_text(requests_card, encoding="utf-8")
    assert f"{review['accepted']} accepted, 1 relabelled, 1 rejected (spam 1)" in requests_card
    assert (f"- Feedback repo: `{feedback}`, rows added since the repo began up to commit "
            f"`{pulled['head'][:12]}`") in requests_card

    phase("pulled, reviewed, published")

    # 5. Train with the requests, export, release, calibrate with them.
    data, run, export, release = (tmp_path / n for n in ("data", "run", "export", "release"))
    cli(capsys, "generate", "--samples-per-intent", 60, "--allow-small", "--seed", 7,
        "--output", data)
    cli(capsys, "train", "--data", data, "--output", run, "--base-model", tiny_model_dir,
        "--epochs", 1, "--batch-size", 16, "--learning-rate", 1e-3, "--cpu",
        "--real-data", spec)
    info = json.loads((run / "run_info.json").read_text())
    real = info["data"]["real_data"]
    assert (real["spec"], real["source"], real["revision"], real["sha"]) == (
        spec, requests_repo, REQUESTS_TAG, done["commit"])
    assert (real["train_rows"], real["rows_used"], real["dropped"]) == (
        len(train_rows), len(train_rows), {})
    assert info["samples"]["train"] == real["template_rows"] + real["training_rows"]
    assert real["training_rows"] == real["repeat"] * len(train_rows)

    phase("trained")
    cli(capsys, "export", "model", "--model", run / "final", "--output", export, "--data", data,
        "--max-drop", 100)  # a tiny model: the gate is not the point here
    cli(capsys, "release", export, "--output", release, "--model-version", "0.0.2-loop",
        "--training-commit", "e2e-loop", "--dataset-repo", "local/e2e",
        "--dataset-revision", "seed7")
    config = tmp_path / "calibrate.yaml"
    config.write_text(f"min_requests: {MIN_REQUESTS}\n")
    cli(capsys, "calibrate", "fit", "--model", release, "--data", data, "--real-data", spec,
        "--config", config)
    phase("exported, released, calibrated")
    temperature = json.loads((release / TEMPERATURE_FILE).read_text())
    fitted = temperature["fitted_on"]
    assert fitted["requests"]["joined_fit"] is True
    assert fitted["requests"]["calibration_rows"] == len(calibration_rows)
    assert fitted["requests"]["train_rows_not_used"] == len(train_rows)
    # The requests joined the pool that cross-validation chose the method on, and T's fit
    # unless the template validation split alone won (a choice the model's logits make).
    human = fitted["sources"]["calibration"]["samples"]
    pool = human + len(calibration_rows)
    assert fitted["chosen_by"].endswith(
        f"on calibration+requests ({pool} rows), lowest pooled held-out NLL")
    requests_source = fitted["sources"]["requests"]
    assert (requests_source["source"], requests_source["sha"], requests_source["samples"]) == (
        requests_repo, done["commit"], len(calibration_rows))
    assert "requests" in temperature["in_sample_sets"]
    assert ("requests" in fitted["sets"]) is (fitted["method"] != "validation")
    if fitted["method"] != "validation":
        assert fitted["samples"]["requests"] == len(calibration_rows)
        assert temperature["calibration_split"] == "human-calibration+requests"
    print(f"\nfeedback loop: {len(saved)} rows saved, on the Hub {reached_hub_s:.1f} s after "
          f"the last (every {EVERY_MINUTES} min); {len(train_rows)} train and "
          f"{len(calibration_rows)} calibration requests published; T = "
          f"{temperature['temperature']:.4f} by {fitted['method']} on {fitted['sets']}; "
          f"refusals: {refusals}; seconds: {phases}")
