"""Cause: JSON lines nested without bound (issue 24).

One reader reads a JSON line of a query (``hf_pipeline.io.text_row``): predict's ``--input``,
every dev set (``--dev-set``, ``evaluate FILE.jsonl``) and the Space's batch upload. It
refuses a line nested deeper than ``MAX_JSON_DEPTH`` with the file and the line, whether the
parser got through it (a dump of it later could not) or gave up with a RecursionError. Each
door gets lines nested each way: arrays, objects, in the text and beside it, just past the
bound and far past the parser's recursion limit. Each case checks the exit code (2), no
traceback, and that the file, the line and the bound are named.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from faults.refusal import assert_refused, write
from hf_pipeline.io import MAX_JSON_DEPTH, json_depth, text_row
from hf_pipeline.model_folder.layout import CONFIG_FILE

GOOD = json.dumps({"text": "who calls main", "intent": "FindCallers"})
FAR = 100_000  # far past Python's recursion limit: the parser itself gives up


def _arrays(n: int, inner: str = "1") -> str:
    return "[" * n + inner + "]" * n


def _objects(n: int, inner: str = "1") -> str:
    return '{"a": ' * n + inner + "}" * n


# (name, a line nested too deep); the bound counts the row's own object as one level.
LINES: tuple[tuple[str, str], ...] = (
    ("arrays beside the text, one past the bound",
     f'{{"text": "who calls main", "meta": {_arrays(MAX_JSON_DEPTH)}}}'),
    ("objects beside the text, one past the bound",
     f'{{"text": "who calls main", "meta": {_objects(MAX_JSON_DEPTH)}}}'),
    ("the text itself nested", f'{{"text": {_arrays(MAX_JSON_DEPTH)}}}'),
    ("arrays far past the parser", _arrays(FAR)),
    ("objects far past the parser", _objects(FAR)),
    ("unclosed arrays far past the parser", "[" * FAR),
)


@dataclass(frozen=True)
class Door:
    """A command reading a JSON-lines file: ``argv(ws, file)``."""

    name: str
    argv: Callable[[dict[str, Path], Path], list[Any]]


DOORS: tuple[Door, ...] = (
    Door("predict --input", lambda w, f: [
        "predict", "--model", w["release"], "--input", f, "--prefix", "pred_",
        "--output", w["tmp"] / "out.jsonl"]),
    Door("evaluate FILE.jsonl", lambda w, f: ["evaluate", "--model", w["model"], f]),
    Door("calibrate analyze --dev-set", lambda w, f: [
        "calibrate", "analyze", "--model", w["release"], "--dev-set", f, "--output",
        w["tmp"] / "reports"]),
    Door("export model --dev-set", lambda w, f: [
        "export", "model", "--model", w["model"], "--data", w["data"], "--dev-set", f,
        "--output", w["tmp"] / "export"]),
    Door("export gate --dev-set", lambda w, f: [
        "export", "gate", w["tmp"], "--data", w["data"], "--dev-set", f]),
)


@pytest.fixture
def ws(tmp_path: Path, tiny_release_dir: Path, tiny_data: Path) -> dict[str, Path]:
    return {"tmp": tmp_path, "release": tiny_release_dir, "data": tiny_data,
            "model": write(tmp_path / "model" / CONFIG_FILE, "{}").parent}


@pytest.mark.parametrize(("name", "line"), LINES, ids=[n for n, _ in LINES])
@pytest.mark.parametrize("door", DOORS, ids=lambda d: d.name)
def test_a_deeply_nested_line_is_refused_with_its_line(
        door: Door, name: str, line: str, ws: dict[str, Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    file = write(ws["tmp"] / "deep.jsonl", f"{GOOD}\n\n{line}\n{GOOD}\n")
    text = assert_refused(door.argv(ws, file), capsys, names=[
        f"{file}:3:", f"nested more than {MAX_JSON_DEPTH} arrays or objects deep"])
    assert "bug in hf_pipeline" not in text and "RecursionError" not in text


def test_the_bound_itself_is_allowed() -> None:
    """A row exactly MAX_JSON_DEPTH deep is read; one more level is refused."""
    line = f'{{"text": "who calls main", "meta": {_arrays(MAX_JSON_DEPTH - 1)}}}'
    assert json_depth(text_row("f.jsonl", 1, line)) == MAX_JSON_DEPTH
    assert json_depth(json.loads(_objects(3))) == 3 and json_depth("text") == 0


# ----------------------------------------------------------------------------- the Space

@pytest.fixture(scope="module")
def app() -> ModuleType:
    """spaces_demo/app.py, imported as in development (as tests/space does)."""
    from hf_pipeline.publish.space import space_app

    spec = importlib.util.spec_from_file_location("sqry_nl_demo_app_faults", space_app())
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("name", "line"), LINES, ids=[n for n, _ in LINES])
def test_the_space_batch_names_a_deeply_nested_line(app: ModuleType, tmp_path: Path,
                                                    name: str, line: str) -> None:
    """The batch upload's reader (``batch_rows``, what /classify_batch calls first) raises
    gr.Error with the line: Gradio shows that message, not its generic "Error"."""
    import gradio as gr

    upload = write(tmp_path / "deep.jsonl", f"{GOOD}\n\n{line}\n")
    with pytest.raises(gr.Error) as e:
        app.batch_rows("who calls main", str(upload))
    assert e.value.message.startswith(
        f"deep.jsonl, line 3: nested more than {MAX_JSON_DEPTH} arrays or objects deep.")
