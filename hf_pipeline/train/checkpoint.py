"""Checkpoints: Accelerate's ``save_state``/``load_state`` plus the loop's own progress.

A checkpoint is ``checkpoints/step_NNNNNNN/`` holding Accelerate's state (model, optimizer,
scheduler, RNG of every process) and ``trainer_state.json`` (epoch, batches done, best
score, history). ``trainer_state.json`` is written last, atomically, so a checkpoint without
it was interrupted while saving and is ignored on resume.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hf_pipeline.errors import ConfigError, DataFileError, artifact_errors
from hf_pipeline.io import atomic_write_json, read_json_object

if TYPE_CHECKING:
    import torch
    from accelerate import Accelerator

log = logging.getLogger(__name__)

STATE_FILE = "trainer_state.json"
WRITTEN_BY = "`hf-pipeline train` (a checkpoint)"
DELETE_AND_RESUME = ("delete this checkpoint folder (written by `hf-pipeline train`) and resume "
                     "again: the one before it is used.")
PREFIX = "step_"
# Config fields that may differ between a run and its resumption.
RESUMABLE_CHANGES = frozenset({"resume", "output_dir", "report_to", "logging_steps",
                               "keep_checkpoints", "checkpointing_steps"})


@dataclasses.dataclass
class TrainerState:
    """Where the loop is; everything needed to continue exactly where it stopped.

    ``process_totals`` holds, per process, [summed loss this epoch, batches this epoch,
    samples seen in the whole run]: each process restores its own entry.
    """

    config: dict[str, Any]
    epoch: int = 0
    batches_in_epoch: int = 0
    epoch_train_seconds: float = 0.0
    global_step: int = 0
    best_macro_f1: float | None = None
    best_epoch: int | None = None
    epochs_without_improvement: int = 0
    history: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    process_totals: list[list[float]] = dataclasses.field(default_factory=list)
    # Content hash of the splits trained and evaluated on; a resume must see the same data.
    data_sha256: str | None = None

    @classmethod
    def from_file(cls, path: Path) -> TrainerState:
        data = read_json_object(path, fix=DELETE_AND_RESUME)
        try:
            return cls(**data)
        except TypeError as e:
            raise DataFileError(path, f"unreadable trainer state ({e}).",
                                fix=DELETE_AND_RESUME) from None


def checkpoint_dir(root: Path, step: int) -> Path:
    return root / f"{PREFIX}{step:07d}"


def complete_checkpoints(root: Path) -> list[Path]:
    """Checkpoints with a trainer state, oldest first."""
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir()
             if p.is_dir() and p.name.startswith(PREFIX) and (p / STATE_FILE).is_file()]
    return sorted(found, key=lambda p: int(p.name[len(PREFIX):]))


def latest_checkpoint(root: Path) -> Path | None:
    found = complete_checkpoints(root)
    return found[-1] if found else None


def save_checkpoint(accelerator: Accelerator, state: TrainerState, root: Path, *,
                    keep: int) -> Path:
    """``save_state`` on every process (each saves its RNG), then the state on the main one."""
    path = checkpoint_dir(root, state.global_step)
    accelerator.save_state(str(path))
    if accelerator.is_main_process:
        atomic_write_json(path / STATE_FILE, dataclasses.asdict(state))
        for old in complete_checkpoints(root)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
        log.info("Saved checkpoint %s", path)
    accelerator.wait_for_everyone()
    return path


def check_same_run(saved: dict[str, Any], current: dict[str, Any], where: Path) -> None:
    """Resuming with other hyperparameters would not end where the original run would."""
    changed = sorted(k for k in set(saved) | set(current)
                     if k not in RESUMABLE_CHANGES and saved.get(k) != current.get(k))
    if changed:
        details = ", ".join(f"{k}: {saved.get(k)!r} -> {current.get(k)!r}" for k in changed)
        raise ConfigError(f"--resume: the options differ from the run saved in {where}: "
                          f"{details}. Fix: resume with the original options, or start a new "
                          "run in another --output folder.")


def load_checkpoint(accelerator: Accelerator, path: Path, current_config: dict[str, Any]
                    ) -> TrainerState:
    state = TrainerState.from_file(path / STATE_FILE)
    check_same_run(state.config, current_config, path)
    with artifact_errors(path, written_by=WRITTEN_BY, fix=DELETE_AND_RESUME):
        accelerator.load_state(str(path))
    if accelerator.is_main_process:
        log.info("Resumed from %s (epoch %d, batch %d, step %d)", path, state.epoch + 1,
                 state.batches_in_epoch, state.global_step)
    return state


def save_model(accelerator: Accelerator, model: torch.nn.Module, tokenizer: Any,
               out_dir: Path) -> None:
    """The unwrapped model (safetensors) + tokenizer, written once, swapped in atomically."""
    state_dict = accelerator.get_state_dict(model)  # every process: gathers sharded weights
    if accelerator.is_main_process:
        tmp = out_dir.with_name(f".{out_dir.name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        accelerator.unwrap_model(model).save_pretrained(tmp, state_dict=state_dict,
                                                        safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        replace_dir(tmp, out_dir)
    accelerator.wait_for_everyone()


def replace_dir(src: Path, dst: Path) -> None:
    """Move ``src`` to ``dst``, replacing it; the old copy is removed only after the move."""
    old = dst.with_name(f".{dst.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if dst.exists():
        dst.rename(old)
    src.rename(dst)
    shutil.rmtree(old, ignore_errors=True)


def copy_model_dir(src: Path, dst: Path) -> None:
    tmp = dst.with_name(f".{dst.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp)
    replace_dir(tmp, dst)
