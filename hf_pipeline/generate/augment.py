"""Known, listed augmentations. Each takes a text and an RNG and returns a new text
(or the same text when it does not apply); a sample records which one changed it.

Real users mistype, drop words, swap in synonyms, change case and punctuation; the model is
judged on such requests. No augmentation may change the intent: word drops touch only
filler words, synonyms keep the direction of calls.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

_WORD = re.compile(r"[A-Za-z]{3,}")

KEYBOARD_NEIGHBOURS = {
    "q": "wa", "w": "qes", "e": "wrd", "r": "etf", "t": "ryg", "y": "tuh", "u": "yij",
    "i": "uok", "o": "ipl", "p": "ol", "a": "qsz", "s": "awdz", "d": "sefx", "f": "drgc",
    "g": "fthv", "h": "gyjb", "j": "hukn", "k": "jilm", "l": "kop", "z": "asx", "x": "zsdc",
    "c": "xdfv", "v": "cfgb", "b": "vghn", "n": "bhjm", "m": "njk",
}

# Filler words whose removal keeps the meaning (never who/what/from/to/not...).
DROPPABLE = frozenset({"the", "a", "an", "all", "me", "my", "please", "any", "some", "this",
                       "that", "our", "just", "of", "is", "are", "does", "do", "for", "there",
                       "currently", "exactly", "actually", "every"})

# Intent-preserving swaps. Direction words map only to words of the same direction.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "find": ("locate", "look up", "get", "search for"),
    "show": ("list", "display", "give me", "print", "get"),
    "list": ("show", "enumerate", "give me"),
    "function": ("func", "fn", "method"),
    "functions": ("funcs", "fns", "methods"),
    "calls": ("invokes", "hits", "calls into"),
    "call": ("invoke", "hit"),
    "callers": ("call sites", "usages", "invokers"),
    "callees": ("called functions", "outgoing calls"),
    "uses": ("references", "relies on"),
    "where": ("in which file", "where exactly"),
    "search": ("grep", "look", "scan"),
    "grep": ("search", "rg", "ripgrep"),
    "draw": ("render", "plot", "visualize", "sketch"),
    "diagram": ("chart", "graph", "picture"),
    "path": ("route", "chain", "connection"),
    "trace": ("follow", "track"),
    "index": ("indexes", "idx"),
    "status": ("state", "health"),
    "code": ("codebase", "repo", "project"),
    "defined": ("declared", "implemented"),
    "show me": ("give me", "tell me", "list"),
}
_SYNONYM_RE = re.compile(r"\b(" + "|".join(sorted(map(re.escape, SYNONYMS), key=len,
                                                     reverse=True)) + r")\b", re.IGNORECASE)

POLITE_PREFIXES = ("please ", "can you ", "could you ", "pls ", "hey, ", "hi, ", "hey sqry, ",
                   "quick question: ", "i need to know: ", "help me out: ", "sqry: ",
                   "would you mind: ", "i'd like to know ", "yo ")
POLITE_SUFFIXES = (" please", " pls", " thanks", " thx", ", thank you", " if you can",
                   " when you get a chance", " :)")


def _pick_word(text: str, rng: random.Random) -> re.Match[str] | None:
    words = list(_WORD.finditer(text))
    return rng.choice(words) if words else None


def _edit_word(text: str, rng: random.Random, edit: Callable[[str, random.Random], str]) -> str:
    match = _pick_word(text, rng)
    if match is None:
        return text
    return text[:match.start()] + edit(match.group(), rng) + text[match.end():]


def typo_swap(text: str, rng: random.Random) -> str:
    def swap(w: str, r: random.Random) -> str:
        i = r.randrange(len(w) - 1)
        return w[:i] + w[i + 1] + w[i] + w[i + 2:]
    return _edit_word(text, rng, swap)


def typo_drop(text: str, rng: random.Random) -> str:
    def drop(w: str, r: random.Random) -> str:
        i = r.randrange(1, len(w))
        return w[:i] + w[i + 1:]
    return _edit_word(text, rng, drop)


def typo_keyboard(text: str, rng: random.Random) -> str:
    def neighbour(w: str, r: random.Random) -> str:
        i = r.randrange(len(w))
        near = KEYBOARD_NEIGHBOURS.get(w[i].lower())
        return w if not near else w[:i] + r.choice(near) + w[i + 1:]
    return _edit_word(text, rng, neighbour)


def typo_double(text: str, rng: random.Random) -> str:
    def double(w: str, r: random.Random) -> str:
        i = r.randrange(len(w))
        return w[:i] + w[i] + w[i:]
    return _edit_word(text, rng, double)


def word_drop(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if w.lower() in DROPPABLE]
    if not candidates or len(words) < 3:
        return text
    del words[rng.choice(candidates)]
    return " ".join(words)


def synonym(text: str, rng: random.Random) -> str:
    matches = list(_SYNONYM_RE.finditer(text))
    if not matches:
        return text
    m = rng.choice(matches)
    replacement = rng.choice(SYNONYMS[m.group().lower()])
    return text[:m.start()] + replacement + text[m.end():]


def polite(text: str, rng: random.Random) -> str:
    if rng.random() < 0.6:
        return rng.choice(POLITE_PREFIXES) + text
    return text.rstrip("?.!") + rng.choice(POLITE_SUFFIXES)


def punctuation(text: str, rng: random.Random) -> str:
    stripped = text.rstrip("?.! ")
    r = rng.random()
    if r < 0.3:
        return stripped + rng.choice(("?", "??", ".", "!", " ?"))
    if r < 0.55 and stripped != text:
        return stripped
    if r < 0.75 and "'" in text:
        return text.replace("'", "")
    first, _, rest = text.partition(" ")
    return f"{first}, {rest}" if rest else text + "?"


def case_lower(text: str, rng: random.Random) -> str:
    return text.lower()


def case_upper(text: str, rng: random.Random) -> str:
    return text.upper()


def case_title(text: str, rng: random.Random) -> str:
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class Augmentation:
    name: str
    apply: Callable[[str, random.Random], str]
    weight: float
    doc: str


# Weights favour what hurt the reference most (typos) and what changes the tokens the model
# sees. Case changes are listed but light: all-MiniLM-L6-v2's tokenizer lowercases, so to
# the default model a case change is the same text (they matter for a cased base model).
AUGMENTATIONS: dict[str, Augmentation] = {a.name: a for a in (
    Augmentation("typo_swap", typo_swap, 2.0, "swap two adjacent letters in one word"),
    Augmentation("typo_drop", typo_drop, 2.0, "drop one letter of one word"),
    Augmentation("typo_keyboard", typo_keyboard, 2.0, "replace a letter by a keyboard neighbour"),
    Augmentation("typo_double", typo_double, 1.0, "double one letter of one word"),
    Augmentation("word_drop", word_drop, 1.5, "drop one filler word (the, a, all, me, of...)"),
    Augmentation("synonym", synonym, 2.0, "swap a word for an intent-preserving synonym"),
    Augmentation("polite", polite, 1.5, "add a polite or chatty framing"),
    Augmentation("punctuation", punctuation, 1.0, "add, remove or change punctuation"),
    Augmentation("case_lower", case_lower, 0.3, "all lower case"),
    Augmentation("case_upper", case_upper, 0.3, "ALL UPPER CASE"),
    Augmentation("case_title", case_title, 0.3, "First letter capitalised"),
)}
