"""``hf-pipeline dataset {publish,status}`` and ``model {publish,status}``: tagged,
never-overwritten Hub versions of a generated dataset and of a release folder."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from hf_pipeline.cli_options import (
    add_deprecated_command,
    add_hub_options,
    add_json_option,
    add_model_option,
    add_tag_option,
    add_visibility_option,
    print_result,
    use_hub_options,
)

STATUS_HELP = "list the published versions, and untagged work on main"


def register(sub: argparse._SubParsersAction) -> None:
    dataset = sub.add_parser("dataset", help="the dataset on the Hub: publish a version, list "
                             "the versions", description="Tagged, never-overwritten versions "
                             "of a generated dataset in a Hub dataset repo.")
    actions = dataset.add_subparsers(dest="dataset_command", metavar="ACTION", required=True)
    _dataset_publish(actions.add_parser(
        "publish", help="publish a generated dataset as a tagged version",
        description="Push train/validation/test and the verification sample with a dataset "
        "card, then tag the version. Tags are never moved; identical data is a no-op."))
    _status(actions.add_parser("status", help=STATUS_HELP, description=STATUS_HELP + "."),
            kind="dataset")

    model = sub.add_parser("model", help="the model on the Hub: publish a version, list the "
                           "versions", description="Tagged, never-overwritten versions of a "
                           "release folder in a Hub model repo, with its card.")
    actions = model.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    _model_publish(actions.add_parser(
        "publish", help="publish a release folder as a tagged version",
        description="Upload the model folder (at the repo root, as sqry-nl loads it), sqry's "
        "archive of it with the manifest that describes it, the fp32 weights for "
        "transformers, its reports and reliability diagrams, and a model card with the "
        "measured figures; verify a fresh download of the commit (the archive as sqry "
        "installs it), then tag it. Tags are never moved; identical content is a no-op; "
        "rerunning finishes an interrupted publish."))
    _status(actions.add_parser("status", help=STATUS_HELP, description=STATUS_HELP + "."),
            kind="model")

    add_deprecated_command(sub, "publish-dataset", "dataset publish", _dataset_publish)
    add_deprecated_command(sub, "publish-model", "model publish", _model_publish)


def _dataset_publish(p: argparse.ArgumentParser) -> None:
    p.add_argument("data_dir", type=Path, metavar="DATA_DIR",
                   help="folder from `hf-pipeline generate`")
    p.add_argument("--repo-id", required=True, help="dataset repo, namespace/name")
    add_tag_option(p, required=True)
    add_visibility_option(p, default="public", what="the dataset repo", deprecated=["--private"])
    p.add_argument("--verification-file", type=Path,
                   help="review file (default DATA_DIR/verification.json if present)")
    add_json_option(p)
    add_hub_options(p)
    p.set_defaults(func=run_dataset_publish)


def _model_publish(p: argparse.ArgumentParser) -> None:
    add_model_option(p, type=Path, accepts="a release folder (`hf-pipeline release`, then "
                     "`hf-pipeline calibrate fit`)")
    p.add_argument("--repo-id", required=True, help="model repo, namespace/name")
    add_tag_option(p, required=True)
    p.add_argument("--reports-dir", type=Path, help="calibration_report.json, "
                   "export_report.json and reliability_<set>.png (default: MODEL.reports "
                   "beside the release folder)")
    p.add_argument("--weights", type=Path, metavar="FOLDER",
                   help="the trained folder the release was exported from (train's final/): "
                   "its model.safetensors goes to the repo for transformers (default: the "
                   "folder the export report names, checked against its hashes)")
    add_visibility_option(p, default="public", what="the model repo", deprecated=["--private"])
    add_json_option(p)
    add_hub_options(p)
    p.set_defaults(func=run_model_publish)


def _status(p: argparse.ArgumentParser, *, kind: str) -> None:
    p.add_argument("--repo-id", required=True, help=f"{kind} repo, namespace/name")
    add_json_option(p)
    add_hub_options(p)
    p.set_defaults(func=run_status, kind=kind)


def run_dataset_publish(args: argparse.Namespace) -> int:
    use_hub_options(args)
    from hf_pipeline.publish import PublishDatasetConfig, publish_dataset

    cfg = PublishDatasetConfig(data_dir=args.data_dir, repo_id=args.repo_id, tag=args.tag,
                               private=args.visibility == "private",
                               verification_file=args.verification_file)
    result = publish_dataset(cfg)
    print_result(args, dataclasses.asdict(result),
                 f"{result.status}: {result.repo_id}@{result.tag} (commit {result.commit[:12]})")
    return 0


def run_model_publish(args: argparse.Namespace) -> int:
    use_hub_options(args)
    from hf_pipeline.publish.model import PublishModelConfig, publish_model

    cfg = PublishModelConfig(release_dir=args.model, repo_id=args.repo_id, tag=args.tag,
                             reports_dir=args.reports_dir,
                             private=args.visibility == "private", weights_dir=args.weights)
    result = publish_model(cfg)
    print_result(args, dataclasses.asdict(result), lambda: "\n".join([
        f"{result.status}: {result.repo_id}@{result.tag} (commit {result.commit})",
        "files: " + ", ".join(result.files),
        "verification:" + "".join(f"\n  {line}" for line in result.verification)]))
    return 0


def run_status(args: argparse.Namespace) -> int:
    use_hub_options(args)
    from hf_pipeline.hub_client import hub_errors

    with hub_errors(f"status of {args.kind} {args.repo_id}"):
        if args.kind == "dataset":
            from hf_pipeline.publish import versions

            status = versions(args.repo_id)
        else:
            from hf_pipeline.publish.model import model_versions

            status = model_versions(args.repo_id)
    print_result(args, status, lambda: format_status(args.kind, status))
    return 0


def format_status(kind: str, status: dict[str, Any]) -> str:
    """One line for the repo and main, one per tag with what describes it."""
    main = (status.get("main") or "(none)")[:12]
    untagged = ("; untagged commits on main (an interrupted publish: rerun it to finish)"
                if status.get("untagged_main") else "")
    lines = [f"{kind} {status['repo_id']}: main at {main}{untagged}"]
    for tag, info in status.get("tags", {}).items():
        details = "".join(f", {k} {v}" for k, v in info.items() if k != "commit")
        lines.append(f"  {tag}: commit {info['commit'][:12]}{details}")
    if not status.get("tags"):
        lines.append("  no version tagged yet")
    return "\n".join(lines)
