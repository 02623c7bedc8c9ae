"""The request shapes of issue 23 in the templates and slot values: ordinary words as targets,
search / look for + a bare identifier, relation verbs in both frames."""

from __future__ import annotations

import random
import re

from hf_pipeline.generate.slots import SLOT_NAMES, load_vocabularies, make_filler
from hf_pipeline.generate.templates import load_templates

WORD = re.compile(r"[a-z]+")
RELATION_STEMS = ("kick", "fire", "trigger", "spawn", "rel", "depend", "lean", "hook into",
                  "consum", "pull", "hand", "delegat", "dispatch", "reach")


def group_text(intent: str, group: str) -> str:
    return "\n".join(t.text for t in load_templates(known_slots=SLOT_NAMES)[intent]
                     if t.group == group)


def test_plain_words_fill_the_symbol_slots_in_training_and_are_held_out_too() -> None:
    vocab = load_vocabularies()
    train, held = vocab["train"].lists["plain_symbol"], vocab["heldout"].lists["plain_symbol"]
    assert len(train) >= 60 and len(held) >= 20 and not set(train) & set(held)
    assert all(WORD.fullmatch(v) for v in train + held)
    fill = make_filler(vocab["train"])
    rng = random.Random(0)
    drawn = [fill("function", rng).strip('`"') for _ in range(600)]
    plain = [v for v in drawn if v in train]
    assert len(plain) > 60 and len(set(plain)) > 30  # many words, not a handful


def test_text_values_include_plain_words_markers_and_identifiers() -> None:
    lists = load_vocabularies()["train"].lists["text"]
    assert sum(bool(WORD.fullmatch(v)) for v in lists) >= 8  # temp, debug, legacy...
    assert sum(bool(re.fullmatch(r"[A-Z]+(_[A-Z]+)+", v)) for v in lists) >= 3  # constants
    assert sum(bool(re.fullmatch(r"[a-z]+(_[a-z]+)+", v)) for v in lists) >= 2  # snake_case


def test_search_for_a_bare_identifier_is_text_search_and_symbol_query_never_claims_it() -> None:
    templates = load_templates(known_slots=SLOT_NAMES)
    lines = [t for t in templates["TextSearch"] if t.group == "search_identifier"]
    assert len(lines) >= 15
    assert any(t.text.startswith("search for {symbol}") for t in lines)

    def marker(slot: str, rng: random.Random) -> str:
        return "XSYM" if slot in ("symbol", "function", "type", "text") else slot.upper()

    bare = re.compile(r"(search|look|hunt)( for)? XSYM( (in|under) .*)?\??")
    for t in templates["SymbolQuery"]:
        for seed in range(12):
            text = t.expand(random.Random(seed), marker)
            assert not bare.fullmatch(text), (t.text, text)


def test_relation_verbs_come_in_both_frames() -> None:
    callers = group_text("FindCallers", "relation_verbs")
    callees = group_text("FindCallees", "relation_verbs")
    for stem in RELATION_STEMS:
        assert stem in callers and stem in callees, stem
    # the frame decides: "what relies on X" vs "what does X rely on"
    assert "(what|who) (relies on|" in callers and "what does {symbol} (rely on|" in callees


def test_the_new_verbs_also_appear_in_ambiguous_requests_about_no_code() -> None:
    lures = group_text("Ambiguous", "everyday_lures")
    for stem in ("look", "search", "hunt", "kicks off", "rely on", "delegate", "calls"):
        assert stem in lures, stem
    assert "{" not in lures  # no code target at all
