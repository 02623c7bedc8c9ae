"""``publish_space``: the Gradio Space as a folder that runs from its own files, one commit.

A Space installs only its ``requirements.txt``, and hf_pipeline is not on PyPI. So the folder
carries the runtime as ``sqry_nl_runtime/``, generated on every build from the modules of
hf_pipeline that ``hf_pipeline.runtime`` and the app import (found with ``ast``, imports
inside functions included), with the package renamed. The build fails if that closure
reaches a training library or a pipeline stage: the Space could not install them, and the
runtime must stand alone. ``space_config.json`` names the model repo, the revision and the
commit it named at publish time, so the Space needs no settings.
"""

from __future__ import annotations

import ast
import importlib.metadata
import io
import json
import logging
import platform
import re
import sys
import tempfile
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from hf_pipeline import __version__
from hf_pipeline.errors import InvalidValueError, OutputError, PipelineError
from hf_pipeline.io import atomic_write_text, sha256_file
from hf_pipeline.publish.dataset import REPO_PATTERN, PublishError

if TYPE_CHECKING:
    from huggingface_hub import HfApi

log = logging.getLogger(__name__)

PACKAGE = "hf_pipeline"
SPACE_PACKAGE = "sqry_nl_runtime"
PACKAGE_DIR = Path(__file__).resolve().parents[1]
SPACE_APP = PACKAGE_DIR.parent / "spaces_demo" / "app.py"
RUNTIME_ROOT = f"{PACKAGE}.runtime"
SPACE_CONFIG_FILE = "space_config.json"  # the app reads it under the same name
APP_FILE = "app.py"

# What a Space must never install or run: the training stack and the pipeline's stages.
TRAINING_LIBRARIES = ("torch", "transformers", "datasets", "accelerate")
NOT_STAGES = ("runtime",)  # the only subpackage the Space may carry
STAGE_MODULES = ("cli", "__main__", "data_sources", "base_model")  # top-level, stage-only
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


# ----------------------------------------------------------------------------- closure

@dataclass(frozen=True)
class Closure:
    """The hf_pipeline modules to copy, and the third-party top-level modules they import."""

    modules: dict[str, Path]  # dotted name -> source file
    libraries: frozenset[str]
    problems: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class _Import:
    name: str  # absolute dotted name
    line: int
    names: tuple[str, ...] = ()  # for "from X import a, b": a, b (maybe submodules)


def module_file(name: str, package_dir: Path = PACKAGE_DIR) -> Path | None:
    """The source file of ``name`` (inside ``package_dir``), or None."""
    parts = name.split(".")[1:]
    base = package_dir.joinpath(*parts)
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def parse_imports(path: Path, module: str) -> tuple[list[_Import], list[str]]:
    """Every import in ``path`` (top level, functions, TYPE_CHECKING blocks alike), as
    absolute names; plus the dynamic imports, which cannot be followed."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found, dynamic = [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [_Import(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            found.append(_Import(base, node.lineno, tuple(a.name for a in node.names)))
        elif isinstance(node, ast.Call) and _dynamic_import(node.func):
            dynamic.append(f"{module} (line {node.lineno}): a dynamic import "
                           f"({ast.unparse(node)}) cannot be followed; import it by name")
    return found, dynamic


def _dynamic_import(func: ast.expr) -> bool:
    return ((isinstance(func, ast.Name) and func.id == "__import__")
            or (isinstance(func, ast.Attribute) and func.attr == "import_module"))


def _stage_of(name: str, package_dir: Path) -> str | None:
    """The pipeline stage ``name`` belongs to, or None if the Space may carry it: every
    subpackage but the runtime is a stage, and so are the stages' top-level helpers."""
    parts = name.split(".")
    if len(parts) < 2:
        return None
    top = parts[1]
    if top in STAGE_MODULES:
        return top
    if (package_dir / top).is_dir() and top not in NOT_STAGES:
        return top
    return None


def runtime_closure(roots: Iterable[str], *, package_dir: Path = PACKAGE_DIR) -> Closure:
    """The modules of the package that ``roots`` import, transitively, with every parent
    package (importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__``). Reaching a
    training library or a pipeline stage is recorded as a problem, with the import chain."""
    modules: dict[str, Path] = {}
    via: dict[str, tuple[str, int]] = {}  # module -> (the module that imports it, line)
    libraries: set[str] = set()
    problems: list[str] = []
    queue = list(dict.fromkeys(roots))

    def chain(name: str, line: int | None = None) -> str:
        steps = [name if line is None else f"{name} (line {line})"]
        while name in via:
            name, line = via[name]
            steps.append(f"{name} (line {line})")
        return " <- ".join(steps)

    def visit(name: str, parent: str, line: int) -> None:
        if name not in modules and name not in queue:
            via.setdefault(name, (parent, line))
            queue.append(name)

    while queue:
        name = queue.pop(0)
        stage = _stage_of(name, package_dir)
        path = None if stage else module_file(name, package_dir)
        if stage or path is None:
            what = f"part of the pipeline stage '{stage}'" if stage else "no such module"
            problems.append(f"{name}: {what}; imported by {chain(via[name][0], via[name][1])}"
                            if name in via else f"{name}: {what}")
            continue
        modules[name] = path
        parts = name.split(".")
        for i in range(1, len(parts)):
            visit(".".join(parts[:i]), name, 0)
        found, dynamic = parse_imports(path, name)
        problems += dynamic
        for imp in found:
            top = imp.name.split(".")[0]
            if top == PACKAGE:
                visit(imp.name, name, imp.line)
                for sub in imp.names:  # "from pkg import module" imports a module
                    if module_file(f"{imp.name}.{sub}", package_dir) is not None:
                        visit(f"{imp.name}.{sub}", name, imp.line)
            elif top in TRAINING_LIBRARIES:
                problems.append(f"{top}: a training library; imported by "
                                f"{chain(name, imp.line)}")
            elif top not in sys.stdlib_module_names and top != "__future__":
                libraries.add(top)
    return Closure(dict(sorted(modules.items())), frozenset(libraries), tuple(problems))


def app_roots(app_file: Path = SPACE_APP) -> list[str]:
    """The hf_pipeline modules the app imports. Its ``sqry_nl_runtime`` imports must be the
    same ones, renamed, or the Space would run other code than the checkout."""
    found, _ = parse_imports(app_file, "app")
    ours = {(i.name, i.names) for i in found if i.name.split(".")[0] == PACKAGE}
    space = {(PACKAGE + i.name[len(SPACE_PACKAGE):], i.names) for i in found
             if i.name.split(".")[0] == SPACE_PACKAGE}
    if ours != space:
        raise SpaceBuildError(
            f"{app_file}: its {SPACE_PACKAGE} imports differ from its {PACKAGE} imports "
            f"(only with {PACKAGE}: {sorted(ours - space)}; only with {SPACE_PACKAGE}: "
            f"{sorted(space - ours)}). Fix: keep the two import blocks identical.")
    return sorted({name for name, _ in ours})


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


def generated_module(path: Path) -> str:
    relative = path.relative_to(PACKAGE_DIR.parent).as_posix()
    text = rename_package(path.read_text(encoding="utf-8"))
    return (f"# Generated from {relative} (hf_pipeline {__version__}) by `hf-pipeline "
            "publish-space`: do not edit; change the source and publish again.\n" + text)


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
           space_repo: str | None) -> str:
    meta = {"title": card.title, "emoji": card.emoji, "colorFrom": card.color_from,
            "colorTo": card.color_to, "sdk": "gradio",
            "sdk_version": importlib.metadata.version("gradio"),
            "python_version": ".".join(platform.python_version_tuple()[:2]),
            "app_file": APP_FILE, "models": [model_repo],
            "short_description": card.short_description, "license": card.license,
            "pinned": False}
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    client = space_repo or "OWNER/SPACE"
    return f"""---
{front}---

# {card.title}

Type a request as you would ask sqry, the code-search tool, and see which of its eight
intents the classifier picks, with all eight calibrated probabilities and what sqry would do
(run the command, ask to confirm, or ask what you meant). The batch tab takes many requests
at once. The model is `{model_repo}` at `{model_revision}`, loaded with its checksums
verified.

API (`pip install gradio_client`):

```python
from gradio_client import Client

client = Client("{client}")
client.predict("who calls parse_config", api_name="/classify")  # label + 8 probabilities
client.predict("who calls main\\nwhere is Config defined", None,
               api_name="/classify_batch")  # table + JSON-lines file
```

`{SPACE_PACKAGE}/` is generated from `hf_pipeline/runtime` by `hf-pipeline publish-space`;
do not edit it here.
"""


def build_space_folder(out_dir: str | Path, *, model_repo: str, model_revision: str,
                       model_commit: str | None = None, space_repo: str | None = None,
                       card: SpaceCard = SpaceCard()) -> Path:
    """Write the Space into ``out_dir`` (absent or empty): app.py, sqry_nl_runtime/,
    requirements.txt, README.md and space_config.json. Same inputs, same bytes."""
    out = Path(out_dir)
    _check_repo("model_repo", model_repo)
    if not model_revision.strip():
        raise InvalidValueError("model_revision", model_revision, "a tag or commit")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise OutputError(out, "exists and is not an empty folder.",
                          fix="choose a new folder; a stale file would be published too.")
    closure = runtime_closure([RUNTIME_ROOT, *app_roots()])
    if closure.problems:
        raise SpaceBuildError(
            f"the Space's runtime cannot be generated: the import closure of {RUNTIME_ROOT} "
            "reaches code a Space must not carry:\n" + "\n".join(
                f"  {p}" for p in closure.problems) + "\nFix: the runtime must install alone: "
            "move what it needs out of the stages (into hf_pipeline.runtime or a shared "
            "module such as hf_pipeline.io).")
    files = {APP_FILE: SPACE_APP.read_text(encoding="utf-8")}
    for name, path in closure.modules.items():
        target = Path(SPACE_PACKAGE, *name.split(".")[1:])
        target = target / "__init__.py" if path.name == "__init__.py" else target.with_suffix(
            ".py")
        files[target.as_posix()] = generated_module(path)
    files["requirements.txt"] = requirements(closure.libraries | _app_libraries())
    files["README.md"] = readme(card, model_repo=model_repo, model_revision=model_revision,
                                space_repo=space_repo)
    files[SPACE_CONFIG_FILE] = json.dumps({
        "model_repo": model_repo, "model_revision": model_revision,
        "model_commit": model_commit, "built_by": f"hf_pipeline {__version__}",
        "runtime_sources": {name: sha256_file(path) for name, path in closure.modules.items()},
    }, indent=2) + "\n"
    for relative, text in sorted(files.items()):
        if relative.endswith(".py"):
            compile(text, relative, "exec")  # a broken rename fails here, not in the Space
        atomic_write_text(out / relative, text)
    log.info("built the Space in %s (%d files)", out, len(files))
    return out


def _app_libraries() -> set[str]:
    found, _ = parse_imports(SPACE_APP, "app")
    tops = {i.name.split(".")[0] for i in found}
    return {t for t in tops if t not in (PACKAGE, SPACE_PACKAGE, "__future__")
            and t not in sys.stdlib_module_names}


def _check_repo(name: str, repo_id: str) -> None:
    if not REPO_PATTERN.match(repo_id or ""):
        raise InvalidValueError(name, repo_id, "a repo id, namespace/name")


# ----------------------------------------------------------------------------- publishing

def publish_space(repo_id: str, *, model_repo: str, model_revision: str, private: bool = False,
                  card: SpaceCard = SpaceCard(), check_model: bool = True,
                  api: HfApi | None = None) -> str:
    """Create the Space repo if needed and upload the built folder as one commit; the same
    content again is a no-op. Returns the Space's commit sha.

    The model's revision is resolved to its commit now, and the Space loads that commit: a
    tag moved later does not change what the Space serves. ``check_model`` loads the model
    (checksums verified) before anything is published."""
    from huggingface_hub import HfApi

    _check_repo("repo_id", repo_id)
    api = api or HfApi()
    commit = resolve_revision(api, model_repo, model_revision)
    if check_model:
        from hf_pipeline.runtime import IntentClassifier

        IntentClassifier.from_hub(model_repo, revision=commit)
    with tempfile.TemporaryDirectory(prefix="space_") as tmp:
        folder = build_space_folder(Path(tmp) / "space", model_repo=model_repo,
                                    model_revision=model_revision, model_commit=commit,
                                    space_repo=repo_id, card=card)
        try:
            api.create_repo(repo_id, repo_type="space", space_sdk="gradio", private=private,
                            exist_ok=True)
            # delete_patterns: a file the previous version had and this one has not goes.
            info = api.upload_folder(repo_id=repo_id, repo_type="space", folder_path=folder,
                                     delete_patterns="*",
                                     commit_message=f"Space for {model_repo}@{model_revision}")
        except Exception as e:
            raise _publish_error(e, api, repo_id) from None
    log.info("published %s at %s (model %s@%s = %s)", repo_id, info.oid, model_repo,
             model_revision, commit)
    return info.oid


def resolve_revision(api: HfApi, repo_id: str, revision: str) -> str:
    """The commit sha ``revision`` (tag, branch or sha) names in model repo ``repo_id``."""
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    _check_repo("model_repo", repo_id)
    try:
        sha = api.model_info(repo_id, revision=revision).sha
    except RevisionNotFoundError:
        raise PublishError(f"model repo {repo_id} on {api.endpoint} has no revision "
                           f"{revision!r}. Fix: publish the model under that tag first, or "
                           "pass one of its tags.") from None
    except RepositoryNotFoundError:
        raise PublishError(f"model repo {repo_id} not found on {api.endpoint} (or the token "
                           "cannot read it). Fix: publish the model first, or check the "
                           "name and HF_TOKEN.") from None
    if not sha or not re.fullmatch(r"[0-9a-f]{40}", sha):
        raise PublishError(f"{api.endpoint} gave no commit for {repo_id}@{revision}.")
    return sha


def _publish_error(error: Exception, api: HfApi, repo_id: str) -> PipelineError:
    from huggingface_hub.errors import HfHubHTTPError

    if isinstance(error, PipelineError):
        return error
    if isinstance(error, HfHubHTTPError):
        status = error.response.status_code if error.response is not None else "?"
        hint = ("Fix: set HF_TOKEN to a token with write access to the namespace, or run "
                "`hf auth login`." if status in (401, 403) else "")
        return PublishError(f"{api.endpoint} refused to publish the Space {repo_id} "
                            f"(HTTP {status}: {error}). {hint}".strip())
    return PublishError(f"could not publish the Space {repo_id} to {api.endpoint}: "
                        f"{type(error).__name__}: {error}")
