"""The generator's YAML files (templates, slot values) read as node trees: every shape error
names the file and the line, and nothing of the wrong shape reaches the generator.

``yaml.compose`` keeps each node's position. Values are text (template lines, slot values,
phrases), taken as written: ``no`` stays "no" and ``1.50`` stays "1.50", where
``yaml.safe_load`` would have made them False and 1.5.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from hf_pipeline.errors import DataFileError
from hf_pipeline.io import read_text

NULL_TAG = "tag:yaml.org,2002:null"
_KIND = {yaml.MappingNode: "a mapping", yaml.SequenceNode: "a list", yaml.ScalarNode: "a value"}


def line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def found(node: yaml.Node | None) -> str:
    """What ``node`` is, in words: "a list", "a mapping", "null", "the value 5"."""
    if node is None:
        return "nothing"
    if isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG:
        return "null"
    if isinstance(node, yaml.ScalarNode):
        return f"the value {node.value!r}"
    return _KIND[type(node)]


def compose_file(path: Path, *, fix: str = "") -> yaml.Node:
    """The node tree of the YAML file ``path``; invalid YAML or an empty file is a
    DataFileError with the line."""
    try:
        root = yaml.compose(read_text(path))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise DataFileError(path, f"not valid YAML: {getattr(e, 'problem', None) or e}.",
                            line=mark.line + 1 if mark else None,
                            fix=fix or "check the indentation, and quote values that start "
                            "with { [ or contain ': '.") from None
    if root is None:
        raise DataFileError(path, "is empty.", fix=fix)
    return root


def mapping(path: Path, node: yaml.Node | None, what: str, *, at: int | None = None,
            allowed: Sequence[str] | None = None, fix: str = "") -> dict[str, yaml.Node]:
    """``node`` as key -> value node; it must be a mapping whose keys are plain strings,
    each one of ``allowed`` when given. ``at``: the line to name when ``node`` is absent."""
    if not isinstance(node, yaml.MappingNode):
        raise DataFileError(path, f"{what} must be a mapping, found {found(node)}.",
                            line=line(node) if node is not None else at, fix=fix)
    out: dict[str, yaml.Node] = {}
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == NULL_TAG:
            raise DataFileError(path, f"{what}: a key must be a name, found {found(key)}.",
                                line=line(key), fix=fix)
        if allowed is not None and key.value not in allowed:
            raise DataFileError(path, f"{what}: unknown key {key.value!r}.", line=line(key),
                                fix=f"use only {', '.join(allowed)}.")
        if key.value in out:
            raise DataFileError(path, f"{what}: key {key.value!r} appears twice.",
                                line=line(key), fix="keep one of them.")
        out[key.value] = value
    return out


def scalar(path: Path, node: yaml.Node | None, what: str, *, at: int | None = None,
           fix: str = "") -> str:
    """A single value (not a list, a mapping or null), as written."""
    if not isinstance(node, yaml.ScalarNode) or node.tag == NULL_TAG:
        raise DataFileError(path, f"{what} must be a single value, found {found(node)}.",
                            line=line(node) if node is not None else at, fix=fix)
    return str(node.value)


def scalars(path: Path, node: yaml.Node | None, what: str, *, at: int | None = None,
            fix: str = "") -> list[tuple[str, int]]:
    """A list of single values, each as (text, line)."""
    if not isinstance(node, yaml.SequenceNode):
        raise DataFileError(path, f"{what} must be a list of values, found {found(node)}.",
                            line=line(node) if node is not None else at,
                            fix=fix or "write a YAML list, e.g. [a, b, c].")
    return [(scalar(path, item, f"{what}: each item", fix=fix), line(item))
            for item in node.value]
