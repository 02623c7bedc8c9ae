"""Cause: template and slot files of the wrong shape (issue 24).

The generator's YAML files are read as node trees (``hf_pipeline.generate.yaml_nodes``), so a
shape error at any level (the file, a section, a list, an item, a key) is refused with the
file and the line, before any value is used. Each case changes the shipped file at one level
and goes through every door that reads it: ``generate --slots``/``--templates`` and ``run``
(its config's ``generate`` section). Each checks the exit code (2), no traceback, and that
the line named is the line of the offending part.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from faults.refusal import assert_refused, write, write_yaml
from hf_pipeline.generate.slots import SLOTS_FILE
from hf_pipeline.generate.templates import TEMPLATES_DIR

TEMPLATE = TEMPLATES_DIR / "find_callers.yaml"


@dataclass(frozen=True)
class Shape:
    name: str
    change: Callable[[dict[str, Any]], Any]  # the shipped file's data -> what is written
    on_line: str | None  # text on the line the message must name (None: no line)
    says: str  # part of the message


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    """Set the value at the dotted ``path`` (a key is added when absent)."""
    def change(data: dict[str, Any]) -> Any:
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[key]
        node[last] = value
        return data
    return change


SLOT_SHAPES = (
    Shape("the file is a list", list, "- open", "the slot file must be a mapping, found a list"),
    Shape("the file is one value", lambda d: "slots", "slots", "found the value 'slots'"),
    Shape("a section is a list", _set("open", ["get", "set"]), "- get",
          "section 'open' must be a mapping, found a list"),
    Shape("a list is a number", _set("open.verb", 5), "verb: 5",
          "list 'verb' must be a list of values, found the value '5'"),
    Shape("a list is a mapping", _set("closed.lang", {"rust": 1}), "rust: 1",
          "list 'lang' must be a list of values, found a mapping"),
    Shape("a value is a mapping", _set("open.noun", ["user", {"config": 1}]), "config: 1",
          "list 'noun': each item must be a single value, found a mapping"),
    Shape("a value is a list", _set("closed.kinds", ["functions", ["methods"]]), "- - methods",
          "list 'kinds': each item must be a single value, found a list"),
    Shape("a value is null", _set("open.dir", ["src", None]), "null", "found null"),
    Shape("an unknown section", _set("slots", {"verb": ["x"]}), "slots:",
          "unknown key 'slots'"),
    Shape("option phrases are a list", _set("options.depth", ["a", "b", "c"]), "- a",
          "option kind 'depth' must be a mapping, found a list"),
    Shape("option phrases are a number", _set("options.limit.append", 5), "append: 5",
          "option phrases limit.append must be a list of values, found the value '5'"),
    Shape("an option phrase is a mapping",
          _set("options.lang.append", ["in {lang}", {"for": "{lang}"}, "({lang})"]),
          "for: '{lang}'", "each item must be a single value, found a mapping"),
    Shape("the file is empty", lambda d: None, None, "is empty"),
)

TEMPLATE_SHAPES = (
    Shape("the file is a list", list, "- intent", "the template file must be a mapping"),
    Shape("the intent is a list", _set("intent", ["FindCallers"]), "- FindCallers",
          "intent must be a single value, found a list"),
    Shape("the intent is a mapping", _set("intent", {"FindCallers": 1}), "FindCallers: 1",
          "intent must be a single value, found a mapping"),
    Shape("the description is a list", _set("description", ["a"]), "- a",
          "description must be a single value, found a list"),
    Shape("templates is a list", _set("templates", ["who calls {function}"]),
          "- who calls {function}", "'templates' must be a mapping, found a list"),
    Shape("a group is a mapping", _set("templates.question", {"who": "calls"}), "who: calls",
          "group 'question' must be a list of values, found a mapping"),
    Shape("a group is a number", _set("templates.question", 5), "question: 5",
          "found the value '5'"),
    Shape("a template is a list", _set("templates.question", ["x y", ["who calls {function}"]]),
          "- - who calls {function}", "each item must be a single value, found a list"),
    Shape("a template is a mapping", _set("templates.question", ["x y", {"who": "calls"}]),
          "who: calls", "each item must be a single value, found a mapping"),
    Shape("a template is null", _set("templates.question", ["x y", None]), "null",
          "found null"),
    Shape("options is a mapping", _set("options", {"depth": 1}), "depth: 1",
          "'options' must be a list of values, found a mapping"),
    Shape("an unknown key", _set("template", {"q": ["x"]}), "template:",
          "unknown key 'template'"),
)


def _write_changed(source: Path, shape: Shape, target: Path) -> Path:
    data = shape.change(yaml.safe_load(source.read_text(encoding="utf-8")))
    if data is None:
        return write(target, "# nothing here\n")
    return write_yaml(target, data)


def _slots(tmp: Path, shape: Shape) -> tuple[Path, dict[str, Any]]:
    path = _write_changed(SLOTS_FILE, shape, tmp / "slots.yaml")
    return path, {"slots_file": str(path)}


def _templates(tmp: Path, shape: Shape) -> tuple[Path, dict[str, Any]]:
    folder = Path(shutil.copytree(TEMPLATES_DIR, tmp / "templates"))
    path = _write_changed(TEMPLATE, shape, folder / TEMPLATE.name)
    return path, {"templates_dir": str(folder)}


def _generate(tmp: Path, option: dict[str, Any]) -> list[Any]:
    (key, value), = option.items()
    flag = "--slots" if key == "slots_file" else "--templates"
    return ["generate", flag, value, "--output", tmp / "data", "--allow-small",
            "--samples-per-intent", "20"]


def _run(tmp: Path, option: dict[str, Any]) -> list[Any]:
    config = write_yaml(tmp / "pipeline.yaml", {"generate": {
        **option, "samples_per_intent": 20, "allow_small": True}})
    return ["run", "--config", config, "--output", tmp / "out"]


DOORS = {"generate": _generate, "run": _run}
FILES = {"slots": (_slots, SLOT_SHAPES), "templates": (_templates, TEMPLATE_SHAPES)}
# run starts its local Hub before generating: about a second a case.
CASES = [pytest.param(door, kind, shape, id=f"{door}:{kind}:{shape.name}",
                      marks=[pytest.mark.slow] if door == "run" else [])
         for door in DOORS for kind, (_, shapes) in FILES.items() for shape in shapes]


@pytest.mark.parametrize(("door", "kind", "shape"), CASES)
def test_a_file_of_the_wrong_shape_is_refused_with_its_line(
        door: str, kind: str, shape: Shape, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    path, option = FILES[kind][0](tmp_path, shape)
    text = assert_refused(DOORS[door](tmp_path, option), capsys, names=[str(path), shape.says])
    if shape.on_line is not None:
        named = re.search(re.escape(str(path)) + r":(\d+):", text)
        assert named, text
        lines = path.read_text(encoding="utf-8").splitlines()
        assert shape.on_line in lines[int(named.group(1)) - 1], (lines, text)


def test_the_shipped_files_are_of_the_right_shape() -> None:
    """The cases above change one part of a file that loads."""
    from hf_pipeline.generate.options import load_options
    from hf_pipeline.generate.slots import SLOT_NAMES, load_vocabularies
    from hf_pipeline.generate.templates import load_templates

    assert load_vocabularies() and load_options()
    assert load_templates(known_slots=SLOT_NAMES)
