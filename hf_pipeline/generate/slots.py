"""Slot values: identifiers in every style, paths, texts, languages, formats...

Open vocabularies (the word lists identifiers are built from, paths, texts) are partitioned:
a fixed share is held out of training and used only by validation/test, so the test split
measures names the model has never seen. Closed vocabularies are shared by all splits.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hf_pipeline.errors import DataFileError
from hf_pipeline.generate.templates import OPTION_KINDS
from hf_pipeline.generate.yaml_nodes import compose_file, line, mapping, scalars


def stable_rank(*parts: object) -> bytes:
    """A sort key that depends only on ``parts``, never on the seed: what held-out splits
    (template lines, slot values, option phrasings) are chosen by."""
    return hashlib.sha256(":".join(map(str, parts)).encode("utf-8")).digest()

SLOTS_FILE = Path(__file__).parent / "slots.yaml"

# Every slot a template may use (the loader rejects anything else).
SLOT_NAMES: frozenset[str] = frozenset({
    "symbol", "symbol2", "function", "type", "module", "kind", "kinds", "lang", "path",
    "text", "quoted", "regex", "predicate", "relation", "format", "limit", "depth",
    "code_text", "license",
})

OPEN_LISTS = ("verb", "noun", "adjective", "plain_symbol", "package", "namespace", "container",
              "module", "dir", "file_stem", "extension", "text", "quoted_text", "regex",
              "code_text", "license")
CLOSED_LISTS = ("kind", "kinds", "lang", "predicate", "relation", "format", "limit", "depth")


@dataclass(frozen=True)
class Vocabulary:
    """The word lists one split may draw from."""

    lists: dict[str, tuple[str, ...]]

    def pick(self, name: str, rng: random.Random) -> str:
        return rng.choice(self.lists[name])


# Where an option phrase goes: after the request, or before it.
POSITIONS: tuple[str, ...] = ("append", "prepend")
# kind -> position -> (phrase, line)
OptionTexts = dict[str, dict[str, tuple[tuple[str, int], ...]]]


@dataclass(frozen=True)
class SlotFile:
    """A slot file of the right shape: the word lists, and the option phrases by kind and
    position with their lines (``option_lines``: the line of each kind)."""

    path: Path
    lists: dict[str, tuple[str, ...]]
    options: OptionTexts
    option_lines: dict[str, int]


def read_slot_file(path: Path = SLOTS_FILE) -> SlotFile:
    """``path`` (slots.yaml), its shape checked: sections ``open`` and ``closed`` map each
    list name to a non-empty list of values, ``options`` maps each option kind to
    append/prepend lists of phrases. Anything else is a DataFileError naming the line."""
    top = mapping(path, compose_file(path), "the slot file", at=1,
                  allowed=("open", "closed", "options"),
                  fix="see hf_pipeline/generate/slots.yaml for the sections and lists.")
    lists: dict[str, tuple[str, ...]] = {}
    for section, names in (("open", OPEN_LISTS), ("closed", CLOSED_LISTS)):
        entries = mapping(path, top.get(section), f"section {section!r}", at=1, allowed=names)
        missing = [n for n in names if n not in entries]
        if missing:
            raise DataFileError(path, f"section {section!r} lacks list(s) {', '.join(missing)}.",
                                line=line(top[section]),
                                fix="every slot list needs at least one value.")
        for name, node in entries.items():
            lists[name] = tuple(text for text, _ in scalars(path, node, f"list {name!r}"))
            if not lists[name]:
                raise DataFileError(path, f"list {name!r} is empty.", line=line(node),
                                    fix="every slot list needs at least one value.")
    kinds = mapping(path, top.get("options"), "section 'options'", at=1, allowed=OPTION_KINDS,
                    fix=f"give the option phrases of the kinds {', '.join(OPTION_KINDS)}.")
    missing = [k for k in OPTION_KINDS if k not in kinds]
    if missing:
        raise DataFileError(path, f"section 'options' lacks kind(s) {', '.join(missing)}.",
                            line=line(top["options"]))
    options = {kind: {position: tuple(scalars(path, phrases, f"option phrases {kind}.{position}"))
                      for position, phrases in mapping(path, node, f"option kind {kind!r}",
                                                       allowed=POSITIONS).items()}
               for kind, node in kinds.items()}
    return SlotFile(path, lists, options, {kind: line(node) for kind, node in kinds.items()})


def load_vocabularies(path: Path = SLOTS_FILE, *,
                      heldout_fraction: float = 0.25) -> dict[str, Vocabulary]:
    """``{"train": ..., "heldout": ...}``: open lists partitioned by a stable hash rank."""
    lists = read_slot_file(path).lists
    train: dict[str, tuple[str, ...]] = {}
    heldout: dict[str, tuple[str, ...]] = {}
    for name in OPEN_LISTS:
        values = list(dict.fromkeys(lists[name]))
        ranked = sorted(values, key=lambda v: stable_rank(name, v))
        cut = max(1, round(len(values) * heldout_fraction)) if len(values) > 1 else 0
        heldout[name] = tuple(ranked[:cut]) or tuple(values)
        train[name] = tuple(ranked[cut:])
    for name in CLOSED_LISTS:
        train[name] = heldout[name] = lists[name]
    return {"train": Vocabulary(train), "heldout": Vocabulary(heldout)}


# -- identifier styles ---------------------------------------------------------------------


def _words(v: Vocabulary, rng: random.Random, n: int) -> list[str]:
    first = v.pick("verb", rng) if rng.random() < 0.6 else v.pick("adjective", rng)
    rest = [v.pick("noun", rng) for _ in range(n - 1)]
    return [first, *rest]


def _pascal(words: list[str]) -> str:
    return "".join(w[:1].upper() + w[1:] for w in words)


def _camel(words: list[str]) -> str:
    return words[0] + _pascal(words[1:])


def snake_case(v: Vocabulary, rng: random.Random) -> str:
    return "_".join(_words(v, rng, rng.choice((2, 2, 3))))


def camel_case(v: Vocabulary, rng: random.Random) -> str:
    return _camel(_words(v, rng, rng.choice((2, 2, 3))))


def pascal_type(v: Vocabulary, rng: random.Random) -> str:
    words = [v.pick("adjective", rng)] if rng.random() < 0.4 else []
    return _pascal([*words, v.pick("noun", rng), v.pick("noun", rng)][-rng.choice((1, 2, 2)):])


def screaming_case(v: Vocabulary, rng: random.Random) -> str:
    return "_".join(w.upper() for w in (v.pick("adjective", rng), v.pick("noun", rng)))


def package_func(v: Vocabulary, rng: random.Random) -> str:
    func = _pascal(_words(v, rng, 2)) if rng.random() < 0.5 else snake_case(v, rng)
    return f"{v.pick('package', rng)}.{func}"


def type_method(v: Vocabulary, rng: random.Random) -> str:
    sep = "::" if rng.random() < 0.6 else "."
    method = snake_case(v, rng) if sep == "::" else camel_case(v, rng)
    return f"{pascal_type(v, rng)}{sep}{method}"


def namespaced(v: Vocabulary, rng: random.Random) -> str:
    return f"{v.pick('namespace', rng)}::{pascal_type(v, rng)}"


def generic(v: Vocabulary, rng: random.Random) -> str:
    args = [pascal_type(v, rng) for _ in range(rng.choice((1, 1, 2)))]
    if rng.random() < 0.2:
        args = ["T"] if len(args) == 1 else ["K", "V"]
    return f"{v.pick('container', rng)}<{', '.join(args)}>"


def plain(v: Vocabulary, rng: random.Random) -> str:
    return v.pick("plain_symbol", rng)


def call_form(v: Vocabulary, rng: random.Random) -> str:
    return f"{rng.choice((snake_case, camel_case, plain))(v, rng)}()"


Style = Callable[[Vocabulary, random.Random], str]
SYMBOL_STYLES: tuple[Style, ...] = (snake_case, camel_case, pascal_type, screaming_case,
                                    package_func, type_method, namespaced, generic, plain)
FUNCTION_STYLES: tuple[Style, ...] = (snake_case, snake_case, camel_case, camel_case, plain,
                                      plain, type_method, package_func, call_form)
TYPE_STYLES: tuple[Style, ...] = (pascal_type, pascal_type, pascal_type, namespaced, generic)


def path_value(v: Vocabulary, rng: random.Random) -> str:
    shape = rng.random()
    if shape < 0.4:
        return f"{v.pick('dir', rng)}/{v.pick('file_stem', rng)}.{v.pick('extension', rng)}"
    if shape < 0.6:
        return v.pick("dir", rng) + ("/" if rng.random() < 0.5 else "")
    if shape < 0.8:
        return f"{v.pick('dir', rng)}/**" if rng.random() < 0.5 else \
            f"*.{v.pick('extension', rng)}"
    return f"{v.pick('file_stem', rng)}.{v.pick('extension', rng)}"


def quoted_value(v: Vocabulary, rng: random.Random) -> str:
    quote = rng.choice(('"', '"', "'", "`"))
    return f"{quote}{v.pick('quoted_text', rng)}{quote}"


def _decorate(value: str, rng: random.Random) -> str:
    """People paste identifiers in backticks or quotes now and then."""
    r = rng.random()
    if r < 0.07:
        return f"`{value}`"
    if r < 0.10:
        return f'"{value}"'
    return value


def make_filler(vocabulary: Vocabulary) -> Callable[[str, random.Random], str]:
    """The ``fill(slot, rng)`` function templates expand with, for one split's vocabulary."""
    v = vocabulary

    def symbol(rng: random.Random) -> str:
        return _decorate(rng.choice(SYMBOL_STYLES)(v, rng), rng)

    simple: dict[str, Callable[[random.Random], str]] = {
        "symbol": symbol,
        "symbol2": symbol,
        "function": lambda rng: _decorate(rng.choice(FUNCTION_STYLES)(v, rng), rng),
        "type": lambda rng: _decorate(rng.choice(TYPE_STYLES)(v, rng), rng),
        "module": lambda rng: v.pick("module", rng),
        "path": lambda rng: path_value(v, rng),
        "text": lambda rng: v.pick("text", rng),
        "quoted": lambda rng: quoted_value(v, rng),
        "regex": lambda rng: v.pick("regex", rng),
        "code_text": lambda rng: v.pick("code_text", rng),
        "license": lambda rng: v.pick("license", rng),
    }
    for name in CLOSED_LISTS:
        simple[name] = (lambda n: lambda rng: v.pick(n, rng))(name)

    def fill(slot: str, rng: random.Random) -> str:
        return simple[slot](rng)

    return fill
