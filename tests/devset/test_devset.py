"""The hand-written dev set is well formed: parses, known labels, enough rows, no duplicates."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from hf_pipeline.data_sources import DEV_SET_PATH
from hf_pipeline.intents import INTENTS

DEVSET = DEV_SET_PATH
MIN_PER_INTENT = 25
MIN_TOTAL = 200


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    lines = DEVSET.read_text(encoding="utf-8").splitlines()
    parsed = []
    for number, line in enumerate(lines, start=1):
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError as err:
            pytest.fail(f"{DEVSET}:{number} is not JSON ({err}): {line!r}")
    return parsed


def test_every_row_has_text_and_known_intent(rows: list[dict[str, str]]) -> None:
    bad = [
        row
        for row in rows
        if not isinstance(row.get("text"), str)
        or not row["text"].strip()
        or row.get("intent") not in INTENTS
        or not set(row) <= {"text", "intent", "note", "category"}
    ]
    assert bad == []


def test_enough_rows_per_intent_and_in_total(rows: list[dict[str, str]]) -> None:
    counts = Counter(row["intent"] for row in rows)
    short = {intent: counts[intent] for intent in INTENTS if counts[intent] < MIN_PER_INTENT}
    assert short == {}
    assert len(rows) >= MIN_TOTAL


def test_no_duplicate_texts(rows: list[dict[str, str]]) -> None:
    normalized = Counter(" ".join(row["text"].lower().split()) for row in rows)
    assert [text for text, n in normalized.items() if n > 1] == []


CATEGORIES = {"modifier", "direction", "literal", "intent_typo", "terse_visual", "lure"}


def test_added_rows_name_a_known_category_and_follow_the_original_rows(
        rows: list[dict[str, str]]) -> None:
    """Rows added for issue 14 carry their category and come after the original 354, so the
    original figures stay comparable (bench/robustness_table.py reports both)."""
    categories = [row.get("category") for row in rows]
    assert set(categories) - {None} <= CATEGORIES
    first_added = categories.index(next(c for c in categories if c is not None))
    assert first_added == 354
    assert all(c is not None for c in categories[first_added:])
