"""The release folder: exactly the contract's files, checksums from disk, T = 1 explicit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fixtures.tiny_export import texts_and_labels

from hf_pipeline.contract import MAX_LENGTH
from hf_pipeline.errors import DataFileError, InvalidValueError, OutputError, PipelineError
from hf_pipeline.export.config import ExportConfig
from hf_pipeline.export.stage import FP32_FILE, gate_export
from hf_pipeline.intents import INTENTS
from hf_pipeline.io import sha256_file
from hf_pipeline.model_folder.checksums import verification_problems
from hf_pipeline.model_folder.folder import ReleaseInfo, model_version
from hf_pipeline.model_folder.layout import CONTENT_FILES, RELEASE_FILES
from hf_pipeline.model_folder.manifest import Destination
from hf_pipeline.model_folder.temperature import read_temperature
from hf_pipeline.model_folder.update import write_checksums
from hf_pipeline.release.assemble import assemble, build_release

INFO = ReleaseInfo(model_version="1.2.0", dataset_repo="acme/sqry-intents",
                   dataset_revision="v1.0", training_commit="0123abcd", date="2026-01-02")


@pytest.fixture(scope="module")
def gated_export(export_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(shutil.copytree(export_dir, tmp_path_factory.mktemp("gated") / "export"))
    texts, labels = texts_and_labels()
    # An untrained tiny model: a generous budget, since only "the gate passed" matters here.
    gate_export(folder, eval_sets={"test": (texts, labels)},
                cfg=ExportConfig(max_drop_points=100))
    return folder


@pytest.fixture(scope="module")
def release(gated_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_release(gated_export, tmp_path_factory.mktemp("rel") / "model", info=INFO)


def test_exactly_the_contract_files(release: Path) -> None:
    assert sorted(p.name for p in release.iterdir()) == sorted(RELEASE_FILES)
    assert sorted(RELEASE_FILES) == sorted([
        "intent_classifier.onnx", "tokenizer.json", "config.json", "temperature.json",
        "version.txt", "checksums.json", "manifest.json"])


def test_checksums_cover_the_content_files_from_disk(release: Path) -> None:
    # Neither itself nor the manifest: the manifest anchors it, so no circle.
    checksums = json.loads((release / "checksums.json").read_text())
    assert sorted(checksums) == sorted(CONTENT_FILES)
    for name, digest in checksums.items():
        assert digest == sha256_file(release / name)
        assert digest == digest.lower() and len(digest) == 64


def test_manifest_has_the_loaders_six_fields_and_anchors_the_checksums(release: Path) -> None:
    manifest = json.loads((release / "manifest.json").read_text())
    assert manifest == {
        "model_version": "1.2.0", "release_tag": "v1.2.0",
        "archive": "sqry-models-v1.2.0.tar.gz", "sha256": "", "download_url": "",
        "files": {n: sha256_file(release / n) for n in sorted([*CONTENT_FILES,
                                                               "checksums.json"])}}


def test_a_release_with_a_destination_records_it(gated_export: Path, tmp_path: Path) -> None:
    destination = Destination.on_hub("http://hub.test/", "acme/intents", "v1.2.0", "1.2.0")
    out = build_release(gated_export, tmp_path / "model", info=INFO, destination=destination)
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["release_tag"], manifest["download_url"]) == (
        "v1.2.0", "http://hub.test/acme/intents/resolve/v1.2.0/sqry-models-v1.2.0.tar.gz")
    # A refresh (calibrate) keeps the destination the folder records.
    write_checksums(out, model_version="1.2.0")
    assert json.loads((out / "manifest.json").read_text()) == manifest


def test_the_onnx_is_the_int8_model(release: Path, gated_export: Path) -> None:
    assert sha256_file(release / "intent_classifier.onnx") == sha256_file(
        gated_export / "model.int8.onnx")


def test_config_labels_and_max_length(release: Path) -> None:
    config = json.loads((release / "config.json").read_text())
    assert list(config["id2label"].items()) == [(str(i), x) for i, x in enumerate(INTENTS)]
    assert config["label2id"] == {x: i for i, x in enumerate(INTENTS)}
    assert config["max_length"] == MAX_LENGTH and config["model_type"] == "bert"


def test_temperature_is_one_explicitly(release: Path) -> None:
    data = json.loads((release / "temperature.json").read_text())
    assert data == {"temperature": 1.0, "metrics": {}, "calibration_samples": 0,
                    "intent_labels": list(INTENTS)}


def test_version_txt(release: Path) -> None:
    lines = (release / "version.txt").read_text().splitlines()
    values = dict(line.split("=", 1) for line in lines if not line.startswith("#"))
    assert values["model_version"] == "1.2.0"
    assert values["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert values["dataset_repo"] == "acme/sqry-intents"
    assert values["dataset_revision"] == "v1.0"
    assert values["training_commit"] == "0123abcd" and values["date"] == "2026-01-02"
    assert values["max_length"] == str(MAX_LENGTH)


def test_tokenizer_truncates_and_does_not_pad(release: Path) -> None:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(release / "tokenizer.json"))  # as the runtime loads it
    assert len(tokenizer.encode("who calls parse_config").ids) == 10
    assert len(tokenizer.encode("word " * 500).ids) == MAX_LENGTH


def test_write_checksums_after_calibration(release: Path, tmp_path: Path) -> None:
    folder = Path(shutil.copytree(release, tmp_path / "model"))
    before = json.loads((folder / "checksums.json").read_text())
    calibrated = {"temperature": 0.43, "metrics": {"ece_after": 0.01},
                  "calibration_samples": 80, "intent_labels": list(INTENTS)}
    (folder / "temperature.json").write_text(json.dumps(calibrated))
    after = write_checksums(folder, model_version=model_version(folder))
    assert after == json.loads((folder / "checksums.json").read_text())
    assert after["temperature.json"] == sha256_file(folder / "temperature.json")
    assert after["temperature.json"] != before["temperature.json"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["files"]["temperature.json"] == after["temperature.json"]
    assert manifest["files"]["checksums.json"] == sha256_file(folder / "checksums.json")
    assert manifest["model_version"] == "1.2.0"
    assert after["intent_classifier.onnx"] == before["intent_classifier.onnx"]


def test_extra_manifest_keys_survive_a_refresh(release: Path, tmp_path: Path) -> None:
    folder = Path(shutil.copytree(release, tmp_path / "model"))
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "archive_sha256": "ab"}))
    write_checksums(folder, model_version=model_version(folder))
    assert json.loads((folder / "manifest.json").read_text())["archive_sha256"] == "ab"


def test_calibrated_temperature_is_shipped(gated_export: Path, tmp_path: Path) -> None:
    temp = tmp_path / "temperature.json"
    temp.write_text(json.dumps({"temperature": 0.5, "intent_labels": list(INTENTS)}))
    out = build_release(gated_export, tmp_path / "model", info=INFO, temperature_file=temp)
    assert json.loads((out / "temperature.json").read_text())["temperature"] == 0.5


@pytest.mark.parametrize(("content", "problem"), [
    ('{"temperature": 0}', "'temperature' is 0, expected a finite number > 0"),
    ('{"temperature": "0.4"}', "'temperature' is '0.4'"),
    ('{"temperature": 0.4, "intent_labels": ["A"]}', "intent_labels: the labels are ['A']"),
    ("{oops", "not valid JSON"),
])
def test_bad_temperature_file(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "t.json"
    path.write_text(content)
    with pytest.raises(DataFileError) as info:
        read_temperature(path)
    assert problem in str(info.value)


def test_refuses_an_ungated_export(export_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="the INT8 accuracy gate did not run"):
        build_release(export_dir, tmp_path / "model", info=INFO)
    assert not (tmp_path / "model").exists()
    build_release(export_dir, tmp_path / "model", info=INFO, require_gate=False)


def test_refuses_a_folder_with_other_files(gated_export: Path, tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "notes.txt").write_text("x")
    with pytest.raises(OutputError, match=r"not part of a model folder: notes\.txt\."):
        build_release(gated_export, tmp_path / "model", info=INFO)


def test_refuses_an_fp32_model(gated_export: Path, tmp_path: Path) -> None:
    config = json.loads((gated_export / "config.json").read_text())
    with pytest.raises(DataFileError, match="this model is not quantized"):
        assemble(tmp_path / "model", onnx_path=gated_export / FP32_FILE,
                 tokenizer_path=gated_export, model_config=config, info=INFO)
    assert not (tmp_path / "model").exists()


def test_release_info_checks() -> None:
    with pytest.raises(InvalidValueError, match="model_version: got ''"):
        ReleaseInfo(model_version="", dataset_repo="a/b", dataset_revision="v1",
                    training_commit="c")
    with pytest.raises(InvalidValueError, match="training_commit"):
        ReleaseInfo(model_version="1", dataset_repo="a/b", dataset_revision="v1",
                    training_commit="a\nb")


def test_a_rerun_after_a_killed_release_cleans_up_and_succeeds(gated_export: Path,
                                                               tmp_path: Path) -> None:
    """What a kill leaves: a hidden staging folder beside the target (this version) and temp
    files of atomic writes inside it (older versions). Neither blocks the rerun."""
    out = tmp_path / "release"
    build_release(gated_export, out, info=INFO)
    (out / ".intent_classifier.onnx.k3j2h1.tmp").write_bytes(b"half")
    staging = tmp_path / ".release.staging-abc"
    staging.mkdir()
    (staging / "tokenizer.json").write_text("{")
    build_release(gated_export, out, info=INFO)
    assert sorted(p.name for p in out.iterdir()) == sorted(RELEASE_FILES)
    assert not staging.exists()
    assert verification_problems(out) == []


def test_a_swap_interrupted_after_moving_the_old_folder_aside_is_undone(
        gated_export: Path, tmp_path: Path) -> None:
    from hf_pipeline.model_folder.update import recover

    out = build_release(gated_export, tmp_path / "release", info=INFO)
    aside = tmp_path / ".release.old-12345"
    out.rename(aside)  # killed between the two renames of the fallback swap
    recover(out)
    assert out.is_dir() and not aside.exists() and verification_problems(out) == []


@pytest.mark.parametrize("date", ["2026-13-45", "yesterday", "2026-1-2", "2026-01-02 x", ""])
def test_release_refuses_a_date_that_is_not_one(gated_export: Path, tmp_path: Path, date: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    # Issue 24: --date went into version.txt unchecked.
    from hf_pipeline.cli import main

    out = tmp_path / "model"
    code = main(["release", str(gated_export), "-o", str(out), "--model-version", "1.2.0",
                 "--training-commit", "0123abcd", "--dataset-repo", "acme/intents",
                 "--dataset-revision", "v1.0", "--date", date])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and not out.exists()
    assert f"date: got {date!r}, expected " in err


def test_release_ships_only_the_int8_bytes_the_gate_measured(gated_export: Path,
                                                             tmp_path: Path) -> None:
    # Issue 24: a graph changed after the gate (here one byte) is never released.
    from fixtures.tampering import flip_byte

    export = Path(shutil.copytree(gated_export, tmp_path / "export"))
    measured = json.loads((export / "export_report.json").read_text())["gate"]["int8_sha256"]
    assert measured == sha256_file(export / "model.int8.onnx")
    flip_byte(export / "model.int8.onnx")
    with pytest.raises(PipelineError, match="not the graph the INT8 accuracy gate measured"):
        build_release(export, tmp_path / "model", info=INFO)
    assert not (tmp_path / "model").exists()
