"""The stages of ``hf-pipeline run``, each three small functions over the run's ``Context``:

- ``inputs``: what the stage consumes, as JSON: its options and the fingerprints of what the
  stages before it produced (commit shas, file hashes). Equal inputs, equal fingerprint.
- ``run``: do the work (through the stage's own library function); return what it produced.
- ``valid``: are the recorded outputs still there (files with those hashes, tags on those
  commits)? If not, the stage runs again even though its inputs did not change.
"""

from __future__ import annotations

import logging
import re
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from hf_pipeline import __version__
from hf_pipeline.contract import DEFAULT_BASE_MODEL
from hf_pipeline.errors import CheckFailedError, ConfigError
from hf_pipeline.io import sha256_file
from hf_pipeline.pipeline.config import REAL_DATA_OPTIONS, real_data_input, stage_options
from hf_pipeline.pipeline.context import WORK_DIR, Context, Stage
from hf_pipeline.provenance import git_commit
from hf_pipeline.repo_ids import MAX_NAME, check_repo_id

log = logging.getLogger(__name__)

def _same_file(path: Path, sha256: str | None) -> bool:
    return path.is_file() and sha256 is not None and sha256_file(path) == sha256


def tag_commit(ctx: Context, repo_id: str, repo_type: str, tag: str) -> str | None:
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    from hf_pipeline.publish.versions import tag_commits

    try:
        return tag_commits(ctx.api(), repo_id, repo_type=repo_type).get(tag)
    except (RepositoryNotFoundError, HfHubHTTPError):
        return None


# ----------------------------------------------------------------------------- generate

def _generate_inputs(ctx: Context) -> dict[str, Any]:
    from hf_pipeline.generate.slots import SLOTS_FILE
    from hf_pipeline.generate.templates import TEMPLATES_DIR, files_digest

    cfg = ctx.cfg.generate
    templates = sorted((cfg.templates_dir or TEMPLATES_DIR).glob("*.yaml"))
    return {"options": stage_options(cfg, drop={"output", "verification_output"}),
            "templates_sha256": files_digest(templates),
            "slots_sha256": files_digest([cfg.slots_file or SLOTS_FILE]),
            "generator": __version__}


def _generate_run(ctx: Context, resume: bool) -> dict[str, Any]:
    from hf_pipeline.contract import DATASET_JSON
    from hf_pipeline.generate import generate

    cfg = ctx.cfg.generate
    out = generate(cfg)
    assert cfg.verification_output is not None
    ctx.notes.append(f"{cfg.samples_per_intent} samples per intent")
    return {"dataset_sha256": sha256_file(out / DATASET_JSON),
            "verification_sha256": sha256_file(cfg.verification_output)}


def _generate_valid(ctx: Context, outputs: dict[str, Any]) -> bool:
    from hf_pipeline.contract import DATASET_JSON

    cfg = ctx.cfg.generate
    assert cfg.verification_output is not None
    return (_same_file(cfg.output / DATASET_JSON, outputs.get("dataset_sha256"))
            and _same_file(cfg.verification_output, outputs.get("verification_sha256")))


# ----------------------------------------------------------------------------- publish-dataset

def _dataset_inputs(ctx: Context) -> dict[str, Any]:
    return {"hub": ctx.hub.identity, "repo_id": ctx.repo("dataset"),
            "tag": ctx.cfg.pipeline.dataset_tag, "private": ctx.hub.private,
            "data": ctx.outputs["generate"]}


def _dataset_run(ctx: Context, resume: bool) -> dict[str, Any]:
    from hf_pipeline.publish import PublishDatasetConfig, publish_dataset

    result = publish_dataset(PublishDatasetConfig(
        data_dir=ctx.cfg.generate.output, repo_id=ctx.repo("dataset"),
        tag=ctx.cfg.pipeline.dataset_tag, private=ctx.hub.private,
        verification_file=ctx.cfg.generate.verification_output))
    ctx.notes.append(f"{result.status} {result.repo_id}@{result.tag}, commit {result.commit[:12]}")
    return {"repo_id": result.repo_id, "tag": result.tag, "commit": result.commit,
            "status": result.status}


def _dataset_valid(ctx: Context, outputs: dict[str, Any]) -> bool:
    return tag_commit(ctx, outputs["repo_id"], "dataset", outputs["tag"]) == outputs["commit"]


# ----------------------------------------------------------------------------- base-model

def _mirror_source(ctx: Context) -> tuple[Path | None, str]:
    """(folder to mirror or None, the Hub id training pulls)."""
    from hf_pipeline.base_model import packaged_minilm

    requested = ctx.cfg.train.base_model
    folder = Path(requested).expanduser()
    if folder.is_dir():
        name = re.sub(r"[^A-Za-z0-9_.-]", "-", folder.resolve().name)
        name = re.sub(r"[.-]{2,}", "-", name)[:MAX_NAME].strip(".-") or "base-model"
        return folder, check_repo_id(f"{ctx.hub.namespace}/{name}", field="base_model")
    check_repo_id(requested, field="base_model", namespace=False)
    if ctx.hub.local and requested == DEFAULT_BASE_MODEL:
        return Path(packaged_minilm()), DEFAULT_BASE_MODEL
    return None, requested


def _folder_digest(folder: Path) -> str:
    from hf_pipeline.io import sha256_text

    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return sha256_text("\n".join(f"{p.relative_to(folder)} {sha256_file(p)}" for p in files))


def _base_inputs(ctx: Context) -> dict[str, Any]:
    folder, repo_id = _mirror_source(ctx)
    return {"hub": ctx.hub.identity, "requested": ctx.cfg.train.base_model, "repo_id": repo_id,
            "mirrored_files": _folder_digest(folder) if folder is not None else None}


def _base_run(ctx: Context, resume: bool) -> dict[str, Any]:
    from hf_pipeline.hub_client import hub_errors

    folder, repo_id = _mirror_source(ctx)
    api = ctx.api()
    with hub_errors(f"base model {repo_id}", endpoint=api.endpoint):
        if folder is not None:
            if not ctx.hub.local:
                raise ConfigError(
                    f"base_model: {folder} is a folder, and the run publishes to {ctx.hub.url}, "
                    "where a model card must name a Hub model. Fix: upload it to a model repo "
                    "and pass its id (--base-model NAMESPACE/NAME), or use the local Hub.")
            # Mirrored on the local Hub under its id, so training pulls it over HTTP exactly
            # as it would from the real Hub. Unchanged files are not sent again.
            api.create_repo(repo_id, exist_ok=True)
            api.upload_folder(repo_id=repo_id, folder_path=str(folder),
                              commit_message=f"Mirror of {folder.name} for hf-pipeline run")
            ctx.notes.append(f"mirrored {folder} as {repo_id}")
        commit = api.model_info(repo_id).sha
    ctx.notes.append(f"{repo_id}@{commit[:12]}")
    return {"repo_id": repo_id, "commit": commit,
            "mirrored_from": str(folder) if folder is not None else None}


def _base_valid(ctx: Context, outputs: dict[str, Any]) -> bool:
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    try:
        return ctx.api().model_info(outputs["repo_id"]).sha == outputs["commit"]
    except (RepositoryNotFoundError, HfHubHTTPError):
        return False


# ----------------------------------------------------------------------------- train

def train_config(ctx: Context) -> Any:
    return replace(ctx.cfg.train, data=ctx.repo("dataset"), revision=ctx.cfg.pipeline.dataset_tag,
                   base_model=ctx.outputs["base-model"]["repo_id"],
                   output_dir=ctx.path("train"), real_data=ctx.cfg.pipeline.real_data)


def _train_inputs(ctx: Context) -> dict[str, Any]:
    from hf_pipeline.train.checkpoint import RESUMABLE_CHANGES

    p = ctx.cfg.pipeline
    # Without real data, a run's inputs are what they were before --real-data existed.
    real = {"real_data": real_data_input(p.real_data)} if p.real_data else {}
    drop = RESUMABLE_CHANGES | (set() if p.real_data else REAL_DATA_OPTIONS)
    return {"options": stage_options(train_config(ctx), drop=drop),
            "dataset_commit": ctx.outputs["publish-dataset"]["commit"],
            "base_model_commit": ctx.outputs["base-model"]["commit"],
            "num_processes": p.num_processes, **real,
            "accelerate_config": sha256_file(p.accelerate_config) if p.accelerate_config
            else None}


def _train_run(ctx: Context, resume: bool) -> dict[str, Any]:
    import json

    from hf_pipeline.pipeline.launch import run_training
    from hf_pipeline.train.checkpoint import latest_checkpoint
    from hf_pipeline.train.outputs import EVAL_METRICS, RUN_INFO, TRAINING_METRICS

    cfg = train_config(ctx)
    checkpoint = latest_checkpoint(cfg.checkpoints_dir) if resume else None
    if checkpoint is not None:
        cfg = replace(cfg, resume=True)
        ctx.notes.append(f"resumed from {checkpoint.name}")
    else:
        shutil.rmtree(cfg.output_dir, ignore_errors=True)  # never mix with another run
    p = ctx.cfg.pipeline
    ctx.path(WORK_DIR).mkdir(parents=True, exist_ok=True)
    out = run_training(cfg, num_processes=p.num_processes, accelerate_config=p.accelerate_config,
                       workdir=ctx.path(WORK_DIR))
    info = json.loads((out / RUN_INFO).read_text(encoding="utf-8"))
    metrics = json.loads((out / EVAL_METRICS).read_text(encoding="utf-8"))
    history = json.loads((out / TRAINING_METRICS).read_text(encoding="utf-8"))
    source = info["base_model"].get("source") or {}
    expected = ctx.outputs["base-model"]
    if source.get("kind") != "hub" or source.get("commit") != expected["commit"]:
        raise CheckFailedError(
            f"training did not take the base model from the Hub at {ctx.hub.url} as "
            f"{expected['repo_id']}@{expected['commit'][:12]}: it used {source}. Fix: see "
            "the warnings above (an unreachable Hub falls back to a local copy).")
    ctx.notes.append(f"best epoch {metrics['best_epoch']}, {history['num_processes']} "
                     f"process(es)")
    return {"folder": str(cfg.final_dir),
            "model_sha256": sha256_file(cfg.final_dir / "model.safetensors"),
            "best_epoch": metrics["best_epoch"], "num_processes": history["num_processes"],
            "accuracy": {s: metrics[s]["accuracy"] for s in ("validation", "test", "dev")
                         if s in metrics},
            "base_model": source, "data": info["data"], "training_commit": git_commit()}


def _train_valid(ctx: Context, outputs: dict[str, Any]) -> bool:
    folder = ctx.folder("train", outputs)
    return _same_file(folder / "model.safetensors", outputs.get("model_sha256"))


# ----------------------------------------------------------------------------- export

def _dev_set(ctx: Context) -> str | None:
    from hf_pipeline.train.config import DEV_SET_NONE, DEV_SET_PACKAGED

    dev = ctx.cfg.train.dev_set
    return None if dev in (DEV_SET_PACKAGED, DEV_SET_NONE) else dev


def _export_inputs(ctx: Context) -> dict[str, Any]:
    return {"options": stage_options(ctx.cfg.export),
            "model_sha256": ctx.outputs["train"]["model_sha256"],
            "dataset_commit": ctx.outputs["publish-dataset"]["commit"], "dev_set": _dev_set(ctx)}


def _export_run(ctx: Context, resume: bool) -> dict[str, Any]:
    from hf_pipeline.data_sources import load_eval_sets
    from hf_pipeline.export.presets import PRESETS
    from hf_pipeline.export.stage import INT8_FILE, export_model, read_export_report

    # The published dataset at its tag, as training read it: the gate's test split (and dev
    # set), and the training texts a static preset calibrates its activation ranges on.
    static = PRESETS[ctx.cfg.export.preset].static
    sets, provenance = load_eval_sets(ctx.repo("dataset"), revision=ctx.cfg.pipeline.dataset_tag,
                                      splits=("test", "train") if static else ("test",),
                                      dev_set=_dev_set(ctx))
    train = sets.pop("train", None)
    out = export_model(ctx.folder("train"), ctx.path("export"), cfg=ctx.cfg.export,
                       eval_sets=sets, data_provenance=provenance,
                       calibration_texts=list(train[0]) if train else None)
    gate = read_export_report(out)["gate"]
    drops = ", ".join(f"{s['name']} {s['drop_points']:+.2f}" for s in gate.get("sets") or [])
    ctx.notes.append(f"INT8 gate passed (drop in points: {drops})")
    return {"folder": str(out), "int8_sha256": sha256_file(out / INT8_FILE),
            "int8_bytes": (out / INT8_FILE).stat().st_size, "gate_passed": bool(gate["passed"])}


def _export_valid(ctx: Context, outputs: dict[str, Any]) -> bool:
    from hf_pipeline.export.stage import INT8_FILE, read_export_report

    folder = ctx.folder("export", outputs)
    if not _same_file(folder / INT8_FILE, outputs.get("int8_sha256")):
        return False
    return bool((read_export_report(folder).get("gate") or {}).get("passed"))


# ----------------------------------------------------------------------------- release

def _release_info(ctx: Context) -> Any:
    from hf_pipeline.model_folder.folder import ReleaseInfo

    return ReleaseInfo(model_version=ctx.cfg.pipeline.model_version,
                       dataset_repo=ctx.repo("dataset"),
                       dataset_revision=ctx.cfg.pipeline.dataset_tag,
                       training_commit=ctx.outputs["train"]["training_commit"],
                       base_model=ctx.outputs["base-model"]["repo_id"])


def _release_inputs(ctx: Context) -> dict[str, Any]:
    info = _release_info(ctx)
    return {"int8_sha256": ctx.outputs["export"]["int8_sha256"],
            **{k: getattr(info, k) for k in ("model_version", "dataset_repo", "dataset_revision",
                                              "training_commit", "base_model")}}


def _release_run(ctx: Context, resume: bool) -> dict[str, Any]:
    from hf_pipeline.export.config import BenchmarkConfig
    from hf_pipeline.export.inspect import benchmark
    from hf_pipeline.model_folder.layout import ONNX_FILE, TOKENIZER_FILE, VERSION_FILE
    from hf_pipeline.model_folder.manifest import Destination
    from hf_pipeline.release.assemble import build_release

    info = _release_info(ctx)
    # Where publish-model will put it (the local Hub's port may differ by then: publish-model
    # points the manifest at the address it actually publishes to).
    destination = Destination.on_hub(ctx.hub.url, ctx.repo("model"), ctx.cfg.pipeline.model_tag,
                                     info.model_version)
    folder = build_release(ctx.folder("export"), ctx.path("release"), info=info,
                           destination=destination)
    # Single-query latency as the runtime sees it: one thread, tokenization included.
    bench = benchmark(folder / ONNX_FILE, tokenizer=folder / TOKENIZER_FILE,
                      cfg=BenchmarkConfig(threads=(1,), runs=200, batch_runs=3))
    p50 = bench.p50(threads=1, tokenization=True)
    ctx.notes.append(f"{bench.size_bytes / 1e6:.1f} MB, p50 {p50:.2f} ms")
    return {"folder": str(folder), "onnx_sha256": sha256_file(folder / ONNX_FILE),
            "version_sha256": sha256_file(folder / VERSION_FILE),
            "size_bytes": bench.size_bytes, "p50_ms": p50,
            "p50_model_ms": bench.p50(threads=1, tokenization=False)}


def _release_valid(ctx: Context, outputs: dict[str, Any]) -> bool:
    from hf_pipeline.model_folder.layout import ONNX_FILE, VERSION_FILE

    folder = ctx.folder("release", outputs)
    return (_same_file(folder / ONNX_FILE, outputs.get("onnx_sha256"))
            and _same_file(folder / VERSION_FILE, outputs.get("version_sha256")))


# ----------------------------------------------------------------------------- calibrate

def _calibrate_config(ctx: Context) -> Any:
    return replace(ctx.cfg.calibrate, data=ctx.repo("dataset"),
                   revision=ctx.cfg.pipeline.dataset_tag, real_data=ctx.cfg.pipeline.real_data)


def _calibrate_inputs(ctx: Context) -> dict[str, Any]:
    release = ctx.outputs["release"]
    spec = ctx.cfg.pipeline.real_data
    return {"options": stage_options(_calibrate_config(ctx), drop={"report_dir", "threads"}),
            "release": {k: release[k] for k in ("onnx_sha256", "version_sha256")},
            "dataset_commit": ctx.outputs["publish-dataset"]["commit"],
            "fit_file_sha256": _fit_file_sha256(_calibrate_config(ctx)),
            **({"real_data": real_data_input(spec)} if spec else {})}


def _fit_file_sha256(cfg: Any) -> str | None:
    """The human calibration file T is fitted on (edited: calibration reruns)."""
    from hf_pipeline.calibrate.config import HUMAN, VALIDATION
    from hf_pipeline.data_sources import CALIBRATION_SET_PATH

    if cfg.calibration_data == VALIDATION:
        return None
    path = CALIBRATION_SET_PATH if cfg.calibration_data == HUMAN else Path(cfg.calibration_data)
    return sha256_file(path) if path.is_file() else None


def _calibrate_run(ctx: Context, resume: bool) -> dict[str, Any]:
    from hf_pipeline.calibrate.metrics import SetMetrics
    from hf_pipeline.calibrate.stage import calibrate
    from hf_pipeline.model_folder.layout import CHECKSUMS_FILE
    from hf_pipeline.model_folder.temperature import read_temperature

    folder = ctx.folder("release")
    document = read_temperature(calibrate(folder, cfg=_calibrate_config(ctx)))
    metrics = {name: {"samples": m["after"]["samples"], "accuracy": m["after"]["accuracy"],
                      "ece_before": m["before"]["ece"], "ece_after": m["after"]["ece"],
                      "tiers": SetMetrics(**m["after"]).tiers()}
               for name, m in document["metrics_by_set"].items()
               if not m.get("in_sample")}  # the fit data is no result
    ctx.notes.append(f"T = {document['temperature']:.3f}")
    return {"folder": str(folder),
            "checksums_sha256": sha256_file(folder / CHECKSUMS_FILE),
            "temperature": document["temperature"], "metrics": metrics}


def _calibrate_valid(ctx: Context, outputs: dict[str, Any]) -> bool:
    from hf_pipeline.model_folder.layout import CHECKSUMS_FILE

    folder = ctx.folder("calibrate", outputs)
    return _same_file(folder / CHECKSUMS_FILE, outputs.get("checksums_sha256"))


# ----------------------------------------------------------------------------- publish-model

def _model_inputs(ctx: Context) -> dict[str, Any]:
    return {"hub": ctx.hub.identity, "repo_id": ctx.repo("model"),
            "tag": ctx.cfg.pipeline.model_tag, "private": ctx.hub.private,
            "release": ctx.outputs["calibrate"]["checksums_sha256"],
            "weights_sha256": ctx.outputs["train"]["model_sha256"]}


def _model_run(ctx: Context, resume: bool) -> dict[str, Any]:
    from hf_pipeline.publish import PublishModelConfig, publish_model

    result = publish_model(PublishModelConfig(
        release_dir=ctx.folder("calibrate"), repo_id=ctx.repo("model"),
        tag=ctx.cfg.pipeline.model_tag, private=ctx.hub.private,
        weights_dir=ctx.folder("train")))
    ctx.notes.append(f"{result.status} {result.repo_id}@{result.tag}, commit {result.commit[:12]}")
    return {"repo_id": result.repo_id, "tag": result.tag, "commit": result.commit,
            "status": result.status}


def _model_valid(ctx: Context, outputs: dict[str, Any]) -> bool:
    return tag_commit(ctx, outputs["repo_id"], "model", outputs["tag"]) == outputs["commit"]


# ----------------------------------------------------------------------------- publish-space

def _space_inputs(ctx: Context) -> dict[str, Any]:
    from hf_pipeline.publish.space import space_app

    model, feedback = ctx.outputs["publish-model"], _feedback(ctx)
    # Feedback's keys only when it is on: a run state written without it keeps its hash.
    return {"hub": ctx.hub.identity, "repo_id": ctx.repo("space"), "private": ctx.hub.private,
            "model_repo": model["repo_id"], "model_tag": model["tag"],
            "model_commit": model["commit"], "app_sha256": sha256_file(space_app()),
            "hf_pipeline": __version__, **(feedback.config() if feedback else {})}


def _feedback(ctx: Context) -> Any:
    from hf_pipeline.publish.feedback_repo import FeedbackSettings

    p = ctx.cfg.pipeline
    return FeedbackSettings(ctx.repo("feedback"), p.feedback_every_minutes,
                            private=ctx.hub.private) if p.feedback else None


def _space_run(ctx: Context, resume: bool) -> dict[str, Any]:
    from hf_pipeline.publish.space import publish_space

    model, feedback = ctx.outputs["publish-model"], _feedback(ctx)
    commit = publish_space(ctx.repo("space"), model_repo=model["repo_id"],
                           model_revision=model["tag"], private=ctx.hub.private,
                           feedback=feedback, say=ctx.notes.append)
    ctx.notes.insert(0, f"{ctx.repo('space')}, commit {commit[:12]}")
    return {"repo_id": ctx.repo("space"), "commit": commit,
            **({"feedback_repo": feedback.repo_id} if feedback else {})}


def _space_valid(ctx: Context, outputs: dict[str, Any]) -> bool:
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    try:
        info = ctx.api().repo_info(outputs["repo_id"], repo_type="space")
        if outputs.get("feedback_repo"):
            ctx.api().repo_info(outputs["feedback_repo"], repo_type="dataset")
    except (RepositoryNotFoundError, HfHubHTTPError):
        return False
    return info.sha == outputs["commit"]


STAGES: tuple[Stage, ...] = (
    Stage("generate", "generate the data from templates", _generate_inputs, _generate_run,
          _generate_valid, deterministic=True),
    Stage("publish-dataset", "publish the dataset as a tagged version", _dataset_inputs,
          _dataset_run, _dataset_valid, deterministic=True),
    Stage("base-model", "put the base model on the Hub", _base_inputs, _base_run, _base_valid,
          deterministic=True),
    Stage("train", "train from the Hub dataset with Accelerate", _train_inputs, _train_run,
          _train_valid),
    Stage("export", "export to ONNX, INT8, accuracy gate", _export_inputs, _export_run,
          _export_valid),
    Stage("release", "assemble the model folder", _release_inputs, _release_run,
          _release_valid),
    Stage("calibrate", "fit the temperature", _calibrate_inputs, _calibrate_run,
          _calibrate_valid),
    Stage("publish-model", "publish the model as a tagged version", _model_inputs, _model_run,
          _model_valid),
    Stage("publish-space", "publish the Gradio Space", _space_inputs, _space_run,
          _space_valid),
)
STAGE_NAMES: tuple[str, ...] = tuple(s.name for s in STAGES)
MODEL_STAGES = ("train", "export", "release", "calibrate")  # what a model version holds
