"""Typos aimed at the words that carry the intent: the lexicon, its spans, split and merge."""

from __future__ import annotations

import random

import pytest
from typo_regions import changed_region

from hf_pipeline.generate.augment import (
    AUGMENTATIONS,
    INTENT_TYPOS,
    INTENT_WORDS,
    intent_word_spans,
    typo_merge,
    typo_split,
)

IDENTIFIER_TEXTS = ["show every caller of parse_config please", "who calls UserRepo::find",
                    "draw the call graph of parse_config as svg", "where is Config defined",
                    "grep for \"find the path\" in src/index.rs"]


def test_lexicon_is_lower_case_words_without_identifier_words() -> None:
    assert all(w.isalpha() and w.islower() for w in INTENT_WORDS)
    assert {"calls", "callers", "draw", "graph", "defined", "index", "grep", "path"} <= INTENT_WORDS
    assert not {"user", "users", "json", "type"} & INTENT_WORDS


@pytest.mark.parametrize(("text", "words"), [
    ("drwa the call graph", ["call", "graph"]),
    ("Where is Index defined?", ["Where", "defined"]),  # a capitalised "Index" is a symbol
    ("who calls UserRepo::find", ["calls"]),
    ("callers of parse_config, pkg.path or render()", ["callers"]),
    ('grep for "find the path"', ["grep"]),  # quoted text is a slot
    ("kind:function lang:rust", []),
    ("as SVG or Mermaid", ["SVG", "Mermaid"]),
    ("DRAW THE CALL GRAPH", ["DRAW", "CALL", "GRAPH"]),
    ("recalls the caller.", ["caller"]),
])
def test_intent_word_spans(text: str, words: list[str]) -> None:
    spans = intent_word_spans(text)
    assert [m.group() for m in spans] == words
    assert all(text[m.start():m.end()] == m.group() for m in spans)


@pytest.mark.parametrize("name", [*INTENT_TYPOS, "typo_intent", "typo_intent_split",
                                  "typo_intent_merge"])
def test_intent_typos_change_only_an_intent_word(name: str) -> None:
    typo = INTENT_TYPOS.get(name) or AUGMENTATIONS[name].apply
    for text in IDENTIFIER_TEXTS:
        spans = intent_word_spans(text)
        outs = {typo(text, random.Random(seed)) for seed in range(40)}
        assert outs - {text}, (name, text)  # it does change something
        for out in outs - {text}:
            start, end = changed_region(text, out)
            # inside one intent word, or the space next to it (merge, split at an edge)
            assert any(m.start() - 1 <= start and end <= m.end() + 1 for m in spans), out
            for identifier in ("parse_config", "UserRepo::find", "Config", "src/index.rs",
                               '"find the path"'):
                assert text.count(identifier) == out.count(identifier), out


@pytest.mark.parametrize("name", [*INTENT_TYPOS, "typo_intent", "typo_intent_split",
                                  "typo_intent_merge"])
def test_texts_without_an_intent_word_stay(name: str) -> None:
    typo = INTENT_TYPOS.get(name) or AUGMENTATIONS[name].apply
    for text in ("hmm parse_config", "good morning", "???", "kind:function AND lang:rust"):
        assert all(typo(text, random.Random(seed)) == text for seed in range(20))


def test_split_puts_one_space_inside_a_word_of_four_letters_or_more() -> None:
    text = "callers of parse_config"
    outs = {typo_split(text, random.Random(seed)) for seed in range(60)}
    assert outs == {"c allers of parse_config", "ca llers of parse_config",
                    "cal lers of parse_config", "call ers of parse_config",
                    "calle rs of parse_config", "caller s of parse_config"}
    assert typo_split("use dot", random.Random(0)) == "use dot"  # 3-letter words stay


def test_merge_glues_an_intent_word_to_a_function_or_intent_word_only() -> None:
    outs = {typo_merge("draw the call graph", random.Random(seed)) for seed in range(60)}
    assert outs == {"drawthe call graph", "draw thecall graph", "draw the callgraph"}
    outs = {typo_merge("who calls login", random.Random(seed)) for seed in range(30)}
    assert outs == {"whocalls login"}  # never "callslogin": login is the identifier
    assert typo_merge("callers: parse_config", random.Random(0)) == "callers: parse_config"
    assert typo_merge("Config defined", random.Random(0)) == "Config defined"


def test_new_augmentations_are_listed_with_weights_and_docs() -> None:
    for name in ("typo_intent", "typo_intent_split", "typo_intent_merge"):
        a = AUGMENTATIONS[name]
        assert a.weight > 0 and a.doc
    assert set(INTENT_TYPOS) == {"swap", "drop", "keyboard", "double", "split", "merge"}
