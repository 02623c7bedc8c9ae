"""``hf-pipeline publish-space`` and ``hf-pipeline demo``: the Gradio Space, on the Hub or here.

``demo`` runs the same app.py as the Space: from a release folder, from a model repo at a
tag (``namespace/name@v1.0.0``), or from a Space repo downloaded whole (``--space``), which
then runs on its own generated runtime, as on the Hub. ``--local-hub DATA_DIR`` takes the
repos from the project's local Hub, started over that folder for the demo (the ``hub/``
folder of an ``hf-pipeline run`` output).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from hf_pipeline.errors import ConfigError
from hf_pipeline.publish.cli import add_hub_options, use_hub_options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "publish-space", help="publish the Gradio demo as a Hub Space for a model version",
        description="Build the Space (app.py, the runtime generated from hf_pipeline.runtime, "
        "pinned requirements, card, model repo and revision) and upload it as one commit. "
        "The model must load (checksums verified) first. The same content again is a no-op.")
    p.add_argument("--repo-id", required=True, help="Space repo, namespace/name")
    p.add_argument("--model-repo", required=True, help="model repo, namespace/name")
    p.add_argument("--model-revision", required=True, help="model version tag, e.g. v1.0.0")
    p.add_argument("--private", action="store_true", help="create the Space private")
    p.add_argument("--output", type=Path, metavar="DIR",
                   help="only build the Space into DIR (absent or empty); publish nothing")
    add_hub_options(p)
    p.set_defaults(func=run_publish_space)

    d = sub.add_parser(
        "demo", help="run the Gradio demo here, until Ctrl-C",
        description="Serve the demo app locally from a release folder, a model repo at a "
        "revision (NAMESPACE/NAME@TAG), or a Space repo (--space), downloaded as a whole.")
    source = d.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", "-m", metavar="MODEL",
                        help="a release folder, or a model repo at a tag, e.g. "
                        "me/sqry-nl-intent@v1.0.0")
    source.add_argument("--space", metavar="REPO", help="a Space repo: run its own files")
    d.add_argument("--space-revision", default="main", help="revision of --space")
    d.add_argument("--host", default="127.0.0.1", help="address to listen on "
                   "(0.0.0.0: every interface)")
    d.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    d.add_argument("--local-hub", type=Path, metavar="DATA_DIR",
                   help="start the project's local Hub over DATA_DIR (e.g. out/hub of "
                   "`hf-pipeline run`) on a free port, and take the model or Space from it")
    add_hub_options(d)
    d.set_defaults(func=run_demo)


def run_publish_space(args: argparse.Namespace) -> int:
    use_hub_options(args)
    from hf_pipeline.publish.space import build_space_folder, publish_space

    if args.output is not None:
        folder = build_space_folder(args.output, model_repo=args.model_repo,
                                    model_revision=args.model_revision, space_repo=args.repo_id)
        print(f"built the Space in {folder}")
        return 0
    sha = publish_space(args.repo_id, model_repo=args.model_repo,
                        model_revision=args.model_revision, private=args.private)
    print(f"published Space {args.repo_id} (commit {sha[:12]}) for "
          f"{args.model_repo}@{args.model_revision}")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    if args.local_hub is None:
        use_hub_options(args)
        return _demo(args)
    if args.endpoint or args.token:
        raise ConfigError("--local-hub starts its own Hub: drop --endpoint and --token.")
    if not args.local_hub.is_dir():
        raise ConfigError(f"--local-hub {args.local_hub}: no such folder. Fix: pass the hub/ "
                          "folder of an `hf-pipeline run` output (e.g. out/hub).")
    from hf_pipeline.hub.process import local_hub, local_paths

    _, hf_home, log_file = local_paths(args.local_hub.parent)  # as the run that made it
    with local_hub(args.local_hub, hf_home=hf_home, log_file=log_file) as hub:
        print(f"local Hub {hub.url} over {args.local_hub} (log: {log_file})", file=sys.stderr)
        return _demo(args)


def _demo(args: argparse.Namespace) -> int:
    serve = ["--host", args.host, "--port", str(args.port)]
    if args.space is not None:
        from huggingface_hub import snapshot_download

        from hf_pipeline.hub_client import hub_errors

        with hub_errors(f"Space {args.space}@{args.space_revision}"):
            folder = Path(snapshot_download(args.space, repo_type="space",
                                            revision=args.space_revision))
        return load_app(folder / "app.py").main(serve)
    from hf_pipeline.publish.space import space_app
    from hf_pipeline.runtime.classifier import is_hub_spec

    # The same NAMESPACE/NAME@REVISION as `predict --model`; app.py parses it too.
    if not is_hub_spec(args.model) and not Path(args.model).is_dir():
        raise ConfigError(f"{args.model!r} is neither a folder nor a model repo at a revision. "
                          "Fix: pass a release folder, or NAMESPACE/NAME@TAG (e.g. "
                          "me/sqry-nl-intent@v1.0.0).")
    return load_app(space_app()).main(["--model", args.model, *serve])


def load_app(app_file: Path) -> ModuleType:
    """Import ``app_file`` as a module; its folder goes first on sys.path, so a Space's own
    ``sqry_nl_runtime`` is the one it imports."""
    if not app_file.is_file():
        raise ConfigError(f"{app_file}: no app here. Fix: pass a Space repo with an app.py.")
    sys.path.insert(0, str(app_file.parent))
    spec = importlib.util.spec_from_file_location("sqry_nl_demo_app", app_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
