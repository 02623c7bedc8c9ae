"""What every stage of ``hf-pipeline run`` is given (``Context``: the run's config, its Hub
and what the stages before produced) and what a stage is (``Stage``: inputs, run, valid)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hf_pipeline.pipeline.config import RunConfig
from hf_pipeline.pipeline.hub import HubSession

WORK_DIR = "pipeline"  # OUTPUT/pipeline: files the run writes for itself
# Where a stage's folder is when its recorded outputs do not say (calibrate updates the
# release; training writes final/ inside its output folder).
FOLDER_OF = {"calibrate": "release", "train": "train/final"}


@dataclass
class Context:
    """One run: its config, its Hub, and what each stage produced (this run or recorded)."""

    cfg: RunConfig
    hub: HubSession
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # shown on the stage's end line

    @property
    def out(self) -> Path:
        return self.cfg.pipeline.output

    def path(self, name: str) -> Path:
        """Where stage ``name`` writes its output (asked by that stage only)."""
        return self.out / name

    def folder(self, stage: str, outputs: dict[str, Any] | None = None) -> Path:
        """The folder stage ``stage`` returned (its outputs' "folder": the recorded ones, or
        ``outputs`` when a stage's validity is checked); for a run state written before
        stages returned it, where that stage writes."""
        folder = (self.outputs[stage] if outputs is None else outputs).get("folder")
        return Path(folder) if folder else self.path(FOLDER_OF.get(stage, stage))

    def repo(self, kind: str) -> str:
        p = self.cfg.pipeline
        name = {"dataset": p.dataset_repo, "model": p.model_repo, "space": p.space_repo,
                "feedback": p.feedback_name}[kind]
        return p.repo_id(name, self.hub.namespace)

    def api(self) -> Any:
        from huggingface_hub import HfApi

        return HfApi()


@dataclass(frozen=True)
class Stage:
    name: str
    title: str
    inputs: Callable[[Context], dict[str, Any]]
    run: Callable[[Context, bool], dict[str, Any]]  # (context, resume) -> outputs
    valid: Callable[[Context, dict[str, Any]], bool]
    # Same inputs, same outputs: a rerun after lost outputs changes nothing downstream.
    deterministic: bool = False
