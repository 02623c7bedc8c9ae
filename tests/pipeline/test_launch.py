"""Training in-process for one process, through `accelerate launch` for more."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hf_pipeline.pipeline.launch import TRAIN_CONFIG_FILE, launch_args, run_training, uses_launcher
from hf_pipeline.train.config import TrainConfig


def test_one_process_trains_in_process() -> None:
    assert not uses_launcher(1, None)
    assert uses_launcher(2, None) and uses_launcher(1, Path("accelerate.yaml"))


def test_cpu_processes_are_real_ddp_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    cfg = TrainConfig(data="me/data", output_dir=Path("out/train"), cpu=True)
    args = launch_args(cfg, Path("cfg.json"), num_processes=2, accelerate_config=None,
                       cuda_devices=0)
    # --cpu --num_processes 2 would silently start one process: --multi_gpu it is.
    assert args[:4] == ["--multi_gpu", "--num_processes", "2", "--num_machines"]
    assert args[args.index("--num_cpu_threads_per_process") + 1] == "2"
    assert args[-5:] == ["-m", "hf_pipeline", "train", "--config", "cfg.json"]


def test_an_accelerate_config_decides_the_rest() -> None:
    cfg = TrainConfig(data="me/data", output_dir=Path("out/train"))
    args = launch_args(cfg, Path("cfg.json"), num_processes=1,
                       accelerate_config=Path("multi_node.yaml"), cuda_devices=8)
    assert args == ["--config_file", "multi_node.yaml", "-m", "hf_pipeline", "train",
                    "--config", "cfg.json"]


@pytest.mark.slow
def test_two_processes_through_the_launcher(tmp_path: Path, tiny_model_dir: Path) -> None:
    from hf_pipeline.generate import GenerateConfig, generate

    data = generate(GenerateConfig(output=tmp_path / "data", samples_per_intent=20,
                                   allow_small=True, write_dataset_dict=False))
    cfg = TrainConfig(data=str(data), output_dir=tmp_path / "train", dev_set="none",
                      base_model=str(tiny_model_dir), num_epochs=1, batch_size=8)
    out = run_training(cfg, num_processes=2, workdir=tmp_path)
    metrics = json.loads((out / "training_metrics.json").read_text())
    assert metrics["num_processes"] == 2 and len(metrics["samples_per_process"]) == 2
    info = json.loads((out / "run_info.json").read_text())
    assert info["hardware"]["distributed_type"] == "MULTI_CPU"
    assert info["config"]["cpu"] is True  # no GPU here: the CPU processes use gloo
    assert json.loads((tmp_path / TRAIN_CONFIG_FILE).read_text())["num_epochs"] == 1
