"""Run ``train`` in this process, or through ``accelerate launch`` when more than one process
(or an accelerate config file) is asked for.

One process trains in-process: no second interpreter importing torch, and the data already
in the ``datasets`` cache is reused. Several processes need ``accelerate launch``; on CPU,
``--multi_gpu --num_processes N`` with train's ``--cpu`` is what gives N real gloo processes
(``--cpu --num_processes N`` silently starts one). Multi-GPU and multi-node runs are the same
command with accelerate's own settings: pass a file from ``accelerate config``.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from hf_pipeline.config import to_dict
from hf_pipeline.errors import CheckFailedError
from hf_pipeline.hub.process import child_command, python_path_env, stop_child
from hf_pipeline.io import atomic_write_json
from hf_pipeline.pipeline.logs import QUIET_ENV
from hf_pipeline.train.config import TrainConfig

log = logging.getLogger(__name__)

TRAIN_CONFIG_FILE = "train_config.json"


def uses_launcher(num_processes: int, accelerate_config: Path | None) -> bool:
    return num_processes > 1 or accelerate_config is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch_args(cfg: TrainConfig, config_file: Path, *, num_processes: int,
                accelerate_config: Path | None, cuda_devices: int) -> list[str]:
    """The arguments of ``python -m accelerate.commands.launch`` for this training."""
    args: list[str] = []
    if accelerate_config is not None:
        args += ["--config_file", str(accelerate_config)]
    if num_processes > 1:
        args += ["--multi_gpu", "--num_processes", str(num_processes), "--num_machines", "1",
                 "--main_process_port", str(_free_port())]
    if accelerate_config is None:
        args += ["--mixed_precision", cfg.mixed_precision, "--dynamo_backend", "no"]
        if cfg.cpu or cuda_devices == 0:
            threads = max(1, (os.cpu_count() or 1) // num_processes)
            args += ["--num_cpu_threads_per_process", str(threads)]
    return [*args, "-m", "hf_pipeline", "train", "--config", str(config_file)]


def cuda_device_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def run_training(cfg: TrainConfig, *, num_processes: int = 1,
                 accelerate_config: Path | None = None, workdir: Path) -> Path:
    """Train ``cfg``; returns its output folder."""
    if not uses_launcher(num_processes, accelerate_config):
        from hf_pipeline.train.loop import train

        return train(cfg)
    cuda = cuda_device_count()
    if num_processes > 1 and cuda == 0 and not cfg.cpu:
        from dataclasses import replace

        cfg = replace(cfg, cpu=True)  # N CPU processes: gloo DDP
    config_file = atomic_write_json(workdir / TRAIN_CONFIG_FILE, to_dict(cfg))
    args = launch_args(cfg, config_file, num_processes=num_processes,
                       accelerate_config=accelerate_config, cuda_devices=cuda)
    command = child_command("accelerate.commands.launch", args)
    log.info("accelerate launch %s", " ".join(args))
    # The environment carries the Hub's URL and token (never argv, which `ps` shows).
    env = {**os.environ, **python_path_env(), "TOKENIZERS_PARALLELISM": "false",
           QUIET_ENV: "1"}
    # Its output goes with the run's progress (stderr); stdout is the run's summary.
    process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=_stderr())
    try:
        code = process.wait()
    except BaseException:  # Ctrl-C or an error here: the processes must not outlive us
        stop_child(process, signal.SIGINT, grace=30)
        raise
    if code != 0:
        raise CheckFailedError(f"training failed: `accelerate launch` exited with code {code}. "
                               "Its output is above; rerun `hf-pipeline run` to resume from the "
                               "last checkpoint once the cause is fixed.")
    return cfg.output_dir


def _stderr() -> int | None:
    """This process's stderr as a file descriptor (None: inherit stdout, e.g. when stderr
    has been replaced by an object without one)."""
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return None

