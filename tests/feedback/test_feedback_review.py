"""feedback pull / review / publish against the real local Hub: a feedback repo built in
commits as the Space's CommitScheduler would, pulled (dedupe, counts, --since, malformed
lines), reviewed with scripted answers (dev-set row refused, resume keeps decisions), published
as v1.0.0 and loaded back with requests.load_requests."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import hf_pipeline.cli
from hf_pipeline import data_sources
from hf_pipeline.errors import DataFileError, InvalidValueError
from hf_pipeline.feedback.publish import PublishRequestsConfig, publish_requests
from hf_pipeline.feedback.pull import pull
from hf_pipeline.feedback.requests import load_requests, request_key, split_of
from hf_pipeline.feedback.review import review_feedback
from hf_pipeline.publish.versions import PublishError

DEV_TEXT = json.loads(data_sources.DEV_SET_PATH.read_text().splitlines()[0])["text"]


def row(text: str, intent: str, *, predicted: str | None = None, revision: str = "v0.1.0",
        note: str = "") -> str:
    predicted = predicted or intent
    return json.dumps({
        "schema": 1, "id": uuid.uuid4().hex, "visit": uuid.uuid4().hex,
        "time": "2026-12-07T07:00:00Z", "text": text, "original_length": len(text), "flags": [],
        "predicted": predicted, "confidence": 0.9, "tier": "execute", "probabilities": {},
        "answer": "confirmed" if predicted == intent else "corrected", "intent": intent,
        "note": note, "model_repo": "local-user/clf", "model_revision": revision,
        "model_commit": "c" * 40, "app_version": "0.1.0"})


def upload(api: Any, repo: str, files: dict[str, str]) -> str:
    from huggingface_hub import CommitOperationAdd

    ops = [CommitOperationAdd(f"data/{name}", text.encode()) for name, text in files.items()]
    return api.create_commit(repo, repo_type="dataset", operations=ops,
                             commit_message="Scheduled commit").oid


@pytest.fixture
def no_calibration_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The human calibration set as on main today: not there yet."""
    path = tmp_path / "missing" / "human_calibration.jsonl"
    monkeypatch.setattr(data_sources, "CALIBRATION_SET_PATH", path)
    return path


@pytest.fixture
def feedback_repo(hub_api: Any, hub_repo_id: Callable[[str], str],
                  no_calibration_set: Path) -> dict[str, Any]:
    """Two scheduled commits; rows-a.jsonl grows between them, as the app appends."""
    repo = hub_repo_id("feedback")
    hub_api.create_repo(repo, repo_type="dataset", private=True)
    a1 = [row("who calls login", "FindCallers"),
          row("Who  calls LOGIN", "FindCallers"),
          row("grep TODO", "TextSearch", predicted="SymbolQuery", note="it is text"),
          row(DEV_TEXT, "SymbolQuery"),
          row("buy cheap pills", "Ambiguous")]
    c1 = upload(hub_api, repo, {"rows-a.jsonl": "\n".join(a1) + "\n"})
    a2 = [*a1, row("who calls login", "FindCallers", revision="v0.2.0"), "{not json",
          row("who calls x", "Nope")]
    b = [row("path from main to db", "TracePath", predicted="FindCallees")]
    c2 = upload(hub_api, repo, {"rows-a.jsonl": "\n".join(a2) + "\n",
                                "rows-b.jsonl": "\n".join(b) + "\n"})
    return {"repo": repo, "commits": [c1, c2], "b": b}


def samples(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text())["samples"]


def test_pull_dedupes_attributes_commits_and_counts_malformed_lines(
        feedback_repo: dict[str, Any], hub_api: Any, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    repo, (c1, c2) = feedback_repo["repo"], feedback_repo["commits"]
    out = tmp_path / "review.json"
    result = pull(repo, output=out)
    assert (result.rows, result.samples, result.malformed, result.head) == (7, 5, 2, c2)
    got = {s["text"]: s for s in samples(out)}
    login = got["who calls login"]
    assert login["count"] == 3 and login["feedback_commits"] == [c1, c2]
    assert login["model_revisions"] == {"local-user/clf@v0.1.0": 2, "local-user/clf@v0.2.0": 1}
    assert got["grep TODO"]["answer"] == "corrected" and got["grep TODO"]["notes"] == ["it is text"]
    assert got["path from main to db"]["feedback_commits"] == [c2]
    assert got[DEV_TEXT]["flag"] == "dev set"
    assert [s["flag"] for s in samples(out)].count(None) == 4
    meta = json.loads(out.read_text())["metadata"]
    assert meta["head"] == c2 and [m["line"] for m in meta["malformed_lines"]] == [7, 8]
    assert "data/rows-a.jsonl@" in caplog.text and ":8: skipped: field 'intent' is 'Nope'" in (
        caplog.text)

    c3 = upload(hub_api, repo, {"rows-b.jsonl": "\n".join(
        [*feedback_repo["b"], row("index status", "IndexStatus")]) + "\n"})
    later = pull(repo, since=c2, output=tmp_path / "next.json")
    assert (later.rows, later.samples, later.malformed) == (1, 1, 0)
    assert samples(tmp_path / "next.json")[0]["feedback_commits"] == [c3]
    with pytest.raises(InvalidValueError, match="--since"):
        pull(repo, since="bad..rev", output=tmp_path / "x.json")


def test_review_pull_resume_publish_and_load_back(
        feedback_repo: dict[str, Any], hub_api: Any, hub_repo_id: Callable[[str], str],
        tmp_path: Path, no_calibration_set: Path) -> None:
    repo = feedback_repo["repo"]
    review_file = tmp_path / "review.json"
    pull(repo, output=review_file)
    # login, grep, dev text, spam, path (order of first appearance)
    out = io.StringIO()
    summary = review_feedback(review_file, answers=["y", "q"], out=out, reviewer="ana")
    assert (summary.accepted, summary.remaining) == (1, 4)
    assert "stopped at 2/5 (quit); every answer so far is saved" in out.getvalue()

    # The same pull again (more rows may have come): decisions kept; another pull: refused.
    assert pull(repo, output=review_file).kept_reviews == 1
    with pytest.raises(DataFileError, match="holds review decisions of another pull"):
        pull(repo, since=feedback_repo["commits"][0], output=review_file)

    requests_repo = hub_repo_id("requests")
    cfg = PublishRequestsConfig(review_file, requests_repo, "v1.0.0")
    with pytest.raises(DataFileError, match=r"4 request\(s\) not reviewed and 0 skipped"):
        publish_requests(cfg)

    out = io.StringIO()
    summary = review_feedback(review_file, out=out, reviewer="bo", answers=[
        "y", "y", "n SymbolQuery", "r", "r spam", "n Visualize"])
    text = out.getvalue()
    assert "3/5: this text is in the dev set (human_dev.jsonl)" in text
    assert "3/5 " in text and ": rejected (held-out)" in text
    assert text.splitlines()[0].startswith("2/5 ") and "x1 corrected, predicted SymbolQuery" in (
        text.splitlines()[0])
    assert (summary.accepted, summary.relabelled, summary.rejected, summary.open) == (2, 1, 2, 0)
    assert summary.reasons == {"held-out": 1, "spam": 1}
    reviews = [s["review"] for s in samples(review_file)]
    assert reviews[0]["reviewer"] == "ana" and reviews[1]["reviewer"] == "bo"

    result = publish_requests(cfg, api=hub_api)
    assert result.status == "published"
    loaded = load_requests(f"{requests_repo}@v1.0.0")
    by_text = {r["text"]: r for r in loaded.rows}
    assert set(by_text) == {"who calls login", "grep TODO", "path from main to db"}
    assert by_text["who calls login"]["count"] == 3
    assert by_text["path from main to db"]["intent"] == "Visualize"
    assert [by_text[t]["answer"] for t in ("who calls login", "grep TODO",
                                           "path from main to db")] == [
        "confirmed", "corrected", "relabelled"]
    for name in ("train", "calibration"):
        texts, labels = loaded.split(name)
        assert all(split_of(t) == name for t in texts) and len(texts) == len(labels)
    assert sum(len(loaded.split(n)[0]) for n in ("train", "calibration")) == 3
    assert not any(request_key(t) == request_key(DEV_TEXT) for t in by_text)

    card = Path(hub_api.hf_hub_download(requests_repo, "README.md", repo_type="dataset",
                                        revision="v1.0.0")).read_text()
    assert "path: data/requests.jsonl" in card and "| `FindCallers` | 1 | 3 |" in card
    assert "| relabelled | 1 |" in card and "`local-user/clf@v0.2.0` | 1 |" in card
    assert all(c[:12] in card for c in feedback_repo["commits"])
    assert "accepted, 1 relabelled, 2 rejected (held-out 1, spam 1)" in card

    from datasets import load_dataset
    rows = load_dataset(requests_repo, split="requests", revision="v1.0.0")
    assert sorted(rows["text"]) == sorted(by_text)

    # The same tag again: the same content is a no-op, other content is refused.
    assert publish_requests(cfg, api=hub_api).status == "unchanged"
    data = json.loads(review_file.read_text())
    data["samples"][0]["review"] = {"verdict": "rejected", "corrected_intent": None,
                                    "reason": "spam", "reviewer": "bo"}
    review_file.write_text(json.dumps(data))
    with pytest.raises(PublishError, match="already holds different requests"):
        publish_requests(cfg, api=hub_api)
    assert load_requests(f"{requests_repo}@v1.0.0").rows == loaded.rows


def test_calibration_set_rows_are_flagged_too(
        feedback_repo: dict[str, Any], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    calibration = tmp_path / "human_calibration.jsonl"
    calibration.write_text(json.dumps({"text": "GREP todo", "intent": "TextSearch"}) + "\n")
    monkeypatch.setattr(data_sources, "CALIBRATION_SET_PATH", calibration)
    out = tmp_path / "review.json"
    pull(feedback_repo["repo"], output=out)
    assert {s["text"]: s["flag"] for s in samples(out)}["grep TODO"] == "calibration set"
    answers = io.StringIO()
    review_feedback(out, answers=["y", "n FindCallers", "s"], out=answers)
    assert "2/5: this text is in the calibration set" in answers.getvalue()
    assert samples(out)[1]["review"]["verdict"] == "skipped"


# --- CLI and bad input ---------------------------------------------------------------------

@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(hf_pipeline.cli, "STAGE_COMMANDS", ("hf_pipeline.feedback.cli",))
    return hf_pipeline.cli.main


def test_cli_pull_review_summary(cli: Any, feedback_repo: dict[str, Any], tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "review.json"
    assert cli(["feedback", "pull", "--repo", feedback_repo["repo"], "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "pulled 7 new row(s) from 3 commit(s)" in text and "2 malformed line(s)" in text
    assert f"next pull: --since {feedback_repo['commits'][1]}" in text
    answers = tmp_path / "answers.txt"
    answers.write_text("y\nr not\n")
    assert cli(["feedback", "review", str(out), "--answers", str(answers)]) == 0
    assert "rejected   1  (not-a-request 1)" in capsys.readouterr().out
    assert cli(["feedback", "review", str(out), "--summary", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["remaining"] == 3


BAD_FILES = [
    (None, "cannot read"),
    ("{not json", "not valid JSON"),
    (json.dumps({"metadata": {}, "samples": []}), "not a feedback review file"),
    (json.dumps({"metadata": {"kind": "hf-pipeline feedback review"}, "samples": [
        {"id": "a", "text": "x", "intent": "Nope", "count": 1}]}),
     "sample 0 (id 'a'): field 'intent' is 'Nope', expected one of SymbolQuery"),
    (json.dumps({"metadata": {"kind": "hf-pipeline feedback review"}, "samples": [
        {"id": "a", "text": "x", "intent": "Ambiguous", "count": 1,
         "review": {"verdict": "rejected", "reason": "boring"}}]}),
     "field 'review.reason' is 'boring', expected one of spam"),
]


@pytest.mark.parametrize(("content", "message"), BAD_FILES)
def test_cli_bad_review_files(cli: Any, tmp_path: Path, content: str | None, message: str,
                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "review.json"
    if content is not None:
        path.write_text(content)
    for argv in (["review", str(path), "--summary"],
                 ["publish", str(path), "--repo", "ns/reqs", "--tag", "v1.0.0"]):
        assert cli(["feedback", *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {path}") and message in err, err
        assert len(err.splitlines()) == 1


@pytest.mark.parametrize(("argv", "message"), [
    (["pull", "--repo", "not a repo"], "--repo: got 'not a repo', expected a Hub repo id"),
    (["publish", "f.json", "--repo", "ns/x", "--tag", "1.0"], "tag: got '1.0', expected a "
     "version tag like v1.0.0"),
    (["publish", "f.json", "--repo", "ns", "--tag", "v1.0.0"], "repo_id: got 'ns'"),
])
def test_cli_bad_repo_and_tag(cli: Any, tmp_path: Path, argv: list[str], message: str,
                              capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["feedback", *argv, *(["-o", str(tmp_path / "r.json")]
                                     if argv[0] == "pull" else [])]) == 2
    assert message in capsys.readouterr().err
