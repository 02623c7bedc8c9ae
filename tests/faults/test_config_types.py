"""Cause: config values of the wrong type or out of range (issue 24).

One checker (``hf_pipeline.config.check_fields``, from the field annotations and ``option``
metadata) guards every stage config. So the cases here are not a list someone wrote: every
field of every config class gets values of the wrong type (and one just outside its range,
where it has one) through every door that reads it, a ``--config`` file of each command and
each section of ``run``'s file; a non-finite float is tried on every float field. Flags are
a second door: a sample of them, non-finite floats first. Each case checks the exit code (2),
that no traceback is printed, and that the file, the key and the value are named.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from faults.refusal import assert_refused, write_yaml
from hf_pipeline.calibrate.config import CalibrateConfig
from hf_pipeline.config import ALLOWED, Allowed
from hf_pipeline.export.config import ExportConfig
from hf_pipeline.generate.config import GenerateConfig
from hf_pipeline.hub.server.app import HubServerConfig
from hf_pipeline.pipeline.config import SECTIONS
from hf_pipeline.train.config import TrainConfig


@dataclass(frozen=True)
class Door:
    """A command that reads a config class from a file: ``argv(config_file, tmp)``."""

    name: str
    cls: type
    argv: Callable[[Path, Path], list[Any]]
    section: str | None = None
    set_by_flags: frozenset[str] = frozenset()  # fields the argv itself sets


def _run_door(section: str, cls: type, owned: frozenset[str]) -> Door:
    return Door(f"run[{section}]", cls, lambda f, t: ["run", "--config", f], section, owned)


DOORS: tuple[Door, ...] = (
    Door("generate", GenerateConfig, lambda f, t: ["generate", "--config", f]),
    Door("train", TrainConfig, lambda f, t: ["train", "--config", f]),
    Door("export model", ExportConfig, lambda f, t: [
        "export", "model", "--model", t / "final", "--output", t / "export", "--config", f]),
    Door("export gate", ExportConfig, lambda f, t: [
        "export", "gate", t / "export", "--data", t / "data", "--config", f]),
    Door("calibrate fit", CalibrateConfig, lambda f, t: [
        "calibrate", "fit", "--model", t / "release", "--data", "me/data", "--config", f],
         set_by_flags=frozenset({"data"})),
    Door("hub serve", HubServerConfig, lambda f, t: ["hub", "serve", "--config", f]),
    *(_run_door(section, cls, owned) for section, (cls, owned) in SECTIONS.items()),
)

NAN, INF = float("nan"), float("inf")
# Values of the wrong type, by annotation: a string where a number goes, null for a float,
# an int where a list goes, a list where a path goes...
WRONG: dict[Any, tuple[Any, ...]] = {
    bool: ("yes", 1, None),
    int: ("many", 2.5, True, None),
    float: ("fast", None, True, -INF, [0.5]),
    str: ([1, 2], 5, {"a": 1}),
    Path: (["a", "b"], 7, True),
    tuple: (5, "a,b", {"a": 1}),
}


def _base(tp: Any) -> tuple[Any, bool]:
    """(annotation without None, whether None is allowed)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0], len(args) < len(typing.get_args(tp))
    return tp, False


def _outside(tp: Any, allowed: Allowed) -> Any:
    """A value of the right type just outside what ``allowed`` admits."""
    if allowed.choices is not None:
        return "no-such-choice"
    step = 1 if tp is int or typing.get_origin(tp) is tuple else 0.5
    value = (allowed.ge - step if allowed.ge is not None else allowed.gt
             if allowed.gt is not None else allowed.le + step if allowed.le is not None
             else allowed.lt)
    return (int(value) if step == 1 else value,) if typing.get_origin(tp) is tuple else (
        int(value) if tp is int else value)


def bad_values(cls: type) -> Iterator[tuple[str, Any]]:
    """(field, value) pairs the checker must refuse: every field, wrong types cycled through
    the candidates, NaN and infinity for every float, and one value outside each field's
    range."""
    hints = typing.get_type_hints(cls)
    for i, f in enumerate(dataclasses.fields(cls)):
        tp, optional = _base(hints[f.name])
        candidates = [v for v in WRONG[typing.get_origin(tp) or tp]
                      if not (optional and v is None)]
        yield f.name, candidates[i % len(candidates)]
        if tp is float:
            yield from ((f.name, v) for v in (NAN, INF))
        allowed = f.metadata.get(ALLOWED)
        if allowed is not None:
            yield f.name, _outside(tp, allowed)


CASES = [(door, name, value) for door in DOORS for name, value in bad_values(door.cls)
         if name not in door.set_by_flags]


@pytest.fixture
def no_side_effects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A refusal must come before any work: a case the checker let through would fail here
    instead of serving or running (and would write under tmp_path, never the checkout)."""
    import hf_pipeline.hub.server
    import hf_pipeline.pipeline.runner

    def must_not_start(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a bad config value got past the checks")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(hf_pipeline.hub.server, "serve", must_not_start)
    monkeypatch.setattr(hf_pipeline.pipeline.runner, "run_pipeline", must_not_start)
    return tmp_path


def _shown(name: str, value: Any) -> str:
    """How the message quotes ``value``; a token never, whatever it is."""
    return "'<hidden>'" if name == "token" else "nan" if isinstance(value, float) and \
        math.isnan(value) else repr(value)


@pytest.mark.parametrize(("door", "name", "value"), CASES,
                         ids=[f"{d.name}:{n}={v!r}" for d, n, v in CASES])
def test_a_bad_value_in_a_config_file_is_refused_with_file_key_and_value(
        door: Door, name: str, value: Any, no_side_effects: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    values = {name: value}
    config = write_yaml(no_side_effects / "config.yaml",
                        {door.section: values} if door.section else values)
    text = assert_refused(door.argv(config, no_side_effects), capsys,
                          names=[str(config), f"{name}: got {_shown(name, value)}, expected"])
    if door.section:
        assert f"section {door.section!r}" in text
    if name == "token":
        assert repr(value) not in text


def test_every_door_and_field_is_tried() -> None:
    """The catalogue grows with the configs: a new field or section is tried automatically."""
    tried = {(d.name, n) for d, n, _ in CASES}
    for door in DOORS:
        for f in dataclasses.fields(door.cls):
            assert (door.name, f.name) in tried or f.name in door.set_by_flags
    nan = {(d.name, n) for d, n, v in CASES if isinstance(v, float) and math.isnan(v)}
    assert nan == {(d.name, n) for d in DOORS for n, tp in typing.get_type_hints(d.cls).items()
                   if _base(tp)[0] is float}
    assert len(nan) > 20


FLAG_CASES: list[tuple[list[str], list[str]]] = [
    (["generate", "--augment-ratio", "nan"], ["augment_ratio: got nan"]),
    (["generate", "--option-ratio", "inf"], ["option_ratio: got inf"]),
    (["generate", "--samples-per-intent", "5", "--allow-small"], ["samples_per_intent: got 5"]),
    (["train", "--consistency-weight", "nan"], ["consistency_weight: got nan"]),
    (["train", "--max-grad-norm", "nan"], ["max_grad_norm: got nan"]),
    (["train", "--learning-rate=-inf"], ["learning_rate: got -inf"]),
    (["train", "--typo-twins", "1.5"], ["typo_twins: got 1.5"]),
    (["train", "--warmup-ratio", "nan"], ["warmup_ratio: got nan"]),
    (["train", "--epochs", "0"], ["num_epochs: got 0"]),
    (["export", "model", "--model", "final", "--output", "e", "--max-drop", "nan"],
     ["max_drop_points: got nan"]),
    (["export", "model", "--model", "final", "--output", "e", "--opset", "12"],
     ["opset: got 12"]),
    (["export", "gate", "e", "--data", "d", "--max-drop", "inf"], ["max_drop_points: got inf"]),
    (["export", "benchmark", "m.onnx", "--threads", "1", "0"], ["threads: got (1, 0)"]),
    (["export", "benchmark", "m.onnx", "--runs", "0"], ["runs: got 0"]),
    (["calibrate", "fit", "--model", "r", "--data", "d", "--batch-size", "0"],
     ["batch_size: got 0"]),
    (["run", "--learning-rate", "nan"], ["learning_rate: got nan"]),
    (["run", "--num-processes", "0"], ["num_processes: got 0"]),
    (["run", "--samples-per-intent", "-1"], ["samples_per_intent: got -1"]),
    (["hub", "serve", "--port", "70000"], ["port: got 70000"]),
    (["hub", "serve", "--max-requests", "0"], ["max_requests: got 0"]),
    (["hub", "serve", "--max-connections", "-1"], ["max_connections: got -1"]),
]


@pytest.mark.parametrize(("argv", "names"), FLAG_CASES, ids=[" ".join(a) for a, _ in FLAG_CASES])
def test_a_bad_flag_value_is_refused_with_key_and_value(
        argv: list[str], names: list[str], no_side_effects: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert_refused(argv, capsys, names=names)
