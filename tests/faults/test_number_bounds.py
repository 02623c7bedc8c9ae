"""Cause: numbers without bounds, and servers that fail only after the work (issue 24).

Each bound is declared once, in ``hf_pipeline.limits`` (threads: a few per CPU of this
machine; texts per model call; ports) or on its config field (the opsets torch.onnx exports),
and read from there by the flags (``cli_options.int_in``), the config fields and the
runtime's own guards. An address to serve on is checked by ``limits.check_listen`` before
any work: the port is in range, the host resolves to this machine, and the port is free (a
bind, let go at once). So every door of each number gets values past each end: a flag, a
``--config`` file, ``run``'s sections. Each case checks the exit code (2), no traceback,
and that the option and the value are named.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from faults.refusal import assert_refused, write, write_yaml
from hf_pipeline.export.config import MAX_OPSET, MIN_OPSET
from hf_pipeline.limits import CPUS, MAX_BATCH_SIZE, MAX_THREADS, THREADS_PER_CPU
from hf_pipeline.model_folder.layout import CONFIG_FILE, ONNX_FILE


@dataclass(frozen=True)
class Door:
    """Where a number goes in: ``argv(ws, value)``; ``name``: how the refusal names it."""

    where: str
    name: str
    argv: Callable[[dict[str, Path], Any], list[Any]]


def _flag(*command: str, flag: str, tail: tuple[str, ...] = ()) -> Callable[..., list[Any]]:
    """A command taking the number as ``flag``; ``{model}`` etc. name workspace paths."""
    def argv(ws: dict[str, Path], value: Any) -> list[Any]:
        words = [ws[w[1:-1]] if w.startswith("{") else w for w in (*command, *tail)]
        return [*words, flag, value]
    return argv


def _config(*command: str, section: str | None = None, key: str) -> Callable[..., list[Any]]:
    """A command reading the number as ``key`` of its ``--config`` file (in ``section``)."""
    def argv(ws: dict[str, Path], value: Any) -> list[Any]:
        data = {key: value} if section is None else {section: {key: value}}
        words = [ws[w[1:-1]] if w.startswith("{") else w for w in command]
        return [*words, "--config", write_yaml(ws["tmp"] / "config.yaml", data)]
    return argv


MODEL_FLAGS = {  # the commands that load a model with --threads and --batch-size
    "predict": ("predict", "--model", "{release}", "who calls main"),
    "calibrate analyze": ("calibrate", "analyze", "--model", "{release}"),
    "calibrate test-single": ("calibrate", "test-single", "who calls main", "--model",
                              "{release}")}
FIT = ("calibrate", "fit", "--model", "{release}", "--data", "{data}")
BENCHMARK = ("export", "benchmark", "{onnx}")
EXPORT = ("export", "model", "--model", "{model}", "--output", "{out}")

THREADS: tuple[Door, ...] = (
    *(Door(f"{name} --threads", "--threads", _flag(*c, flag="--threads"))
      for name, c in MODEL_FLAGS.items()),
    Door("export benchmark --threads", "threads", _flag(*BENCHMARK, flag="--threads")),
    Door("calibrate fit --config threads", "threads", _config(*FIT, key="threads")),
    Door("run --config calibrate.threads", "threads",
         _config("run", section="calibrate", key="threads")),
)
BATCH_SIZES: tuple[Door, ...] = (
    *(Door(f"{name} --batch-size", "--batch-size", _flag(*c, flag="--batch-size"))
      for name, c in MODEL_FLAGS.items()),
    Door("evaluate --batch-size", "--batch-size",
         _flag("evaluate", "--model", "{model}", "dev", flag="--batch-size")),
    Door("export benchmark --batch-size", "batch_size", _flag(*BENCHMARK, flag="--batch-size")),
    Door("calibrate fit --batch-size", "batch_size", _flag(*FIT, flag="--batch-size")),
    Door("calibrate fit --config batch_size", "batch_size", _config(*FIT, key="batch_size")),
    Door("export model --config eval_batch_size", "eval_batch_size",
         _config(*EXPORT, key="eval_batch_size")),
    Door("run --config export.eval_batch_size", "eval_batch_size",
         _config("run", section="export", key="eval_batch_size")),
)
OPSETS: tuple[Door, ...] = (
    Door("export model --opset", "opset", _flag(*EXPORT, flag="--opset")),
    Door("export model --config opset", "opset", _config(*EXPORT, key="opset")),
    Door("export gate --config opset", "opset", _config("export", "gate", "{export}", "--data",
                                                  "{data}", key="opset")),
    Door("run --config export.opset", "opset", _config("run", section="export", key="opset")),
)
PORTS: tuple[Door, ...] = (
    Door("demo --port", "--port", _flag("demo", "--model", "{release}", flag="--port")),
    Door("demo --local-hub --port", "--port", _flag(
        "demo", "--model", "me/model@v1.0.0", "--local-hub", "{hub}", flag="--port")),
    Door("run --serve --port", "--port", _flag("run", "--serve", "--output", "{out}",
                                               flag="--port")),
)
HOSTS: tuple[Door, ...] = (
    Door("demo --host", "--host", _flag("demo", "--model", "{release}", flag="--host")),
    Door("demo --local-hub --host", "--host", _flag(
        "demo", "--model", "me/model@v1.0.0", "--local-hub", "{hub}", flag="--host")),
)

# (doors, values refused, what the refusal also says)
NUMBERS: tuple[tuple[tuple[Door, ...], tuple[Any, ...], str], ...] = (
    (THREADS, (MAX_THREADS + 1, 100000, -1), f"at most {THREADS_PER_CPU} per CPU; this "
     f"machine has {CPUS}"),
    (BATCH_SIZES, (0, -3, MAX_BATCH_SIZE + 1), f"[1, {MAX_BATCH_SIZE}]"),
    (OPSETS, (99, MAX_OPSET + 1, MIN_OPSET - 1, 0), f"[{MIN_OPSET}, {MAX_OPSET}]"),
    (PORTS, (0, -1, 65536, 70000), "[1, 65535]"),
)


@pytest.fixture
def ws(tmp_path: Path) -> dict[str, Path]:
    """Paths the doors name; every refusal here comes before any of them is read."""
    return {"tmp": tmp_path, "out": tmp_path / "out",
            "release": write(tmp_path / "release" / ONNX_FILE, b"onnx").parent,
            "model": write(tmp_path / "model" / CONFIG_FILE, "{}").parent,
            "export": write(tmp_path / "export" / "export_report.json", "{}").parent,
            "data": write(tmp_path / "data" / "dataset.json", '{"samples": []}'),
            "onnx": write(tmp_path / "model.onnx", b"onnx"),
            "hub": (tmp_path / "hub")}


def _cases() -> Iterator[Any]:
    for doors, values, says in NUMBERS:
        for door in doors:
            for value in values:
                yield pytest.param(door, value, says, id=f"{door.where} {value}")


@pytest.mark.parametrize(("door", "value", "says"), list(_cases()))
def test_a_number_out_of_bounds_is_refused(door: Door, value: Any, says: str,
                                           ws: dict[str, Path],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    ws["hub"].mkdir()
    text = assert_refused(door.argv(ws, value), capsys, names=[door.name, str(value), says])
    assert "bug in hf_pipeline" not in text
    assert not ws["out"].exists()  # refused before any work


@pytest.mark.parametrize("door", [*THREADS, *BATCH_SIZES, *OPSETS, *PORTS],
                         ids=lambda d: d.where)
def test_a_word_where_a_number_goes_is_refused(door: Door, ws: dict[str, Path],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    ws["hub"].mkdir()
    argv = door.argv(ws, "many")
    flag = str(argv[-2])  # a flag's type refuses it first, as argparse names it
    name = flag if flag.startswith("--") and flag != "--config" else door.name
    assert_refused(argv, capsys, names=[name, "many"])


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@pytest.mark.parametrize("door", PORTS, ids=lambda d: d.where)
def test_a_port_in_use_is_refused_before_any_work(door: Door, busy_port: int,
                                                  ws: dict[str, Path],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    ws["hub"].mkdir()
    text = assert_refused(door.argv(ws, busy_port), capsys,
                          names=["--port", str(busy_port), "Address already in use"])
    assert "local Hub" not in text  # nothing was started
    assert not ws["out"].exists()  # run: not a stage ran


@pytest.mark.parametrize("host", ["no-such-host.invalid", "999.1.1.1", "192.0.2.1",
                                  "exa mple"])
@pytest.mark.parametrize("door", HOSTS, ids=lambda d: d.where)
def test_a_host_this_machine_cannot_listen_on_is_refused(
        door: Door, host: str, ws: dict[str, Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    """Unresolvable names and addresses of no interface here (192.0.2.1: TEST-NET-1)."""
    ws["hub"].mkdir()
    text = assert_refused(door.argv(ws, host), capsys, names=[host])
    assert "local Hub" not in text


def test_the_runtime_guards_read_the_same_bounds() -> None:
    """A library caller meets the bounds the flags and configs declare."""
    from hf_pipeline.errors import InvalidValueError
    from hf_pipeline.runtime.classifier import IntentClassifier
    from hf_pipeline.runtime.onnx import make_session

    with pytest.raises(InvalidValueError, match=rf"threads: got {MAX_THREADS + 1}, expected "
                       rf"an integer in \[0, {MAX_THREADS}\]"):
        make_session("model.onnx", threads=MAX_THREADS + 1)
    with pytest.raises(InvalidValueError, match=rf"batch_size: got {MAX_BATCH_SIZE + 1}"):
        IntentClassifier(object(), batch_size=MAX_BATCH_SIZE + 1)  # type: ignore[arg-type]


def test_the_opset_range_is_what_torch_exports_and_onnxruntime_runs() -> None:
    """MAX_OPSET follows the installed torch.onnx; onnxruntime loads a graph at each end."""
    import onnxruntime as ort
    import torch.onnx._constants as torch_onnx
    from onnx import TensorProto, helper

    assert torch_onnx.ONNX_MIN_OPSET <= MIN_OPSET <= MAX_OPSET == torch_onnx.ONNX_MAX_OPSET
    for opset in (MIN_OPSET, MAX_OPSET):
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
        graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        model.ir_version = 10
        ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
