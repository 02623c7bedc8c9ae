"""``publish_space``: the Gradio Space as a folder that runs from its own files, one commit.

A Space installs only its ``requirements.txt``, and hf_pipeline is not on PyPI. So the folder
carries the runtime as ``sqry_nl_runtime/``, generated on every build from the modules of
hf_pipeline that ``hf_pipeline.runtime`` and the app import (``hf_pipeline.imports``: every
import, inside functions too), with the package renamed; app.py is copied with the same
renaming. The build fails if that closure reaches a pipeline stage or a training library:
the Space could not install them, and the runtime must stand alone. ``space_config.json``
names the model repo, the revision and the commit it named at publish time, so the Space needs
no settings; with ``feedback``, also the dataset repo its feedback rows go to and how often
they are committed (``hf_pipeline.publish.feedback_repo`` creates that repo and gives the
Space its write token).
"""

from __future__ import annotations

import importlib.metadata
import io
import json
import logging
import platform
import sys
import tempfile
import tokenize
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from hf_pipeline import __version__
from hf_pipeline.contract import SPACE_CONFIG_FILE
from hf_pipeline.errors import InvalidValueError, OutputError, PipelineError
from hf_pipeline.hub_client import hub_errors
from hf_pipeline.imports import (
    PACKAGE,
    PACKAGE_DIR,
    STAGES,
    external_imports,
    imports_of,
    internal_imports,
    module_files,
)
from hf_pipeline.io import atomic_write_text, sha256_file
from hf_pipeline.publish.feedback_repo import (
    REPO_KEY,
    FeedbackSettings,
    ensure_feedback_repo,
    prepare_feedback_token,
    set_feedback_secret,
)
from hf_pipeline.repo_ids import check_repo_id, check_revision

if TYPE_CHECKING:
    from huggingface_hub import HfApi

log = logging.getLogger(__name__)

SPACE_PACKAGE = "sqry_nl_runtime"
RUNTIME_ROOT = f"{PACKAGE}.runtime"
APP_FILE = "app.py"
APP_MODULES = (APP_FILE, "feedback.py")  # spaces_demo's files the Space runs (app.py loads
# feedback.py from its own folder), each copied with its imports renamed

# What a Space must never carry: the pipeline's stages (hf_pipeline.imports.STAGES) and the
# training stack.
TRAINING_LIBRARIES = ("torch", "transformers", "datasets", "accelerate")
HUB_COLORS = ("red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray")
SHORT_DESCRIPTION_MAX = 60  # the Hub's limit


class SpaceBuildError(PipelineError, ValueError):
    """The Space folder cannot be built as asked; the message lists every problem."""


@dataclass(frozen=True)
class SpaceCard:
    """How the Space presents itself on the Hub (its README front matter)."""

    title: str = "sqry-nl intent classifier"
    emoji: str = "🔎"
    color_from: str = "indigo"
    color_to: str = "blue"
    short_description: str = "Which sqry command is a plain-English request?"
    license: str = "mit"

    def __post_init__(self) -> None:
        for name in ("color_from", "color_to"):
            if getattr(self, name) not in HUB_COLORS:
                raise InvalidValueError(name, getattr(self, name), f"one of {HUB_COLORS}")
        if not 0 < len(self.short_description) <= SHORT_DESCRIPTION_MAX:
            raise InvalidValueError("short_description", self.short_description,
                                    f"1 to {SHORT_DESCRIPTION_MAX} characters (the Hub's limit)")
        if not self.title.strip():
            raise InvalidValueError("title", self.title, "a non-empty title")


def space_app() -> Path:
    """spaces_demo/app.py of the checkout this package runs from, else the installed copy
    (``hf_pipeline.assets``): the app must be the one that goes with the runtime copied."""
    from hf_pipeline.assets import asset_dir

    return asset_dir("spaces_demo") / APP_FILE


# ----------------------------------------------------------------------------- closure

@dataclass(frozen=True)
class Closure:
    """The hf_pipeline modules to copy, the third-party top-level modules they import, and
    what the Space must not carry, each with the chain of imports that reaches it."""

    modules: dict[str, Path]  # dotted name -> source file
    libraries: frozenset[str]
    problems: tuple[str, ...]


def stage_of(module: str) -> str | None:
    """The pipeline stage ``module`` belongs to, or None."""
    rest = module.removeprefix(f"{PACKAGE}.")
    return next((s for s in STAGES if rest == s or rest.startswith(f"{s}.")), None)


def runtime_closure(roots: Iterable[str], *, package_dir: Path = PACKAGE_DIR) -> Closure:
    """What ``roots`` import, transitively, with each package's ``__init__`` (importing
    ``a.b.c`` runs ``a`` and ``a.b`` first). A stage is reported, not followed."""
    files = module_files(package_dir)
    graph = internal_imports(files)
    via: dict[str, str] = {}  # module -> the module that first imports it

    def chain(name: str) -> str:
        steps = [name]
        while steps[-1] in via:
            steps.append(via[steps[-1]])
        return " <- ".join(steps)

    modules: dict[str, Path] = {}
    problems: list[str] = []
    queue = [r for r in dict.fromkeys(roots)]
    while queue:
        name = queue.pop(0)
        if name in modules:
            continue
        if (stage := stage_of(name)) is not None:
            problems.append(f"{name}: part of the pipeline stage '{stage}'; imported by "
                            f"{chain(via[name]) if name in via else '(a root)'}")
            continue
        modules[name] = files[name]
        parts = name.split(".")
        for target in [".".join(parts[:i]) for i in range(1, len(parts))] + sorted(graph[name]):
            if target not in modules and target not in via:
                via[target] = name
                queue.append(target)
    libraries = set()
    for name, path in modules.items():
        for top in external_imports(path, name):
            if top in TRAINING_LIBRARIES:
                problems.append(f"{top}: a training library; imported by {chain(name)}")
            elif top not in sys.stdlib_module_names and top != "__future__":
                libraries.add(top)
    return Closure(dict(sorted(modules.items())), frozenset(libraries), tuple(problems))


def app_roots(app_file: Path | None = None) -> list[str]:
    """The hf_pipeline modules the app imports. It imports them under that name only: the
    Space gets it with those imports renamed, as the runtime's own."""
    app_file = app_file or space_app()
    names = imports_of(app_file, "app")
    renamed = sorted(n for n in names if n.split(".")[0] == SPACE_PACKAGE)
    if renamed:
        raise SpaceBuildError(
            f"{app_file}: imports {SPACE_PACKAGE} ({', '.join(renamed)}), which exists only "
            f"in a built Space. Fix: import {PACKAGE}; the build renames the imports.")
    return sorted(n for n in names if n.split(".")[0] == PACKAGE and n in module_files())


def app_libraries(app_file: Path) -> set[str]:
    """Third-party top-level modules app.py imports."""
    return {t for t in external_imports(app_file, "app")
            if t != "__future__" and t not in sys.stdlib_module_names}


# ----------------------------------------------------------------------------- generation

def rename_package(source: str, old: str = PACKAGE, new: str = SPACE_PACKAGE) -> str:
    """``source`` with every *name* ``old`` (imports, attribute chains) replaced by ``new``;
    strings and comments are left alone."""
    hits = [tok.start for tok in tokenize.generate_tokens(io.StringIO(source).readline)
            if tok.type == tokenize.NAME and tok.string == old]
    lines = source.splitlines(keepends=True)
    for row, col in reversed(hits):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + new + line[col + len(old):]
    return "".join(lines)


def generated_module(path: Path, relative: str | None = None) -> str:
    """``path`` with hf_pipeline renamed, under a header that names its source."""
    relative = relative or path.relative_to(PACKAGE_DIR.parent).as_posix()
    text = rename_package(path.read_text(encoding="utf-8"))
    return (f"# Generated from {relative} (hf_pipeline {__version__}) by `hf-pipeline space "
            "publish`: do not edit; change the source and publish again.\n" + text)


def requirements(libraries: Iterable[str]) -> str:
    """``dist==version`` for each imported library, as installed here."""
    dists = importlib.metadata.packages_distributions()
    lines, missing = set(), []
    for module in sorted(libraries):
        names = dists.get(module)
        if not names:
            missing.append(module)
            continue
        dist = names[0]
        lines.add(f"{dist}=={importlib.metadata.version(dist)}")
    if missing:
        raise SpaceBuildError(f"the Space's code imports {', '.join(missing)}, which is not "
                              "installed here, so its version cannot be pinned. Fix: install "
                              "it (pip install -e '.[demo]').")
    return "".join(f"{line}\n" for line in sorted(lines, key=str.lower))


def readme(card: SpaceCard, *, model_repo: str, model_revision: str,
           space_repo: str | None, feedback_repo: str | None = None) -> str:
    meta = {"title": card.title, "emoji": card.emoji, "colorFrom": card.color_from,
            "colorTo": card.color_to, "sdk": "gradio",
            "sdk_version": importlib.metadata.version("gradio"),
            "python_version": ".".join(platform.python_version_tuple()[:2]),
            "app_file": APP_FILE, "models": [model_repo],
            **({"datasets": [feedback_repo]} if feedback_repo else {}),
            "short_description": card.short_description, "license": card.license,
            "pinned": False}
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    client = space_repo or "OWNER/SPACE"
    feedback = (f"\n\nFeedback (\"Is this right?\") is saved to the dataset `{feedback_repo}`, "
                "as its card describes: no IP address, no user name." if feedback_repo else "")
    return f"""---
{front}---

# {card.title}

Type a request as you would ask sqry, the code-search tool, and see which of its eight
intents the classifier picks, with all eight calibrated probabilities and what sqry would do
(run the command, ask to confirm, or ask what you meant). The batch tab takes many requests
at once. The model is `{model_repo}` at `{model_revision}`, loaded with its checksums
verified.{feedback}

API (`pip install gradio_client`):

```python
from gradio_client import Client

client = Client("{client}")
client.predict("who calls parse_config", api_name="/classify")  # label + 8 probabilities
client.predict("who calls main\\nwhere is Config defined", None,
               api_name="/classify_batch")  # table + JSON-lines file
```

`{SPACE_PACKAGE}/` is generated from `hf_pipeline/runtime` by `hf-pipeline space publish`,
and app.py's imports renamed to it; do not edit them here.
"""


def build_space_folder(out_dir: str | Path, *, model_repo: str, model_revision: str,
                       model_commit: str | None = None, space_repo: str | None = None,
                       card: SpaceCard = SpaceCard(),
                       feedback: FeedbackSettings | None = None) -> Path:
    """Write the Space into ``out_dir`` (absent or empty): app.py, sqry_nl_runtime/,
    requirements.txt, README.md and space_config.json (``feedback_repo`` null: feedback
    off). Same inputs, same bytes."""
    out = Path(out_dir)
    check_repo_id(model_repo, field="model_repo")
    check_revision(model_revision, field="model_revision")
    if space_repo is not None:
        check_repo_id(space_repo, field="space_repo")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise OutputError(out, "exists and is not an empty folder.",
                          fix="choose a new folder; a stale file would be published too.")
    app = space_app()
    closure = runtime_closure([RUNTIME_ROOT, *(root for name in APP_MODULES
                                               for root in app_roots(app.with_name(name)))])
    if closure.problems:
        raise SpaceBuildError(
            f"the Space's runtime cannot be generated: the import closure of {RUNTIME_ROOT} "
            "reaches code a Space must not carry:\n" + "\n".join(
                f"  {p}" for p in closure.problems) + "\nFix: the runtime must install alone: "
            "move what it needs out of the stages (into hf_pipeline.runtime or a lower layer, "
            "such as hf_pipeline.model_folder's format modules).")
    files = {name: generated_module(app.with_name(name), f"spaces_demo/{name}")
             for name in APP_MODULES}
    for name, path in closure.modules.items():
        target = Path(SPACE_PACKAGE, *name.split(".")[1:])
        target = target / "__init__.py" if path.name == "__init__.py" else target.with_suffix(
            ".py")
        files[target.as_posix()] = generated_module(path)
    files["requirements.txt"] = requirements(closure.libraries.union(
        *(app_libraries(app.with_name(name)) for name in APP_MODULES)))
    files["README.md"] = readme(card, model_repo=model_repo, model_revision=model_revision,
                                space_repo=space_repo,
                                feedback_repo=feedback.repo_id if feedback else None)
    files[SPACE_CONFIG_FILE] = json.dumps({
        "model_repo": model_repo, "model_revision": model_revision,
        "model_commit": model_commit, "built_by": f"hf_pipeline {__version__}",
        "runtime_sources": {name: sha256_file(path) for name, path in closure.modules.items()},
        **(feedback.config() if feedback else {REPO_KEY: None}),
    }, indent=2) + "\n"
    for relative, text in sorted(files.items()):
        if relative.endswith(".py"):
            compile(text, relative, "exec")  # a broken rename fails here, not in the Space
        atomic_write_text(out / relative, text)
    log.info("built the Space in %s (%d files)", out, len(files))
    return out


# ----------------------------------------------------------------------------- publishing

def publish_space(repo_id: str, *, model_repo: str, model_revision: str, private: bool = False,
                  card: SpaceCard = SpaceCard(), check_model: bool = True,
                  api: HfApi | None = None, feedback: FeedbackSettings | None = None,
                  say: Callable[[str], None] = log.warning) -> str:
    """Create the Space repo if needed and upload the built folder as one commit; the same
    content again is a no-op. Returns the Space's commit sha.

    The model's revision is resolved to its commit now, and the Space loads that commit: a
    tag moved later does not change what the Space serves. ``check_model`` first loads the
    model as the Space will (checksums verified), so a Space that cannot start is never
    published.

    ``feedback``: first the feedback write token (``SQRY_NL_FEEDBACK_TOKEN`` in this
    environment) is checked on a real Hub, then the dataset repo is made
    (``ensure_feedback_repo``), the Space published naming it, and, on a real Hub, the
    token set as the Space's secret; ``say`` tells the person what happened or what to do."""
    from huggingface_hub import HfApi

    check_repo_id(repo_id)
    check_repo_id(model_repo, field="model_repo")
    check_revision(model_revision, field="model_revision")
    api = api or HfApi()
    with hub_errors(f"model {model_repo}@{model_revision}", endpoint=api.endpoint):
        commit = api.model_info(model_repo, revision=model_revision).sha
    if check_model:
        from hf_pipeline.runtime import IntentClassifier

        IntentClassifier.from_hub(model_repo, revision=commit, token=api.token)
    token = None
    if feedback:
        token = prepare_feedback_token(api, feedback.repo_id, say=say)
        made = ensure_feedback_repo(api, feedback, space_repo=repo_id)
        say(f"feedback dataset {made.repo_id}: {'created' if made.created else 'exists'}, "
            f"{'private' if made.private else 'public'}; card {made.card}.")
    with tempfile.TemporaryDirectory(prefix="space_") as tmp:
        folder = build_space_folder(Path(tmp) / "space", model_repo=model_repo,
                                    model_revision=model_revision, model_commit=commit,
                                    space_repo=repo_id, card=card, feedback=feedback)
        with hub_errors(f"publish Space {repo_id}", endpoint=api.endpoint):
            api.create_repo(repo_id, repo_type="space", space_sdk="gradio", private=private,
                            exist_ok=True)
            # delete_patterns: a file the previous version had and this one has not goes.
            info = api.upload_folder(repo_id=repo_id, repo_type="space", folder_path=folder,
                                     delete_patterns="*",
                                     commit_message=f"Space for {model_repo}@{model_revision}")
    log.info("published %s at %s (model %s@%s = %s)", repo_id, info.oid, model_repo,
             model_revision, commit)
    if feedback:
        set_feedback_secret(api, repo_id, feedback.repo_id, token, say=say)
    return info.oid
