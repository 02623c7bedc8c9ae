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

from hf_pipeline.cli_options import (
    DeprecatedOption,
    add_json_option,
    add_model_option,
    add_output_option,
    add_visibility_option,
    print_result,
)
from hf_pipeline.config import help_default
from hf_pipeline.io import check_outputs, folder_output
from hf_pipeline.limits import check_listen
from hf_pipeline.pipeline.config import PipelineConfig
from hf_pipeline.pipeline.context import Stage
from hf_pipeline.pipeline.stages import STAGE_NAMES

SERVE_HOST = "127.0.0.1"  # run --serve: the demo, for this machine only

# flag -> (section, field, type, help)
_OPTIONS: tuple[tuple[str, str, str, Any, str], ...] = (
    ("--hub", "pipeline", "hub", str, "a Hub URL, e.g. https://huggingface.co (token from "
     "HF_TOKEN or `hf auth login`); 'local' = the project's Hub server, started for the run"),
    ("--namespace", "pipeline", "namespace", str, "user or organisation of the repos "
     "(default: the token's account, from whoami)"),
    ("--num-processes", "pipeline", "num_processes", int, "training processes; > 1 trains "
     "through `accelerate launch` (CPU: gloo DDP; GPUs: one per process)"),
    ("--accelerate-config", "pipeline", "accelerate_config", Path,
     "train through `accelerate launch --config_file FILE` (multi-GPU, multi-node)"),
    ("--real-data", "pipeline", "real_data", str, "reviewed requests (requests.jsonl, its "
     "folder, or NS/NAME@TAG on the run's Hub): train mixes in their 'train' rows, calibrate "
     "fits T on their 'calibration' rows; changing it reruns from training"),
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
    add_output_option(p, dest="pipeline.output", metavar="DIR", help="output folder (data, "
                      "train, export, release, the local Hub's data, logs, state)"
                      + help_default(PipelineConfig, "output"))
    for flag, section, field, kind, text in _OPTIONS:
        p.add_argument(flag, dest=f"{section}.{field}", type=kind, default=None,
                       metavar=flag[2:].upper(),
                       help=text + help_default(classes[section], field))
    _add_repo_options(p)
    _add_feedback_options(p)
    p.add_argument("--allow-small", dest="generate.allow_small", action="store_true",
                   default=None, help="allow fewer than 1000 samples per intent (a quick try, "
                   "not a training set)")
    p.add_argument("--from", dest="from_stage", choices=STAGE_NAMES, metavar="STAGE",
                   help=f"rerun from this stage on: {', '.join(STAGE_NAMES)}")
    p.add_argument("--serve", action="store_true",
                   help="then serve the demo (the Hub stays up) until Ctrl-C")
    p.add_argument("--port", type=int, default=7860, help="demo port with --serve "
                   "(default 7860)")
    add_json_option(p, result="the summary")
    p.set_defaults(func=run)


def _add_repo_options(p: argparse.ArgumentParser) -> None:
    """The repos the run publishes, as NAME[@TAG] (the model's is what `predict --model`
    and `demo --model` take afterwards); a name without a namespace goes in --namespace."""
    d = PipelineConfig()
    p.add_argument("--dataset", metavar="NAME[@TAG]", help="dataset repo and version tag; "
                   f"@TAG alone changes the tag only (default: {d.dataset_repo}@{d.dataset_tag})")
    add_model_option(p, required=False, accepts="the model repo the run publishes and its "
                     "version tag, NAME[@TAG] (version.txt gets the tag without its v); @TAG "
                     f"alone changes the tag only (default: {d.model_repo}@{d.model_tag})")
    p.add_argument("--space", metavar="NAME", help=f"Space repo (default: {d.space_repo})")
    add_visibility_option(p, default=None, what="the repos on a real Hub (the local Hub's "
                          "are public)",
                          default_text="private", deprecated=["--public"])
    for flag, field, use in (("--dataset-repo", "dataset_repo", "--dataset NAME"),
                             ("--dataset-tag", "dataset_tag", "--dataset @TAG"),
                             ("--model-repo", "model_repo", "--model NAME"),
                             ("--model-tag", "model_tag", "--model @TAG"),
                             ("--space-repo", "space_repo", "--space NAME")):
        p.add_argument(flag, dest=f"pipeline.{field}", action=DeprecatedOption, use=use)


def _add_feedback_options(p: argparse.ArgumentParser) -> None:
    d = PipelineConfig()
    p.add_argument("--feedback", dest="pipeline.feedback", action="store_true", default=None,
                   help="turn on the Space's feedback control: its rows go to a dataset repo "
                   "(default: the Space's name + -feedback), created if missing; on a real "
                   "Hub the Space gets the write token in $SQRY_NL_FEEDBACK_TOKEN as a secret")
    p.add_argument("--feedback-repo", dest="pipeline.feedback_repo", metavar="NAME",
                   help="the feedback dataset repo, NAME or NS/NAME (implies --feedback)")
    p.add_argument("--feedback-every", dest="pipeline.feedback_every_minutes", type=float,
                   metavar="MINUTES", help="commit the feedback rows every MINUTES "
                   f"(default {d.feedback_every_minutes:g})")


def repo_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """PipelineConfig fields from --dataset, --model, --space and --visibility."""
    out: dict[str, Any] = {}
    for noun in ("dataset", "model"):
        spec = getattr(args, noun)
        if spec is not None:
            name, at, tag = spec.partition("@")
            out.update({f"{noun}_repo": name} if name else {})
            out.update({f"{noun}_tag": tag} if at else {})
    if args.space is not None:
        out["space_repo"] = args.space
    if args.visibility is not None:
        out["public"] = args.visibility == "public"
    if getattr(args, "pipeline.feedback_repo", None) is not None:
        out["feedback"] = True
    return out


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

    overrides: dict[str, dict[str, Any]] = {}
    for key, value in vars(args).items():
        if "." in key and value is not None:
            section, field = key.split(".", 1)
            overrides.setdefault(section, {})[field] = value
    overrides.setdefault("pipeline", {}).update(repo_overrides(args))
    cfg = load_run_config(args.config, overrides)
    check_outputs({"--output": folder_output(cfg.pipeline.output)}, inputs={
        "--config": args.config, "--accelerate-config": cfg.pipeline.accelerate_config,
        **cfg.generate.inputs, "--base-model": cfg.train.base_model,
        "train.dev_set": cfg.train.inputs["--dev-set"], "calibrate.dev_set": cfg.calibrate.dev_set,
        "--real-data": cfg.pipeline.real_data})
    _check_real_data(cfg.pipeline.real_data)
    if args.serve:  # the demo starts after the whole run: its address is checked first
        check_listen(SERVE_HOST, args.port)
    quiet_library_noise(debug=logging.getLogger("hf_pipeline").isEnabledFor(logging.DEBUG))
    previous = signal.signal(signal.SIGTERM, _interrupt)
    serve = _serve(args, cfg.pipeline.feedback_every_minutes) if args.serve else None
    try:
        result = run_pipeline(cfg, from_stage=args.from_stage,
                              reporter=LineReporter(len(STAGE_NAMES)), while_hub_is_up=serve)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if serve is None:
        _print_summary(args, result)
    return 0


def _check_real_data(spec: str | None) -> None:
    """A local requests dataset is read now: a bad one stops the run before any work (a Hub
    one is read by training, once the run's Hub is up)."""
    from hf_pipeline.repo_ids import is_hub_spec

    if spec is not None and not is_hub_spec(spec):
        from hf_pipeline.feedback.requests import load_requests

        load_requests(spec)


def _print_summary(args: argparse.Namespace, result: Any) -> None:
    from hf_pipeline.pipeline.summary import format_summary, summary_dict

    print_result(args, summary_dict(result), lambda: format_summary(result))
    sys.stdout.flush()


def _serve(args: argparse.Namespace, every: float) -> Any:
    port = args.port

    def serve(result: Any) -> None:
        from hf_pipeline.publish.space import space_app
        from hf_pipeline.publish.space_cli import load_app

        _print_summary(args, result)
        model = result.outputs["publish-model"]
        spec = f"{model['repo_id']}@{model['tag']}"
        feedback = result.outputs["publish-space"].get("feedback_repo")
        if feedback:  # the app reads its token and repo from its environment
            import os

            from hf_pipeline.publish.feedback_repo import FeedbackSettings
            from hf_pipeline.publish.space_cli import demo_feedback

            os.environ.update(demo_feedback(FeedbackSettings(feedback, every)))
        print(f"serving the demo of {spec} on http://{SERVE_HOST}:{port} (Ctrl-C stops it and "
              "the Hub)", file=sys.stderr if args.json else sys.stdout, flush=True)
        load_app(space_app()).main(["--model", spec, "--host", SERVE_HOST, "--port", str(port)])
    return serve
