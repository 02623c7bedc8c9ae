"""The run state and the skip / rerun / resume rules, on stand-in stages (the real ones are
in test_run.py): a rerun with nothing changed does nothing, a changed option reruns its stage
and what follows, never what comes before; lost outputs are rebuilt; an interrupted stage
resumes; --from forces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hf_pipeline.errors import DataFileError
from hf_pipeline.pipeline.config import load_run_config
from hf_pipeline.pipeline.context import Context, Stage
from hf_pipeline.pipeline.hub import HubSession
from hf_pipeline.pipeline.runner import plan, run_stages
from hf_pipeline.pipeline.state import STATE_FILE, RunState, fingerprint


class Pipeline:
    """Three stand-in stages a -> b -> c; ``a`` is deterministic (same inputs, same output)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.options = {"a": 1, "b": 1, "c": 1}
        self.present = {"a": True, "b": True, "c": True}
        self.calls: list[tuple[str, bool]] = []
        self.fail: str | None = None
        self.counter = 0
        previous = {"a": None, "b": "a", "c": "b"}
        self.stages = tuple(self._stage(n, previous[n]) for n in "abc")

    def _stage(self, name: str, upstream: str | None) -> Stage:
        def inputs(ctx: Context) -> dict[str, Any]:
            return {"option": self.options[name],
                    "upstream": ctx.outputs[upstream] if upstream else None}

        def run(ctx: Context, resume: bool) -> dict[str, Any]:
            self.calls.append((name, resume))
            if self.fail == name:
                raise KeyboardInterrupt
            self.present[name] = True
            self.counter += 1  # b and c produce something new every time; a does not
            return {"value": f"{name}{self.options[name]}"
                    + ("" if name == "a" else f"#{self.counter}")}

        def valid(ctx: Context, outputs: dict[str, Any]) -> bool:
            return self.present[name]

        return Stage(name, name, inputs, run, valid, deterministic=name == "a")

    def context(self) -> Context:
        cfg = load_run_config(None, {"pipeline": {"output": self.out}})
        return Context(cfg, HubSession("http://hub", True, "me", False, data_dir=self.out))

    def run(self, *, from_index: int | None = None) -> dict[str, float | None]:
        self.calls = []
        ctx, state = self.context(), RunState(self.out)
        self.planned = [s.stage.name for s in plan(ctx, state, from_index=from_index,
                                                   stages=self.stages) if s.run]
        return run_stages(ctx, state, from_index=from_index, reporter=None, stages=self.stages)


def ran(seconds: dict[str, float | None]) -> list[str]:
    return [name for name, s in seconds.items() if s is not None]


@pytest.fixture
def pipeline(tmp_path: Path) -> Pipeline:
    return Pipeline(tmp_path)


def test_a_rerun_does_nothing(pipeline: Pipeline) -> None:
    assert ran(pipeline.run()) == ["a", "b", "c"] == pipeline.planned
    before = (pipeline.out / STATE_FILE).read_text()
    assert ran(pipeline.run()) == [] == pipeline.planned
    assert (pipeline.out / STATE_FILE).read_text() == before


def test_a_changed_option_reruns_its_stage_and_what_follows(pipeline: Pipeline) -> None:
    pipeline.run()
    pipeline.options["b"] = 2
    assert ran(pipeline.run()) == ["b", "c"] == pipeline.planned
    pipeline.options["c"] = 2
    assert ran(pipeline.run()) == ["c"] == pipeline.planned
    assert ran(pipeline.run()) == []


def test_lost_outputs_are_rebuilt_and_a_deterministic_stage_changes_nothing_after_it(
        pipeline: Pipeline) -> None:
    pipeline.run()
    pipeline.present["a"] = False  # a's output was deleted: same inputs, same output again
    assert ran(pipeline.run()) == ["a"] == pipeline.planned
    pipeline.present["b"] = False  # b's output: rebuilt, differently, so c follows
    assert ran(pipeline.run()) == ["b", "c"] == pipeline.planned


def test_an_interrupted_stage_resumes_with_the_same_inputs_only(pipeline: Pipeline) -> None:
    pipeline.fail = "b"
    with pytest.raises(KeyboardInterrupt):
        pipeline.run()
    record = json.loads((pipeline.out / STATE_FILE).read_text())["stages"]["b"]
    assert record["status"] == "started" and "outputs" not in record
    pipeline.fail = None
    pipeline.run()
    assert pipeline.calls == [("b", True), ("c", False)]  # resumed, a skipped
    pipeline.fail = "c"
    with pytest.raises(KeyboardInterrupt):
        pipeline.run(from_index=2)
    pipeline.fail, pipeline.options["c"] = None, 3
    pipeline.run()
    assert pipeline.calls == [("c", False)]  # other inputs: not a resumption


def test_from_forces_that_stage_and_the_rest(pipeline: Pipeline) -> None:
    pipeline.run()
    assert ran(pipeline.run(from_index=1)) == ["b", "c"] == pipeline.planned
    assert pipeline.calls == [("b", False), ("c", False)]


def test_fingerprint_is_canonical() -> None:
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


def test_an_unreadable_state_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_text("{not json")
    with pytest.raises(DataFileError, match=r"unreadable run state .* Fix: delete it"):
        RunState(tmp_path)
