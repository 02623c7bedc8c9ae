"""``hf-pipeline predict``: JSON lines in, the same lines with predictions out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.tampering import append_newline, flip_byte

from hf_pipeline.cli import main
from hf_pipeline.intents import INTENTS
from hf_pipeline.runtime import IntentClassifier

FIELDS = ["intent", "confidence", "probabilities", "tier", "flags"]
ROWS = [
    {"id": "a", "text": "who calls main", "meta": {"source": "template", "tags": [1, 2]}},
    {"text": "grep TODO", "split": "dev"},
    {"id": "empty", "text": "   "},
    {"id": 4, "text": "ｇｒａｐｈ ｏｆ Ｒｏｕｔｅｒ", "note": None},
]


def write_jsonl(path: Path, lines: list[object], *, blank_lines: bool = False) -> Path:
    text = "".join((line if isinstance(line, str) else json.dumps(line, ensure_ascii=False))
                   + ("\n\n" if blank_lines else "\n") for line in lines)
    path.write_text(text, encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]


def predict(*args: object) -> int:
    return main(["predict", *map(str, args)])


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["predict", "--help"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: hf-pipeline predict")


def test_jsonl_round_trip(tiny_release_dir: Path, tmp_path: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", ROWS, blank_lines=True)
    out = tmp_path / "out.jsonl"
    assert predict("--model", tiny_release_dir, "--input", source, "--output", out) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == f"wrote 4 predictions to {out}\n"
    results = read_jsonl(out)
    expected = IntentClassifier.from_dir(tiny_release_dir).predict([r["text"] for r in ROWS])
    assert len(results) == len(ROWS)
    for row, result, prediction in zip(ROWS, results, expected, strict=True):
        assert list(result) == [*row, *FIELDS]  # input fields kept, first and unchanged
        assert {k: result[k] for k in row} == row
        assert {k: result[k] for k in FIELDS} == prediction.to_dict()
    assert results[2]["intent"] == "Ambiguous" and results[2]["flags"] == ["empty_input"]
    assert results[2]["confidence"] == 0.0 and results[2]["tier"] == "disambiguate"
    assert list(results[0]["probabilities"]) == list(INTENTS)
    assert "ｇｒａｐｈ" in out.read_text(encoding="utf-8")  # the text as given, not cleaned


def test_texts_as_arguments_come_first(tiny_release_dir: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [{"text": "is the index fresh"}])
    assert predict("--model", tiny_release_dir, "who calls main", "", "--input", source) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in results] == ["who calls main", "", "is the index fresh"]
    assert [list(r) for r in results] == [["text", *FIELDS]] * 3
    assert results[1]["flags"] == ["empty_input"] and results[1]["intent"] == "Ambiguous"


def test_prefix_keeps_a_gold_label(tiny_release_dir: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    source = write_jsonl(tmp_path / "dev.jsonl", [{"text": "who calls main",
                                                   "intent": "FindCallers"}])
    out = tmp_path / "out.jsonl"
    assert predict("--model", tiny_release_dir, "--input", source, "--output", out) == 2
    assert capsys.readouterr().err == (
        "error: input row 1 already has field(s) intent, which predict would overwrite. Fix: "
        "pass --prefix pred_ (or another prefix).\n")
    assert not out.exists()
    assert predict("--model", tiny_release_dir, "--input", source, "--output", out,
                   "--prefix", "pred_") == 0
    [result] = read_jsonl(out)
    assert list(result) == ["text", "intent", *(f"pred_{k}" for k in FIELDS)]
    assert result["intent"] == "FindCallers" and result["pred_intent"] in INTENTS


@pytest.mark.parametrize(("line", "problem"), [
    ("who calls main", "not JSON (Expecting value)."),
    ('{"text": "who calls main"', "not JSON (Expecting ',' delimiter)."),
    ('{"query": "who calls main"}', "expected an object with a string 'text' field."),
    ('{"text": 5}', "expected an object with a string 'text' field."),
    ('["who calls main"]', "expected an object with a string 'text' field."),
])
def test_a_bad_input_line_is_named(tiny_release_dir: Path, tmp_path: Path, line: str,
                                   problem: str, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [{"text": "fine"}, "", line, {"text": "fine"}])
    assert predict("--model", tiny_release_dir, "--input", source) == 2
    captured = capsys.readouterr()
    # Results stream (one query per model call): what came out is the rows before the bad
    # line, and nothing after it.
    assert [json.loads(r)["text"] for r in captured.out.splitlines()] == ["fine"]
    [message] = captured.err.splitlines()
    assert message.startswith(f"error: {source}:3: {problem}")
    out = tmp_path / "out.jsonl"  # a file output is whole or absent
    assert predict("--model", tiny_release_dir, "--input", source, "-o", out) == 2
    assert not out.exists()


def test_line_separators_inside_a_text_are_not_line_breaks(
        tiny_release_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # json.dumps(ensure_ascii=False), which predict itself writes, leaves U+2028, U+2029 and
    # U+0085 raw inside strings; only "\n" ends a JSON line. CRLF files work too.
    texts = ["who calls\u2028main", "grep\u2029TODO", "graph\x85of Router"]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\r\n"
                              for t in texts), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert predict("--model", tiny_release_dir, "--input", source, "--output", out) == 0
    assert [r["text"] for r in read_jsonl(out)] == texts
    # predict's own output reads back as input.
    assert predict("--model", tiny_release_dir, "--input", out, "--prefix", "again_") == 0
    again = [json.loads(line) for line in capsys.readouterr().out.split("\n") if line]
    assert [r["text"] for r in again] == texts


def test_nothing_to_classify(tiny_release_dir: Path, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    assert predict("--model", tiny_release_dir) == 2
    assert capsys.readouterr().err == (
        "error: nothing to classify. Fix: pass TEXT arguments or --input FILE.jsonl.\n")
    missing = tmp_path / "missing.jsonl"
    assert predict("--model", tiny_release_dir, "--input", missing) == 2
    assert capsys.readouterr().err.startswith(f"error: {missing}: cannot read (")


def test_bad_batch_size(tiny_release_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:  # a usage error, from the parser
        predict("--model", tiny_release_dir, "--batch-size", "0", "x")
    assert e.value.code == 2
    assert capsys.readouterr().err.endswith(
        "error: argument --batch-size: got 0, expected an integer in [1, 4096]\n")


def test_a_tampered_release_is_refused(release_copy: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    flip_byte(release_copy / "intent_classifier.onnx")
    out = tmp_path / "out.jsonl"
    assert predict("--model", release_copy, "--output", out, "who calls main") == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {release_copy}: model folder failed checksum verification:\n"
                          "  intent_classifier.onnx: SHA-256 mismatch")
    assert "--allow-unverified" in err and not out.exists()


def test_release_and_trained_folder_give_the_same_fields(
        tiny_release_dir: Path, tiny_model_dir: Path, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", ROWS)
    outputs = []
    for folder in (tiny_release_dir, tiny_model_dir):
        out = tmp_path / f"{folder.name}.jsonl"
        assert predict("--model", folder, "--input", source, "--output", out) == 0
        outputs.append(read_jsonl(out))
    int8, fp32 = outputs
    assert [list(r) for r in int8] == [list(r) for r in fp32] == [[*r, *FIELDS] for r in ROWS]
    for a, b in zip(int8, fp32, strict=True):
        assert list(a["probabilities"]) == list(b["probabilities"])
        assert a["flags"] == b["flags"]
        # INT8 vs fp32 of the same network: close, not equal.
        for label, p in a["probabilities"].items():
            assert p == pytest.approx(b["probabilities"][label], abs=2e-3)


def run_cli(*args: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "HF_PIPELINE_DEBUG"}
    return subprocess.run([sys.executable, "-m", "hf_pipeline", "predict", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=120, check=False)


def test_the_installed_command_exit_codes(release_copy: Path) -> None:
    """The real process: exit status, one error message and no traceback; the warning of an
    unverified load reaches stderr."""
    append_newline(release_copy / "tokenizer.json")
    refused = run_cli("--model", release_copy, "who calls main")
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.startswith(f"error: {release_copy}: model folder failed checksum")
    assert "tokenizer.json: SHA-256 mismatch" in refused.stderr
    assert "Traceback" not in refused.stderr
    allowed = run_cli("--model", release_copy, "--allow-unverified", "who calls main")
    assert allowed.returncode == 0, allowed.stderr
    assert "loading an UNVERIFIED model" in allowed.stderr
    [line] = allowed.stdout.splitlines()
    assert json.loads(line)["text"] == "who calls main"


def test_a_lone_surrogate_is_replaced_not_a_crash(tiny_release_dir: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    # Valid JSON ("\ud83d" escaped), not valid UTF-8: the query is cleaned to U+FFFD and the
    # row is written back escaped, so the output is still JSON lines.
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "who calls \\ud83d main"}\n{"text": "grep TODO"}\n',
                      encoding="utf-8")
    assert predict("--model", tiny_release_dir, "--input", source) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in rows] == ["who calls \ud83d main", "grep TODO"]
    assert all(r["intent"] in INTENTS and r["flags"] == [] for r in rows)


@pytest.mark.slow
def test_predict_streams_its_input(tiny_release_dir: Path, tmp_path: Path) -> None:
    """Results come out as they are computed: fed through a pipe, the first batch's results
    arrive while the rest of the input has not even been written (a predict that read its
    whole input first would wait for the end of the input forever). Order is kept."""
    import select

    fifo = tmp_path / "queries.jsonl"
    os.mkfifo(fifo)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "hf_pipeline", "predict", "--model",
                                str(tiny_release_dir), "--batch-size", "4", "--input",
                                str(fifo)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env, cwd=tmp_path)
    lines = [json.dumps({"text": f"who calls f{i}", "i": i}) + "\n" for i in range(400)]
    try:
        with open(fifo, "w", encoding="utf-8") as writer:
            writer.writelines(lines[:8])
            writer.flush()
            ready, _, _ = select.select([process.stdout], [], [], 120)  # a hang guard only
            assert ready, "no result before the end of the input: predict does not stream"
            first = json.loads(process.stdout.readline())
            writer.writelines(lines[8:])
        rest = [json.loads(line) for line in process.stdout]
        process.wait(timeout=120)
    finally:
        process.kill()
    assert [r["i"] for r in [first, *rest]] == list(range(400))
    assert process.returncode == 0


def test_predict_scores_one_unpadded_query_at_a_time_as_the_runtime(
        tiny_release_dir: Path, tmp_path: Path) -> None:
    # Issue 23: predict batched 32 padded queries by default; with the INT8 graph's dynamic
    # quantization that changed confidences (and dev-set figures) against calibration's and
    # sqry's single-query path. The default now is that path.
    from hf_pipeline.runtime import IntentClassifier

    texts = ["who calls main", "grep for TODO in src", "x", "draw the call graph of the "
             "Router struct as mermaid please", "index status", "where is Config defined"]
    source = write_jsonl(tmp_path / "in.jsonl", [{"text": t} for t in texts])
    out = tmp_path / "out.jsonl"
    assert predict("--model", tiny_release_dir, "--input", source, "-o", out) == 0
    classifier = IntentClassifier.from_dir(tiny_release_dir)
    one_by_one = [classifier.predict([t])[0].probabilities for t in texts]
    assert [r["probabilities"] for r in read_jsonl(out)] == one_by_one
