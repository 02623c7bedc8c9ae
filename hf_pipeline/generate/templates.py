"""Template files: human-authored YAML per intent, parsed into small expansion trees.

Syntax of one template line (see templates/README.md):
``{slot}`` a slot value, ``(a|b|c)`` one alternative (may be empty), ``[x]`` optional,
``\\`` escapes the next character. Errors name the file, the line and the fix.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Union

import yaml

from hf_pipeline.errors import DataFileError
from hf_pipeline.generate.yaml_nodes import compose_file, line, mapping, scalar, scalars
from hf_pipeline.intents import AMBIGUOUS, INTENTS

TEMPLATES_DIR = Path(__file__).parent / "templates"
GROUP_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# Every kind of option phrase an intent file may declare (phrases: options.py, slots.yaml).
OPTION_KINDS: tuple[str, ...] = ("depth", "limit", "lang", "path", "output", "format")

# -- the expansion tree ------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    name: str


@dataclass(frozen=True)
class Choice:
    options: tuple[Seq, ...]


@dataclass(frozen=True)
class Optional_:
    body: Seq


Node = Union[str, Slot, Choice, Optional_]  # noqa: UP007 (a runtime alias on 3.10)
Seq = tuple[Node, ...]
SlotFiller = Callable[[str, random.Random], str]


@dataclass(frozen=True)
class Template:
    """One template line of one intent's file."""

    intent: str
    group: str
    text: str
    tree: Seq
    path: Path
    line: int
    # Kinds of option phrase (see options.py) the generator may add to this line's samples:
    # the ``options:`` key of the intent's file.
    options: tuple[str, ...] = ()

    @property
    def template_id(self) -> str:
        digest = hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:8]
        return f"{self.intent}/{self.group}/{digest}"

    @property
    def slots(self) -> frozenset[str]:
        return frozenset(_slots_in(self.tree))

    def expand(self, rng: random.Random, fill: SlotFiller) -> str:
        """One concrete text: alternatives and optionals drawn from ``rng``; a slot that
        appears twice gets the same value."""
        return render(self.tree, rng, fill)


def render(tree: Seq, rng: random.Random, fill: SlotFiller) -> str:
    """One concrete, tidy text of a parsed line; a slot that appears twice gets one value."""
    values: dict[str, str] = {}

    def slot_value(name: str) -> str:
        if name not in values:
            values[name] = fill(name, rng)
        return values[name]

    return tidy(_render(tree, rng, slot_value))


def _render(seq: Seq, rng: random.Random, slot_value: Callable[[str], str]) -> str:
    parts: list[str] = []
    for node in seq:
        if isinstance(node, str):
            parts.append(node)
        elif isinstance(node, Slot):
            parts.append(slot_value(node.name))
        elif isinstance(node, Choice):
            parts.append(_render(rng.choice(node.options), rng, slot_value))
        elif rng.random() < 0.5:
            parts.append(_render(node.body, rng, slot_value))
    return "".join(parts)


def _slots_in(seq: Seq) -> Iterable[str]:
    for node in seq:
        if isinstance(node, Slot):
            yield node.name
        elif isinstance(node, Choice):
            for option in node.options:
                yield from _slots_in(option)
        elif isinstance(node, Optional_):
            yield from _slots_in(node.body)


_SPACES = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([?!.,:;])")


def tidy(text: str) -> str:
    """Collapse the double spaces and stray spaces that empty alternatives leave behind."""
    return _SPACE_BEFORE_PUNCT.sub(r"\1", _SPACES.sub(" ", text)).strip()


# -- parsing -------------------------------------------------------------------------------


class TemplateSyntaxError(ValueError):
    """Raised by ``parse``; the loader turns it into a DataFileError with file and line."""


def parse(text: str, *, known_slots: frozenset[str]) -> Seq:
    """Parse one template line into a tree; unknown slots and unbalanced brackets raise."""
    seq, pos = _parse_seq(text, 0, known_slots, closers="")
    if pos != len(text):
        raise TemplateSyntaxError(f"unexpected {text[pos]!r} at column {pos + 1}")
    if not seq:
        raise TemplateSyntaxError("empty template")
    return seq


def _parse_seq(text: str, pos: int, known: frozenset[str], closers: str) -> tuple[Seq, int]:
    nodes: list[Node] = []
    buf: list[str] = []

    def flush() -> None:
        if buf:
            nodes.append("".join(buf))
            buf.clear()

    while pos < len(text):
        ch = text[pos]
        if ch == "\\" and pos + 1 < len(text):
            buf.append(text[pos + 1])
            pos += 2
        elif ch in closers or (ch == "|" and "|" in closers):
            break
        elif ch == "{":
            end = text.find("}", pos)
            if end < 0:
                raise TemplateSyntaxError(f"'{{' at column {pos + 1} is never closed")
            name = text[pos + 1:end]
            if name not in known:
                raise TemplateSyntaxError(
                    f"unknown slot {{{name}}}; known slots: {', '.join(sorted(known))}")
            flush()
            nodes.append(Slot(name))
            pos = end + 1
        elif ch == "(":
            flush()
            node, pos = _parse_choice(text, pos, known)
            nodes.append(node)
        elif ch == "[":
            flush()
            body, pos = _parse_seq(text, pos + 1, known, closers="]")
            if pos >= len(text):
                raise TemplateSyntaxError("'[' is never closed with ']'")
            nodes.append(Optional_(body))
            pos += 1
        elif ch in ")]}|":
            raise TemplateSyntaxError(f"unmatched {ch!r} at column {pos + 1}")
        else:
            buf.append(ch)
            pos += 1
    flush()
    return tuple(nodes), pos


def _parse_choice(text: str, pos: int, known: frozenset[str]) -> tuple[Choice, int]:
    start, options = pos, []
    pos += 1
    while True:
        option, pos = _parse_seq(text, pos, known, closers="|)")
        options.append(option)
        if pos >= len(text):
            raise TemplateSyntaxError(f"'(' at column {start + 1} is never closed with ')'")
        if text[pos] == ")":
            if len(options) < 2:
                raise TemplateSyntaxError(
                    f"'(' at column {start + 1} has one alternative; use [x] for optional text "
                    "or \\( for a literal parenthesis")
            return Choice(tuple(options)), pos + 1
        pos += 1  # the '|'


# -- files -----------------------------------------------------------------------------------


def load_templates(directory: Path | None = None, *, known_slots: frozenset[str],
                   known_options: Sequence[str] = OPTION_KINDS) -> dict[str, list[Template]]:
    """All ``*.yaml`` files of ``directory``: intent -> templates (file order)."""
    directory = directory or TEMPLATES_DIR
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise DataFileError(directory, "no template files (*.yaml) found.",
                            fix="point --templates at a folder with one YAML file per intent.")
    by_intent: dict[str, list[Template]] = {}
    for path in files:
        intent, templates = load_template_file(path, known_slots=known_slots,
                                               known_options=known_options)
        if intent in by_intent:
            raise DataFileError(path, f"intent {intent!r} is already defined by another file.",
                                fix="keep one file per intent.")
        by_intent[intent] = templates
    missing = [i for i in INTENTS if i not in by_intent]
    if missing:
        raise DataFileError(directory, f"no templates for intent(s) {', '.join(missing)}.",
                            fix="add one YAML file per intent.")
    return {intent: by_intent[intent] for intent in INTENTS}


def load_template_file(path: Path, *, known_slots: frozenset[str],
                       known_options: Sequence[str] = OPTION_KINDS) -> tuple[str, list[Template]]:
    top = mapping(path, compose_file(path), "the template file", at=1,
                  allowed=("intent", "description", "options", "templates"),
                  fix="a template file maps intent, description, options and templates.")
    intent = scalar(path, top.get("intent"), "intent", at=1, fix=f"use one of "
                    f"{', '.join(INTENTS)}.")
    if intent not in INTENTS:
        raise DataFileError(path, f"intent is {intent!r}, not one of the runtime's intents.",
                            line=line(top["intent"]), fix=f"use one of {', '.join(INTENTS)}.")
    if "description" in top:
        scalar(path, top["description"], "description")
    groups = mapping(path, top.get("templates"), "'templates'", at=1,
                     fix="map group names to lists of templates.")
    if not groups:
        raise DataFileError(path, "'templates' has no groups.", line=line(top["templates"]),
                            fix="map group names to lists of templates.")
    options = _options(path, intent, top.get("options"), known_options)
    return intent, [replace(t, options=options) for t in
                    _templates(path, intent, groups, known_slots)]


def _options(path: Path, intent: str, node: yaml.Node | None,
             known: Sequence[str]) -> tuple[str, ...]:
    """The ``options:`` key: a list of option kinds, each one of ``known``."""
    if node is None:
        return ()
    kinds = scalars(path, node, "'options'", fix=f"e.g. options: [{', '.join(known[:3])}].")
    for kind, n in kinds:
        if kind not in known:
            raise DataFileError(path, f"unknown option kind {kind!r}.", line=n,
                                fix=f"use kinds from {', '.join(known) or '(none)'}.")
    if kinds and intent == AMBIGUOUS:
        raise DataFileError(path, "Ambiguous takes no options: an option would make a request "
                            "look actionable.", line=line(node), fix="remove the 'options' key.")
    return tuple(dict.fromkeys(kind for kind, _ in kinds))


def _templates(path: Path, intent: str, groups: dict[str, yaml.Node],
               known_slots: frozenset[str]) -> Iterable[Template]:
    seen: dict[str, int] = {}
    for group, items in groups.items():
        if not GROUP_NAME.match(group):
            raise DataFileError(path, f"group name {group!r} is not lower_snake_case.",
                                line=line(items))
        for text, n in scalars(path, items, f"group {group!r}",
                               fix="a group is a list of template lines."):
            yield _template(path, intent, group, text, n, known_slots, seen)


def _template(path: Path, intent: str, group: str, text: str, line: int,
              known_slots: frozenset[str], seen: dict[str, int]) -> Template:
    text = text.strip()
    if not text:
        raise DataFileError(path, "a template must be a non-empty string.", line=line)
    if text in seen:
        raise DataFileError(path, f"duplicate template {text!r} (first on line {seen[text]}).",
                            line=line, fix="remove one of them.")
    seen[text] = line
    try:
        tree = parse(text, known_slots=known_slots)
    except TemplateSyntaxError as e:
        raise DataFileError(path, f"template {text!r}: {e}.", line=line,
                            fix="see hf_pipeline/generate/templates/README.md for the syntax."
                            ) from None
    return Template(intent=intent, group=group, text=text, tree=tree, path=path, line=line)


def files_digest(paths: Sequence[Path]) -> str:
    """SHA-256 over file names and contents: which templates produced a dataset."""
    h = hashlib.sha256()
    for path in sorted(paths):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()
