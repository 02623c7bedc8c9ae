"""Typos aimed at the words that carry the call direction (issue 23): "collers of flush",
"waht does X call". The generator's typo_direction and the training noise both reach them."""

from __future__ import annotations

import random

import pytest
from typo_regions import changed_region

from hf_pipeline.generate.augment import (
    AUGMENTATIONS,
    DIRECTION_TYPOS,
    DIRECTION_WORDS,
    INTENT_WORDS,
    direction_word_spans,
    one_typo,
    typo_direction,
)
from hf_pipeline.train.noise import typo_target


def test_direction_lexicon_has_the_edge_words_and_the_frame_words_only() -> None:
    assert all(w.isalpha() and w.islower() for w in DIRECTION_WORDS)
    assert {"callers", "callees", "calls", "called", "uses", "who", "what", "does"} \
        <= DIRECTION_WORDS
    # words identifiers are made of stay out (a typo there changes the slot, not the frame)
    assert not {"user", "users", "find", "graph", "path"} & DIRECTION_WORDS
    assert {"callers", "callees", "calls"} <= INTENT_WORDS


@pytest.mark.parametrize(("text", "words"), [
    ("who calls flush", ["who", "calls"]),
    ("what does render_page call", ["what", "does", "call"]),
    ("callees of main", ["callees"]),
    ("who calls UserRepo::find or callers_of", ["who", "calls"]),  # identifiers stay
    ('grep "who calls"', []),  # quoted text is a slot
    ("search for MAX_RETRIES", []),
])
def test_direction_word_spans(text: str, words: list[str]) -> None:
    assert [m.group() for m in direction_word_spans(text)] == words


@pytest.mark.parametrize("text", ["who calls flush", "what does render_page call",
                                  "callers of UserRepo::find", "callees of parse_config"])
def test_typo_direction_changes_one_direction_word_and_never_the_target(text: str) -> None:
    spans = direction_word_spans(text)
    outs = {typo_direction(text, random.Random(seed)) for seed in range(40)}
    assert len(outs - {text}) > 5
    target = text.split()[-1] if text.startswith(("who", "callers", "callees")) else "render_page"
    for out in outs - {text}:
        start, end = changed_region(text, out)
        assert any(m.start() <= start and end <= m.end() for m in spans), out
        assert target in out, out
    for typo in DIRECTION_TYPOS.values():
        assert typo("search for MAX_RETRIES", random.Random(0)) == "search for MAX_RETRIES"
    assert one_typo("who calls flush", random.Random(3), "direction") != "who calls flush"
    with pytest.raises(ValueError, match="direction"):
        one_typo("who calls flush", random.Random(0), "everywhere")


def test_typo_direction_is_a_listed_augmentation() -> None:
    a = AUGMENTATIONS["typo_direction"]
    assert a.apply is typo_direction and a.weight > 0 and "direction" in a.doc


def test_training_noise_sends_part_of_the_intent_typos_to_direction_words() -> None:
    rows = [typo_target("who calls flush", random.Random(seed)) for seed in range(400)]
    assert set(rows) == {"any", "intent", "direction"}
    assert 150 < rows.count("any") < 250 and rows.count("direction") > 60
    # a request without a direction word keeps the any / intent mix it had
    others = {typo_target("where is Config defined", random.Random(seed)) for seed in range(100)}
    assert others == {"any", "intent"}
