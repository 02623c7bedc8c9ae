"""Option phrases: a depth, a limit, a language, a path or an output format added to a drawn
sample, as a construction rather than per-template copies.

Which kinds of option an intent takes is declared by its template file (``options: [...]``);
the phrases are human-authored patterns in the ``options:`` section of ``slots.yaml``, in the
template syntax, one list to append and one to prepend per kind. Like template lines, each
list is split by a stable hash (independent of the seed) into train / validation / test
phrasings, so held-out splits measure phrasings the model has not seen.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from hf_pipeline.errors import DataFileError
from hf_pipeline.generate.slots import SLOT_NAMES, SLOTS_FILE, stable_rank
from hf_pipeline.generate.templates import (
    OPTION_KINDS,
    Seq,
    SlotFiller,
    TemplateSyntaxError,
    parse,
    render,
    tidy,
)
from hf_pipeline.io import read_text

POSITIONS: tuple[str, ...] = ("append", "prepend")
# When an option is added, the share of them put before the request rather than after it.
PREPEND_SHARE = 0.2
# A kind is not added to a template that already fills the slot of the same name.
KIND_SLOT = {"depth": "depth", "limit": "limit", "lang": "lang", "path": "path",
             "format": "format", "output": "format"}


@dataclass(frozen=True)
class Phrase:
    kind: str
    position: str
    text: str
    tree: Seq

    def expand(self, rng: random.Random, fill: SlotFiller) -> str:
        return render(self.tree, rng, fill)


# split -> kind -> position -> phrases
OptionPhrases = dict[str, dict[str, dict[str, tuple[Phrase, ...]]]]


def load_options(path: Path = SLOTS_FILE, *, heldout_fraction: float = 0.15) -> OptionPhrases:
    """The ``options:`` section of the slot file, split into train / validation / test."""
    try:
        data = yaml.safe_load(read_text(path)) or {}
    except (OSError, yaml.YAMLError) as e:
        raise DataFileError(path, f"cannot read option phrases: {e}") from None
    section = data.get("options")
    if not isinstance(section, dict):
        raise DataFileError(path, "no 'options:' section of option phrases.",
                            fix=f"add one with the kinds {', '.join(OPTION_KINDS)}.")
    unknown = sorted(set(section) - set(OPTION_KINDS))
    if unknown:
        raise DataFileError(path, f"unknown option kind(s) {', '.join(map(str, unknown))}.",
                            fix=f"use only {', '.join(OPTION_KINDS)}.")
    out: OptionPhrases = {s: {k: {} for k in OPTION_KINDS} for s in ("train", "validation",
                                                                     "test")}
    for kind in OPTION_KINDS:
        lists = section.get(kind)
        if not isinstance(lists, dict) or not set(lists) <= set(POSITIONS):
            raise DataFileError(path, f"option kind {kind!r} must map append/prepend to lists "
                                "of phrases.")
        for position in POSITIONS:
            texts = [str(t).strip() for t in dict.fromkeys(lists.get(position) or [])]
            if position == "append" and len(texts) < 3:
                raise DataFileError(path, f"option kind {kind!r} has {len(texts)} append "
                                    "phrase(s); at least 3 are needed to hold some out for "
                                    "validation and test.")
            phrases = []
            for text in texts:
                try:
                    tree = parse(text, known_slots=SLOT_NAMES)
                except TemplateSyntaxError as e:
                    raise DataFileError(path, f"option phrase {text!r} ({kind}): {e}.",
                                        fix="see hf_pipeline/generate/templates/README.md."
                                        ) from None
                phrases.append(Phrase(kind, position, text, tree))
            phrases.sort(key=lambda p: stable_rank("option", p.kind, p.position, p.text))
            if len(phrases) >= 3:
                k = max(1, round(len(phrases) * heldout_fraction))
                parts = {"test": phrases[:k], "validation": phrases[k:2 * k],
                         "train": phrases[2 * k:]}
            else:  # a short prepend list: not held out, reaches every split
                parts = dict.fromkeys(("train", "validation", "test"), phrases)
            for split, chosen in parts.items():
                out[split][kind][position] = tuple(chosen)
    return out


def add_option(text: str, kinds: Sequence[str], phrases: dict[str, dict[str, tuple[Phrase, ...]]],
               rng: random.Random, fill: SlotFiller) -> tuple[str, str]:
    """``text`` with one option phrase of one of ``kinds`` appended (mostly) or prepended;
    returns (new text, kind), or (text, "") when no kind is left."""
    if not kinds:
        return text, ""
    kind = rng.choice(list(kinds))
    by_position = phrases[kind]
    position = "prepend" if by_position.get("prepend") and rng.random() < PREPEND_SHARE \
        else "append"
    phrase = rng.choice(by_position[position]).expand(rng, fill)
    if position == "prepend":
        return tidy(f"{phrase} {text}"), kind
    stripped = text.rstrip("?.!")
    mark = text[len(stripped):] if rng.random() < 0.5 else ""  # "...? as json" reads badly
    return tidy(f"{stripped} {phrase}{mark}"), kind
