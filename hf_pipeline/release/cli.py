"""``hf-pipeline release``: assemble the sqry-nl model folder from an export folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "release", help="assemble the sqry-nl model folder from an export folder",
        description="Write exactly the runtime's model folder: intent_classifier.onnx (INT8), "
        "tokenizer.json, config.json, temperature.json, version.txt, manifest.json, "
        "checksums.json. The export report is copied to OUTPUT.reports/ beside it.")
    p.add_argument("export_dir", type=Path, metavar="EXPORT_DIR",
                   help="folder written by `hf-pipeline export model`")
    p.add_argument("--output", "-o", type=Path, required=True, help="model folder to write")
    p.add_argument("--model-version", required=True, help="e.g. 1.0.0")
    p.add_argument("--training-commit", required=True, help="git commit the model was trained at")
    p.add_argument("--dataset-repo", help="dataset repo id (default: the one training used)")
    p.add_argument("--dataset-revision", help="dataset tag/commit (default: training's)")
    p.add_argument("--base-model", help="base model id (default: training's base model)")
    p.add_argument("--date", help="release date, ISO (default: today, UTC)")
    p.add_argument("--temperature", type=Path, help="temperature.json from calibration "
                   "(default: T = 1 written explicitly)")
    p.add_argument("--allow-ungated", action="store_true",
                   help="release even if the accuracy gate did not pass (not for shipping)")
    p.set_defaults(func=run_release)


def run_release(args: argparse.Namespace) -> int:
    from hf_pipeline.errors import ConfigError
    from hf_pipeline.export.stage import read_export_report
    from hf_pipeline.release.assemble import build_release
    from hf_pipeline.model_folder.folder import ReleaseInfo, check_model_version

    check_model_version(args.model_version)
    report = read_export_report(args.export_dir)
    repo, revision = dataset_of(report)
    repo, revision = args.dataset_repo or repo, args.dataset_revision or revision
    if not repo or not revision:
        raise ConfigError("--dataset-repo and --dataset-revision are required: the export "
                          "report names no Hub dataset the model was trained on. Fix: pass "
                          "both, e.g. --dataset-repo user/sqry-intents --dataset-revision v1.0.")
    training = report.get("training") or {}
    base = (training.get("base_model") or {}).get("requested")
    fields = {"model_version": args.model_version, "training_commit": args.training_commit,
              "dataset_repo": repo, "dataset_revision": revision,
              "base_model": args.base_model or base, "date": args.date}
    info = ReleaseInfo(**{k: v for k, v in fields.items() if v is not None})
    out = build_release(args.export_dir, args.output, info=info,
                        temperature_file=args.temperature, require_gate=not args.allow_ungated)
    print(f"model folder written: {out}")
    return 0


def dataset_of(report: dict[str, Any]) -> tuple[str | None, str | None]:
    """The Hub dataset the model was trained on (else the gate's); None for local data."""
    for data in ((report.get("training") or {}).get("data"), report.get("data")):
        source = (data or {}).get("source")
        if source and not Path(str(source)).is_absolute():  # local paths are no repo
            return str(source), data.get("revision") or data.get("sha")
    return None, None
