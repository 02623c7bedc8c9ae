"""``hf-pipeline space {publish,build}`` and ``hf-pipeline demo``: the Gradio Space, on the Hub
or here.

``demo`` runs the same app.py as the Space: from a release folder, from a model repo at a
tag (``namespace/name@v1.0.0``), or from a Space repo downloaded whole (``--space``), which
then runs on its own generated runtime, as on the Hub. ``--local-hub DATA_DIR`` takes the
repos from the project's local Hub, started over that folder for the demo (the ``hub/``
folder of an ``hf-pipeline run`` output).

``--feedback-repo NS/NAME`` (publish, build, demo) turns on the page's "Is this right?"
control: its rows go to that dataset repo (created if missing, private unless
``--visibility public``). The write token travels only in environments: a Space secret set
from ``SQRY_NL_FEEDBACK_TOKEN`` on a real Hub, the local Hub's token in the demo's own.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from hf_pipeline.cli_options import (
    DeprecatedOption,
    add_deprecated_command,
    add_hub_options,
    add_json_option,
    add_model_option,
    add_output_option,
    add_visibility_option,
    note,
    print_result,
    use_hub_options,
)
from hf_pipeline.errors import ConfigError
from hf_pipeline.io import check_outputs, folder_output
from hf_pipeline.limits import check_listen
from hf_pipeline.repo_ids import (
    check_repo_id,
    check_revision,
    is_hub_spec,
    split_repo,
    split_spec,
)

if TYPE_CHECKING:
    from hf_pipeline.publish.feedback_repo import FeedbackSettings

SPACE_MODEL = "a model repo at a tag, NAMESPACE/NAME@TAG (the Space loads it from the Hub)"


def register(sub: argparse._SubParsersAction) -> None:
    space = sub.add_parser("space", help="the Gradio demo as a Hub Space: publish it, or "
                           "build its folder", description="The Space runs from its own files: "
                           "app.py, the runtime generated from hf_pipeline.runtime, pinned "
                           "requirements, its card, and the model repo and revision.")
    actions = space.add_subparsers(dest="space_command", metavar="ACTION", required=True)
    _space_publish(actions.add_parser(
        "publish", help="publish the Space for a model version",
        description="Build the Space and upload it as one commit. The model must load "
        "(checksums verified) first. The same content again is a no-op."))
    build = actions.add_parser("build", help="build the Space's folder here; publish nothing",
                               description="Write the folder `space publish` would upload.")
    add_model_option(build, accepts=SPACE_MODEL)
    add_output_option(build, required=True, metavar="DIR",
                      help="folder to write (absent or empty)")
    build.add_argument("--repo-id", help="the Space repo the card's API example names")
    add_feedback_options(build, creates=False)
    add_json_option(build)
    build.set_defaults(func=run_space_build)
    add_deprecated_command(sub, "publish-space", "space publish", _space_publish)

    d = sub.add_parser(
        "demo", help="run the Gradio demo here, until Ctrl-C",
        description="Serve the demo app locally from a release folder, a model repo at a "
        "revision (NAMESPACE/NAME@TAG), or a Space repo (--space), downloaded as a whole.")
    source = d.add_mutually_exclusive_group(required=True)
    add_model_option(source, required=False, accepts="a release folder, or a model repo at "
                     "a tag, e.g. me/sqry-nl-intent@v1.0.0")
    source.add_argument("--space", metavar="REPO[@REV]",
                        help="a Space repo (at a revision; default main): run its own files")
    d.add_argument("--space-revision", dest="space_revision", action=DeprecatedOption,
                   use="--space REPO@REV")
    d.add_argument("--host", default="127.0.0.1", help="address to listen on "
                   "(0.0.0.0: every interface)")
    d.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    d.add_argument("--local-hub", type=Path, metavar="DATA_DIR",
                   help="start the project's local Hub over DATA_DIR (e.g. out/hub of "
                   "`hf-pipeline run`) on a free port, and take the model or Space from it")
    add_feedback_options(d, creates=True)
    add_hub_options(d)
    d.set_defaults(func=run_demo)


def _space_publish(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repo-id", required=True, help="Space repo, namespace/name")
    add_model_option(p, accepts=SPACE_MODEL)
    add_visibility_option(p, default=None, what="the repos it creates", deprecated=["--private"],
                          default_text="the Space public, the feedback dataset private")
    add_feedback_options(p, creates=True)
    add_json_option(p)
    add_hub_options(p)
    p.set_defaults(func=run_space_publish)


def add_feedback_options(p: argparse.ArgumentParser, *, creates: bool) -> None:
    from hf_pipeline.publish.feedback_repo import DEFAULT_EVERY_MINUTES, TOKEN_ENV

    made = (" (created if missing, private unless --visibility public, with its card)"
            if creates else "")
    p.add_argument("--feedback-repo", metavar="NS/NAME", help="turn on the page's feedback "
                   f"control: rows go to this Hub dataset repo{made}. The write token comes "
                   f"from ${TOKEN_ENV}, never from the command line")
    p.add_argument("--feedback-every", type=float, default=DEFAULT_EVERY_MINUTES,
                   metavar="MINUTES", help="commit the feedback rows every MINUTES "
                   f"(default {DEFAULT_EVERY_MINUTES:g}); with --feedback-repo")


def feedback_settings(args: argparse.Namespace, *,
                      private: bool = True) -> FeedbackSettings | None:
    """The feedback options, checked before anything is asked or written; None when off."""
    from hf_pipeline.publish.feedback_repo import (
        DEFAULT_EVERY_MINUTES,
        FeedbackSettings,
        check_every_minutes,
        check_feedback_repo,
    )

    every = check_every_minutes(args.feedback_every, field="--feedback-every")
    if args.feedback_repo is None:
        if every != DEFAULT_EVERY_MINUTES:
            raise ConfigError("--feedback-every needs --feedback-repo NS/NAME: without a "
                              "dataset repo there is no feedback to commit.")
        return None
    repo = check_feedback_repo(args.feedback_repo, field="--feedback-repo")
    return FeedbackSettings(repo, every, private=private)


def hub_model(spec: str) -> tuple[str, str]:
    """(repo, revision) of ``--model NAMESPACE/NAME@REV``: a Space loads its model from the Hub."""
    if not is_hub_spec(spec):
        raise ConfigError(f"--model {spec}: a Space serves a model from the Hub. Fix: pass "
                          "the model repo at a tag, NAMESPACE/NAME@TAG (e.g. "
                          "me/sqry-nl-intent@v1.0.0).")
    return split_spec(spec)


def run_space_build(args: argparse.Namespace) -> int:
    from hf_pipeline.publish.space import build_space_folder

    check_outputs({"--output": folder_output(args.output)})
    repo, revision = hub_model(args.model)
    feedback = feedback_settings(args)
    folder = build_space_folder(args.output, model_repo=repo, model_revision=revision,
                                space_repo=args.repo_id, feedback=feedback)
    print_result(args, {"folder": str(folder), "model": args.model, "space": args.repo_id},
                 f"built the Space in {folder}")
    return 0


def run_space_publish(args: argparse.Namespace) -> int:
    use_hub_options(args)
    from hf_pipeline.publish.space import publish_space

    repo, revision = hub_model(args.model)
    check_repo_id(args.repo_id, field="--repo-id")
    feedback = feedback_settings(args, private=args.visibility != "public")
    sha = publish_space(args.repo_id, model_repo=repo, model_revision=revision,
                        private=args.visibility == "private", feedback=feedback,
                        say=lambda text: note(args, text))
    print_result(args, {"repo_id": args.repo_id, "commit": sha, "model": args.model,
                        "feedback_repo": feedback.repo_id if feedback else None},
                 f"published Space {args.repo_id} (commit {sha[:12]}) for {args.model}")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    feedback_settings(args)  # a bad --feedback-repo is refused before any Hub is started
    check_listen(args.host, args.port)  # before the Hub, the model and the app are loaded
    space = _space_source(args)
    if args.local_hub is None:
        use_hub_options(args)
        return _demo(args, space)
    if args.endpoint or args.token:
        raise ConfigError("--local-hub starts its own Hub: drop --endpoint and --token.")
    if not args.local_hub.is_dir():
        raise ConfigError(f"--local-hub {args.local_hub}: no such folder. Fix: pass the hub/ "
                          "folder of an `hf-pipeline run` output (e.g. out/hub).")
    from hf_pipeline.hub.process import local_hub, local_paths

    _, hf_home, log_file = local_paths(args.local_hub.parent)  # as the run that made it
    with local_hub(args.local_hub, hf_home=hf_home, log_file=log_file) as hub:
        print(f"local Hub {hub.url} over {args.local_hub} (log: {log_file})", file=sys.stderr)
        return _demo(args, space)


def _space_source(args: argparse.Namespace) -> tuple[str, str] | None:
    """(repo, revision) of ``--space``; else None, once ``--model`` is checked: a bad spec is
    refused before any Hub is started or asked."""
    if args.space is not None:
        space, revision = split_repo(args.space, field="--space")
        revision = revision or getattr(args, "space_revision", None) or "main"
        return space, check_revision(revision, field="--space-revision")
    # The same NAMESPACE/NAME@REVISION as `predict --model`; app.py parses it too.
    if is_hub_spec(args.model):
        split_spec(args.model, alternative="a release folder")
    elif not Path(args.model).is_dir():
        raise ConfigError(f"{args.model!r} is neither a folder nor a model repo at a revision. "
                          "Fix: pass a release folder, or NAMESPACE/NAME@TAG (e.g. "
                          "me/sqry-nl-intent@v1.0.0).")
    return None


def _demo(args: argparse.Namespace, space: tuple[str, str] | None) -> int:
    serve = ["--host", args.host, "--port", str(args.port)]
    feedback = feedback_settings(args)
    if feedback is not None:
        os.environ.update(demo_feedback(feedback))
    if space is not None:
        from huggingface_hub import snapshot_download

        from hf_pipeline.hub_client import hub_errors

        repo, revision = space
        with hub_errors(f"Space {repo}@{revision}"):
            folder = Path(snapshot_download(repo, repo_type="space", revision=revision))
        return load_app(folder / "app.py").main(serve)
    from hf_pipeline.publish.space import space_app

    return load_app(space_app()).main(["--model", args.model, *serve])


def demo_feedback(feedback: FeedbackSettings) -> dict[str, str]:
    """Make the feedback repo if missing; the app's environment for it. The token: on the
    local Hub, the one this process talks to it with; on a real Hub, $SQRY_NL_FEEDBACK_TOKEN
    (a token for that repo only), which the app reads where it is anyway."""
    from huggingface_hub import HfApi, get_token

    from hf_pipeline.hub_client import hub_endpoint
    from hf_pipeline.publish.feedback_repo import (
        TOKEN_ENV,
        TOKEN_HELP,
        demo_environment,
        ensure_feedback_repo,
        feedback_token,
        is_local_endpoint,
    )

    endpoint = hub_endpoint()
    token = get_token() if is_local_endpoint(endpoint) else feedback_token()
    if token is None:
        where = ("a token for the local Hub (HF_TOKEN, or use --local-hub)"
                 if is_local_endpoint(endpoint) else
                 f"{TOKEN_ENV} set to a write token for {feedback.repo_id} only: "
                 f"{TOKEN_HELP.format(repo=feedback.repo_id)}")
        raise ConfigError(f"--feedback-repo {feedback.repo_id}: the Hub at {endpoint} needs "
                          f"{where}.")
    made = ensure_feedback_repo(HfApi(endpoint=endpoint), feedback)
    print(f"feedback on: rows go to {made.repo_id} ({'created, ' if made.created else ''}"
          f"{'private' if made.private else 'public'}) every "
          f"{feedback.every_minutes:g} minute(s)", file=sys.stderr)
    return demo_environment(feedback, token)


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
