"""The dev set with one typo per request (in any word, or in the word that carries the
intent): every text changed once, reproducibly."""

from __future__ import annotations

import pytest

from hf_pipeline.data_sources import load_dev_set
from hf_pipeline.devset.typos import typo_rows, typo_views, with_one_typo
from hf_pipeline.generate.augment import direction_word_spans, intent_word_spans


def edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def test_every_dev_text_gets_exactly_one_small_typo() -> None:
    texts = list(load_dev_set()["text"])
    typos = with_one_typo(texts, seed=0)
    assert len(typos) == len(texts)
    changed = [(t, u) for t, u in zip(texts, typos, strict=True) if t != u]
    # Only texts without a word of 3+ letters (e.g. "???") can stay unchanged.
    assert len(changed) >= 0.95 * len(texts)
    # One typo: a swap is 2 edits, a drop / neighbour / doubled letter 1; words stay in place.
    assert all(1 <= edit_distance(t, u) <= 2 and len(t.split()) == len(u.split())
               for t, u in changed)


def test_same_seed_same_typos_other_seed_other_typos() -> None:
    texts = list(load_dev_set()["text"])[:50]
    assert with_one_typo(texts, seed=3) == with_one_typo(texts, seed=3)
    assert with_one_typo(texts, seed=3) != with_one_typo(texts, seed=4)


def test_intent_target_puts_the_typo_in_an_intent_word() -> None:
    texts = list(load_dev_set()["text"])
    typos = with_one_typo(texts, seed=0, target="intent")
    rows, typo_texts = typo_rows(texts, seed=0, target="intent")
    assert len(typos) == len(texts)
    assert rows == [i for i, (t, u) in enumerate(zip(texts, typos, strict=True)) if t != u]
    assert typo_texts == [typos[i] for i in rows]
    assert len(rows) >= 0.6 * len(texts)  # most requests have a word that carries the intent
    for i in rows:
        t, u = texts[i], typos[i]
        spans = intent_word_spans(t)
        assert spans and 1 <= edit_distance(t, u) <= 2
        start = next((p for p, (a, b) in enumerate(zip(t, u, strict=False)) if a != b),
                     min(len(t), len(u)))  # a letter doubled at the very end
        assert any(m.start() - 1 <= start <= m.end() for m in spans), (t, u)
    # rows with no intent word come back unchanged
    assert all(typos[i] == texts[i] for i in range(len(texts))
               if not intent_word_spans(texts[i]))


def test_intent_rows_skip_texts_without_an_intent_word() -> None:
    texts = ["good morning", "???", "kind:function AND lang:rust", "who calls login"]
    assert with_one_typo(texts, seed=1, target="intent")[:3] == texts[:3]
    rows, typo_texts = typo_rows(texts, seed=1, target="intent")
    assert rows == [3] and typo_texts[0] != "who calls login"
    assert typo_texts[0].endswith("login")  # the identifier is not touched


def test_intent_typos_same_seed_same_texts_other_seed_other_texts() -> None:
    texts = list(load_dev_set()["text"])[:50]
    a = with_one_typo(texts, seed=3, target="intent")
    assert a == with_one_typo(texts, seed=3, target="intent")
    assert a != with_one_typo(texts, seed=4, target="intent")
    assert typo_rows(texts, 3, "intent") == typo_rows(texts, 3, "intent")


def test_unknown_target_is_an_error() -> None:
    with pytest.raises(ValueError, match="target"):
        with_one_typo(["who calls login"], target="identifier")  # type: ignore[arg-type]


def test_direction_target_puts_the_typo_in_a_word_that_carries_the_direction() -> None:
    texts = ["who calls login", "callers of flush", "what does main call", "index status",
             "find the Config struct"]
    rows, typo_texts = typo_rows(texts, seed=2, target="direction")
    assert rows == [0, 1, 2]  # the last two have no direction word
    for i, u in zip(rows, typo_texts, strict=True):
        spans = direction_word_spans(texts[i])
        changed = [w for w, v in zip(texts[i].split(), u.split(), strict=True) if w != v]
        assert len(changed) == 1 and changed[0] in {m.group() for m in spans}, (texts[i], u)


def test_typo_views_have_a_direction_view_of_the_rows_with_a_direction_word() -> None:
    texts = ["who calls login", "index status", "callers of flush"]
    views = typo_views(texts, [1, 6, 1], seed=0)
    assert list(views) == ["typo", "intent_typo", "direction_typo"]
    d_texts, d_labels, d_rows = views["direction_typo"]
    assert d_rows == [0, 2] and d_labels == [1, 1]
    assert all(t != texts[r] for t, r in zip(d_texts, d_rows, strict=True))
    assert "direction_typo" not in typo_views(["index status"], [6])
