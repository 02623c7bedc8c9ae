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

from hf_pipeline.errors import DataFileError
from hf_pipeline.generate.slots import (
    POSITIONS,
    SLOT_NAMES,
    SLOTS_FILE,
    read_slot_file,
    stable_rank,
)
from hf_pipeline.generate.templates import (
    OPTION_KINDS,
    Seq,
    SlotFiller,
    TemplateSyntaxError,
    parse,
    render,
    tidy,
)

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
    slot_file = read_slot_file(path)
    out: OptionPhrases = {s: {k: {} for k in OPTION_KINDS} for s in ("train", "validation",
                                                                     "test")}
    for kind in OPTION_KINDS:
        for position in POSITIONS:
            texts: dict[str, int] = {}  # phrase -> its (first) line
            for text, line in slot_file.options[kind].get(position, ()):
                texts.setdefault(text.strip(), line)
            if position == "append" and len(texts) < 3:
                raise DataFileError(path, f"option kind {kind!r} has {len(texts)} append "
                                    "phrase(s); at least 3 are needed to hold some out for "
                                    "validation and test.", line=slot_file.option_lines[kind])
            phrases = [_phrase(path, kind, position, text, n) for text, n in texts.items()]
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


def _phrase(path: Path, kind: str, position: str, text: str, line: int) -> Phrase:
    try:
        return Phrase(kind, position, text, parse(text, known_slots=SLOT_NAMES))
    except TemplateSyntaxError as e:
        raise DataFileError(path, f"option phrase {text!r} ({kind}): {e}.", line=line,
                            fix="see hf_pipeline/generate/templates/README.md.") from None


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
