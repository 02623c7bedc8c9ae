"""``hf-pipeline publish-dataset`` and ``publish-model``: tagged, never-overwritten Hub versions
of a generated dataset and of a release folder."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from hf_pipeline.errors import ConfigError


def add_hub_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--endpoint", help="Hub URL (default: $HF_ENDPOINT, else huggingface.co); "
                   "e.g. the local server from `hf-pipeline hub serve`")
    p.add_argument("--token", help="Hub token (default: $HF_TOKEN or the login cache; prefer "
                   "those: a token on the command line lands in shell history)")


def use_hub_options(args: argparse.Namespace) -> None:
    """huggingface_hub and datasets read HF_ENDPOINT/HF_TOKEN when first imported, so the CLI
    sets them before importing either; library code never touches the environment."""
    if args.endpoint:
        os.environ["HF_ENDPOINT"] = args.endpoint.rstrip("/")
    if args.token:
        os.environ["HF_TOKEN"] = args.token


def register(sub: argparse._SubParsersAction) -> None:
    _register_dataset(sub)
    _register_model(sub)


def _register_dataset(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("publish-dataset", help="publish a generated dataset to the Hub as a "
                       "tagged version", description="Push train/validation/test and the "
                       "verification sample with a dataset card, then tag the version. Tags "
                       "are never moved; identical data is a no-op.")
    p.add_argument("data_dir", type=Path, nargs="?", help="folder from `hf-pipeline generate`")
    p.add_argument("--repo-id", required=True, help="dataset repo, namespace/name")
    p.add_argument("--tag", help="version tag, e.g. v1.0.0")
    p.add_argument("--private", action="store_true", help="create the repo private")
    p.add_argument("--verification-file", type=Path,
                   help="review file (default DATA_DIR/verification.json if present)")
    p.add_argument("--status", action="store_true",
                   help="list the published versions and untagged work on main, then exit")
    add_hub_options(p)
    p.set_defaults(func=run)


def _register_model(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("publish-model", help="publish a release folder to a Hub model repo as "
                       "a tagged version", description="Upload the model folder (at the repo "
                       "root, as sqry-nl loads it), sqry's archive of it with the manifest that "
                       "describes it, the fp32 weights for transformers, its reports and "
                       "reliability diagrams, and a model card with the measured figures; "
                       "verify a fresh download of the commit (the archive as sqry installs "
                       "it), then tag it. Tags are never moved; identical content is a no-op; "
                       "rerunning finishes an interrupted publish.")
    p.add_argument("--model", "-m", dest="release_dir", type=Path, metavar="FOLDER",
                   help="model folder from `hf-pipeline release` (then `hf-pipeline calibrate "
                   "fit`)")
    p.add_argument("--repo-id", required=True, help="model repo, namespace/name")
    p.add_argument("--tag", help="version tag, e.g. v1.0.0")
    p.add_argument("--reports-dir", type=Path, help="calibration_report.json, "
                   "export_report.json and reliability_<set>.png (default: FOLDER.reports "
                   "beside the release folder)")
    p.add_argument("--weights", type=Path, metavar="FOLDER",
                   help="the trained folder the release was exported from (train's final/): "
                   "its model.safetensors goes to the repo for transformers (default: the "
                   "folder the export report names, checked against its hashes)")
    p.add_argument("--private", action="store_true", help="create the repo private")
    p.add_argument("--status", action="store_true",
                   help="list the published versions and untagged work on main, then exit")
    add_hub_options(p)
    p.set_defaults(func=run_model)


def run(args: argparse.Namespace) -> int:
    use_hub_options(args)
    from hf_pipeline.publish import PublishDatasetConfig, publish_dataset, versions

    if args.status:
        from hf_pipeline.hub_client import hub_errors

        with hub_errors(f"status of dataset {args.repo_id}"):
            print(json.dumps(versions(args.repo_id), indent=2))
        return 0
    if args.data_dir is None or args.tag is None:
        raise ConfigError("publish-dataset needs DATA_DIR and --tag (or --status).")
    cfg = PublishDatasetConfig(data_dir=args.data_dir, repo_id=args.repo_id, tag=args.tag,
                               private=args.private, verification_file=args.verification_file)
    result = publish_dataset(cfg)
    print(f"{result.status}: {result.repo_id}@{result.tag} (commit {result.commit[:12]})")
    return 0


def run_model(args: argparse.Namespace) -> int:
    use_hub_options(args)
    from hf_pipeline.publish.model import PublishModelConfig, model_versions, publish_model

    if args.status:
        print(json.dumps(model_versions(args.repo_id), indent=2))
        return 0
    if args.release_dir is None or args.tag is None:
        raise ConfigError("publish-model needs --model FOLDER and --tag (or --status).")
    cfg = PublishModelConfig(release_dir=args.release_dir, repo_id=args.repo_id, tag=args.tag,
                             reports_dir=args.reports_dir, private=args.private,
                             weights_dir=args.weights)
    result = publish_model(cfg)
    print(f"{result.status}: {result.repo_id}@{result.tag} (commit {result.commit})")
    print("files: " + ", ".join(result.files))
    print("verification:" + "".join(f"\n  {line}" for line in result.verification))
    return 0
