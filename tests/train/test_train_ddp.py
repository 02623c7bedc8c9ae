"""Real 2-process data-parallel training on CPU (gloo) through `accelerate launch`.

``--multi_gpu --num_processes 2`` with the script's ``--cpu`` (``Accelerator(cpu=True)``):
``accelerate launch --cpu --num_processes 2`` would quietly start a single process.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_train_together_and_save_once(tmp_path: Path, tiny_data: Path,
                                                    tiny_dev_set: Path,
                                                    tiny_model_dir: Path) -> None:
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu",
           "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
           "--dynamo_backend", "no", "--num_cpu_threads_per_process", "1",
           "--main_process_port", str(free_port()),
           "-m", "hf_pipeline", "-v", "train", "--cpu", "--data", str(tiny_data),
           "--dev-set", str(tiny_dev_set), "--base-model", str(tiny_model_dir),
           "--output", str(out), "--epochs", "2", "--batch-size", "8"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300,
                          cwd=tmp_path)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]

    metrics = json.loads((out / "training_metrics.json").read_text(encoding="utf-8"))
    assert metrics["num_processes"] == 2
    # 64 rows in 8 batches of 8, dealt to 2 processes: 32 rows each per epoch.
    assert metrics["samples_per_process"] == [64, 64]
    assert [e["global_step"] for e in metrics["epochs"]] == [4, 8]
    assert "process 1/2 trained on 64 samples" in log
    assert "process 2/2 trained on 64 samples" in log
    # Written once, by the main process: one save message, one summary, no stray copies.
    assert log.count("Saved final model") == 1
    assert len(re.findall(r"^final model \(epoch \d+\): ", log, flags=re.M)) == 1
    assert sorted(p.name for p in out.iterdir()) == [
        "cache", "checkpoints", "eval_metrics.json", "final", "run_info.json",
        "training_metrics.json"]
    # Every process saved its own RNG state in the checkpoint (load_state restores both).
    last = sorted((out / "checkpoints").iterdir())[-1]
    assert {p.name for p in last.glob("random_states_*.pkl")} == {
        "random_states_0.pkl", "random_states_1.pkl"}
    info = json.loads((out / "run_info.json").read_text(encoding="utf-8"))
    assert info["hardware"]["distributed_type"] == "MULTI_CPU"
    # Evaluation gathered the full validation split from both shards, without duplicates.
    assert json.loads((out / "eval_metrics.json").read_text())["validation"]["num_samples"] == 16
