"""Stop a run whose loss stops being a number, before a diverged model is saved.

Once the loss is NaN or infinite the weights follow, and a run that kept going would write a
``final/`` that predicts one class, and exit 0. ``Divergence`` notes the first step whose loss
was not finite on the device (no host sync per step), and ``check`` runs before anything is
saved (each checkpoint, the end of each epoch, which evaluates and keeps the best model) and
at each logging step, which syncs anyway. Every process takes part in the check and gets the
same answer, so under data parallelism all stop together and none waits for the others.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from hf_pipeline.errors import CheckFailedError
from hf_pipeline.train import checkpoint as ckpt

if TYPE_CHECKING:
    from hf_pipeline.train.checkpoint import TrainerState
    from hf_pipeline.train.config import TrainConfig
    from hf_pipeline.train.loop import Run


class TrainingDivergedError(CheckFailedError, ArithmeticError):
    """The training loss became NaN or infinite; nothing was saved after it."""


class Divergence:
    """The first step (and its loss) at which this process saw a non-finite loss."""

    def __init__(self, device: torch.device) -> None:
        self.step = torch.full((), -1, dtype=torch.float64, device=device)
        self.loss = torch.zeros((), dtype=torch.float64, device=device)

    def record(self, loss: torch.Tensor, *, step: int) -> None:
        first = ~torch.isfinite(loss.detach()) & (self.step < 0)
        self.step = torch.where(first, float(step), self.step)
        self.loss = torch.where(first, loss.detach().double(), self.loss)

    def check(self, cfg: TrainConfig, run: Run, state: TrainerState) -> None:
        """Raise TrainingDivergedError on every process if any process saw a bad loss."""
        seen = run.accelerator.gather(torch.stack([self.step, self.loss]).unsqueeze(0))
        bad = [(step, loss) for step, loss in seen.reshape(-1, 2).cpu().tolist() if step >= 0]
        if bad:
            step, loss = min(bad)
            raise TrainingDivergedError(diverged_message(cfg, state, int(step), loss))


def diverged_message(cfg: TrainConfig, state: TrainerState, step: int, loss: float) -> str:
    latest = ckpt.latest_checkpoint(cfg.checkpoints_dir)
    kept = (f"the last good checkpoint, {latest}, is kept" if latest is not None
            else "no checkpoint had been saved yet")
    value = "nan" if math.isnan(loss) else f"{loss:g}"
    return (f"training diverged: the loss was {value} at step {step} (epoch {state.epoch + 1}), "
            f"so the run stopped without writing {cfg.final_dir}; {kept}. Fix: train again in "
            f"another --output folder with {' or '.join(_remedies(cfg))}.")


def _remedies(cfg: TrainConfig) -> list[str]:
    """The options that tame a diverging run, with their values in this one."""
    remedies = [f"a smaller --learning-rate (now {cfg.learning_rate:g})",
                "--max-grad-norm 1.0 (now 0: no clipping)" if cfg.max_grad_norm == 0
                else f"a smaller --max-grad-norm (now {cfg.max_grad_norm:g})"]
    if cfg.consistency_weight and cfg.typo_twins:
        remedies.append(f"a smaller --consistency-weight (now {cfg.consistency_weight:g})")
    if cfg.mixed_precision == "fp16":
        remedies.append("--mixed-precision bf16 or no (fp16 overflows)")
    return remedies
