"""Cause: outputs that cannot be written, or that land on an input (issue 24).

Every command checks each of its outputs once, before any work, with one declarative check
(``hf_pipeline.io.check_outputs``, given the command's outputs and inputs by option): the
output can be created, it is the right kind (file or folder), and it is no input, does not
lie inside one, and (a folder) holds none. So the cases here are not a list someone wrote:
every door (each command's output option) gets each bad place (unwritable, under a file, the
wrong kind, a device) and lands on each of its inputs in each way (equal, inside, around).
Each case checks the exit code (2), that no traceback and no bug report is printed, that the
option and the path are named, and that every input is byte for byte what it was.

The last tests run the five commands that used to destroy a user's file, with real models,
so that without the check they would have written, and prove the file survives.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from faults.refusal import assert_refused, run_cli, write, write_yaml
from hf_pipeline.generate.templates import TEMPLATES_DIR
from hf_pipeline.io import FILE, FOLDER
from hf_pipeline.model_folder.layout import CONFIG_FILE, ONNX_FILE, TOKENIZER_FILE


@dataclass(frozen=True)
class Door:
    """A command's output option: ``argv(ws, output)``; ``inputs``: option -> the path in
    the workspace the argv reads there."""

    name: str
    option: str
    kind: str
    argv: Callable[[dict[str, Path], Path], list[object]]
    inputs: tuple[str, ...] = field(default=())  # workspace keys, named as the option


def _ws_inputs(tmp: Path) -> dict[str, Path]:
    """Every input a door may read, each in a folder of its own (so that holding one holds
    no other). Contents are plausible; every refusal comes before they are read."""
    i = tmp / "inputs"
    return {
        "--templates": write(i / "templates" / "find_callers.yaml", "intent: FindCallers\n").parent,
        "--slots": write(i / "slots" / "slots.yaml", "open: {}\n"),
        "--config": write_yaml(i / "config" / "config.yaml", {"seed": 1}),
        "--data": write(i / "data" / "dataset.json", '{"samples": []}'),
        "--base-model": write(i / "base" / CONFIG_FILE, "{}").parent,
        "--dev-set": write(i / "dev" / "dev.jsonl", '{"text": "who calls main"}\n'),
        "--model": write(i / "model" / CONFIG_FILE, "{}").parent,
        "--release": write(i / "release" / ONNX_FILE, b"onnx").parent,
        "--input": write(i / "queries" / "queries.jsonl", '{"text": "who calls main"}\n'),
        "FILE": write(i / "onnx" / "model.onnx", b"onnx"),
        "--tokenizer": write(i / "tokenizer" / TOKENIZER_FILE, "{}"),
        "EXPORT_DIR": write(i / "export" / "export_report.json", "{}").parent,
        "--temperature": write(i / "temperature" / "temperature.json", '{"temperature": 1}'),
        "--calibrate-config": write_yaml(i / "cal_config" / "config.yaml", {"bins": 15}),
        "--export-config": write_yaml(i / "exp_config" / "config.yaml", {"max_drop_points": 2}),
        "--run-config": write_yaml(i / "run_config" / "run.yaml", {"generate": {
            "templates_dir": str(i / "templates"), "slots_file": str(i / "slots" / "slots.yaml")},
            "train": {"dev_set": str(i / "dev" / "dev.jsonl")}}),
    }


DOORS: tuple[Door, ...] = (
    Door("generate", "--output", FOLDER, lambda w, o: [
        "generate", "--templates", w["--templates"], "--slots", w["--slots"], "--config",
        w["--config"], "--output", o], ("--templates", "--slots", "--config")),
    Door("generate", "--verification-output", FILE, lambda w, o: [
        "generate", "--templates", w["--templates"], "--slots", w["--slots"], "--output",
        w["tmp"] / "generated", "--verification-output", o], ("--templates", "--slots")),
    Door("train", "--output", FOLDER, lambda w, o: [
        "train", "--data", w["--data"], "--base-model", w["--base-model"], "--dev-set",
        w["--dev-set"], "--config", w["--config"], "--output", o],
         ("--data", "--base-model", "--dev-set", "--config")),
    Door("evaluate", "--output", FILE, lambda w, o: [
        "evaluate", "--model", w["--model"], w["--data"], "--output", o], ("--model", "--data")),
    Door("export model", "--output", FOLDER, lambda w, o: [
        "export", "model", "--model", w["--model"], "--data", w["--data"], "--dev-set",
        w["--dev-set"], "--config", w["--export-config"], "--output", o],
         ("--model", "--data", "--dev-set", "--export-config")),
    Door("export benchmark", "--output", FILE, lambda w, o: [
        "export", "benchmark", w["FILE"], "--tokenizer", w["--tokenizer"], "--output", o],
         ("FILE", "--tokenizer")),
    Door("release", "--output", FOLDER, lambda w, o: [
        "release", w["EXPORT_DIR"], "--temperature", w["--temperature"], "--model-version",
        "1.0.0", "--training-commit", "0" * 40, "--output", o], ("EXPORT_DIR", "--temperature")),
    Door("calibrate fit", "--output", FOLDER, lambda w, o: [
        "calibrate", "fit", "--model", w["--release"], "--data", w["--data"], "--dev-set",
        w["--dev-set"], "--config", w["--calibrate-config"], "--output", o],
         ("--release", "--data", "--dev-set", "--calibrate-config")),
    Door("calibrate analyze", "--output", FOLDER, lambda w, o: [
        "calibrate", "analyze", "--model", w["--release"], "--data", w["--data"], "--dev-set",
        w["--dev-set"], "--output", o], ("--release", "--data", "--dev-set")),
    Door("predict", "--output", FILE, lambda w, o: [
        "predict", "--model", w["--release"], "--input", w["--input"], "--output", o],
         ("--release", "--input")),
    Door("feedback pull", "--output", FILE, lambda w, o: [
        "feedback", "pull", "--repo", "me/sqry-nl-feedback", "--output", o]),
    Door("space build", "--output", FOLDER, lambda w, o: [
        "space", "build", "--model", "me/sqry-nl-intent@v1.0.0", "--output", o]),
    Door("run", "--output", FOLDER, lambda w, o: [
        "run", "--config", w["--run-config"], "--base-model", w["--base-model"], "--output", o],
         ("--run-config", "--base-model", "--templates", "--slots", "--dev-set")),
)


@dataclass(frozen=True)
class Place:
    """A bad output: ``path(ws, door)``, and what the refusal says."""

    name: str
    path: Callable[[dict[str, Path], Door], Path]
    says: str
    kinds: tuple[str, ...] = (FILE, FOLDER)


def _named(door: Door, stem: str) -> str:
    return stem + (".json" if door.kind == FILE else "")


PLACES: tuple[Place, ...] = (
    # /proc and /sys refuse new files even to root, which os.access would let through.
    Place("under /proc", lambda w, d: Path("/proc") / _named(d, "hf-pipeline-out"),
          "cannot be written"),
    Place("deep under /sys", lambda w, d: Path("/sys/hf-pipeline") / _named(d, "out"),
          "cannot be written"),
    Place("under a file", lambda w, d: w["a_file"] / _named(d, "out"), "is a file, not a folder"),
    Place("a file where a folder goes", lambda w, d: w["a_file"], "is a file, expected a folder",
          kinds=(FOLDER,)),
    Place("a folder where a file goes", lambda w, d: w["a_folder"],
          "is a folder, expected a file", kinds=(FILE,)),
    Place("a device", lambda w, d: Path("/dev/null"), "is not a regular file", kinds=(FILE,)),
)


# The inputs of _ws_inputs that are folders; the others are files.
FOLDER_INPUTS = frozenset({"--templates", "--base-model", "--model", "--release", "EXPORT_DIR"})


@dataclass(frozen=True)
class Landing:
    """How an output lands on an input: ``path(input, door)``; ``applies(input is a folder,
    door)``: whether it can land so there."""

    name: str
    path: Callable[[Path, Door], Path]
    says: str
    applies: Callable[[bool, Door], bool] = lambda folder, door: True


LANDINGS: tuple[Landing, ...] = (
    Landing("is the input", lambda p, d: p, "is the input"),
    Landing("inside the input", lambda p, d: p / _named(d, "out"), "is inside the input",
            lambda folder, d: folder),
    Landing("on a file of the input", lambda p, d: p / sorted(p.iterdir())[0].name,
            "is inside the input", lambda folder, d: folder and d.kind == FILE),
    Landing("around the input", lambda p, d: p.parent, "holds the input",
            lambda folder, d: d.kind == FOLDER),
)


@pytest.fixture
def ws(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "a_folder"
    folder.mkdir()
    return {"tmp": tmp_path, "a_file": write(tmp_path / "a_file.txt", "mine"),
            "a_folder": folder, **_ws_inputs(tmp_path)}


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (or ``root`` itself) with its bytes."""
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p): p.read_bytes() for p in files}


def _place_cases() -> Iterator[object]:
    for door in DOORS:
        for place in PLACES:
            if door.kind in place.kinds:
                yield pytest.param(door, place, id=f"{door.name} {door.option}: {place.name}")


def _landing_cases() -> Iterator[object]:
    for door in DOORS:
        for key in door.inputs:
            for landing in LANDINGS:
                if landing.applies(key in FOLDER_INPUTS, door):
                        yield pytest.param(door, key, landing,
                                       id=f"{door.name} {door.option}: {landing.name} {key}")


@pytest.mark.parametrize(("door", "place"), list(_place_cases()))
def test_an_output_that_cannot_be_written_is_refused_first(
        door: Door, place: Place, ws: dict[str, Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    out = place.path(ws, door)
    before = snapshot(ws["tmp"])
    text = assert_refused(door.argv(ws, out), capsys, names=[door.option, str(out), place.says])
    assert "bug in hf_pipeline" not in text
    assert snapshot(ws["tmp"]) == before  # nothing written, nothing made, before the refusal


@pytest.mark.parametrize(("door", "key", "landing"), list(_landing_cases()))
def test_an_output_on_an_input_is_refused_and_the_input_survives(
        door: Door, key: str, landing: Landing, ws: dict[str, Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    assert ws[key].is_dir() == (key in FOLDER_INPUTS)
    out = landing.path(ws[key], door)
    before = snapshot(ws["tmp"] / "inputs")
    # An input of the other kind is refused as such, before the overlap is looked at.
    wrong_kind = out.exists() and out.is_dir() != (door.kind == FOLDER)
    says = f"expected a {door.kind}" if wrong_kind else landing.says
    assert_refused(door.argv(ws, out), capsys, names=[door.option, str(out), says])
    assert snapshot(ws["tmp"] / "inputs") == before


def test_every_door_is_tried() -> None:
    """Every command with an output option is a door here (the parser says which have one)."""
    import argparse

    from hf_pipeline.cli import build_parser

    def commands(parser: argparse.ArgumentParser, name: str = "") -> Iterator[tuple[str, Any]]:
        yield name, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    yield from commands(sub, f"{name} {sub_name}".strip())

    with_output = {name for name, p in commands(build_parser())
                   if any("--output" in a.option_strings for a in p._actions)
                   and p.get_default("deprecated_for") is None}
    assert with_output == {d.name for d in DOORS if d.option == "--output"}


@pytest.mark.skipif(os.geteuid() == 0, reason="a superuser writes into any folder")
def test_a_read_only_folder_is_refused(ws: dict[str, Path],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    locked = ws["tmp"] / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        for door in DOORS:
            out = locked / _named(door, "out")
            assert_refused(door.argv(ws, out), capsys, names=[door.option, "cannot be written"])
    finally:
        locked.chmod(0o755)


# ----------------------------------------------------------------------------- the five files

def test_generate_keeps_a_template_it_was_told_to_write_over(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    templates = Path(shutil.copytree(TEMPLATES_DIR, tmp_path / "templates"))
    target = templates / "find_callers.yaml"
    before = target.read_bytes()
    assert_refused(["generate", "--templates", templates, "--verification-output", target,
                    "--output", tmp_path / "data", "--samples-per-intent", "20",
                    "--allow-small", "--no-dataset-dict"], capsys,
                   names=["--verification-output", str(target), "is inside the input --templates"])
    assert target.read_bytes() == before
    assert not (tmp_path / "data").exists()


def test_evaluate_keeps_the_dataset_it_was_told_to_write_over(
        tiny_model_dir: Path, tiny_data: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    data = Path(shutil.copy(tiny_data, tmp_path / "dataset.json"))
    before = data.read_bytes()
    assert_refused(["evaluate", "--model", tiny_model_dir, data, "--output", data], capsys,
                   names=["--output", str(data), "is the input DATA"])
    assert data.read_bytes() == before


def test_export_benchmark_keeps_the_model_it_was_told_to_write_over(
        tiny_release_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = Path(shutil.copy(tiny_release_dir / ONNX_FILE, tmp_path / ONNX_FILE))
    shutil.copy(tiny_release_dir / TOKENIZER_FILE, tmp_path / TOKENIZER_FILE)
    before = model.read_bytes()
    assert_refused(["export", "benchmark", model, "--threads", "1", "--runs", "1",
                    "--batch-size", "2", "--output", model], capsys,
                   names=["--output", str(model), "is the input FILE"])
    assert model.read_bytes() == before


def test_predict_keeps_its_input(tiny_release_dir: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    queries = write(tmp_path / "queries.jsonl", json.dumps({"text": "who calls main"}) + "\n")
    before = queries.read_bytes()
    assert_refused(["predict", "--model", tiny_release_dir, "--input", queries, "--output",
                    queries], capsys, names=["--output", str(queries), "is the input --input"])
    assert queries.read_bytes() == before


@pytest.mark.parametrize("name", [CONFIG_FILE, TOKENIZER_FILE, ONNX_FILE, "checksums.json"])
def test_predict_keeps_the_files_of_its_release_folder(
        release_copy: Path, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(release_copy)
    target = release_copy / name
    assert_refused(["predict", "--model", release_copy, "who calls main", "--output", target],
                   capsys, names=["--output", str(target), "is inside the input --model"])
    assert snapshot(release_copy) == before


def test_the_same_commands_write_where_they_may(tiny_release_dir: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """The check refuses only what it must: beside the inputs, predict writes."""
    queries = write(tmp_path / "queries.jsonl", json.dumps({"text": "who calls main"}) + "\n")
    out = tmp_path / "predictions.jsonl"
    code, text = run_cli(["predict", "--model", tiny_release_dir, "--input", queries,
                          "--output", out], capsys)
    assert code == 0, text
    assert json.loads(out.read_text(encoding="utf-8"))["text"] == "who calls main"
