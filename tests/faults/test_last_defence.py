"""Cause: an exception no check caught (issue 24): the last line of defence in ``cli.main``.

Not a fix for any bad input (those have their own messages, tested beside this file): a
genuine unexpected exception is injected deep inside a command, and the command must end in
one line on stderr (what failed, that it is a bug, where to report it, HF_PIPELINE_DEBUG=1),
exit 1 and no traceback; with HF_PIPELINE_DEBUG=1 the traceback is shown instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from faults.refusal import run_cli, write
from hf_pipeline.cli import DEBUG_ENV, REPORT_BUGS_TO, main

CHECKOUT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Injected:
    command: str  # as the message names it
    target: str  # module:attribute replaced by a function that raises
    error: BaseException
    argv: Callable[[Path], list[Any]]


INJECTED = (
    Injected("hf-pipeline generate", "hf_pipeline.generate.pipeline:build_dataset",
             ZeroDivisionError("division by zero"),
             lambda t: ["generate", "--output", t / "data", "--allow-small",
                        "--samples-per-intent", "20"]),
    Injected("hf-pipeline dataset publish", "hf_pipeline.publish.dataset:read_local",
             KeyError("samples"),
             lambda t: ["dataset", "publish", t, "--repo-id", "me/intents", "--tag", "v1.0.0"]),
    Injected("hf-pipeline dataset status", "hf_pipeline.publish:versions",
             TypeError("'NoneType' object is not subscriptable"),
             lambda t: ["dataset", "status", "--repo-id", "me/intents"]),
    Injected("hf-pipeline export verify", "hf_pipeline.export.inspect:verify_onnx",
             IndexError("list index out of range\nsecond line of the message"),
             lambda t: ["export", "verify", t / "model.onnx"]),
)


def _inject(monkeypatch: pytest.MonkeyPatch, case: Injected) -> None:
    import importlib

    module, name = case.target.split(":")

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise case.error

    monkeypatch.setattr(importlib.import_module(module), name, boom)


@pytest.fixture
def quiet_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("case", INJECTED, ids=[c.command for c in INJECTED])
def test_an_unexpected_exception_is_one_line_that_says_it_is_a_bug(
        case: Injected, quiet_env: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    _inject(monkeypatch, case)
    code, text = run_cli(case.argv(quiet_env), capsys)
    assert code == 1, text
    assert "Traceback" not in text
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    first = str(case.error).splitlines()[0].strip("'")
    assert lines[0].startswith(f"error: `{case.command}` failed unexpectedly: "
                               f"{type(case.error).__name__}: "), text
    assert first in lines[0]
    assert "This is a bug in hf_pipeline" in lines[0] and REPORT_BUGS_TO in lines[0]
    assert f"{DEBUG_ENV}=1" in lines[0]


@pytest.mark.parametrize("case", INJECTED[:2], ids=[c.command for c in INJECTED[:2]])
def test_with_debug_the_exception_itself_escapes(case: Injected, quiet_env: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _inject(monkeypatch, case)
    monkeypatch.setenv(DEBUG_ENV, "1")
    with pytest.raises(type(case.error)):
        main([str(a) for a in case.argv(quiet_env)])


def test_a_bad_input_keeps_its_own_message(quiet_env: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """The handler is for bugs only: an input error is still its own line, exit 2."""
    code, text = run_cli(["generate", "--augment-ratio", "nan"], capsys)
    assert code == 2 and text.startswith("error: augment_ratio: got nan") and "bug" not in text


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "HF_PIPELINE_DEBUG=1"])
def test_as_a_process_exit_1_and_the_traceback_only_with_debug(debug: bool,
                                                                tmp_path: Path) -> None:
    """What a person sees from the real entry point: the process exits 1 either way."""
    script = textwrap.dedent(f"""
        import sys
        import hf_pipeline.generate.pipeline as pipeline

        def boom(*args, **kwargs):
            raise ZeroDivisionError("division by zero")

        pipeline.build_dataset = boom
        from hf_pipeline.cli import main
        sys.exit(main(["generate", "--output", {str(tmp_path / "data")!r}, "--allow-small",
                       "--samples-per-intent", "20"]))
    """)
    env = {k: v for k, v in os.environ.items() if k != DEBUG_ENV}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(CHECKOUT), env.get("PYTHONPATH")]))
    if debug:
        env[DEBUG_ENV] = "1"
    done = subprocess.run([sys.executable, str(write(tmp_path / "boom.py", script))],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 1, done.stderr
    if debug:
        assert "Traceback (most recent call last)" in done.stderr
        assert "ZeroDivisionError: division by zero" in done.stderr
        assert "This is a bug" not in done.stderr
    else:
        assert "Traceback" not in done.stderr
        assert done.stderr.strip().splitlines() == [
            line for line in done.stderr.strip().splitlines() if line.startswith("error: ")]
        assert "This is a bug in hf_pipeline" in done.stderr
