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


# The words that carry an intent: the "typical words" column of docs/intents.md (shared
# docs), with their inflections and obvious family members, and the kind names that make a
# request a SymbolQuery. Human-authored; typos aimed at these words are the ones that flip a
# prediction ("drwa the call graph", "where is Config defind"). Left out on purpose:
# - user / users: a word identifiers are made of (`UserRepo`, "the user table"): a typo
#   there would change a slot, not the word that decides the intent;
# - type / types, file / files, symbol / symbols, code: generic nouns, as often slot-like
#   ("file type", "how many files") as intent-bearing;
# - json: an option ("callers of X as json" is FindCallers), not a Visualize word;
# - who / what / how / which / from / to: function words shared by every intent (direction
#   comes with the verb: "who calls" vs "what does X call"); a merge reaches them anyway
#   ("whocalls"), see MERGE_NEIGHBOURS;
# - predicates (unused, dead, async, unsafe...), get, print: slot values or generic verbs.
INTENT_WORDS = frozenset({
    # SymbolQuery: find, where is ... defined, show, list, locate, definition of; kinds
    "find", "finds", "finding", "where", "locate", "locates", "located", "show", "shows",
    "display", "list", "lists", "listing", "define", "defines", "defined", "definition",
    "definitions", "declare", "declares", "declared", "declaration", "declarations",
    "function", "functions", "class", "classes", "struct", "structs", "enum", "enums",
    "trait", "traits", "interface", "interfaces", "module", "modules", "method", "methods",
    "constant", "constants", "variable", "variables",
    # TextSearch: grep, search for, look for, occurrences of, mentions of
    "grep", "grepping", "search", "searches", "searching", "look", "looking", "occurrence",
    "occurrences", "mention", "mentions", "mentioned", "mentioning",
    # FindCallers / FindCallees: who calls, callers of, usages of, call sites, where is X
    # used, what does X call, callees of, dependencies of X, functions used by X
    "call", "calls", "called", "calling", "caller", "callers", "callee", "callees",
    "invoke", "invokes", "invoked", "invoking", "invoker", "invokers", "invocation",
    "invocations", "use", "uses", "used", "using", "usage", "usages", "reference",
    "references", "referenced", "referencing", "depend", "depends", "depended", "depending",
    "dependency", "dependencies", "dependent", "dependents", "import", "imports",
    "imported", "importing",
    # TracePath: path from A to B, trace A to B, how does A reach B, call chain between
    "path", "paths", "route", "routes", "trace", "traces", "traced", "tracing", "chain",
    "chains", "reach", "reaches", "reached", "reaching", "reachable", "connect", "connects",
    "connected", "connection",
    # Visualize: draw, visualize, diagram, render, mermaid, dot, graphviz, svg, png
    "draw", "draws", "drawing", "drawn", "visualize", "visualise", "visualizes",
    "visualises", "visualization", "visualisation", "diagram", "diagrams", "graph", "graphs",
    "render", "renders", "rendered", "rendering", "chart", "charts", "plot", "plots",
    "picture", "image", "sketch", "mermaid", "dot", "graphviz", "svg", "png",
    # IndexStatus: index status, up to date, stale, when built, how many ... indexed
    "index", "indexes", "indexed", "indexing", "reindex", "status", "state", "stale",
    "fresh", "built", "rebuilt", "outdated",
    # Ambiguous: hello, help
    "hello", "help",
})
"""Lower-case word forms that carry an intent (docs/intents.md's "typical words", their
inflections and family members, the kind names). See the comment above for what is left out
and why."""

# Lexicon words that are as often typed capitalised or in capitals as not ("as SVG",
# "in Mermaid"): any case counts as the word, not as an identifier.
_ANY_CASE = frozenset({"svg", "png", "dot", "mermaid", "graphviz"})

# Whole words only: not part of an identifier (`parse_config`, `UserRepo::find`, `pkg.path`,
# `src/index.rs`, `--graph`, `render()`, `kind:function`); a sentence-final "." is fine.
_INTENT_WORD_RE = re.compile(
    r"(?<![\w.:/\\<>@#$`'-])(" + "|".join(sorted(INTENT_WORDS, key=len, reverse=True))
    + r")(?![\w:/\\<>(`'-]|\.\w)", re.IGNORECASE)
# Quoted text is a slot (a string to search for): never touched.
_QUOTED = re.compile(r'"[^"]*"|`[^`]*`|(?<!\w)\'[^\']*\'(?!\w)')
_SENTENCE_START = re.compile(r"(?:^|[.?!:]\s+)[^A-Za-z]*$")


def _is_word_not_identifier(text: str, m: re.Match[str]) -> bool:
    """Lower case is a word; "Where" at the start of a sentence, "GRAPH" in an all-caps
    text, and SVG / Mermaid anywhere too. "Index" or "PATH" mid-sentence names a symbol."""
    w = m.group()
    if w.islower() or w.lower() in _ANY_CASE:
        return True
    if w.isupper():
        return text.upper() == text
    return w[0].isupper() and w[1:].islower() and bool(_SENTENCE_START.search(text[:m.start()]))


def _lexicon_spans(text: str, pattern: re.Pattern[str]) -> list[re.Match[str]]:
    quoted = [q.span() for q in _QUOTED.finditer(text)]
    return [m for m in pattern.finditer(text)
            if not any(a <= m.start() < b for a, b in quoted) and _is_word_not_identifier(text, m)]


def intent_word_spans(text: str) -> list[re.Match[str]]:
    """The words of ``text`` in INTENT_WORDS (case-insensitive, whole words), in order;
    not inside quotes, not part of an identifier, not a capitalised symbol name."""
    return _lexicon_spans(text, _INTENT_WORD_RE)


# The words that carry the call direction: the verbs and nouns of an edge (calls, callers,
# callees, uses, depends, relies on, triggers...) and the function words whose place in the
# frame gives the direction ("who calls X" / "what does X call"). A typo there ("collers",
# "calees", "waht does X call") must not flip callers and callees; typo_direction aims at them.
DIRECTION_WORDS = frozenset({
    "call", "calls", "called", "calling", "caller", "callers", "callee", "callees",
    "invoke", "invokes", "invoked", "invoker", "invokers", "use", "uses", "used", "using",
    "usage", "usages", "depend", "depends", "depended", "dependency",
    "dependencies", "dependent", "dependents", "reference", "references", "referenced",
    "import", "imports", "imported", "rely", "relies", "relied", "relying", "trigger",
    "triggers", "triggered", "incoming", "outgoing", "inbound", "outbound", "upstream",
    "downstream", "who", "whom", "whose", "what", "which", "does",
})
"""Lower-case words that carry the direction of a callers / callees request."""

_DIRECTION_WORD_RE = re.compile(
    r"(?<![\w.:/\\<>@#$`'-])(" + "|".join(sorted(DIRECTION_WORDS, key=len, reverse=True))
    + r")(?![\w:/\\<>(`'-]|\.\w)", re.IGNORECASE)


def direction_word_spans(text: str) -> list[re.Match[str]]:
    """The words of ``text`` in DIRECTION_WORDS, as ``intent_word_spans`` finds words."""
    return _lexicon_spans(text, _DIRECTION_WORD_RE)


_LEXICONS: dict[str, Callable[[str], list[re.Match[str]]]] = {
    "intent": intent_word_spans, "direction": direction_word_spans}


def _pick_word(text: str, rng: random.Random, *, intent: bool | str = False,
               min_len: int = 3) -> re.Match[str] | None:
    """A random word of ``min_len``+ letters; with ``intent``, only words of INTENT_WORDS
    (``intent="direction"``: only words of DIRECTION_WORDS)."""
    if intent:
        spans = _LEXICONS["intent" if intent is True else intent]
        words = [m for m in spans(text) if len(m.group()) >= min_len]
    else:
        words = list(_WORD.finditer(text))
    return rng.choice(words) if words else None


def _edit_word(text: str, rng: random.Random, edit: Callable[[str, random.Random], str], *,
               intent: bool | str = False, min_len: int = 3) -> str:
    """``edit`` applied to one random word (an intent word with ``intent``, a direction word
    with ``intent="direction"``); the text unchanged when there is none."""
    match = _pick_word(text, rng, intent=intent, min_len=min_len)
    if match is None:
        return text
    return text[:match.start()] + edit(match.group(), rng) + text[match.end():]


def _swap(w: str, r: random.Random) -> str:
    i = r.randrange(len(w) - 1)
    return w[:i] + w[i + 1] + w[i] + w[i + 2:]


def _drop(w: str, r: random.Random) -> str:
    i = r.randrange(1, len(w))
    return w[:i] + w[i + 1:]


def _neighbour(w: str, r: random.Random) -> str:
    i = r.randrange(len(w))
    near = KEYBOARD_NEIGHBOURS.get(w[i].lower())
    return w if not near else w[:i] + r.choice(near) + w[i + 1:]


def _double(w: str, r: random.Random) -> str:
    i = r.randrange(len(w))
    return w[:i] + w[i] + w[i:]


def _split(w: str, r: random.Random) -> str:
    i = r.randrange(1, len(w))
    return w[:i] + " " + w[i:]


def typo_swap(text: str, rng: random.Random, *, intent: bool | str = False) -> str:
    """Swap two adjacent letters of one word ("calls" -> "clals")."""
    return _edit_word(text, rng, _swap, intent=intent)


def typo_drop(text: str, rng: random.Random, *, intent: bool | str = False) -> str:
    """Drop one letter (not the first) of one word ("defined" -> "defind")."""
    return _edit_word(text, rng, _drop, intent=intent)


def typo_keyboard(text: str, rng: random.Random, *, intent: bool | str = False) -> str:
    """Replace one letter of one word by a keyboard neighbour ("graph" -> "grapg")."""
    return _edit_word(text, rng, _neighbour, intent=intent)


def typo_double(text: str, rng: random.Random, *, intent: bool | str = False) -> str:
    """Double one letter of one word ("draw" -> "drraw")."""
    return _edit_word(text, rng, _double, intent=intent)


SPLIT_MIN_LETTERS = 4


def typo_split(text: str, rng: random.Random, *, intent: bool = True) -> str:
    """A space inside one intent word of 4+ letters ("callers" -> "call ers"). Only intent
    words by default: a space inside an identifier would change the slot."""
    return _edit_word(text, rng, _split, intent=intent, min_len=SPLIT_MIN_LETTERS)


# Words an intent word may be glued to: the lexicon and the function words around it.
# Never anything else, so an identifier (`login`, `Config`) is never glued to a word.
MERGE_NEIGHBOURS = INTENT_WORDS | DROPPABLE | frozenset({
    "who", "what", "whom", "which", "how", "when", "from", "to", "in", "on", "by", "me",
    "out", "into", "up", "can", "you", "does", "did", "many", "sites", "between"})
_LOWER_WORD = re.compile(r"[a-z]+")


def typo_merge(text: str, rng: random.Random) -> str:
    """Remove the space between an intent word and a neighbouring word ("call graph" ->
    "callgraph", "who calls" -> "whocalls"). The neighbour is a lower-case lexicon or
    function word; the text unchanged when no intent word has one."""
    gaps = []  # index of a space to remove
    for m in intent_word_spans(text):
        if not m.group().islower():
            continue
        if text[m.start() - 1:m.start()] == " ":
            left = text[:m.start() - 1].rsplit(" ", 1)[-1]
            if _LOWER_WORD.fullmatch(left) and left in MERGE_NEIGHBOURS:
                gaps.append(m.start() - 1)
        if text[m.end():m.end() + 1] == " ":
            right = text[m.end() + 1:].split(" ", 1)[0]
            if _LOWER_WORD.fullmatch(right) and right in MERGE_NEIGHBOURS:
                gaps.append(m.end())
    if not gaps:
        return text
    i = rng.choice(sorted(set(gaps)))
    return text[:i] + text[i + 1:]


# One typo in the word that carries the intent, by kind (calibrate analyze --typos and
# typo_intent draw from these).
INTENT_TYPOS: dict[str, Callable[[str, random.Random], str]] = {
    "swap": lambda t, r: typo_swap(t, r, intent=True),
    "drop": lambda t, r: typo_drop(t, r, intent=True),
    "keyboard": lambda t, r: typo_keyboard(t, r, intent=True),
    "double": lambda t, r: typo_double(t, r, intent=True),
    "split": typo_split,
    "merge": typo_merge,
}
_LETTER_KINDS = ("swap", "drop", "keyboard", "double")


def typo_intent(text: str, rng: random.Random) -> str:
    """One letter typo (swap, drop, keyboard neighbour, doubled letter) in an intent word."""
    return INTENT_TYPOS[rng.choice(_LETTER_KINDS)](text, rng)


# One letter typo in a word that carries the call direction, by kind.
DIRECTION_TYPOS: dict[str, Callable[[str, random.Random], str]] = {
    "swap": lambda t, r: typo_swap(t, r, intent="direction"),
    "drop": lambda t, r: typo_drop(t, r, intent="direction"),
    "keyboard": lambda t, r: typo_keyboard(t, r, intent="direction"),
    "double": lambda t, r: typo_double(t, r, intent="direction"),
}


def typo_direction(text: str, rng: random.Random) -> str:
    """One letter typo (swap, drop, keyboard neighbour, doubled letter) in a word that carries
    the call direction ("callers" -> "collers", "what" -> "waht")."""
    return DIRECTION_TYPOS[rng.choice(_LETTER_KINDS)](text, rng)


def typo_intent_split(text: str, rng: random.Random) -> str:
    return typo_split(text, rng)


def typo_intent_merge(text: str, rng: random.Random) -> str:
    return typo_merge(text, rng)


ANY_TYPOS: tuple[Callable[[str, random.Random], str], ...] = (
    typo_swap, typo_drop, typo_keyboard, typo_double)
TYPO_TARGETS = ("any", "intent", "direction")
_TYPO_TRIES = 8  # a typo can leave the text unchanged (a doubled letter swapped, say)


def one_typo(text: str, rng: random.Random, target: str = "any") -> str:
    """``text`` with one typo: in any word of 3+ letters (swap, drop, keyboard neighbour,
    doubled letter), or with ``target="intent"`` in a word that carries the intent (those
    four, a split or a merge), or with ``target="direction"`` in a word that carries the
    call direction (the four letter typos). A text with no such word comes back unchanged."""
    if target == "any":
        typos = ANY_TYPOS
    elif target == "intent":
        typos = tuple(INTENT_TYPOS.values())
    elif target == "direction":
        typos = tuple(DIRECTION_TYPOS.values())
    else:
        raise ValueError(f"target must be one of {', '.join(TYPO_TARGETS)}, not {target!r}")
    typo = text
    for _ in range(_TYPO_TRIES):
        typo = rng.choice(typos)(text, rng)
        if typo != text:
            break
    return typo


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
# sees. The typo_intent* entries aim at the words of INTENT_WORDS, where one typo flips a
# prediction ("drwa the call graph" -> Ambiguous): typo_intent weighs as much as one and a
# half any-word letter typos (3.0), split and merge, rarer in real typing, 0.75 each; they
# never apply to a text without an intent word (gibberish, greetings without "hello").
# typo_direction (1.5) aims at the words of DIRECTION_WORDS (callers, callees, who, what,
# does...), so a callers / callees request keeps its direction through a typo.
# Case changes are listed but light: all-MiniLM-L6-v2's tokenizer lowercases, so to
# the default model a case change is the same text (they matter for a cased base model).
AUGMENTATIONS: dict[str, Augmentation] = {a.name: a for a in (
    Augmentation("typo_swap", typo_swap, 2.0, "swap two adjacent letters in one word"),
    Augmentation("typo_drop", typo_drop, 2.0, "drop one letter of one word"),
    Augmentation("typo_keyboard", typo_keyboard, 2.0, "replace a letter by a keyboard neighbour"),
    Augmentation("typo_double", typo_double, 1.0, "double one letter of one word"),
    Augmentation("typo_intent", typo_intent, 3.0, "one letter typo (swap, drop, keyboard "
                 "neighbour, doubled letter) in a word that carries the intent"),
    Augmentation("typo_intent_split", typo_intent_split, 0.75,
                 "a space inside a word that carries the intent (callers -> call ers)"),
    Augmentation("typo_intent_merge", typo_intent_merge, 0.75, "glue a word that carries "
                 "the intent to its neighbour (call graph -> callgraph)"),
    Augmentation("typo_direction", typo_direction, 1.5, "one letter typo in a word that "
                 "carries the call direction (callers -> collers, what -> waht)"),
    Augmentation("word_drop", word_drop, 1.5, "drop one filler word (the, a, all, me, of...)"),
    Augmentation("synonym", synonym, 2.0, "swap a word for an intent-preserving synonym"),
    Augmentation("polite", polite, 1.5, "add a polite or chatty framing"),
    Augmentation("punctuation", punctuation, 1.0, "add, remove or change punctuation"),
    Augmentation("case_lower", case_lower, 0.3, "all lower case"),
    Augmentation("case_upper", case_upper, 0.3, "ALL UPPER CASE"),
    Augmentation("case_title", case_title, 0.3, "First letter capitalised"),
)}
