"""The JSON files that make a training output folder explain itself.

- ``training_metrics.json``: per-epoch history (loss, learning rate, throughput, validation
  and dev metrics), the best epoch, how the samples were split over processes.
- ``eval_metrics.json``: the final model (best epoch) on validation, test and the dev set.
- ``run_info.json``: resolved config, library versions, data provenance, base model, hardware.
"""

from __future__ import annotations

import platform
from typing import TYPE_CHECKING, Any

from hf_pipeline.config import to_dict
from hf_pipeline.io import atomic_write_json
from hf_pipeline.provenance import library_versions
from hf_pipeline.train.config import TrainConfig

if TYPE_CHECKING:
    from accelerate import Accelerator

    from hf_pipeline.train.checkpoint import TrainerState

TRAINING_METRICS = "training_metrics.json"
EVAL_METRICS = "eval_metrics.json"
RUN_INFO = "run_info.json"
def hardware(accelerator: Accelerator) -> dict[str, Any]:
    import torch

    device = accelerator.device
    return {"device": str(device),
            "device_name": torch.cuda.get_device_name(device) if device.type == "cuda"
            else platform.processor() or platform.machine(),
            "distributed_type": str(accelerator.distributed_type.value),
            "num_processes": accelerator.num_processes,
            "mixed_precision": accelerator.mixed_precision,
            "torch_threads": torch.get_num_threads()}


def write_outputs(cfg: TrainConfig, accelerator: Accelerator, state: TrainerState,
                  final_metrics: dict[str, Any], info: dict[str, Any], *,
                  wall_seconds: float) -> None:
    """Write the three JSON files (main process only)."""
    if not accelerator.is_main_process:
        return
    out = cfg.output_dir
    kept = next((e for e in state.history if e["epoch"] == state.best_epoch), None)
    atomic_write_json(out / TRAINING_METRICS, {
        "epochs": state.history,
        "best_epoch": state.best_epoch,  # the epoch kept as final/
        "best_validation_macro_f1": kept["validation"]["macro_f1"] if kept else None,
        "top_validation_macro_f1": state.best_macro_f1,  # may be an earlier epoch's
        "epochs_run": state.epoch,
        "stopped_early": state.epoch < cfg.num_epochs,
        "global_step": state.global_step,
        "num_processes": accelerator.num_processes,
        "samples_per_process": [int(p[2]) for p in state.process_totals],
        "train_seconds": sum(e["train_seconds"] for e in state.history),
        "wall_seconds_this_invocation": wall_seconds,
    })
    atomic_write_json(out / EVAL_METRICS, {"model": str(cfg.final_dir),
                                           "best_epoch": state.best_epoch, **final_metrics})
    atomic_write_json(out / RUN_INFO, {"config": to_dict(cfg), "versions": library_versions(),
                                       "hardware": hardware(accelerator), **info})
