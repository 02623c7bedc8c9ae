"""Hub repo ids and revisions: the one check every command uses, before any client sees them.

At least as strict as huggingface_hub's own ``validate_repo_id`` (which raises a bare
``HFValidationError`` deep in a request) and as git's ref names (``git check-ref-format``),
so nothing that passes here is refused by the client or turned into another path on the
server (``../x``, ``ns/..``), and an empty revision after ``@`` is never "the default branch".

A model is given as a folder or ``namespace/name@revision``; ``is_hub_spec`` says which one
a string means: an existing path is a folder, anything else with an ``@`` is a Hub spec and
must be a valid one. Standard library only: the runtime and the Space use it.
"""

from __future__ import annotations

import re
from pathlib import Path

from hf_pipeline.errors import InvalidValueError

MAX_NAME = 96  # huggingface_hub's limit, for the namespace and the name each
# ASCII only (huggingface_hub's \w also admits other letters the Hub refuses); first and
# last character a letter, digit or '_'.
_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?")
# git check-ref-format: no control characters, space, ~ ^ : ? * [ or backslash.
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
REPO_ID_FORM = "namespace/name"
SPEC_FORM = "namespace/name@revision"


def name_problem(name: str, *, what: str = "name") -> str | None:
    """Why ``name`` (a namespace or a repo name) is not one, or None."""
    if not name:
        return f"the {what} is empty"
    if len(name) > MAX_NAME:
        return f"the {what} is longer than {MAX_NAME} characters"
    if not _NAME.fullmatch(name):
        return (f"the {what} {name!r} must use only letters, digits, '-', '_' and '.', and "
                "start and end with a letter, digit or '_'")
    if "--" in name or ".." in name:
        return f"the {what} {name!r} contains '--' or '..'"
    if name.endswith(".git"):
        return f"the {what} {name!r} ends with '.git'"
    return None


def repo_id_problem(value: object, *, namespace: bool = True) -> str | None:
    """Why ``value`` is not a Hub repo id, or None. ``namespace``: it must have one."""
    if not isinstance(value, str):
        return f"a {type(value).__name__}, not text"
    parts = value.split("/")
    if len(parts) > 2 or (namespace and len(parts) != 2):
        return f"it must be {REPO_ID_FORM}" + ("" if namespace else " or name")
    whats = ("namespace", "name") if len(parts) == 2 else ("name",)
    return next(filter(None, (name_problem(p, what=w) for p, w in zip(parts, whats,
                                                                        strict=True))), None)


def revision_problem(value: object) -> str | None:
    """Why ``value`` is not a revision (a tag, branch or commit, as a git ref name), or None."""
    if not isinstance(value, str):
        return f"a {type(value).__name__}, not text"
    if not value:
        return "the revision is empty"
    if any(c.isspace() for c in value) or _REF_FORBIDDEN.search(value):
        return (f"the revision {value!r} contains whitespace, a control character or one of "
                "~ ^ : ? * [ \\")
    if ".." in value or "@{" in value or "//" in value or value == "@":
        return f"the revision {value!r} contains '..', '@{{' or '//', or is '@'"
    if value.startswith("/") or value.endswith(("/", ".", ".lock")):
        return f"the revision {value!r} starts with '/' or ends with '/', '.' or '.lock'"
    if any(part.startswith(".") for part in value.split("/")):
        return f"the revision {value!r} has a part that starts with '.'"
    return None


def check_repo_id(value: object, *, field: str = "repo_id", namespace: bool = True) -> str:
    """``value`` if it is a Hub repo id, else an InvalidValueError naming ``field``."""
    problem = repo_id_problem(value, namespace=namespace)
    if problem is not None:
        expected = f"a Hub repo id, {REPO_ID_FORM}" + ("" if namespace else " or name")
        raise InvalidValueError(field, value, expected, fix=f"Here {problem}.")
    return str(value)


def check_namespace(value: object, *, field: str = "namespace") -> str:
    """``value`` if it is a user or organisation name on the Hub, else an InvalidValueError."""
    problem = (name_problem(value, what="namespace") if isinstance(value, str)
               else f"a {type(value).__name__}, not text")
    if problem is not None:
        raise InvalidValueError(field, value, "a user or organisation name",
                                fix=f"Here {problem}.")
    return value


def check_revision(value: object, *, field: str = "revision") -> str:
    """``value`` if it is a revision (tag, branch or commit), else an InvalidValueError."""
    problem = revision_problem(value)
    if problem is not None:
        raise InvalidValueError(field, value, "a tag, branch or commit",
                                fix=f"Here {problem}.")
    return str(value)


def is_hub_spec(spec: str | Path) -> bool:
    """Whether ``spec`` is meant as ``namespace/name@revision``: it has an ``@`` and is not an
    existing path. ``split_spec`` then says whether it is a valid one."""
    return "@" in str(spec) and not Path(spec).exists()


def spec_problem(spec: str, *, namespace: bool = True,
                 revision_required: bool = True) -> str | None:
    """Why ``spec`` is not ``namespace/name@revision`` (``@revision`` optional unless
    ``revision_required``, ``namespace/`` optional unless ``namespace``), or None."""
    repo_id, at, revision = spec.partition("@")
    if revision_required and not at:
        return "it has no '@revision'"
    return repo_id_problem(repo_id, namespace=namespace) or (
        revision_problem(revision) if at else None)


def split_repo(spec: str | Path, *, field: str, namespace: bool = True,
               revision_required: bool = False, alternative: str = "") -> tuple[str, str | None]:
    """(repo id, revision or None) of ``namespace/name[@revision]``; an InvalidValueError
    naming ``field`` when it is not one. ``alternative``: what else ``field`` may be."""
    text = str(spec)
    problem = spec_problem(text, namespace=namespace, revision_required=revision_required)
    if problem is not None:
        form = (REPO_ID_FORM if namespace else "[namespace/]name") + (
            "@revision" if revision_required else "[@revision]")
        expected = f"{alternative}, or a Hub repo {form}" if alternative else f"a Hub repo {form}"
        raise InvalidValueError(field, text, expected, fix=f"Here {problem}.")
    repo_id, at, revision = text.partition("@")
    return repo_id, revision if at else None


def split_spec(spec: str | Path, *, field: str = "--model",
               alternative: str = "") -> tuple[str, str]:
    """(repo id, revision) of ``namespace/name@revision``, the form a model takes on the
    command line; an InvalidValueError naming ``field`` when it is not one."""
    repo_id, revision = split_repo(spec, field=field, revision_required=True,
                                   alternative=alternative)
    return repo_id, str(revision)
