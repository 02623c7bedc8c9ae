"""Human verification: piped review saved per answer, resume, corrections, summary, apply."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hf_pipeline.cli
from hf_pipeline.errors import DataFileError
from hf_pipeline.verify import (
    apply_verification,
    format_summary,
    load_verification,
    parse_intent,
    review,
    summarize,
)

# (id, text, intent): what the generator would have written; the dataset has 40 samples.
SAMPLES = [
    ("train-000001", "who calls parse_config", "FindCallers"),
    ("train-000002", "what does main call", "FindCallees"),
    ("train-000003", "grep for TODO", "TextSearch"),
    ("train-000004", "hello there", "Ambiguous"),
    ("test-000005", "draw the call graph of run", "Visualize"),
    ("test-000006", "is the index up to date", "IndexStatus"),
]
DATASET_SIZE = 40


def _sample(sid: str, text: str, intent: str, review_: Any = None) -> dict[str, Any]:
    return {"id": sid, "text": text, "intent": intent, "source": "template",
            "split": sid.split("-")[0], "template_id": f"{intent}/question/abc123",
            "review": review_}


def _write(path: Path, samples: list[dict[str, Any]], **metadata: Any) -> Path:
    meta = {"dataset": "data/dataset.json", "dataset_sha256": "0" * 64, "fraction": 0.1,
            "seed": 1, "created_by": "hf-pipeline generate", **metadata}
    path.write_text(json.dumps({"metadata": meta, "samples": samples}, indent=2))
    return path


@pytest.fixture
def vfile(tmp_path: Path) -> Path:
    return _write(tmp_path / "verification.json", [_sample(*s) for s in SAMPLES],
                  dataset_samples=DATASET_SIZE)


@pytest.fixture
def dataset_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    samples = [{"id": sid, "text": text, "intent": intent, "source": "template",
                "split": sid.split("-")[0], "template_id": f"{intent}/question/abc123"}
               for sid, text, intent in SAMPLES]
    samples += [{"id": f"train-{i:06d}", "text": f"find symbol s{i}", "intent": "SymbolQuery",
                 "source": "typo_swap", "split": "train", "template_id": "SymbolQuery/q/1"}
                for i in range(100, 100 + DATASET_SIZE - len(SAMPLES))]
    data = {"metadata": {"generator_version": "1", "seed": 1, "verification": None},
            "samples": samples}
    (folder / "dataset.json").write_text(json.dumps(data, indent=2))
    return folder


def _reviews(path: Path) -> list[Any]:
    return [s["review"] for s in json.loads(path.read_text())["samples"]]


def _verdicts(path: Path) -> list[str | None]:
    return [r and (r["verdict"], r["corrected_intent"]) for r in _reviews(path)]


# --- review --------------------------------------------------------------------------------

def test_piped_answers_store_verdicts_and_one_line_per_sample(vfile: Path) -> None:
    out = io.StringIO()
    summary = review(vfile, answers=["y", "n FindCallers", "s", "q"], out=out, reviewer="ana")
    assert _verdicts(vfile) == [("correct", None), ("incorrect", "FindCallers"),
                                ("skipped", None), None, None, None]
    assert _reviews(vfile)[0] == {"verdict": "correct", "corrected_intent": None,
                                  "reviewer": "ana"}
    lines = out.getvalue().splitlines()
    assert lines[0] == "1/6 train-000001 FindCallers (template) 'who calls parse_config': correct"
    assert lines[1].endswith(": incorrect -> FindCallers")
    assert lines[3] == "stopped at 4/6 (quit); every answer so far is saved"
    assert len(lines) == 4  # no prompts when not interactive
    assert (summary.correct, summary.incorrect, summary.skipped, summary.remaining) == (1, 1, 1, 3)


def test_every_answer_is_on_disk_before_the_next_and_survives_a_crash(vfile: Path) -> None:
    def answers() -> Iterator[str]:
        for k, answer in enumerate(["y", "n 3", "s"]):
            assert sum(r is not None for r in _reviews(vfile)) == k  # saved at once
            yield answer
        raise RuntimeError("reviewer's laptop died")

    with pytest.raises(RuntimeError, match="laptop"):
        review(vfile, answers=answers(), out=io.StringIO())
    assert _verdicts(vfile)[:4] == [("correct", None), ("incorrect", "FindCallers"),
                                    ("skipped", None), None]
    assert not list(vfile.parent.glob(".verification.json.*"))  # no temp files left


def test_rerun_resumes_at_first_unreviewed_sample(vfile: Path) -> None:
    review(vfile, answers=["n Visualize", "q"], out=io.StringIO(), reviewer="ana")
    out = io.StringIO()
    review(vfile, answers=["y", "y"], out=out, reviewer="bo")  # answers end -> stop
    assert out.getvalue().splitlines()[0].startswith("2/6 train-000002")
    assert "stopped at 4/6 (end of answers)" in out.getvalue()
    reviews = _reviews(vfile)
    assert reviews[0] == {"verdict": "incorrect", "corrected_intent": "Visualize",
                          "reviewer": "ana"}
    assert [r and r["reviewer"] for r in reviews] == ["ana", "bo", "bo", None, None, None]


def test_skipped_samples_come_back_only_with_revisit_skipped(vfile: Path) -> None:
    review(vfile, answers=["s", "y", "y", "y", "y", "y"], out=io.StringIO())
    out = io.StringIO()
    review(vfile, answers=["y"], out=out)
    assert out.getvalue().startswith("nothing left to review")
    assert _verdicts(vfile)[0] == ("skipped", None)
    out = io.StringIO()
    summary = review(vfile, answers=["y"], out=out, revisit_skipped=True)
    assert out.getvalue().startswith("1/6 train-000001")
    assert (summary.correct, summary.skipped, summary.remaining) == (6, 0, 0)


def test_bad_answers_and_bad_intents_are_asked_again(vfile: Path) -> None:
    out = io.StringIO()
    answers = ["maybe", "", "y FindCallees", "n", "Bogus", "8", "findcallers", "callees", "4", "q"]
    review(vfile, answers=answers, out=out)
    text = out.getvalue()
    assert "1/6: 'maybe' is not an answer; type y (correct), n [INTENT]" in text
    assert "1/6: 'y FindCallees' is not an answer" in text  # only n takes an intent
    assert "1/6: unknown intent 'Bogus'; type a name or number: 0 SymbolQuery, 1 TextSearch" in text
    assert "1/6: unknown intent '8'" in text
    assert "1/6: FindCallers is the current label" in text  # 'findcallers', any case
    assert "1/6: unknown intent 'callees'" in text
    assert _verdicts(vfile)[0] == ("incorrect", "FindCallees")  # 4 = FindCallees
    assert _verdicts(vfile)[1] is None


def test_quit_at_the_intent_question_saves_nothing_for_that_sample(vfile: Path) -> None:
    review(vfile, answers=["y", "n", "q"], out=io.StringIO())
    assert _verdicts(vfile)[:2] == [("correct", None), None]


def test_keyboard_review_shows_card_and_prompts(vfile: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    typed = iter(["n", "tracepath"])
    prompts: list[str] = []

    def fake_input(prompt: str) -> str:
        prompts.append(prompt)
        try:
            return next(typed)
        except StopIteration:
            raise EOFError from None  # Ctrl-D

    monkeypatch.setattr("builtins.input", fake_input)
    out = io.StringIO()
    review(vfile, out=out)
    assert out.getvalue().startswith(
        "\n[1/6] train-000001  source: template  split: train\n"
        "  text:   who calls parse_config\n  intent: FindCallers\n"
        "  saved: incorrect -> TracePath\n")
    assert prompts[:2] == ["correct? [y]es / [n]o [INTENT] / [s]kip / [q]uit: ",
                           "correct intent (0 SymbolQuery, 1 TextSearch, 2 TracePath, "
                           "3 FindCallers, 4 FindCallees, 5 Visualize, 6 IndexStatus, "
                           "7 Ambiguous; q to quit): "]
    assert "stopped at 2/6 (end of answers)" in out.getvalue()
    assert _verdicts(vfile)[:2] == [("incorrect", "TracePath"), None]


@pytest.mark.parametrize(("text", "expected"), [
    ("FindCallers", "FindCallers"), ("findcallers", "FindCallers"), (" AMBIGUOUS ", "Ambiguous"),
    ("0", "SymbolQuery"), ("7", "Ambiguous"), ("8", None), ("-1", None), ("Find", None),
    ("", None),
])
def test_parse_intent(text: str, expected: str | None) -> None:
    assert parse_intent(text) == expected


# --- summary -------------------------------------------------------------------------------

def _reviewed_file(tmp_path: Path, **metadata: Any) -> Path:
    verdicts: list[Any] = [
        {"verdict": "correct", "corrected_intent": None, "reviewer": None},
        {"verdict": "incorrect", "corrected_intent": "FindCallers", "reviewer": None},
        {"verdict": "correct", "corrected_intent": None, "reviewer": None},
        {"verdict": "skipped", "corrected_intent": None, "reviewer": None},
        {"verdict": "correct", "corrected_intent": None, "reviewer": None},
        None,
    ]
    samples = [_sample(*s, v) for s, v in zip(SAMPLES, verdicts, strict=True)]
    return _write(tmp_path / "v.json", samples, **metadata)


def test_summary_numbers_and_target(tmp_path: Path) -> None:
    s = summarize(_reviewed_file(tmp_path, dataset_samples=40))
    assert (s.total, s.reviewed, s.checked, s.correct, s.incorrect, s.skipped, s.remaining) == (
        6, 5, 4, 3, 1, 1, 1)
    assert s.accuracy == 0.75
    assert [c.to_dict() for c in s.corrections] == [
        {"id": "train-000002", "text": "what does main call", "from": "FindCallees",
         "to": "FindCallers"}]
    assert (s.fraction_of_dataset, s.target_checks, s.target_met) == (0.1, 4, True)
    text = format_summary(s)
    assert "accuracy   75.0% (3/4)" in text
    assert "train-000002  FindCallees -> FindCallers  'what does main call'" in text
    assert "10% target: 4 checked of 40 dataset samples = 10.0% -> met" in text
    assert json.loads(json.dumps(s.to_dict()))["target_met"] is True


def test_summary_target_not_met_and_unknown_dataset_size(tmp_path: Path) -> None:
    s = summarize(_reviewed_file(tmp_path, dataset_samples=50))
    assert s.target_met is False
    assert "-> not met (check 1 more)" in format_summary(s)
    s = summarize(_reviewed_file(tmp_path, dataset_samples=100))
    assert "this file cannot meet it (needs 6 more checks, has 2 open)" in format_summary(s)
    s = summarize(_reviewed_file(tmp_path))  # no dataset_samples: 6 / 0.1 = 60 (estimated)
    assert (s.dataset_samples, s.dataset_samples_estimated, s.target_checks) == (60, True, 6)
    assert "60 (estimated from metadata.fraction)" in format_summary(s)
    s = summarize(_reviewed_file(tmp_path, fraction=None))
    assert s.target_met is None and s.fraction_of_dataset is None
    assert "unknown (the metadata has neither 'dataset_samples' nor 'fraction')" in (
        format_summary(s))


def test_summary_with_nothing_checked(vfile: Path) -> None:
    s = summarize(vfile)
    assert s.accuracy is None and s.target_met is False
    assert "accuracy   n/a (nothing checked yet)" in format_summary(s)


# --- apply ---------------------------------------------------------------------------------

def test_apply_corrects_labels_records_result_and_is_idempotent(
        vfile: Path, dataset_dir: Path) -> None:
    review(vfile, answers=["y", "n FindCallers", "s", "n TextSearch"], out=io.StringIO())
    result = apply_verification(vfile, dataset_dir)
    expected = {"file": "../verification.json", "checked": 3, "correct": 1, "incorrect": 2,
                "skipped": 1, "accuracy": 0.3333, "fraction_of_dataset": 0.075,
                "target_met": False,
                "corrections": [{"id": "train-000002", "from": "FindCallees", "to": "FindCallers"},
                                {"id": "train-000004", "from": "Ambiguous", "to": "TextSearch"}]}
    assert result == expected
    dataset_json = dataset_dir / "dataset.json"
    data = json.loads(dataset_json.read_text())
    assert data["metadata"]["verification"] == expected
    by_id = {s["id"]: s for s in data["samples"]}
    assert by_id["train-000002"] == {
        "id": "train-000002", "text": "what does main call", "intent": "FindCallers",
        "source": "template", "split": "train", "template_id": "FindCallees/question/abc123",
        "corrected_from": "FindCallees"}
    assert by_id["train-000001"]["intent"] == "FindCallers"
    assert "corrected_from" not in by_id["train-000001"]
    before = dataset_json.read_bytes()
    assert apply_verification(vfile, dataset_dir) == expected
    assert dataset_json.read_bytes() == before


def test_apply_follows_the_file_when_a_correction_is_withdrawn(
        vfile: Path, dataset_dir: Path) -> None:
    review(vfile, answers=["n SymbolQuery"], out=io.StringIO())
    apply_verification(vfile, dataset_dir)
    data = json.loads(vfile.read_text())
    data["samples"][0]["review"] = {"verdict": "correct", "corrected_intent": None,
                                    "reviewer": None}
    vfile.write_text(json.dumps(data))
    result = apply_verification(vfile, dataset_dir)
    sample = json.loads((dataset_dir / "dataset.json").read_text())["samples"][0]
    assert sample["intent"] == "FindCallers" and "corrected_from" not in sample
    assert result["corrections"] == [] and result["correct"] == 1


def test_apply_refuses_a_verification_file_of_another_dataset(
        tmp_path: Path, dataset_dir: Path) -> None:
    other = _write(tmp_path / "other.json", [_sample("train-999999", "x", "Ambiguous")])
    with pytest.raises(DataFileError, match=r"no sample with id 'train-999999', which .*other"
                       r"\.json reviews\. Fix: apply"):
        apply_verification(other, dataset_dir)
    changed = _write(tmp_path / "changed.json", [_sample("train-000001", "who calls x",
                                                         "FindCallers")])
    with pytest.raises(DataFileError, match=r"sample 'train-000001' is 'who calls parse_config' "
                       r"labelled 'FindCallers', but .*changed.json has 'who calls x'"):
        apply_verification(changed, dataset_dir)
    with pytest.raises(DataFileError, match="no dataset file here"):
        apply_verification(other, tmp_path / "missing")


# --- corrupt files -------------------------------------------------------------------------

def _corrupt(samples: list[Any]) -> str:
    return json.dumps({"metadata": {"fraction": 0.1}, "samples": samples})


GOOD = _sample("a-1", "who calls f", "FindCallers")
CORRUPT = [
    ("{not json", ":1: not valid JSON (Expecting property name enclosed in double quotes at "
     "column 2). Fix: repair the JSON"),
    (json.dumps({"metadata": {}}), "expected an object with a 'samples' list, found no "
     "'samples'. Fix: pass the verification file itself, or regenerate it with "
     "`hf-pipeline generate --verification-output FILE`."),
    (_corrupt([GOOD, {"text": "x", "intent": "Ambiguous"}]),
     "sample 1: field 'id' is missing, expected a non-empty string. Fix: restore the "
     "sample's 'id'"),
    (_corrupt([{**GOOD, "text": ""}]),
     "sample 0 (id 'a-1'): field 'text' is '', expected a non-empty string."),
    (_corrupt([{**GOOD, "intent": "FindCaller"}]),
     "sample 0 (id 'a-1'): field 'intent' is 'FindCaller', expected one of SymbolQuery, "
     "TextSearch, TracePath, FindCallers, FindCallees, Visualize, IndexStatus, Ambiguous. "
     "Fix: use the exact label name (case-sensitive)"),
    (_corrupt([{**GOOD, "review": {"verdict": "ok"}}]),
     "sample 0 (id 'a-1'): field 'review.verdict' is 'ok', expected one of correct, "
     "incorrect, skipped. Fix: use one of those or set 'review' to null to review this "
     "sample again."),
    (_corrupt([{**GOOD, "review": {"verdict": "incorrect", "corrected_intent": "Nope"}}]),
     "field 'review.corrected_intent' is 'Nope', expected one of SymbolQuery"),
    (_corrupt([GOOD, GOOD]), "sample 1 (id 'a-1'): field 'id' repeats sample 0."),
    (json.dumps({"metadata": {"dataset_samples": "800"}, "samples": []}),
     "field 'metadata.dataset_samples' is '800', expected a positive integer."),
]


@pytest.mark.parametrize(("content", "message"), CORRUPT)
def test_corrupt_file_messages(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "v.json"
    path.write_text(content)
    with pytest.raises(DataFileError) as info:
        load_verification(path)
    assert str(info.value).startswith(str(path))
    assert message in str(info.value)


# --- CLI -----------------------------------------------------------------------------------

@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``hf_pipeline.cli.main`` with only this stage registered (others may not exist yet)."""
    monkeypatch.setattr(hf_pipeline.cli, "STAGE_COMMANDS", ("hf_pipeline.verify.cli",))
    return hf_pipeline.cli.main


def test_cli_help(cli: Any, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli(["review", "--help"])
    assert info.value.code == 0
    assert "--revisit-skipped" in capsys.readouterr().out


def test_cli_answers_file_then_summary_json(cli: Any, vfile: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    answers = tmp_path / "answers.txt"
    answers.write_text("y\nn FindCallers\ns\ny\n")
    assert cli(["review", str(vfile), "--answers", str(answers), "--reviewer", "ana"]) == 0
    out = capsys.readouterr().out
    assert "stopped at 5/6 (end of answers)" in out
    assert "reviewed   4  (correct 2, incorrect 1, skipped 1)" in out
    assert cli(["review", str(vfile), "--summary", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["checked"], summary["accuracy"], summary["remaining"]) == (3, 2 / 3, 2)


def test_cli_reads_a_pipe_and_ctrl_c_loses_nothing(cli: Any, vfile: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    class Pipe(io.StringIO):
        def __iter__(self) -> Iterator[str]:
            yield "y\n"
            yield "n 2\n"
            raise KeyboardInterrupt

    monkeypatch.setattr("sys.stdin", Pipe())
    assert cli(["review", str(vfile)]) == 130
    captured = capsys.readouterr()
    assert "interrupted; every answer so far is saved" in captured.err
    assert "reviewed   2  (correct 1, incorrect 1, skipped 0)" in captured.out
    assert _verdicts(vfile)[:3] == [("correct", None), ("incorrect", "TracePath"), None]


def test_cli_apply(cli: Any, vfile: Path, dataset_dir: Path,
                   capsys: pytest.CaptureFixture[str]) -> None:
    review(vfile, answers=["n SymbolQuery"], out=io.StringIO())
    assert cli(["review", str(vfile), "--apply", str(dataset_dir)]) == 0
    out = capsys.readouterr().out
    assert "1 checked (0 correct, 1 incorrect, 0 skipped), accuracy 0.0%, 2.5% of" in out
    assert "train-000001: FindCallers -> SymbolQuery" in out


def test_cli_corrupt_file_is_one_message_and_exit_2(cli: Any, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "v.json"
    path.write_text(_corrupt([{**GOOD, "intent": "Nope"}]))
    assert cli(["review", str(path), "--summary"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: sample 0 (id 'a-1'): field 'intent' is 'Nope'")
    assert "Traceback" not in err and len(err.splitlines()) == 1
