"""The bad-input catalogue: every command, fed what a hostile or careless user would.

Each case runs the real CLI entry point in-process and asserts: the exit code (2 for a usage
or input error, 1 for a failed check), no traceback (nothing escapes ``main``), and one line
on stderr that names the offending file, field or value.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from faults.refusal import write
from hf_pipeline.cli import main
from hf_pipeline.generate.templates import TEMPLATES_DIR

pytestmark = pytest.mark.slow

NOT_UTF8 = b"\xff\xfe bad \xc3\x28"


@dataclass(frozen=True)
class Case:
    name: str
    argv: Callable[[dict[str, Path]], list[str]]  # workspace -> argv
    code: int
    says: Callable[[dict[str, Path]], str]  # workspace -> expected part of the message


@pytest.fixture
def ws(tmp_path: Path, tiny_release_dir: Path, tiny_model_dir: Path, tiny_data: Path,
       tiny_dev: Path) -> dict[str, Path]:
    """Files every case may point at, good and bad, in a private folder."""
    release = Path(shutil.copytree(tiny_release_dir, tmp_path / "release"))
    model = Path(shutil.copytree(tiny_model_dir, tmp_path / "model"))
    bad_model = Path(shutil.copytree(tiny_model_dir, tmp_path / "bad_model"))
    write(bad_model / "config.json", NOT_UTF8)
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, templates)
    write(templates / "find_callers.yaml", NOT_UTF8)
    samples = json.loads(tiny_data.read_text(encoding="utf-8"))
    listed_split = json.loads(json.dumps(samples))
    listed_split["samples"][0]["split"] = ["train"]
    text_not_str = json.loads(json.dumps(samples))
    text_not_str["samples"][0]["text"] = 42
    return {
        "tmp": tmp_path, "release": release, "model": model, "bad_model": bad_model,
        "data": tiny_data, "dev": tiny_dev, "templates": templates,
        "binary": write(tmp_path / "binary.json", NOT_UTF8),
        "binary_yaml": write(tmp_path / "binary.yaml", NOT_UTF8),
        "slots_bad": write(tmp_path / "slots.yaml", "name:\n  open: [1, 2]\n"),
        "listed_split": write(tmp_path / "listed" / "dataset.json", json.dumps(listed_split)),
        "text_not_str": write(tmp_path / "textnum" / "dataset.json", json.dumps(text_not_str)),
        "verification_list": write(tmp_path / "verification.json", "[1, 2]"),
        "queries": write(tmp_path / "queries.jsonl", '{"text": "who calls main"}\n'),
        "a_file": write(tmp_path / "a_file.txt", "x"),
    }


CASES = [
    # generate
    Case("generate: templates not UTF-8", lambda w: ["generate", "--templates",
         str(w["templates"]), "--output", str(w["tmp"] / "o"), "--allow-small",
         "--samples-per-intent", "20"], 2, lambda w: "find_callers.yaml"),
    Case("generate: slots not UTF-8", lambda w: ["generate", "--slots", str(w["binary_yaml"]),
         "--output", str(w["tmp"] / "o")], 2, lambda w: str(w["binary_yaml"])),
    Case("generate: slots of the wrong shape", lambda w: ["generate", "--slots",
         str(w["slots_bad"]), "--output", str(w["tmp"] / "o")], 2,
         lambda w: str(w["slots_bad"])),
    Case("generate: --config not UTF-8", lambda w: ["generate", "--config",
         str(w["binary_yaml"])], 2, lambda w: str(w["binary_yaml"])),
    Case("generate: a billion samples", lambda w: ["generate", "--samples-per-intent",
         "1000000000", "--output", str(w["tmp"] / "o")], 2, lambda w: "samples_per_intent"),
    Case("generate: output is a file", lambda w: ["generate", "--output", str(w["a_file"])],
         2, lambda w: str(w["a_file"])),
    # review
    Case("review: a JSON list", lambda w: ["review", str(w["verification_list"]), "--summary"],
         2, lambda w: str(w["verification_list"])),
    Case("review: not UTF-8", lambda w: ["review", str(w["binary"]), "--summary"], 2,
         lambda w: str(w["binary"])),
    # dataset publish (refused before any request, so no Hub is needed)
    Case("dataset publish: bad tag", lambda w: ["dataset", "publish", str(w["data"].parent),
         "--repo-id", "a/b", "--tag", "1.0"], 2, lambda w: "tag: got '1.0'"),
    Case("dataset publish: bad repo id", lambda w: ["dataset", "publish", str(w["data"].parent),
         "--repo-id", "nobody", "--tag", "v1.0.0"], 2, lambda w: "repo_id: got 'nobody'"),
    # train
    Case("train: dataset.json not UTF-8", lambda w: ["train", "--data", str(w["binary"]),
         "--output", str(w["tmp"] / "t"), "--base-model", str(w["model"])], 2,
         lambda w: str(w["binary"])),
    Case("train: a split given as a list", lambda w: ["train", "--data",
         str(w["listed_split"]), "--output", str(w["tmp"] / "t"), "--base-model",
         str(w["model"])], 2, lambda w: "split"),
    Case("train: a text that is not a string", lambda w: ["train", "--data",
         str(w["text_not_str"]), "--output", str(w["tmp"] / "t"), "--base-model",
         str(w["model"])], 2, lambda w: "text"),
    Case("train: max length beyond the model", lambda w: ["train", "--data", str(w["data"]),
         "--output", str(w["tmp"] / "t"), "--base-model", str(w["model"]), "--max-length",
         "100000"], 2, lambda w: "max_length"),
    Case("train: output is a file", lambda w: ["train", "--data", str(w["data"]), "--output",
         str(w["a_file"]), "--base-model", str(w["model"])], 2, lambda w: str(w["a_file"])),
    Case("train: output is the data folder", lambda w: ["train", "--data",
         str(w["data"].parent), "--output", str(w["data"].parent), "--base-model",
         str(w["model"])], 2, lambda w: "output"),
    Case("train: --config not UTF-8", lambda w: ["train", "--config", str(w["binary_yaml"])],
         2, lambda w: str(w["binary_yaml"])),
    # evaluate
    Case("evaluate: model config not UTF-8", lambda w: ["evaluate", "--model",
         str(w["bad_model"]), str(w["data"])], 2, lambda w: "config.json"),
    # export
    Case("export: model config not UTF-8", lambda w: ["export", "model", "--model",
         str(w["bad_model"]), "--output", str(w["tmp"] / "e")], 2, lambda w: "config.json"),
    Case("export: output is a file", lambda w: ["export", "model", "--model", str(w["model"]),
         "--output", str(w["a_file"])], 2, lambda w: str(w["a_file"])),
    Case("export: output is the model folder", lambda w: ["export", "model", "--model",
         str(w["model"]), "--output", str(w["model"])], 2, lambda w: "output"),
    Case("export verify: not ONNX (a failed check)", lambda w: ["export", "verify",
         str(w["binary"])], 1, lambda w: "not an ONNX model"),
    # release
    Case("release: a path as model version", lambda w: ["release", str(w["tmp"] / "e"),
         "--output", str(w["tmp"] / "r"), "--model-version", "../../x y",
         "--training-commit", "abc", "--dataset-repo", "a/b", "--dataset-revision", "v1"], 2,
         lambda w: "model_version"),
    Case("release: no export here", lambda w: ["release", str(w["tmp"] / "nope"), "--output",
         str(w["tmp"] / "r"), "--model-version", "1.0.0", "--training-commit", "abc"], 2,
         lambda w: "export_report.json"),
    # calibrate
    Case("calibrate: report dir inside the model folder", lambda w: ["calibrate", "fit",
         "--model", str(w["release"]), "--data", str(w["data"]), "--output",
         str(w["release"] / "reports")], 2, lambda w: "is inside the input --model"),
    Case("calibrate: --config not UTF-8", lambda w: ["calibrate", "fit", "--model",
         str(w["release"]), "--data", str(w["data"]), "--config", str(w["binary_yaml"])], 2,
         lambda w: str(w["binary_yaml"])),
    Case("calibrate: a tampered folder", lambda w: [
         write(w["release"] / "intent_classifier.onnx", b"x") and "calibrate", "fit",
         "--model", str(w["release"]), "--data", str(w["data"])], 1,
         lambda w: "intent_classifier.onnx: SHA-256 mismatch"),
    # predict
    Case("predict: output is a folder", lambda w: ["predict", "--model", str(w["release"]),
         "--output", str(w["tmp"]), "who calls main"], 2, lambda w: str(w["tmp"])),
    Case("predict: negative threads", lambda w: ["predict", "--model", str(w["release"]),
         "--threads", "-1", "who calls main"], 2, lambda w: "threads"),
    Case("predict: input not UTF-8", lambda w: ["predict", "--model", str(w["release"]),
         "--input", str(w["binary"])], 2, lambda w: str(w["binary"])),
    Case("predict: not a model", lambda w: ["predict", "--model", str(w["tmp"] / "none"),
         "x"], 2, lambda w: str(w["tmp"] / "none")),
    Case("predict: model config not UTF-8 (trained folder)", lambda w: ["predict", "--model",
         str(w["bad_model"]), "x"], 2, lambda w: "config.json"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_gets_one_clear_error(case: Case, ws: dict[str, Path],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    argv = case.argv(ws)
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own usage errors
        code = e.code
    out, err = capsys.readouterr()
    assert code == case.code, err
    assert "Traceback" not in err
    assert case.says(ws) in err + out, err
