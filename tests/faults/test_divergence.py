"""Cause: a training run whose loss became NaN still wrote a model and exited 0 (issue 24).

The loop (``hf_pipeline.train.divergence``) notes the first non-finite loss and checks before
anything is saved, across every process. The cases: a loss that turns NaN, +inf or -inf at
the first step, after an epoch's checkpoint, and mid-epoch between step checkpoints (with
gradient accumulation too), forced by a poisoned loss function; a base model whose weights
hold NaN or inf, with nothing patched; and two data-parallel processes where only one sees a
NaN. Each checks a non-zero exit, no traceback, the step and the option to change named, no
``final/`` written and the last checkpoint intact.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from faults.poison import poisoned_functional
from faults.refusal import assert_refused

STEPS_PER_EPOCH = 2  # the tiny dataset.json: 16 training rows in batches of 8


def train_argv(data: Path, model: Path, out: Path, *extra: Any) -> list[Any]:
    return ["train", "--data", data, "--base-model", model, "-o", out, "--epochs", "3",
            "--batch-size", "8", "--cpu", "--dev-set", "none", *extra]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def checkpoint_steps(out: Path) -> list[int]:
    return [json.loads((p / "trainer_state.json").read_text())["global_step"]
            for p in sorted((out / "checkpoints").glob("step_*"))]


def assert_stopped(out: Path, text: str, *, step: int, last_good: int | None) -> None:
    assert f"at step {step} " in text and "--learning-rate" in text, text
    assert not (out / "final").exists()
    assert not (out / "eval_metrics.json").exists()
    if last_good is None:
        assert "no checkpoint had been saved yet" in text
        assert checkpoint_steps(out) == []
        return
    assert checkpoint_steps(out)[-1] == last_good
    last = sorted((out / "checkpoints").glob("step_*"))[-1]
    assert f"the last good checkpoint, {last}, is kept" in text
    from safetensors.torch import load_file

    weights = load_file(str(last / "model.safetensors"))
    assert all(t.isfinite().all() for t in weights.values())


# (name, batches with a real loss, extra options, step named, last good checkpoint)
WHEN = [
    ("at the first step", 0, [], 1, None),
    ("after the first epoch's checkpoint", STEPS_PER_EPOCH, [], STEPS_PER_EPOCH + 1,
     STEPS_PER_EPOCH),
    # Batches of 4: four steps an epoch, so the second one's check comes before a checkpoint.
    ("mid-epoch between step checkpoints", 1, ["--checkpointing-steps", "1",
                                               "--batch-size", "4"], 2, 1),
    ("with gradient accumulation", 2, ["--gradient-accumulation-steps", "2"], 2, 1),
]
VALUES = [float("nan"), float("inf"), float("-inf")]
CASES = [(w, v) for w in WHEN for v in VALUES]


@pytest.mark.parametrize(("when", "value"), CASES, ids=[f"{w[0]}, {v}" for w, v in CASES])
def test_a_non_finite_loss_stops_the_run_keeping_the_last_good_checkpoint(
        when: tuple[str, int, list[str], int, int | None], value: float, tmp_path: Path,
        tiny_data: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from hf_pipeline.train import loop

    _, real, extra, step, last_good = when
    monkeypatch.setattr(loop, "F", poisoned_functional(after_calls=real, value=value))
    out = tmp_path / "run"
    text = assert_refused(train_argv(tiny_data, tiny_model_dir, out, *extra), capsys,
                          names=["training diverged", str(out / "final")], code=1)
    assert_stopped(out, text, step=step, last_good=last_good)
    assert ("the loss was nan" if value != value else f"the loss was {value:g}") in text


@pytest.mark.parametrize("value", VALUES, ids=str)
def test_a_base_model_with_non_finite_weights_is_stopped_at_the_first_step(
        value: float, tmp_path: Path, tiny_data: Path, tiny_model_dir: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing patched: the real loss of a model whose classifier bias is not finite."""
    from safetensors.torch import load_file, save_file

    model = Path(shutil.copytree(tiny_model_dir, tmp_path / "model"))
    weights = load_file(str(model / "model.safetensors"))
    weights["classifier.bias"][0] = value
    save_file(weights, str(model / "model.safetensors"), metadata={"format": "pt"})
    out = tmp_path / "run"
    text = assert_refused(train_argv(tiny_data, model, out), capsys,
                          names=["training diverged", "--max-grad-norm"], code=1)
    assert_stopped(out, text, step=1, last_good=None)


@pytest.mark.slow
def test_two_processes_stop_together_when_only_one_sees_a_nan(
        tmp_path: Path, tiny_data: Path, tiny_model_dir: Path) -> None:
    """Only process 2's loss turns NaN (after the first epoch): the flag is shared, so both
    stop at the same check and say so (process 2 waits a moment before exiting, after which
    the launcher stops the rest); without it process 1 would be waiting in the next
    collective, and be stopped without a word."""
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu",
           "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
           "--dynamo_backend", "no", "--num_cpu_threads_per_process", "1",
           "--main_process_port", str(free_port()), str(Path(__file__).with_name(
               "poison.py")), "--rank", "1", "--after", "1",
           *map(str, train_argv(tiny_data, tiny_model_dir, out))]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240,
                          cwd=tmp_path)
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0, log[-3000:]
    # 2 processes x 8 rows per batch of 8: one step per process per epoch here.
    assert log.count("training diverged: the loss was nan at step 2 ") == 2, log[-3000:]
    assert "hf_pipeline/" not in log  # no frame of ours in a traceback (the launcher's own
    # report of a failed process is its business)
    assert not (out / "final").exists()
    assert checkpoint_steps(out) == [1]
