"""Cause: a damaged artifact reached a library, which raised its own traceback (issue 24).

Every reader of an artifact loads it inside ``hf_pipeline.errors.artifact_errors`` (or reads
JSON with ``read_json_object``), so whatever datasets, transformers, safetensors, onnx,
onnxruntime or tokenizers raise on a truncated, empty or foreign file becomes one message that
names the file and the command that writes it. The cases: each artifact a command reads (the
dataset's Arrow files and its metadata, a trained folder's weights and config, a base-model
folder, the export's ONNX graphs and report, a release folder's graph, a checkpoint) gets each
damage (cut in half, cut to its first bytes, emptied, replaced by other bytes, or for JSON a
list and non-UTF-8), through every command that reads it. Each case checks the exit code (2),
that no traceback is printed, and that the file and its producer are named.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

from faults.refusal import assert_refused, write

TEXT = "who calls main"


class Workspace:
    """Private copies of the good artifacts, made when a case first asks for one."""

    def __init__(self, tmp: Path, fixtures: dict[str, Path]) -> None:
        self.tmp, self.fixtures = tmp, fixtures

    def _copy(self, name: str) -> Path:
        return Path(shutil.copytree(self.fixtures[name], self.tmp / name))

    @cached_property
    def data(self) -> Path:
        return self._copy("arrow_data")

    @cached_property
    def model(self) -> Path:
        return self._copy("model")

    @cached_property
    def export(self) -> Path:
        return self._copy("export")

    @cached_property
    def release(self) -> Path:
        return self._copy("release")

    @cached_property
    def reports(self) -> Path:
        """The release's reports beside it, with a calibration report: only the export
        report is damaged, and read first."""
        folder = self._copy("reports")
        write(folder / "calibration_report.json", "{}")
        return folder

    @property
    def good_data(self) -> Path:
        return self.fixtures["data"]

    def out(self, name: str) -> Path:
        return self.tmp / "out" / name


@dataclass(frozen=True)
class Damage:
    name: str
    apply: Callable[[Path], Any]


def _cut(fraction: float) -> Callable[[Path], Any]:
    return lambda p: p.write_bytes(p.read_bytes()[:int(p.stat().st_size * fraction)])


BINARY_DAMAGES = (
    Damage("cut in half", _cut(0.5)),
    Damage("cut to 16 bytes", lambda p: p.write_bytes(p.read_bytes()[:16])),
    Damage("emptied", lambda p: p.write_bytes(b"")),
    Damage("other bytes", lambda p: p.write_bytes(b"\x00\xffthis is not that format" * 8)),
)
JSON_DAMAGES = (
    Damage("a JSON list", lambda p: p.write_text("[1, 2]", encoding="utf-8")),
    Damage("not UTF-8", lambda p: p.write_bytes(b"\xff\xfe{\xc3\x28}")),
    Damage("not JSON", lambda p: p.write_text("{oops", encoding="utf-8")),
    Damage("emptied", lambda p: p.write_bytes(b"")),
)


@dataclass(frozen=True)
class Artifact:
    """A file some commands read: where it is in the workspace, what writes it (the message
    names it), its damages and the commands that read it."""

    name: str
    file: Callable[[Workspace], Path]
    written_by: str
    damages: tuple[Damage, ...]
    doors: tuple[tuple[str, Callable[[Workspace], list[Any]]], ...]


def _arrow(w: Workspace) -> Path:
    return next((w.data / "dataset_dict" / "train").glob("*.arrow"))


DATA_DOORS: tuple[tuple[str, Callable[[Workspace], list[Any]]], ...] = (
    ("train --data", lambda w: ["train", "--data", w.data, "--base-model", w.fixtures["model"],
                                "-o", w.out("t"), "--epochs", "1"]),
    ("evaluate DATA", lambda w: ["evaluate", "--model", w.fixtures["model"], w.data]),
    ("export model --data", lambda w: ["export", "model", "--model", w.fixtures["model"],
                                       "-o", w.out("e"), "--data", w.data]),
    ("export gate --data", lambda w: ["export", "gate", w.export, "--data", w.data]),
    ("calibrate fit --data", lambda w: ["calibrate", "fit", "--model", w.release,
                                        "--data", w.data]),
    ("calibrate analyze --data", lambda w: ["calibrate", "analyze", "--model", w.release,
                                            "--data", w.data, "-o", w.out("a")]),
)
TRAINED_DOORS: tuple[tuple[str, Callable[[Workspace], list[Any]]], ...] = (
    ("evaluate --model", lambda w: ["evaluate", "--model", w.model, "dev"]),
    ("export model --model", lambda w: ["export", "model", "--model", w.model,
                                        "-o", w.out("e")]),
    ("predict --model", lambda w: ["predict", "--model", w.model, TEXT]),
    ("calibrate test-single --model", lambda w: ["calibrate", "test-single", "--model",
                                                 w.model, TEXT]),
    ("calibrate analyze --model", lambda w: ["calibrate", "analyze", "--model", w.model,
                                             "-o", w.out("a")]),
)
BASE_DOORS: tuple[tuple[str, Callable[[Workspace], list[Any]]], ...] = (
    ("train --base-model", lambda w: ["train", "--data", w.good_data, "--base-model", w.model,
                                      "-o", w.out("t"), "--epochs", "1"]),
)
INT8_DOORS: tuple[tuple[str, Callable[[Workspace], list[Any]]], ...] = (
    ("export gate", lambda w: ["export", "gate", w.export, "--data", w.good_data]),
    ("release", lambda w: ["release", w.export, "-o", w.out("r"), "--model-version", "1.0.0",
                           "--training-commit", "abc", "--dataset-repo", "me/data",
                           "--dataset-revision", "v1", "--allow-ungated"]),
    ("export benchmark", lambda w: ["export", "benchmark", w.export / "model.int8.onnx",
                                    "--tokenizer", w.export / "tokenizer.json", "--runs", "1"]),
)
UNVERIFIED_DOORS: tuple[tuple[str, Callable[[Workspace], list[Any]]], ...] = (
    ("predict --model", lambda w: ["predict", "--model", w.release, "--allow-unverified",
                                   TEXT]),
    ("calibrate test-single --model", lambda w: ["calibrate", "test-single", "--model",
                                                 w.release, "--allow-unverified", TEXT]),
    ("calibrate analyze --model", lambda w: ["calibrate", "analyze", "--model", w.release,
                                             "--allow-unverified", "-o", w.out("a")]),
)
REPORT_DOORS: tuple[tuple[str, Callable[[Workspace], list[Any]]], ...] = (
    ("export gate", INT8_DOORS[0][1]),
    ("release", INT8_DOORS[1][1]),
    ("model publish --reports-dir", lambda w: [
        "model", "publish", "--model", w.release, "--reports-dir", w.reports,
        "--repo-id", "me/model", "--tag", "v0.0.1-test"]),
)

ARTIFACTS: tuple[Artifact, ...] = (
    Artifact("dataset Arrow file", _arrow, "hf-pipeline generate", BINARY_DAMAGES, DATA_DOORS),
    Artifact("dataset_dict.json", lambda w: w.data / "dataset_dict" / "dataset_dict.json",
             "hf-pipeline generate", JSON_DAMAGES, DATA_DOORS[:2]),
    Artifact("a split's state.json", lambda w: w.data / "dataset_dict" / "test" / "state.json",
             "hf-pipeline generate", JSON_DAMAGES, DATA_DOORS[:2]),
    Artifact("trained weights", lambda w: w.model / "model.safetensors", "hf-pipeline train",
             BINARY_DAMAGES, TRAINED_DOORS),
    Artifact("trained config.json", lambda w: w.model / "config.json", "hf-pipeline train",
             JSON_DAMAGES[:2], TRAINED_DOORS),
    Artifact("base-model weights", lambda w: w.model / "model.safetensors", "save_pretrained",
             BINARY_DAMAGES, BASE_DOORS),
    Artifact("base-model config.json", lambda w: w.model / "config.json", "save_pretrained",
             JSON_DAMAGES, BASE_DOORS),
    Artifact("export INT8 graph", lambda w: w.export / "model.int8.onnx",
             "hf-pipeline export model", BINARY_DAMAGES, INT8_DOORS),
    Artifact("export tokenizer.json", lambda w: w.export / "tokenizer.json", "hf-pipeline train",
             JSON_DAMAGES, INT8_DOORS[::2]),
    Artifact("export_report.json", lambda w: w.export / "export_report.json",
             "hf-pipeline export model", JSON_DAMAGES, REPORT_DOORS[:2]),
    Artifact("published export_report.json", lambda w: w.reports / "export_report.json",
             "hf-pipeline export model", JSON_DAMAGES, REPORT_DOORS[2:]),
    Artifact("release graph (unverified)", lambda w: w.release / "intent_classifier.onnx",
             "hf-pipeline export model", BINARY_DAMAGES, UNVERIFIED_DOORS),
)

CASES = [(a, d, door) for a in ARTIFACTS for d in a.damages for door in a.doors]


@pytest.fixture(scope="module")
def arrow_data(tmp_path_factory: pytest.TempPathFactory, tiny_data: Path) -> Path:
    """The tiny dataset as `hf-pipeline generate` writes it: DATA/dataset_dict/<split>/."""
    from hf_pipeline.data_sources import load_splits

    root = tmp_path_factory.mktemp("arrow") / "data"
    load_splits(tiny_data).dataset.save_to_disk(str(root / "dataset_dict"))
    return root


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arrow_data: Path,
              tiny_model_dir: Path, tiny_release_dir: Path, tiny_data: Path) -> Workspace:
    import huggingface_hub.constants

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # model publish must refuse before any request
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    return Workspace(tmp_path, {
        "arrow_data": arrow_data, "model": tiny_model_dir, "data": tiny_data,
        "export": tiny_release_dir.parent / "export", "release": tiny_release_dir,
        "reports": tiny_release_dir.parent / "release.reports"})


@pytest.mark.parametrize(("artifact", "damage", "door"), CASES,
                         ids=[f"{a.name} {d.name}: {door[0]}" for a, d, door in CASES])
def test_a_damaged_artifact_is_refused_naming_the_file_and_what_writes_it(
        artifact: Artifact, damage: Damage, door: tuple[str, Callable[[Workspace], list[Any]]],
        workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    path = artifact.file(workspace)
    damage.apply(path)
    argv = door[1](workspace)
    # The file itself, or for an Arrow file its split's folder (datasets loads a split).
    named = path.parent if path.suffix == ".arrow" else path
    assert_refused(argv, capsys, names=[str(named), artifact.written_by])


RELEASE_AS_TRAINED = (
    ("evaluate --model", lambda w: ["evaluate", "--model", w.release, "dev"]),
    ("export model --model", lambda w: ["export", "model", "--model", w.release,
                                        "-o", w.out("e")]),
)


@pytest.mark.parametrize(("name", "argv"), RELEASE_AS_TRAINED,
                         ids=[n for n, _ in RELEASE_AS_TRAINED])
def test_a_release_folder_where_a_trained_one_goes_is_named_for_what_it_is(
        name: str, argv: Callable[[Workspace], list[Any]], workspace: Workspace,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert_refused(argv(workspace), capsys,
                   names=[f"{workspace.release}: is a release folder", "final/"])


def test_a_missing_weights_file_is_named(workspace: Workspace,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    (workspace.model / "model.safetensors").unlink()
    for _, argv in TRAINED_DOORS[:3]:
        assert_refused(argv(workspace), capsys,
                       names=[str(workspace.model), "model.safetensors", "hf-pipeline train"])


def test_every_artifact_is_tried_through_several_doors() -> None:
    assert len(CASES) > 100
    assert all(len(a.damages) >= 2 for a in ARTIFACTS)


# ----------------------------------------------------------------------------- checkpoints

def _train_argv(data: Path, model: Path, out: Path) -> list[Any]:
    return ["train", "--data", data, "--base-model", model, "-o", out, "--epochs", "1",
            "--batch-size", "8", "--cpu", "--dev-set", "none"]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory, tiny_data: Path,
                tiny_model_dir: Path) -> Path:
    """A finished one-epoch run of the tiny model: its checkpoint is what --resume reads."""
    from hf_pipeline.cli import main

    out = tmp_path_factory.mktemp("run") / "run"
    assert main([str(a) for a in _train_argv(tiny_data, tiny_model_dir, out)]) == 0
    return out


CHECKPOINT_CASES = (
    [("trainer_state.json", d) for d in JSON_DAMAGES]
    + [("model.safetensors", d) for d in BINARY_DAMAGES]
    + [("optimizer.bin", d) for d in BINARY_DAMAGES[:3:2]]
)


@pytest.mark.parametrize(("name", "damage"), CHECKPOINT_CASES,
                         ids=[f"{n} {d.name}" for n, d in CHECKPOINT_CASES])
def test_a_damaged_checkpoint_is_refused_on_resume_naming_it(
        name: str, damage: Damage, trained_run: Path, workspace: Workspace, tiny_data: Path,
        tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = Path(shutil.copytree(trained_run, workspace.tmp / "run"))
    checkpoint = sorted((run / "checkpoints").iterdir())[-1]
    damage.apply(checkpoint / name)
    named = checkpoint / name if name.endswith(".json") else checkpoint
    assert_refused([*_train_argv(tiny_data, tiny_model_dir, run), "--resume"], capsys,
                   names=[str(named), "hf-pipeline train"])
