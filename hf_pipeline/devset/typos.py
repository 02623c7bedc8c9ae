"""One typo per request: the dev set as people type it in a hurry.

The reference model fell from ~95% to ~80% accuracy on human requests with one typo each.
``with_one_typo`` gives every text exactly one typo, reproducibly by seed, so the robustness
of a model is measured, not guessed. Two targets:

- ``target="any"``: a swap, drop, keyboard neighbour or doubled letter in any word of 3+
  letters (from the generator's own list). Texts without such a word stay.
- ``target="intent"``: the typo goes into a word that carries the intent (a word of
  ``INTENT_WORDS``: "calls", "draw", "defined", "index"...), where one typo flips a
  prediction; kinds: swap, drop, keyboard neighbour, doubled letter, split ("call ers") and
  merge ("callgraph"). Texts without an intent word stay; ``intent_typo_rows`` gives only
  the rows that did get one, so a report measures exactly those.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Literal

from hf_pipeline.generate.augment import ANY_TYPOS, INTENT_TYPOS, one_typo

TYPOS = ANY_TYPOS
INTENT_KINDS = tuple(INTENT_TYPOS)  # swap, drop, keyboard, double, split, merge
Target = Literal["any", "intent"]


def with_one_typo(texts: Sequence[str], *, seed: int = 0, target: Target = "any") -> list[str]:
    """Each text with one typo (in any word, or with ``target="intent"`` in a word that
    carries the intent); the same seed gives the same texts."""
    return [one_typo(text, random.Random(f"{seed}:{i}"), target)
            for i, text in enumerate(texts)]


def intent_typo_rows(texts: Sequence[str], seed: int = 0) -> tuple[list[int], list[str]]:
    """The rows that got a typo in an intent word: their indices in ``texts`` and the texts
    with the typo (``with_one_typo(..., target="intent")`` without the unchanged rows)."""
    typos = with_one_typo(texts, seed=seed, target="intent")
    rows = [i for i, (t, u) in enumerate(zip(texts, typos, strict=True)) if t != u]
    return rows, [typos[i] for i in rows]
