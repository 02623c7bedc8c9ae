"""One typo per request: the dev set as people type it in a hurry.

The reference model fell from ~95% to ~80% accuracy on human requests with one typo each.
``with_one_typo`` gives every text exactly one typo, reproducibly by seed, so the robustness
of a model is measured, not guessed. Three targets:

- ``target="any"``: a swap, drop, keyboard neighbour or doubled letter in any word of 3+
  letters (from the generator's own list). Texts without such a word stay.
- ``target="intent"``: the typo goes into a word that carries the intent (a word of
  ``INTENT_WORDS``: "calls", "draw", "defined", "index"...), where one typo flips a
  prediction; kinds: swap, drop, keyboard neighbour, doubled letter, split ("call ers") and
  merge ("callgraph"). Texts without an intent word stay; ``typo_rows`` gives only
  the rows that did get one, so a report measures exactly those.
- ``target="direction"``: the typo goes into a word that carries the call direction (a word
  of ``DIRECTION_WORDS``: "callers", "callees", "uses", "who", "what", "does"...), where a
  typo can flip callers and callees ("callres of X"); a letter typo (swap, drop, keyboard
  neighbour, doubled letter). Most rows that have one are FindCallers and FindCallees
  requests.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Literal

from hf_pipeline.generate.augment import one_typo

Target = Literal["any", "intent", "direction"]


def with_one_typo(texts: Sequence[str], *, seed: int = 0, target: Target = "any") -> list[str]:
    """Each text with one typo (in any word, or with ``target="intent"`` / ``"direction"`` in
    a word that carries the intent / the call direction); the same seed gives the same
    texts."""
    return [one_typo(text, random.Random(f"{seed}:{i}"), target)
            for i, text in enumerate(texts)]


def typo_rows(texts: Sequence[str], seed: int = 0, target: Target = "intent"
              ) -> tuple[list[int], list[str]]:
    """The rows that got a typo in a word of ``target`` (intent or direction words): their
    indices in ``texts`` and the texts with the typo (``with_one_typo`` without the unchanged
    rows)."""
    typos = with_one_typo(texts, seed=seed, target=target)
    rows = [i for i, (t, u) in enumerate(zip(texts, typos, strict=True)) if t != u]
    return rows, [typos[i] for i in rows]


# View suffix -> the words its typo goes into; "typo" (any word) keeps every row.
TARGETED_VIEWS: dict[str, Target] = {"intent_typo": "intent", "direction_typo": "direction"}


def typo_views(texts: Sequence[str], labels: Sequence[int], *, seed: int = 0
               ) -> dict[str, tuple[list[str], list[int], list[int]]]:
    """A labelled set as people mistype it, by suffix: ``typo`` (one typo anywhere, every
    row), ``intent_typo`` (one typo in the word that carries the intent) and
    ``direction_typo`` (one typo in a word that carries the call direction); the targeted
    views hold only the rows that have such a word, and are absent when none does. Each view:
    (texts, labels, row indices into the set)."""
    views = {"typo": (with_one_typo(texts, seed=seed), list(labels), list(range(len(texts))))}
    for suffix, target in TARGETED_VIEWS.items():
        rows, typo_texts = typo_rows(texts, seed, target)
        if rows:
            views[suffix] = (typo_texts, [labels[i] for i in rows], rows)
    return views
