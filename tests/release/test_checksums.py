"""A model folder is verified before anything in it is read, as today's sqry-nl loader does in
Custom trust: the manifest anchors checksums.json, then every listed file is hashed."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fixtures.tampering import append_newline, flip_byte, read_json, reanchor

from hf_pipeline.errors import PipelineError
from hf_pipeline.io import sha256_file
from hf_pipeline.model_folder.checksums import verification_problems, write_checksums
from hf_pipeline.runtime import ChecksumError, IntentClassifier, verify_folder

RELEASE_FILES = ["config.json", "intent_classifier.onnx", "temperature.json", "tokenizer.json",
                 "version.txt"]


def mismatch(folder: Path, name: str) -> str:
    expected = read_json(folder / "checksums.json")[name]
    actual = sha256_file(folder / name)
    return (f"{name}: SHA-256 mismatch (checksums.json says {expected[:12]}..., the file hashes "
            f"to {actual[:12]}...); it was changed after release")


def refused(folder: Path) -> ChecksumError:
    with pytest.raises(ChecksumError) as info:
        IntentClassifier.from_dir(folder)
    return info.value


def test_a_built_release_verifies(tiny_release_dir: Path) -> None:
    assert sorted(read_json(tiny_release_dir / "checksums.json")) == RELEASE_FILES
    assert verification_problems(tiny_release_dir) == []
    assert verify_folder(tiny_release_dir) is True
    assert IntentClassifier.from_dir(tiny_release_dir).verified is True


@pytest.mark.parametrize("name", RELEASE_FILES)
def test_a_changed_file_is_refused_by_name(release_copy: Path, name: str) -> None:
    flip_byte(release_copy / name)
    error = refused(release_copy)
    assert error.problems == [mismatch(release_copy, name)]
    assert isinstance(error, PipelineError) and isinstance(error, ValueError)
    assert str(error) == (
        f"{release_copy}: model folder failed checksum verification:\n"
        f"  {mismatch(release_copy, name)}\n"
        "Fix: rebuild the folder with `hf-pipeline release` (or refresh it with `hf-pipeline "
        "calibrate fit`); to load it anyway, pass allow_unverified=True (`--allow-unverified`), "
        "never for a model you ship.")


def test_an_edited_tokenizer_is_refused(release_copy: Path) -> None:
    tokenizer = release_copy / "tokenizer.json"
    tokenizer.write_text(tokenizer.read_text(encoding="utf-8").replace('"[UNK]"', '"[UNX]"'),
                         encoding="utf-8")
    assert refused(release_copy).problems == [mismatch(release_copy, "tokenizer.json")]


def test_verification_comes_before_reading_and_lists_every_file(release_copy: Path) -> None:
    # Garbage that onnxruntime, tokenizers and json would each reject with their own error:
    # the checksum error must come first, and name all four files.
    for name in ("intent_classifier.onnx", "tokenizer.json", "temperature.json", "config.json"):
        (release_copy / name).write_text("garbage", encoding="utf-8")
    error = refused(release_copy)
    assert error.problems == [mismatch(release_copy, n) for n in (
        "config.json", "intent_classifier.onnx", "temperature.json", "tokenizer.json")]


@pytest.mark.parametrize("name", ["intent_classifier.onnx", "temperature.json", "version.txt"])
def test_a_listed_file_that_is_missing_is_refused(release_copy: Path, name: str) -> None:
    (release_copy / name).unlink()
    assert refused(release_copy).problems == [
        f"{name}: listed in checksums.json but missing"]


def test_no_checksums_json_is_refused(release_copy: Path) -> None:
    (release_copy / "checksums.json").unlink()
    assert refused(release_copy).problems == [
        "checksums.json: missing, so nothing can be verified"]


@pytest.mark.parametrize(("content", "problem"), [
    ("{not json", "checksums.json: unreadable (Expecting property name enclosed in double "
     "quotes: line 1 column 2 (char 1))"),
    ('["config.json"]', "checksums.json: expected a JSON object of file name -> SHA-256, got "
     "list"),
    ('{"../config.json": "00"}', "checksums.json: entry '../config.json': '00' is not a plain "
     "file name with a SHA-256 hex string"),
    ('{"config.json": 7}', "checksums.json: entry 'config.json': 7 is not a plain file name "
     "with a SHA-256 hex string"),
])
def test_a_malformed_checksums_json_is_refused(release_copy: Path, content: str,
                                               problem: str) -> None:
    (release_copy / "checksums.json").write_text(content, encoding="utf-8")
    reanchor(release_copy)  # else the anchor refuses it first, as the loader does
    assert refused(release_copy).problems == [problem]


@pytest.mark.parametrize("name", ["intent_classifier.onnx", "tokenizer.json", "temperature.json",
                                  "config.json"])
def test_every_file_the_loader_reads_must_be_listed(release_copy: Path, name: str) -> None:
    path = release_copy / "checksums.json"
    checksums = read_json(path)
    del checksums[name]
    path.write_text(json.dumps(checksums), encoding="utf-8")
    reanchor(release_copy)
    assert refused(release_copy).problems == [
        f"{name}: not listed in checksums.json, so it cannot be verified"]


def test_unlisted_files_the_loader_does_not_read_are_ignored(release_copy: Path) -> None:
    # As the runtime: only listed files are hashed; optional files may be absent.
    (release_copy / "version.txt").unlink()
    write_checksums(release_copy, model_version="0.0.1-test")
    assert "version.txt" not in read_json(release_copy / "checksums.json")
    (release_copy / "README.md").write_text("notes", encoding="utf-8")
    assert "README.md" not in read_json(release_copy / "checksums.json")
    assert IntentClassifier.from_dir(release_copy).verified is True


@pytest.mark.parametrize("damage", ["edited tokenizer", "no checksums.json"])
def test_allow_unverified_is_the_only_way_past(release_copy: Path, damage: str,
                                               caplog: pytest.LogCaptureFixture) -> None:
    if damage == "edited tokenizer":
        append_newline(release_copy / "tokenizer.json")
        problem = mismatch(release_copy, "tokenizer.json")
    else:
        (release_copy / "checksums.json").unlink()
        problem = "checksums.json: missing, so nothing can be verified"
    refused(release_copy)
    with caplog.at_level(logging.WARNING, logger="hf_pipeline.model_folder.checksums"):
        classifier = IntentClassifier.from_dir(release_copy, allow_unverified=True)
    assert classifier.verified is False
    [record] = [r for r in caplog.records if r.levelno == logging.WARNING
                and r.name == "hf_pipeline.model_folder.checksums"]
    assert record.getMessage() == (f"{release_copy}: loading an UNVERIFIED model "
                                   f"(allow_unverified=True):\n  {problem}")
    assert classifier.predict(["who calls main"])[0].confidence > 0


def test_allow_unverified_does_not_hide_other_errors(release_copy: Path) -> None:
    (release_copy / "checksums.json").unlink()
    (release_copy / "temperature.json").write_text('{"temperature": 0}', encoding="utf-8")
    with pytest.raises(PipelineError, match=r"temperature\.json: 'temperature' is 0"):
        IntentClassifier.from_dir(release_copy, allow_unverified=True)



# --------------------------------------------------------------- the manifest anchor

LOADER_CHECK = Path(__file__).resolve().parents[3] / "shared" / "tools" / "sqry_nl_loader_check.py"


def loader_check(folder: Path) -> str:
    """The independent check of today's loader rules (shared/tools), when it is there."""
    import subprocess
    import sys

    if not LOADER_CHECK.is_file():
        pytest.skip(f"{LOADER_CHECK} is not here")
    done = subprocess.run([sys.executable, str(LOADER_CHECK), str(folder)], capture_output=True,
                          text=True, timeout=60, check=False)
    return done.stdout.strip()


def write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data), encoding="utf-8")


def test_a_built_release_passes_the_independent_loader_check(tiny_release_dir: Path) -> None:
    assert loader_check(tiny_release_dir) == "sqry-nl loader contract: ok"


def test_content_and_checksums_edited_consistently_are_caught_by_the_anchor(
        release_copy: Path) -> None:
    # Someone swaps the graph and refreshes checksums.json to match: the per-file pass alone
    # passes, only the manifest's anchor of checksums.json catches it.
    flip_byte(release_copy / "intent_classifier.onnx")
    checksums = read_json(release_copy / "checksums.json")
    checksums["intent_classifier.onnx"] = sha256_file(release_copy / "intent_classifier.onnx")
    write_json(release_copy / "checksums.json", checksums)
    anchor = read_json(release_copy / "manifest.json")["files"]["checksums.json"]
    actual = sha256_file(release_copy / "checksums.json")
    assert refused(release_copy).problems == [
        f"checksums.json: SHA-256 {actual[:12]}... is not the {anchor[:12]}... that "
        "manifest.json anchors; the checksums were changed after release"]
    assert "checksums.json does not match manifest.files" in loader_check(release_copy)


def test_all_three_edited_consistently_is_what_custom_trust_cannot_catch(
        release_copy: Path) -> None:
    # The limit of Custom trust, as in sqry-nl: a folder rebuilt whole verifies. Trusted
    # installs anchor on the manifest compiled into sqry instead (see the archive tests).
    flip_byte(release_copy / "intent_classifier.onnx")
    write_checksums(release_copy, model_version="0.0.1-test")
    assert verification_problems(release_copy) == []


@pytest.mark.parametrize(("edit", "problem"), [
    ("no manifest", "manifest.json: missing; today's sqry-nl does not take this folder for a "
     "model folder"),
    ("no sha256 field", "manifest.json: field sha256 missing (today's sqry-nl refuses the "
     "folder: manifest anchor invalid)"),
    ("files is a list", "manifest.json: field files is a list, the loader needs an object"),
    ("download_url is null", "manifest.json: field download_url missing (today's sqry-nl "
     "refuses the folder: manifest anchor invalid)"),
    ("no anchor", "manifest.json: files has no checksums.json entry, so nothing anchors the "
     "checksums (today's sqry-nl refuses the folder)"),
    ("not json", "manifest.json: unreadable (Expecting value: line 1 column 1 (char 0))"),
])
def test_a_manifest_the_loader_cannot_parse_is_refused(release_copy: Path, edit: str,
                                                      problem: str) -> None:
    path = release_copy / "manifest.json"
    manifest = read_json(path)
    if edit == "no manifest":
        path.unlink()
    elif edit == "not json":
        path.write_text("<html>", encoding="utf-8")
    else:
        {"no sha256 field": lambda: manifest.pop("sha256"),
         "files is a list": lambda: manifest.update(files=list(manifest["files"])),
         "download_url is null": lambda: manifest.update(download_url=None),
         "no anchor": lambda: manifest["files"].pop("checksums.json")}[edit]()
        write_json(path, manifest)
    assert refused(release_copy).problems == [problem]
    assert loader_check(release_copy) != "sqry-nl loader contract: ok"


def test_an_edited_checksums_json_is_refused_through_its_anchor(release_copy: Path) -> None:
    append_newline(release_copy / "checksums.json")
    [problem] = refused(release_copy).problems
    assert problem.startswith("checksums.json: SHA-256 ") and "manifest.json anchors" in problem


def test_extra_manifest_fields_are_fine(release_copy: Path) -> None:
    path = release_copy / "manifest.json"
    write_json(path, {**read_json(path), "built_by": "someone"})
    assert IntentClassifier.from_dir(release_copy).verified is True
    assert loader_check(release_copy) == "sqry-nl loader contract: ok"
