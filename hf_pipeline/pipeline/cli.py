"""``hf-pipeline run``: the whole cloud-first flow in one command.

generate -> publish the dataset (tagged) -> base model on the Hub -> train from the Hub
dataset with Accelerate -> export (INT8, gated on the Hub data) -> release -> calibrate ->
publish the model (tagged) -> publish the Space; on the local Hub unless --hub is given.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from hf_pipeline.config import help_default
from hf_pipeline.pipeline.config import PipelineConfig
from hf_pipeline.pipeline.stages import STAGE_NAMES, Stage

# flag -> (section, field, type, help)
_OPTIONS: tuple[tuple[str, str, str, Any, str], ...] = (
    ("--output", "pipeline", "output", Path, "output folder (data, train, export, release, "
     "the local Hub's data, logs, state)"),
    ("--hub", "pipeline", "hub", str, "a Hub URL, e.g. https://huggingface.co (token from "
     "HF_TOKEN or `hf auth login`); 'local' = the project's Hub server, started for the run"),
    ("--namespace", "pipeline", "namespace", str, "user or organisation of the repos "
     "(default: the token's account, from whoami)"),
    ("--num-processes", "pipeline", "num_processes", int, "training processes; > 1 trains "
     "through `accelerate launch` (CPU: gloo DDP; GPUs: one per process)"),
    ("--accelerate-config", "pipeline", "accelerate_config", Path,
     "train through `accelerate launch --config_file FILE` (multi-GPU, multi-node)"),
    ("--dataset-repo", "pipeline", "dataset_repo", str, "dataset repo name or id"),
    ("--dataset-tag", "pipeline", "dataset_tag", str, "dataset version tag"),
    ("--model-repo", "pipeline", "model_repo", str, "model repo name or id"),
    ("--model-tag", "pipeline", "model_tag", str, "model version tag (version.txt gets it "
     "without the v)"),
    ("--space-repo", "pipeline", "space_repo", str, "Space repo name or id"),
    ("--samples-per-intent", "generate", "samples_per_intent", int, "generated samples per "
     "intent"),
    ("--seed", "generate", "seed", int, "generation seed"),
    ("--epochs", "train", "num_epochs", int, "training epochs"),
    ("--learning-rate", "train", "learning_rate", float, "peak learning rate"),
    ("--base-model", "train", "base_model", str, "Hub model id, or a folder (mirrored on the "
     "local Hub)"),
    ("--mixed-precision", "train", "mixed_precision", str, "no, fp16 or bf16"),
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "run", help="run the whole flow, data to Hub model and Space (local Hub by default)",
        description="Generate, publish the dataset, train from the Hub with Accelerate, export "
        "and gate INT8, release, calibrate, publish the model and its Space. By default on "
        "the project's local Hub (started for the run, whatever tokens the environment "
        "holds); --hub URL for a real one. Finished stages are skipped on a rerun, an "
        "interrupted training resumes; a changed option reruns its stage and what follows.")
    p.add_argument("--config", type=Path, help="YAML/JSON file with sections pipeline, "
                   "generate, train, export, calibrate (each the options of that stage)")
    from hf_pipeline.generate.config import GenerateConfig
    from hf_pipeline.train.config import TrainConfig

    classes = {"pipeline": PipelineConfig, "generate": GenerateConfig, "train": TrainConfig}
    for flag, section, field, kind, text in _OPTIONS:
        p.add_argument(flag, dest=f"{section}.{field}", type=kind, default=None,
                       metavar=flag[2:].upper(),
                       help=text + help_default(classes[section], field))
    p.add_argument("--public", dest="pipeline.public", action="store_true", default=None,
                   help="create the repos public (on a real Hub they are private otherwise)")
    p.add_argument("--allow-small", dest="generate.allow_small", action="store_true",
                   default=None, help="allow fewer than 1000 samples per intent (a quick try, "
                   "not a training set)")
    p.add_argument("--from", dest="from_stage", choices=STAGE_NAMES, metavar="STAGE",
                   help=f"rerun from this stage on: {', '.join(STAGE_NAMES)}")
    p.add_argument("--serve", action="store_true",
                   help="then serve the demo (the Hub stays up) until Ctrl-C")
    p.add_argument("--port", type=int, default=7860, help="demo port with --serve "
                   "(default 7860)")
    p.set_defaults(func=run)


class LineReporter:
    """One line per stage on stderr, where the stages' progress bars are."""

    def __init__(self, total: int) -> None:
        self.total = total

    def _say(self, index: int, stage: Stage, text: str) -> None:
        print(f"[{index + 1}/{self.total}] {stage.name}: {text}", file=sys.stderr, flush=True)

    def started(self, index: int, stage: Stage, *, resume: bool, reason: str) -> None:
        why = "resuming" if resume else reason if reason not in ("", "new") else ""
        self._say(index, stage, f"{stage.title}{f' ({why})' if why else ''} ...")

    def skipped(self, index: int, stage: Stage) -> None:
        self._say(index, stage, "skipped (done, same inputs)")

    def finished(self, index: int, stage: Stage, seconds: float, notes: list[str]) -> None:
        from hf_pipeline.pipeline.summary import format_seconds

        extra = f" ({'; '.join(notes)})" if notes else ""
        self._say(index, stage, f"done in {format_seconds(seconds)}{extra}")

    def failed(self, index: int, stage: Stage, seconds: float) -> None:
        from hf_pipeline.pipeline.summary import format_seconds

        self._say(index, stage, f"FAILED after {format_seconds(seconds)}")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM as Ctrl-C: the Hub server and training are stopped


def run(args: argparse.Namespace) -> int:
    import logging

    from hf_pipeline.pipeline.config import load_run_config
    from hf_pipeline.pipeline.logs import quiet_library_noise
    from hf_pipeline.pipeline.runner import run_pipeline
    from hf_pipeline.pipeline.summary import format_summary

    overrides: dict[str, dict[str, Any]] = {}
    for key, value in vars(args).items():
        if "." in key and value is not None:
            section, field = key.split(".", 1)
            overrides.setdefault(section, {})[field] = value
    cfg = load_run_config(args.config, overrides)
    quiet_library_noise(debug=logging.getLogger("hf_pipeline").isEnabledFor(logging.DEBUG))
    previous = signal.signal(signal.SIGTERM, _interrupt)
    serve = _serve(args.port) if args.serve else None
    try:
        result = run_pipeline(cfg, from_stage=args.from_stage,
                              reporter=LineReporter(len(STAGE_NAMES)), while_hub_is_up=serve)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if serve is None:
        print(format_summary(result))
    return 0


def _serve(port: int) -> Any:
    def serve(result: Any) -> None:
        from hf_pipeline.pipeline.summary import format_summary
        from hf_pipeline.publish.space import space_app
        from hf_pipeline.publish.space_cli import load_app

        print(format_summary(result), flush=True)
        model = result.outputs["publish-model"]
        print(f"serving the demo of {model['repo_id']}@{model['tag']} on "
              f"http://127.0.0.1:{port} (Ctrl-C stops it and the Hub)", flush=True)
        load_app(space_app()).main(["--model", f"{model['repo_id']}@{model['tag']}",
                                    "--host", "127.0.0.1", "--port", str(port)])
    return serve
